// Analytic derivatives (algorithm/derivatives.hpp) against central differences of the quantities
// they differentiate: tangent points of cylinder wraps, generalized forces of point forces and of
// gravity, muscle and ligament tensions, and the posture solver's whole equilibrium Jacobian at
// every posture of models/postures.yaml.
#include <gtest/gtest.h>

#include <cmath>

#include "lumbosim/algorithm/contact.hpp"
#include "lumbosim/algorithm/derivatives.hpp"
#include "lumbosim/algorithm/dynamics.hpp"
#include "lumbosim/algorithm/kinematics.hpp"
#include "lumbosim/algorithm/muscle.hpp"
#include "lumbosim/algorithm/passive.hpp"
#include "lumbosim/algorithm/path.hpp"
#include "lumbosim/algorithm/posture.hpp"
#include "lumbosim/io/yaml_model.hpp"
#include "lumbosim/io/yaml_postures.hpp"
#include "lumbosim/model/compile.hpp"

using namespace lumbosim;

namespace {
const Model& model() {
  static const Model m = compile(io::load_model_spec(std::string(LUMBOSIM_SOURCE_DIR) + "/models/lumbopelvic.yaml"));
  return m;
}
/// A configuration away from the default on every coordinate (deterministic).
VecX some_q(const Model& m, double scale) {
  VecX q = m.default_q();
  for (int i = 0; i < m.nv; ++i) q[i] += scale * std::sin(1.7 * i + 0.3);
  return q;
}
/// Central differences (step h) of a vector function f at x, one column per variable.
template <class F>
MatX central_differences(const VecX& x, F f, double h = 1e-6) {
  MatX J;
  for (int j = 0; j < x.size(); ++j) {
    VecX xp = x, xm = x;
    xp[j] += h;
    xm[j] -= h;
    const VecX d = (f(xp) - f(xm)) / (2.0 * h);
    if (j == 0) J.resize(d.size(), x.size());
    J.col(j) = d;
  }
  return J;
}
}  // namespace

TEST(Derivatives, CylinderWrapTangentPointsFollowTheirEnds) {
  // helical wraps (ends at different heights along the axis), both senses and the shorter way
  const double r = 0.03;
  const Vec3 P0(-0.07, 0.01, 0.04), S0(0.06, 0.005, -0.03);
  for (int side : {+1, -1, 0}) {
    ASSERT_TRUE(wrap_cylinder(P0, S0, r, side).active) << side;
    Mat3 d1P, d1S, d2P, d2S;
    wrap_cylinder_derivatives(P0, S0, r, side, d1P, d1S, d2P, d2S);
    const double h = 1e-7;
    for (int k = 0; k < 3; ++k) {
      Vec3 e = Vec3::Zero();
      e[k] = h;
      const CylinderWrap pp = wrap_cylinder(P0 + e, S0, r, side), pm = wrap_cylinder(P0 - e, S0, r, side);
      const CylinderWrap sp = wrap_cylinder(P0, S0 + e, r, side), sm = wrap_cylinder(P0, S0 - e, r, side);
      EXPECT_LT((d1P.col(k) - (pp.T1 - pm.T1) / (2 * h)).norm(), 1e-6) << "side " << side << " dT1/dP_" << k;
      EXPECT_LT((d2P.col(k) - (pp.T2 - pm.T2) / (2 * h)).norm(), 1e-6) << "side " << side << " dT2/dP_" << k;
      EXPECT_LT((d1S.col(k) - (sp.T1 - sm.T1) / (2 * h)).norm(), 1e-6) << "side " << side << " dT1/dS_" << k;
      EXPECT_LT((d2S.col(k) - (sp.T2 - sm.T2) / (2 * h)).norm(), 1e-6) << "side " << side << " dT2/dS_" << k;
    }
  }
}

TEST(Derivatives, PointForceAndGravityGeneralizedForces) {
  // d(J^T f)/dq for a force fixed in the world at a point fixed to a body deep in the tree (the
  // thorax: every spinal level, the pelvis tilt and translations are its ancestors), and the
  // derivative of gravity's generalized force, against central differences.
  const Model& m = model();
  Data d(m);
  const VecX q = some_q(m, 0.2);
  const int body = m.find_body("thorax");
  const Vec3 p_B(0.05, 0.2, 0.01), f(12.0, -30.0, 4.0);
  DerivativeWorkspace ws(m);
  forward_kinematics(m, d, q);
  MatX K = MatX::Zero(m.nv, m.nv), Kg = MatX::Zero(m.nv, m.nv);
  Mat3X J(3, m.nv);
  const Vec3 p_W = point_position(d, body, p_B);
  point_jacobian_world(m, d, body, p_W, J);
  add_point_force_derivative(m, d, body, p_W, J, f, K);
  add_gravity_derivative(m, d, Kg, ws);
  const double h = 1e-6;
  for (int k = 0; k < m.nv; ++k) {
    VecX taup = VecX::Zero(m.nv), taum = VecX::Zero(m.nv);
    VecX qp = q, qm = q;
    qp[k] += h;
    qm[k] -= h;
    forward_kinematics(m, d, qp);
    add_point_force(m, d, body, point_position(d, body, p_B), f, taup);
    const VecX gp = -generalized_gravity(m, d, qp);
    forward_kinematics(m, d, qm);
    add_point_force(m, d, body, point_position(d, body, p_B), f, taum);
    const VecX gm = -generalized_gravity(m, d, qm);
    EXPECT_LT((K.col(k) - (taup - taum) / (2 * h)).cwiseAbs().maxCoeff(), 1e-6) << m.coord_name[static_cast<size_t>(k)];
    EXPECT_LT((Kg.col(k) - (gp - gm) / (2 * h)).cwiseAbs().maxCoeff(), 1e-5) << m.coord_name[static_cast<size_t>(k)];
  }
  EXPECT_GT(Kg.cwiseAbs().maxCoeff(), 10.0) << "gravity's generalized force changes with the pose";
}

TEST(Derivatives, MomentArmsOfWrappedAndStraightPaths) {
  // d(R_p)/dq of every path at unit tension (the geometric part of the path's stiffness)
  // against central differences of the analytic moment arms, at two poses; the wrapped paths
  // (tangent points sliding on their cylinders) are counted.
  const Model& m = model();
  Data d(m);
  DerivativeWorkspace ws(m);
  int wrapped = 0;
  for (double scale : {0.15, 0.35}) {
    const VecX q = some_q(m, scale);
    forward_kinematics(m, d, q);
    compute_paths(m, d);
    for (int p = 0; p < m.npath(); ++p) {
      const auto pp = static_cast<size_t>(p);
      for (int k = m.path_point_adr[pp]; k < m.path_point_adr[pp] + m.path_point_num[pp]; ++k)
        wrapped += d.seg_wrapped[static_cast<size_t>(k)];
    }
    for (int p = 0; p < m.npath(); ++p) {
      forward_kinematics(m, d, q);
      compute_paths(m, d);
      MatX K = MatX::Zero(m.nv, m.nv);
      add_path_force_derivative(m, d, p, 1.0, 0.0, K, ws);
      const MatX Kf = central_differences(q, [&](const VecX& qq) {
        forward_kinematics(m, d, qq);
        compute_paths(m, d);
        return VecX(d.path_moment_arm.row(p).transpose());
      });
      for (int k = 0; k < m.nv; ++k)
        EXPECT_LT((K.col(k) - Kf.col(k)).cwiseAbs().maxCoeff(), 1e-7)
            << m.path_name[static_cast<size_t>(p)] << " d/d" << m.coord_name[static_cast<size_t>(k)] << " pose " << scale;
    }
  }
  EXPECT_GT(wrapped, 10) << "wrapped segments among the paths checked";
}

TEST(Derivatives, TensionsFollowTheirLengths) {
  // muscle passive (rigid and compliant tendons) and active force per activation, ligament
  // tension: derivative in length against central differences, over their working range
  const Model& m = model();
  const double h = 1e-7;
  int compliant = 0;
  for (int i = 0; i < m.nmuscle(); ++i) {
    const MuscleParams& p = m.muscle[static_cast<size_t>(i)];
    compliant += p.compliant_tendon ? 1 : 0;
    for (double s : {0.7, 1.0, 1.2, 1.45}) {
      const double l = p.tendon_slack_length + s * p.optimal_fiber_length;
      double dP = 0.0, dA = 0.0;
      passive_mtu_force(p, l, &dP);
      rigid_active_force(p, l, &dA);
      const double fdP = (passive_mtu_force(p, l + h) - passive_mtu_force(p, l - h)) / (2 * h);
      const double fdA = (rigid_active_force(p, l + h) - rigid_active_force(p, l - h)) / (2 * h);
      EXPECT_NEAR(dP, fdP, 1e-4 * (1.0 + std::abs(fdP))) << m.muscle_name[static_cast<size_t>(i)] << " passive at " << s;
      EXPECT_NEAR(dA, fdA, 1e-4 * (1.0 + std::abs(fdA))) << m.muscle_name[static_cast<size_t>(i)] << " active at " << s;
      EXPECT_NEAR(rigid_active_force(p, l), muscle_active_force_per_activation(p, rigid_tendon_state(p, l)), 1e-12);
    }
  }
  EXPECT_GT(compliant, 0) << "the model has compliant tendons to check";
  for (double e : {0.02, 0.1, 0.3}) {
    const double k = 500.0, et = 0.15, l0 = 0.02, l = l0 * (1.0 + e);
    double dT = 0.0;
    ligament_tension(k, et, l0, l, &dT);
    EXPECT_NEAR(dT, (ligament_tension(k, et, l0, l + h) - ligament_tension(k, et, l0, l - h)) / (2 * h), 1e-3) << e;
  }
}

TEST(Derivatives, PostureEquilibriumJacobianEqualsCentralDifferences) {
  // The SQP's linearisation d(A a - b)/dx (muscles, ligaments, discs, capsules, gravity, seat,
  // floor, backrest and lumbar-support contact with friction, wraps) at every posture of the file,
  // at its solution and 0.02 away, for activations and friction fractions spread over [0, 0.12].
  const Model& m = model();
  const auto postures = io::load_postures(std::string(LUMBOSIM_SOURCE_DIR) + "/models/postures.yaml");
  for (const auto& p : postures) {
    PostureSolver s(m, p);
    const PostureResult r = s.solve();
    ASSERT_EQ(r.status, SolveStatus::Converged) << p.name;
    MatX A, Ap, Ja;
    VecX b, bp;
    s.equations(s.x_of(r.q), A, b);
    VecX a(A.cols());
    for (int i = 0; i < a.size(); ++i) a[i] = 0.02 + 0.1 * ((i * 37) % 11) / 11.0;
    for (double off : {0.0, 0.02}) {
      VecX x = s.x_of(r.q);
      for (int i = 0; i < x.size(); ++i) x[i] += off * ((i % 3) - 1);
      s.equations(x, A, b);
      ASSERT_TRUE(s.analytic_jacobian(a, Ja)) << p.name;
      const MatX Jf = central_differences(x, [&](const VecX& xx) {
        s.equations(xx, Ap, bp);
        return VecX(Ap * a - bp);
      });
      for (int i = 0; i < Jf.rows(); ++i) {
        const double scale = Jf.row(i).cwiseAbs().maxCoeff() + 1e-3;
        EXPECT_LT((Ja - Jf).row(i).cwiseAbs().maxCoeff() / scale, 1e-5) << p.name << " off " << off << " row " << i;
      }
    }
  }
}

TEST(Derivatives, PostureTargetJacobians) {
  // trunk inclination, lordosis, pelvic tilt and hand height targets: analytic Jacobians in the
  // free variables against central differences of the target residuals
  const Model& m = model();
  const auto postures = io::load_postures(std::string(LUMBOSIM_SOURCE_DIR) + "/models/postures.yaml");
  for (const char* name : {"standing", "sitting_upright"}) {
    PostureSpec p;
    for (const auto& q : postures)
      if (q.name == name) p = q;
    p.targets = {{"thorax_inclination_deg", 5.0, {}}, {"lumbar_lordosis_deg", 40.0, {}}, {"pelvic_tilt_deg", 3.0, {}},
                 {"hand_height_m", 0.8, {}}};
    PostureSolver s(m, p);
    VecX x = s.x_of(m.default_q());
    for (int i = 0; i < x.size(); ++i) x[i] += 0.05 * std::sin(2.1 * i);
    VecX c, cd;
    MatX J, Jd;
    s.targets_and_jacobian(x, c, J);
    ASSERT_EQ(J.rows(), 4);
    const MatX Jf = central_differences(x, [&](const VecX& xx) {
      s.targets_and_jacobian(xx, cd, Jd);
      return cd;
    });
    for (int j = 0; j < x.size(); ++j)
      EXPECT_LT((J.col(j) - Jf.col(j)).cwiseAbs().maxCoeff(), 1e-7) << name << " variable " << j;
    EXPECT_GT(J.cwiseAbs().maxCoeff(), 0.5);
  }
}

TEST(Derivatives, ContactForcesOnPlaneWindowAndCylinder) {
  // a seat with a finite depth (its edge fading under a thigh), an inclined floor and a lumbar
  // support cylinder, with friction: the contact forces' generalized-force derivative against
  // central differences, and the same restricted to one coordinate (the height Newton's slope)
  const Model& m = model();
  Data d(m);
  DerivativeWorkspace ws(m);
  std::vector<ContactPlane> planes(3);
  planes[0].point = Vec3(0.0, 0.45, 0.0);
  planes[0].extent_min = -0.10;
  planes[0].extent_max = 0.35;
  planes[0].spheres = {m.find_contact("ischium_r"), m.find_contact("thigh_r"), m.find_contact("thigh_distal_r")};
  planes[1].normal = Vec3(0.2, 1.0, 0.0).normalized();
  planes[1].stiffness = 1e6;
  planes[1].spheres = {m.find_contact("heel_r"), m.find_contact("toe_r")};
  planes[2].point = Vec3(-0.2, 0.7, 0.0);
  planes[2].radius = 0.05;
  planes[2].spheres = {m.find_contact("lumbar_back")};
  VecX q = m.default_q();
  q[m.find_coord("pelvis_ty")] = 0.52;
  q[m.find_coord("hip_flexion_r")] = 90.0 / 57.29577951308232;
  q[m.find_coord("knee_flexion_r")] = 90.0 / 57.29577951308232;
  AnalyticContactDetector det;
  std::vector<ContactPoint> cps;
  const auto tau_of = [&](const VecX& qq, const VecX& fpn) {
    forward_kinematics(m, d, qq);
    det.detect(m, d, planes, cps);
    VecX tau = VecX::Zero(m.nv);
    contact_generalized_forces(m, d, planes, cps, tau);
    for (size_t j = 0; j < cps.size(); ++j) add_point_force(m, d, m.contact_body[static_cast<size_t>(cps[j].sphere)], cps[j].p_W,
                                                            fpn[static_cast<Eigen::Index>(j)] * cps[j].force * cps[j].t_W, tau);
    return tau;
  };
  const VecX fpn = (VecX(6) << 0.3, -0.2, 0.1, 0.4, -0.5, 0.25).finished();
  const VecX tau0 = tau_of(q, fpn);
  MatX K = MatX::Zero(m.nv, m.nv);
  add_contact_force_derivative(m, d, planes, cps, fpn, K, ws);
  const MatX Kf = central_differences(q, [&](const VecX& qq) { return tau_of(qq, fpn); }, 1e-7);
  for (int k = 0; k < m.nv; ++k)
    EXPECT_LT((K.col(k) - Kf.col(k)).cwiseAbs().maxCoeff(), 1e-5 * (1.0 + Kf.col(k).cwiseAbs().maxCoeff()))
        << m.coord_name[static_cast<size_t>(k)];
  EXPECT_GT(tau0.cwiseAbs().maxCoeff(), 10.0) << "the spheres are in contact";
  forward_kinematics(m, d, q);
  det.detect(m, d, planes, cps);
  const int ty = m.find_coord("pelvis_ty");
  std::vector<char> mask(static_cast<size_t>(m.nv), 0);
  mask[static_cast<size_t>(ty)] = 1;
  const std::vector<int> cols{ty};
  MatX Kr = MatX::Zero(m.nv, m.nv);
  add_contact_force_derivative(m, d, planes, cps, fpn, Kr, ws, &cols, &mask);
  EXPECT_NEAR(Kr(ty, ty), K(ty, ty), 1e-9 * std::abs(K(ty, ty)));
  EXPECT_EQ(Kr.cwiseAbs().sum(), std::abs(Kr(ty, ty))) << "nothing outside the requested entry";
}
