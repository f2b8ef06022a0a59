// The default lumbopelvic model against published anthropometry and standing alignment.
#include <gtest/gtest.h>

#include <numbers>

#include "../validation/targets.hpp"
#include "lumbosim/algorithm/alignment.hpp"
#include "lumbosim/algorithm/kinematics.hpp"
#include "lumbosim/algorithm/contact.hpp"
#include "lumbosim/algorithm/muscle.hpp"
#include "lumbosim/algorithm/path.hpp"
#include "lumbosim/algorithm/passive.hpp"
#include "lumbosim/io/yaml_model.hpp"
#include "lumbosim/model/compile.hpp"

using namespace lumbosim;
constexpr double kDeg = 180.0 / std::numbers::pi;

namespace {
Model load(const std::vector<Override>& o = {}) {
  return compile(io::load_model_spec(std::string(LUMBOSIM_SOURCE_DIR) + "/models/lumbopelvic.yaml"), o);
}
Override set(const std::string& n, double v) { return Override{n, v, SourceLoc{"test", 0, 0}}; }
}  // namespace

TEST(DefaultModel, TotalMassEqualsMassParameter) {
  for (double mass : {50.0, 75.0, 110.0}) {
    const Model m = load({set("mass", mass)});
    EXPECT_NEAR(m.total_mass, mass, 0.005 * mass);
  }
}

TEST(DefaultModel, StandingCentreOfMassHeight) {
  // Standing whole-body COM at 55-57 % of stature in adults (Hay 1973 review; Winter 2009,
  // "Biomechanics and Motor Control of Human Movement", 4th ed., Table 4.1 segment data);
  // band 53-59 % allows for body build.
  for (double h : {1.60, 1.75, 1.90}) {
    const Model m = load({set("height", h)});
    Data d(m);
    forward_kinematics(m, d, m.default_q());
    const Vec3 c = center_of_mass(m, d);
    EXPECT_GT(c.y() / h, 0.53) << "height " << h;
    EXPECT_LT(c.y() / h, 0.59) << "height " << h;
    // feet stand on the floor (y = 0) at every height
    const int heel = m.find_landmark("heel_r");
    EXPECT_NEAR(point_position(d, m.landmark_body[static_cast<size_t>(heel)], m.landmark_p_B[static_cast<size_t>(heel)]).y(),
                0.0, 1e-3);
    // the vertex sits at the stature
    const int vx = m.find_landmark("vertex");
    EXPECT_NEAR(point_position(d, m.landmark_body[static_cast<size_t>(vx)], m.landmark_p_B[static_cast<size_t>(vx)]).y(), h,
                0.02 * h);
  }
}

TEST(DefaultModel, StandingAlignmentWithinPublishedNorms) {
  const Model m = load();
  Data d(m);
  forward_kinematics(m, d, m.default_q());
  const Alignment a = compute_alignment(m, d, AlignmentLandmarks::resolve(m));
  const auto pi = validation::target("norm_pi");  // Mac-Thiong 2011
  const auto pt = validation::target("norm_pt_stand");
  const auto ll = validation::target("lord_ll_stand");  // Lord 1997
  EXPECT_GE(a.pelvic_incidence * kDeg, pi.lower);
  EXPECT_LE(a.pelvic_incidence * kDeg, pi.upper);
  EXPECT_GE(a.spinopelvic_pt * kDeg, pt.lower);
  EXPECT_LE(a.spinopelvic_pt * kDeg, pt.upper);
  EXPECT_GE(a.lumbar_lordosis * kDeg, ll.lower);
  EXPECT_LE(a.lumbar_lordosis * kDeg, ll.upper);
  // PI is a morphological constant: it does not change with pelvic tilt or spinal posture.
  VecX q = m.default_q();
  q[m.find_coord("pelvis_tilt")] = -0.3;
  q[m.find_coord("L4_L5_flexion")] = 0.2;
  forward_kinematics(m, d, q);
  const Alignment b = compute_alignment(m, d, AlignmentLandmarks::resolve(m));
  EXPECT_NEAR(b.pelvic_incidence, a.pelvic_incidence, 1e-12);
  // A rigid pelvic rotation changes ASIS-PSIS tilt and spinopelvic PT equally and oppositely.
  EXPECT_NEAR(b.pelvic_tilt - a.pelvic_tilt, -(b.spinopelvic_pt - a.spinopelvic_pt), 1e-12);
  EXPECT_NEAR(b.pelvic_tilt - a.pelvic_tilt, -0.3 - 10.0 / kDeg, 1e-12);
  // Flexion at one level reduces that level's lordosis by the same angle.
  EXPECT_NEAR(a.segment[1] - b.segment[1], 0.2, 1e-12);
  EXPECT_NEAR(a.lumbar_lordosis - b.lumbar_lordosis, 0.2, 1e-12);
}

TEST(DefaultModel, HasTheRequiredLandmarksAndCoordinates) {
  const Model m = load();
  for (const char* c : {"pelvis_tx", "pelvis_ty", "pelvis_tilt", "L5_S1_flexion", "L4_L5_flexion", "L3_L4_flexion",
                        "L2_L3_flexion", "L1_L2_flexion", "T12_L1_flexion", "hip_flexion_r", "hip_flexion_l",
                        "knee_flexion_r", "knee_flexion_l", "ankle_angle_r", "ankle_angle_l"})
    EXPECT_GE(m.find_coord(c), 0) << c;
  EXPECT_NO_THROW(AlignmentLandmarks::resolve(m));
}

TEST(DefaultModel, SignConventions) {
  // docs/conventions.md: anterior pelvic tilt, flexion and dorsiflexion positive.
  const Model m = load();
  Data d(m);
  const VecX q0 = m.default_q();
  auto pos = [&](const VecX& q, const char* lm) {
    forward_kinematics(m, d, q);
    const int l = m.find_landmark(lm);
    return point_position(d, m.landmark_body[static_cast<size_t>(l)], m.landmark_p_B[static_cast<size_t>(l)]);
  };
  auto bump = [&](const char* c, double v) {
    VecX q = q0;
    q[m.find_coord(c)] += v;
    return q;
  };
  EXPECT_LT(pos(bump("pelvis_tilt", 0.1), "ASIS_r").y(), pos(q0, "ASIS_r").y());            // ASIS drops
  EXPECT_GT(pos(bump("L4_L5_flexion", 0.1), "L1_superior_endplate").x(), pos(q0, "L1_superior_endplate").x());
  EXPECT_GT(pos(bump("hip_flexion_r", 0.3), "knee_center_r").x(), pos(q0, "knee_center_r").x());  // knee forward
  EXPECT_LT(pos(bump("knee_flexion_r", 0.3), "ankle_center_r").x(), pos(q0, "ankle_center_r").x());  // foot back
  EXPECT_GT(pos(bump("ankle_angle_r", 0.3), "toe_r").y(), pos(q0, "toe_r").y());              // toes up
}

TEST(DefaultModel, LigamentsKeepTheSourceForceElongationLaw) {
  // Remus et al. 2021 capsular ligament L4-L5: 10 springs of mean length 2.61 mm, zero-force
  // strain e_r = 0.55 (slack in the neutral pose), e_t = 0.95, k = 40 N per spring. Our single
  // cable is about ten times longer: it must be slack for the same 1.4 mm and then pull with the
  // same force at the same elongation.
  const Model m = load();
  Data d(m);
  passive_forces(m, d, m.default_q());
  const int l = m.find_ligament("CL_L4L5_r");
  ASSERT_GE(l, 0);
  const double L = d.path_length[m.ligament_path[static_cast<size_t>(l)]];
  const double lR = 0.00261, er = 0.55, l0R = lR * (1 + er);
  const double l0 = m.ligament_slack_length[static_cast<size_t>(l)];
  EXPECT_NEAR(l0 - L, er * lR, 1e-12);  // slack by the source spring's slack elongation
  EXPECT_EQ(d.ligament_force[l], 0.0);
  for (double dl : {0.5e-3, 2e-3, 5e-3}) {
    const double ours = ligament_tension(m.ligament_stiffness[static_cast<size_t>(l)], m.ligament_transition_strain[static_cast<size_t>(l)], l0, l0 + dl);
    const double source = ligament_tension(400.0, 0.95, l0R, l0R + dl);
    EXPECT_NEAR(ours, source, 1e-9 * source) << dl;
  }
  // supraspinous, interspinous and flavum ligaments are pre-stretched (e_r < 0): taut in the
  // neutral pose (Nachemson & Evans 1968: the ligamentum flavum is pre-tensioned)
  for (const char* name : {"SSL_L4L5", "ISL_L4L5", "LF_L4L5"}) EXPECT_GT(d.ligament_force[m.find_ligament(name)], 0.0) << name;
}

TEST(DefaultModel, PassiveKneeMomentFollowsRienerAndEdrich) {
  // Riener & Edrich 1999 (J Biomech 32:539) fitted passive knee moments of 10 subjects as a
  // function of hip, knee and ankle angles (deg, flexion positive; N m, extending negative):
  auto riener = [](double hip, double knee, double ankle) {
    return std::exp(1.800 - 0.0460 * ankle - 0.0352 * knee + 0.0217 * hip) -
           std::exp(-3.971 - 0.0004 * ankle + 0.0495 * knee - 0.0128 * hip) - 4.820 + std::exp(2.220 - 0.150 * knee);
  };
  const Model m = load();
  Data d(m);
  const int hip = m.find_coord("hip_flexion_r"), knee = m.find_coord("knee_flexion_r");
  for (const auto& [h, k] : std::vector<std::pair<double, double>>{{90, 90}, {0, 90}, {90, 130}, {0, 130}}) {
    VecX q = m.default_q();
    q[hip] = h / kDeg;
    q[knee] = k / kDeg;
    passive_forces(m, d, q);
    const double ours = d.tau_passive[knee], ref = riener(h, k, 0.0);
    // the knee is flexed: both resist (negative); within a factor of two (inter-subject spread)
    EXPECT_LT(ours, 0.0) << h << "/" << k;
    EXPECT_GT(ours, 2.0 * ref - 3.0) << h << "/" << k << ": ours " << ours << " Riener " << ref;
    EXPECT_LT(ours, 0.5 * ref) << h << "/" << k << ": ours " << ours << " Riener " << ref;
  }
}

TEST(DefaultModel, PassiveHipMomentInFlexionFollowsRienerAndEdrich) {
  // Riener & Edrich 1999 (J Biomech 32:539), their fit of the passive hip moment (deg; N m,
  // flexing positive; coefficients as we recall them). The fit carries a constant of +8 N m
  // (at 45/90 deg it is +6 N m, flexing), which a model of tissues alone does not have, so the
  // change of the moment as the hip flexes from 45 deg (knee 90) is compared: -5.9 N m to 90 deg
  // and -17.5 to 120 deg in the fit, -8.6 and -20.6 in the model (every passive element: muscles
  // and the hip's limit moment). Within a factor of two (inter-subject spread, as for the knee).
  // In absolute terms the model resists 13 N m at 90/90 where the fit has about 0.
  auto riener = [](double hip, double knee) {
    return std::exp(1.4655 - 0.0034 * knee - 0.0750 * hip) - std::exp(1.3403 - 0.0226 * knee + 0.0305 * hip) + 8.072;
  };
  const Model m = load();
  Data d(m);
  const int hip = m.find_coord("hip_flexion_r"), knee = m.find_coord("knee_flexion_r");
  auto ours = [&](double h) {
    VecX q = m.default_q();
    q[hip] = h / kDeg;
    q[knee] = 90.0 / kDeg;
    passive_forces(m, d, q);
    return d.tau_passive[hip];
  };
  for (double h : {90.0, 120.0}) {
    const double change = ours(h) - ours(45.0), ref = riener(h, 90.0) - riener(45.0, 90.0);
    ASSERT_LT(ref, 0.0);
    EXPECT_LT(change, 0.5 * ref) << h << ": ours " << change << " Riener " << ref;
    EXPECT_GT(change, 2.0 * ref) << h << ": ours " << change << " Riener " << ref;
  }
}

TEST(DefaultModel, HipExtensorsKeepTheirStrengthWithTheHipAndKneeFlexed) {
  // Maximum isometric hip extension, one side (every muscle fully active, active force only,
  // compliant tendons at equilibrium; 75 kg) against Anderson, Madigan & Nussbaum 2007
  // (J Biomech 40:3105; young men, their Table 3 fit evaluated by us for 1.78 m: 209, 172 and
  // 123 N m at 60, 90 and 110 deg of hip flexion). With the knee flexed the hamstrings are
  // short and weak and the one-joint extensors carry the moment: without the adductor magnus (a hip
  // extensor in flexion) the model gave 64 N m at 90/90 and 46 at 110/110 (37 % of the data).
  // Band: 60-160 % (their knee angle in the hip tests is not known to us; the model gives
  // more with the knee straight, where the hamstrings add theirs).
  const Model m = load({set("mass", 75.0)});
  Data d(m);
  const int hip = m.find_coord("hip_flexion_r"), knee = m.find_coord("knee_flexion_r");
  auto extension = [&](double h, double k) {
    VecX q = m.default_q();
    q[hip] = h / kDeg;
    q[knee] = k / kDeg;
    forward_kinematics(m, d, q);
    compute_paths(m, d);
    double M = 0.0;
    for (int i = 0; i < m.nmuscle(); ++i) {
      const MuscleParams& p = m.muscle[static_cast<size_t>(i)];
      const int path = m.muscle_path[static_cast<size_t>(i)];
      const double l = d.path_length[path], r = d.path_moment_arm(path, hip);
      if (r >= 0.0) continue;
      const FiberState on = p.compliant_tendon ? compliant_tendon_equilibrium(p, l, 1.0) : rigid_tendon_state(p, l);
      const FiberState off = p.compliant_tendon ? compliant_tendon_equilibrium(p, l, 0.0) : rigid_tendon_state(p, l);
      M += -r * (muscle_force(p, on, 1.0) - muscle_force(p, off, 0.0));
    }
    return M;
  };
  const struct { double hip, knee, anderson; } cases[] = {{60, 90, 209}, {90, 90, 172}, {110, 90, 123}, {110, 110, 123}, {90, 0, 172}};
  for (const auto& c : cases) {
    const double ours = extension(c.hip, c.knee);
    EXPECT_GT(ours, 0.6 * c.anderson) << c.hip << "/" << c.knee;
    EXPECT_LT(ours, 1.6 * c.anderson) << c.hip << "/" << c.knee;
  }
  // the adductor magnus's ischial (posterior) head extends the hip, more so from a flexed hip
  // (its moment arm grows from standing to 45 deg; the adductors' flexion-extension action
  // depends on the hip angle: Neumann, Kinesiology of the Musculoskeletal System, recalled)
  const int am = m.muscle_path[static_cast<size_t>(m.find_muscle("addmagIsch_r"))];
  VecX q = m.default_q();
  q[hip] = 0.0;
  forward_kinematics(m, d, q);
  compute_paths(m, d);
  const double r0 = d.path_moment_arm(am, hip);
  q[hip] = 45.0 / kDeg;
  forward_kinematics(m, d, q);
  compute_paths(m, d);
  EXPECT_LT(r0, 0.0);
  EXPECT_LT(d.path_moment_arm(am, hip), r0);
}

TEST(DefaultModel, CylinderContactGeometry) {
  // A lumbar-support roll (cylinder along z): depth r_s + R - distance of the sphere centre from
  // the axis, radial normal, contact point on the roll's surface.
  const Model m = load();
  Data d(m);
  forward_kinematics(m, d, m.default_q());
  ContactPlane roll;
  roll.point = Vec3(-0.2, 0.9, 0.0);
  roll.radius = 0.05;
  for (int s = 0; s < static_cast<int>(m.contact_name.size()); ++s) roll.spheres.push_back(s);
  AnalyticContactDetector det;
  std::vector<ContactPoint> out;
  det.detect(m, d, {roll}, out);
  ASSERT_EQ(out.size(), m.contact_name.size());
  for (const auto& c : out) {
    const auto i = static_cast<size_t>(c.sphere);
    const Vec3 centre = point_position(d, m.contact_body[i], m.contact_p_B[i]);
    const double dist = std::hypot(centre.x() + 0.2, centre.y() - 0.9);
    EXPECT_NEAR(c.depth, m.contact_radius[i] + 0.05 - dist, 1e-12);
    EXPECT_NEAR(c.n_W.norm(), 1.0, 1e-12);
    EXPECT_NEAR(std::hypot(c.p_W.x() + 0.2, c.p_W.y() - 0.9), 0.05, 1e-12);
    EXPECT_NEAR((centre - c.p_W).dot(c.n_W), dist - 0.05, 1e-12);
  }
}
