/// @file posture_dynamics.cpp
/// Forward dynamics of a posture's free coordinates (PostureSolver::simulate): activation and
/// compliant-tendon fibre states, contact with regularised friction, semi-implicit or linearly
/// implicit Euler, computed muscle control toward a posture or a reference motion.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "lumbosim/algorithm/contact.hpp"
#include "lumbosim/algorithm/derivatives.hpp"
#include "lumbosim/algorithm/dynamics.hpp"
#include "lumbosim/algorithm/kinematics.hpp"
#include "lumbosim/algorithm/muscle.hpp"
#include "lumbosim/algorithm/muscle_curves.hpp"
#include "lumbosim/algorithm/passive.hpp"
#include "lumbosim/algorithm/posture.hpp"

namespace lumbosim {

std::vector<VecX> reference_knot_velocities(const std::vector<double>& t, const std::vector<VecX>& q) {
  std::vector<VecX> v(q.size());
  for (size_t k = 0; k < q.size(); ++k)
    v[k] = k == 0 || k + 1 == q.size() ? VecX::Zero(q[k].size()) : VecX((q[k + 1] - q[k - 1]) / (t[k + 1] - t[k - 1]));
  return v;
}

void sample_reference(const std::vector<double>& t, const std::vector<VecX>& q, const std::vector<VecX>& v, double time,
                      size_t& knot, VecX& x, VecX& xd, VecX& xdd) {
  while (knot + 1 < q.size() && t[knot + 1] <= time) ++knot;
  if (knot + 1 < q.size() && time >= t[knot]) {
    // cubic Hermite segment: x(s) = h00 x0 + h10 T v0 + h01 x1 + h11 T v1, s in [0, 1]
    const double T = t[knot + 1] - t[knot];
    const double s = (time - t[knot]) / T, s2 = s * s, s3 = s2 * s;
    const VecX &x0 = q[knot], &x1 = q[knot + 1], &v0 = v[knot], &v1 = v[knot + 1];
    x = (2 * s3 - 3 * s2 + 1) * x0 + (s3 - 2 * s2 + s) * T * v0 + (3 * s2 - 2 * s3) * x1 + (s3 - s2) * T * v1;
    xd = ((6 * s2 - 6 * s) * (x0 - x1)) / T + (3 * s2 - 4 * s + 1) * v0 + (3 * s2 - 2 * s) * v1;
    xdd = ((12 * s - 6) * (x0 - x1)) / (T * T) + ((6 * s - 4) * v0 + (6 * s - 2) * v1) / T;
  } else {  // held before the first knot and after the last
    x = time < t.front() ? q.front() : q.back();
    xd.setZero();
    xdd.setZero();
  }
}

int PostureSolver::find_anchors(const VecX& q, const std::string& surface, double tolerance, std::vector<Anchor>& out) {
  int plane = -1;
  for (size_t k = 0; k < planes_.size(); ++k)
    if (planes_[k].name == surface) plane = static_cast<int>(k);
  if (plane < 0) throw std::invalid_argument("plant_feet: posture '" + spec_.name + "' has no contact surface named '" + surface + "'");
  const ContactPlane& pl = planes_[static_cast<size_t>(plane)];
  if (pl.radius > 0.0) throw std::invalid_argument("plant_feet: surface '" + surface + "' must be a plane, not a cylinder");
  if (!(tolerance >= 0.0) || !std::isfinite(tolerance))
    throw std::invalid_argument("plant_feet: the tolerance must be a finite number >= 0");
  forward_kinematics(model_, data_, q);
  const size_t first = out.size();
  for (int s : pl.spheres) {
    const auto k = static_cast<size_t>(s);
    Anchor a;
    a.sphere = s;
    a.body = model_.contact_body[k];
    a.plane = plane;
    a.p_B = model_.contact_p_B[k];
    a.target = point_position(data_, a.body, a.p_B);
    if (pl.normal.dot(a.target - pl.point) - model_.contact_radius[k] > tolerance) continue;
    a.tangential = std::none_of(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(), [&](const Anchor& o) { return o.body == a.body; });
    out.push_back(a);
  }
  if (out.size() == first)
    throw std::invalid_argument("plant_feet: no contact sphere of surface '" + surface + "' is within " + std::to_string(tolerance) +
                                " m of it at the start");
  return plane;
}

void PostureSolver::anchor_rows(const std::vector<Anchor>& anchors, MatX& J, VecX& phi, Mat3X& J3) {
  Eigen::Index r = 0;
  for (const Anchor& a : anchors) {
    const ContactPlane& plane = planes_[static_cast<size_t>(a.plane)];
    const Vec3 n = plane.normal, t = n.cross(Vec3::UnitZ());  // the sagittal tangent, as contact.hpp
    const Eigen::Index rows = a.tangential ? 2 : 1;
    if (a.released) {
      J.middleRows(r, rows).setZero();
      phi.segment(r, rows).setZero();
      r += rows;
      continue;
    }
    const Vec3 p = point_position(data_, a.body, a.p_B);
    point_jacobian_world(model_, data_, a.body, p, J3);
    J.row(r).noalias() = n.transpose() * J3;
    phi[r++] = n.dot(p - a.target);
    if (a.tangential) {
      J.row(r).noalias() = t.transpose() * J3;
      phi[r++] = t.dot(p - a.target);
    }
  }
}

double PostureSolver::place_feet(VecX& q, const VecX& q_feet, const std::string& surface, double tolerance) {
  if (q.size() != model_.nv || q_feet.size() != model_.nv) throw std::invalid_argument("place_feet: q must hold every coordinate");
  std::vector<Anchor> anchors;
  find_anchors(q_feet, surface, tolerance, anchors);
  std::vector<int> legs;  // each hip flexion and the coordinates below it
  const int hips[2] = {model_.find_coord("hip_flexion_r"), model_.find_coord("hip_flexion_l")};
  for (int c = 0; c < model_.nv; ++c)
    for (int h : hips)
      if (h >= 0 && model_.mob_in_subtree(c, h)) {
        legs.push_back(c);
        break;
      }
  Eigen::Index rows = 0;
  for (const Anchor& a : anchors) rows += a.tangential ? 2 : 1;
  MatX J(rows, model_.nv), Jl(rows, static_cast<Eigen::Index>(legs.size()));
  VecX phi(rows);
  Mat3X J3(3, model_.nv);
  // Levenberg-Marquardt: a straight knee makes the legs' Jacobian singular
  forward_kinematics(model_, data_, q);
  anchor_rows(anchors, J, phi, J3);
  double err2 = phi.squaredNorm(), damping = 1e-6;
  VecX trial = q;
  for (int it = 0; it < 200 && err2 > 1e-24; ++it) {
    for (size_t k = 0; k < legs.size(); ++k) Jl.col(static_cast<Eigen::Index>(k)) = J.col(legs[k]);
    MatX H = Jl.transpose() * Jl;
    H.diagonal().array() += damping;
    const VecX dq = H.ldlt().solve(-(Jl.transpose() * phi));
    trial = q;
    for (size_t k = 0; k < legs.size(); ++k) trial[legs[k]] += dq[static_cast<Eigen::Index>(k)];
    forward_kinematics(model_, data_, trial);
    VecX phi_t(phi.size());
    MatX J_t(J.rows(), J.cols());
    anchor_rows(anchors, J_t, phi_t, J3);
    if (phi_t.squaredNorm() < err2) {
      q = trial;
      J = J_t;
      phi = phi_t;
      err2 = phi.squaredNorm();
      damping = std::max(damping / 10.0, 1e-12);
    } else {
      damping *= 10.0;
      if (damping > 1e6) break;
    }
  }
  return phi.cwiseAbs().maxCoeff();
}

ForwardResult PostureSolver::simulate(const VecX& q0, const VecX& u0, const VecX& a0, const ForwardSettings& st,
                                      const VecX* q_track) {
  return simulate_impl(q0, u0, a0, st, q_track, nullptr);
}

ForwardResult PostureSolver::simulate(const VecX& q0, const VecX& u0, const VecX& a0, const ForwardSettings& st,
                                      const MotionReference& motion) {
  if (motion.t.empty() || motion.t.size() != motion.q.size())
    throw std::invalid_argument("MotionReference: t and q must be non-empty and of equal size");
  for (size_t k = 1; k < motion.t.size(); ++k)
    if (!(motion.t[k] > motion.t[k - 1])) throw std::invalid_argument("MotionReference: times must increase");
  for (size_t k = 0; k < motion.q.size(); ++k)
    if (motion.q[k].size() != model_.nv || !motion.q[k].allFinite())
      throw std::invalid_argument("MotionReference: knot " + std::to_string(k) + " must hold " + std::to_string(model_.nv) +
                                  " finite coordinates");
  return simulate_impl(q0, u0, a0, st, nullptr, &motion);
}

ForwardResult PostureSolver::simulate_impl(const VecX& q0, const VecX& u0, const VecX& a0, const ForwardSettings& st,
                                           const VecX* q_track, const MotionReference* motion) {
  ForwardResult out;
  VecX x = x_of(q0), xd = VecX::Zero(nx_), a = a0, u = u0, x_ref = q_track ? x_of(*q_track) : x;
  VecX xd_ref = VecX::Zero(nx_), xdd_ref = VecX::Zero(nx_);
  // the reference motion's knots in the free variables and their velocities (central
  // differences, zero at both ends), sized before the loop
  std::vector<VecX> knots, knot_v;
  if (motion) {
    for (const VecX& qk : motion->q) knots.push_back(x_of(qk));
    knot_v = reference_knot_velocities(motion->t, knots);
  }
  size_t knot = 0;
  const bool tracking = q_track || motion;
  VecX tau(model_.nv), tau_c(model_.nv), tau_m(model_.nv), tau_fp(model_.nv), Fact(nm_), zero = VecX::Zero(model_.nv);
  // Compliant-tendon muscles carry their fibre length as a state, started in static equilibrium.
  VecX lm = VecX::Zero(nm_), vm = VecX::Zero(nm_);
  {
    passive_forces(model_, data_, q0);
    for (int i = 0; i < nm_; ++i) {
      const MuscleParams& p = model_.muscle[static_cast<size_t>(i)];
      if (p.compliant_tendon)
        lm[i] = compliant_tendon_equilibrium(p, data_.path_length[model_.muscle_path[static_cast<size_t>(i)]], a[i]).fiber_length;
    }
  }
  auto positive = [](double v) { return v > 0.0 && std::isfinite(v); };
  if (!positive(st.dt)) throw std::invalid_argument("ForwardSettings::dt must be a finite number > 0");
  if (!(st.duration >= 0.0 && std::isfinite(st.duration)))
    throw std::invalid_argument("ForwardSettings::duration must be a finite number >= 0");
  if (!positive(st.friction_velocity))
    throw std::invalid_argument("ForwardSettings::friction_velocity must be a finite number > 0");
  if (st.plan_contacts && !positive(st.contact_weight))
    throw std::invalid_argument("ForwardSettings::contact_weight must be a finite number > 0");
  // Planted feet: the anchored spheres leave their surface's compliant contact (restored on
  // return) and become constraint rows.
  std::vector<Anchor> anchors;
  int plant_plane = -1;  // the first plant surface's (the feet's): its normal force and centre of pressure are reported
  struct Restore {
    std::vector<ContactPlane>& planes;
    std::vector<std::vector<int>> spheres;
    ~Restore() {
      for (size_t k = 0; k < spheres.size(); ++k) planes[k].spheres = spheres[k];
    }
  } restore{planes_, {}};
  if (st.plant_feet) {
    if (st.hold_legs) throw std::invalid_argument("ForwardSettings::plant_feet needs hold_legs = false (the legs carry the body)");
    if (!positive(st.plant_time_constant))
      throw std::invalid_argument("ForwardSettings::plant_time_constant must be a finite number > 0");
    if (st.plant_surfaces.empty()) throw std::invalid_argument("ForwardSettings::plant_surfaces must name at least one surface");
    for (const auto& [surface, time] : st.plant_releases) {
      if (std::find(st.plant_surfaces.begin(), st.plant_surfaces.end(), surface) == st.plant_surfaces.end())
        throw std::invalid_argument("ForwardSettings::plant_releases: '" + surface + "' is not one of plant_surfaces");
      if (!(time >= 0.0) || !std::isfinite(time))
        throw std::invalid_argument("ForwardSettings::plant_releases: the release time of '" + surface + "' must be a finite number >= 0");
    }
    for (const std::string& surface : st.plant_surfaces) {
      const int pl = find_anchors(q0, surface, st.plant_tolerance, anchors);
      if (plant_plane < 0) plant_plane = pl;
    }
    passive_forces(model_, data_, q0);  // find_anchors moved data_: back to the start
    for (const ContactPlane& pl : planes_) restore.spheres.push_back(pl.spheres);
    for (const Anchor& an : anchors) {
      auto& spheres = planes_[static_cast<size_t>(an.plane)].spheres;
      spheres.erase(std::remove(spheres.begin(), spheres.end(), an.sphere), spheres.end());
    }
  }
  Eigen::Index nr = 0;
  for (const Anchor& an : anchors) nr += an.tangential ? 2 : 1;
  const bool planted = nr > 0;
  MatX Jq(nr, model_.nv), Jr(nr, nx_), Jrt(nx_, nr), Y(nx_, nr), W(nr, nr);
  VecX phi(nr), lam(nr), cvec(nr), dv(nx_), vnew(nx_);
  Mat3X J3(3, model_.nv);
  Eigen::PartialPivLU<MatX> luW(nr);
  // the weld's rows: each anchor's normal row, then (first sphere of a body) its tangential row
  std::vector<Eigen::Index> normal_rows, tangent_rows;
  for (Eigen::Index r = 0; const Anchor& an : anchors) {
    normal_rows.push_back(r++);
    if (an.tangential) tangent_rows.push_back(r++);
  }
  const int nn = static_cast<int>(normal_rows.size()), nt = static_cast<int>(tangent_rows.size());
  const bool plan = tracking && st.plan_contacts && nc_ > 0;
  const int plan_cols = plan ? 2 * nc_ : 0;
  // Computed muscle control plans the weld's normal forces as bounded columns (0 to the body's
  // weight: a planted foot pushes, it does not pull) and its tangential forces as free columns.
  const int ncol = nm_ + plan_cols + (planted && tracking ? nn : 0);
  MatX Mr(nx_, nx_), A(nx_, ncol), MG(model_.nv, nx_), K(nx_, nx_), D(nx_, nx_), S(nx_, nx_), Bt(nx_, nt);
  StaticOptimizer qp(nx_, ncol, planted && tracking ? nt : 0);
  VecX w_ctrl(ncol), tau_e(model_.nv);
  w_ctrl.head(nm_) = w_.head(nm_);
  if (plan) w_ctrl.segment(nm_, plan_cols).setConstant(st.contact_weight);
  if (ncol > nm_ + plan_cols) w_ctrl.tail(ncol - nm_ - plan_cols).setConstant(st.contact_weight);
  double body_weight = 0.0;  // N: the planned contact forces' unit
  for (int b = 1; b < model_.nbody(); ++b) body_weight += model_.body_inertia[static_cast<size_t>(b)].mass;
  body_weight *= model_.gravity.norm();
  const VecX mu_plant = VecX::Constant(nt, st.contact_weight / (body_weight * body_weight));  // a planned tangential weld force's cost (N)
  // per-step workspaces: the integration loop makes no heap allocation
  VecX q(model_.nv), qd(model_.nv), h(model_.nv), tmp(model_.nv), xdd_des(nx_), need(nx_), rhs(nx_), xdd(nx_);
  VecX f(nx_), fp(nx_), xs(nx_), xds(nx_);
  const bool implicit = st.integrator == Integrator::LinearlyImplicitEuler;
  // The legs (their settling rotation and any free coordinate below a hip, e.g. the ankles of a
  // standing posture) are held where they settled unless hold_legs is false: their stiff foot
  // and seat contacts need the linearly implicit integrator (or a far smaller step).
  std::vector<int> held;
  if (st.hold_legs) {
    if (kd_ >= 0) held.push_back(kd_);
    for (size_t k = 0; k < free_.size(); ++k)
      for (int hp : hips_)
        if (model_.mob_in_subtree(free_[k], hp)) held.push_back(static_cast<int>(k));
  }
  Eigen::LDLT<MatX> ldlt(nx_);
  Eigen::PartialPivLU<MatX> lu(nx_);
  const int steps = static_cast<int>(std::lround(st.duration / st.dt));
  const int record_every = st.record_interval > 0.0 ? std::max(1, static_cast<int>(std::lround(st.record_interval / st.dt))) : 0;
  size_t nrec = 0;  // samples are sized before the loop, which then only writes into them
  if (record_every > 0) {
    const size_t ns = static_cast<size_t>(steps / record_every + 1);
    out.time.assign(ns, 0.0);
    out.q_samples.assign(ns, VecX::Zero(model_.nv));
    out.surface_force_samples.assign(ns, VecX::Zero(static_cast<Eigen::Index>(planes_.size())));
    if (planted) {
      out.plant_normal_samples.assign(ns, 0.0);
      out.plant_cop_samples.assign(ns, 0.0);
    }
  }
  const int ctrl_every = std::max(1, static_cast<int>(std::lround(st.control_interval / st.dt)));
  VecX c_damp(nx_);
  for (int k = 0; k < nx_; ++k)
    c_damp[k] = k == kd_ || model_.coord_is_rotational(free_[static_cast<size_t>(k)]) ? st.damping : st.damping_translation;

  // Reduced generalized force f(x, xd) = G^T (tau - h) - c xd at activations a and fibre lengths
  // lm (held fixed): passive tissues, contact with regularised friction, muscles with
  // force-velocity (rigid tendon) or the tendon force of the fibre state (compliant), bias forces.
  // Leaves data_, h, Fact and the muscles' share tau_m at the state; with `fibres` (the state
  // itself, which the control reads) also the fibre velocities vm and the control's
  // compliant-fibre passive term tau_fp.
  auto forces = [&](const VecX& xe, const VecX& xde, VecX& fe, bool fibres) {
    set_q(xe, q);
    qd.noalias() = G_ * xde;
    passive_forces(model_, data_, q);  // also computes the paths
    tau = data_.tau_passive;
    if (!planes_.empty()) {
      detector_->detect(model_, data_, planes_, contacts_);
      tau_c.setZero();
      contact_generalized_forces(model_, data_, planes_, contacts_, tau_c);
      for (auto& cp : contacts_) {
        const int body = model_.contact_body[static_cast<size_t>(cp.sphere)];
        const double vt = point_velocity(model_, data_, body, cp.p_W, qd).dot(cp.t_W);
        cp.friction = regularized_friction(cp.force, planes_[static_cast<size_t>(cp.plane)].friction, vt, st.friction_velocity);
        add_point_force(model_, data_, body, cp.p_W, cp.friction * cp.t_W, tau_c);
      }
      tau += tau_c;
    }
    // bias forces h = C qd + g (gravity carried by the support when lying)
    h = rnea(model_, data_, q, qd, zero);
    if (spec_.supported) h -= generalized_gravity(model_, data_, q);
    tau_m.setZero();
    if (fibres) tau_fp.setZero();
    for (int i = 0; i < nm_; ++i) {
      const auto k = static_cast<size_t>(i);
      const MuscleParams& p = model_.muscle[k];
      const int path = model_.muscle_path[k];
      const double v = -data_.path_moment_arm.row(path).dot(qd);
      if (p.compliant_tendon) {
        // active force per activation at the current fibre length (its state), for control
        FiberState fs = rigid_tendon_state(p, data_.path_length[path], v);
        const double thick = p.optimal_fiber_length * std::sin(p.pennation);
        fs.fiber_length = std::max(lm[i], 1.0001 * thick + 1e-9);
        fs.norm_fiber_length = fs.fiber_length / p.optimal_fiber_length;
        fs.cos_pennation = std::sqrt(fs.fiber_length * fs.fiber_length - thick * thick) / fs.fiber_length;
        fs.f_active_length = curves::active_force_length(fs.norm_fiber_length);
        fs.f_passive = curves::passive_force_length(fs.norm_fiber_length, p.passive_strain);
        Fact[i] = muscle_active_force_per_activation(p, fs);
        // the fibre's passive force at its current length, less the unit's at rest (which
        // tau_passive holds): the control's model of the tendon force is a Fact + this, the
        // tendon force once the fibre is at rest at its current length
        if (fibres)
          tau_fp.noalias() += (muscle_passive_force(p, fs) - data_.muscle_passive_force[i]) *
                              data_.path_moment_arm.row(path).transpose();
        // tendon force from the fibre state; the passive part is already in tau_passive (at
        // rest), so add the difference
        double Ft = 0.0;
        const double vf = compliant_fiber_velocity(p, data_.path_length[path], lm[i], a[i], 0.1, &Ft);
        if (fibres) vm[i] = vf;
        tau_m.noalias() += (Ft - data_.muscle_passive_force[i]) * data_.path_moment_arm.row(path).transpose();
      } else {
        Fact[i] = muscle_active_force_per_activation(p, rigid_tendon_state(p, data_.path_length[path], v));
        tau_m.noalias() += a[i] * Fact[i] * data_.path_moment_arm.row(path).transpose();
      }
    }
    tmp = tau + tau_m - h;
    fe.noalias() = G_.transpose() * tmp;
    fe -= c_damp.cwiseProduct(xde);
    for (int k : held) fe[k] = 0.0;
  };

  // Analytic K = df/dx and D = df/dxd at the state forces() left (fixed activations and fibre
  // lengths): the derivatives of gravity, passive tissues, contact (normal law and the friction
  // at its current slip) and muscle tensions along their paths (rigid tendons: force-length and
  // force-velocity; compliant tendons: the tendon's stiffness at the fixed fibre length), as
  // in the statics (algorithm/derivatives.hpp). Left out, as in a W-method: the Coriolis terms'
  // derivatives and the change of slip velocity with the pose (small at the speeds simulated).
  VecX rg(nx_), jt(nx_);
  auto jacobians = [&](const VecX& xde) {
    K_.setZero();
    D.setZero();
    const ConstVecRef qv = q;
    for (int i = 0; i < nm_; ++i) {
      const auto k = static_cast<size_t>(i);
      const MuscleParams& p = model_.muscle[k];
      const int path = model_.muscle_path[k];
      const double l = data_.path_length[path];
      if (p.compliant_tendon) {
        const double hgt = p.optimal_fiber_length * std::sin(p.pennation);
        const double lmi = std::max(lm[i], 1.0001 * hgt + 1e-9);
        const double xproj = std::sqrt(lmi * lmi - hgt * hgt);
        double dft = 0.0;
        const double ft = curves::tendon_force_length((l - xproj) / p.tendon_slack_length, &dft);
        add_path_force_derivative(model_, data_, path, p.max_isometric_force * ft,
                                  p.max_isometric_force * dft / p.tendon_slack_length, K_, dws_);
        continue;
      }
      rg.noalias() = G_.transpose() * data_.path_moment_arm.row(path).transpose();
      const double v = -rg.dot(xde);  // MTU lengthening speed
      const FiberState fs = rigid_tendon_state(p, l, v);
      double dFdl = 0.0;
      rigid_active_force(p, l, &dFdl);  // isometric active force per activation and its slope
      add_path_force_derivative(model_, data_, path, a[i] * Fact[i] + data_.muscle_passive_force[i],
                                a[i] * dFdl * fs.f_velocity + data_.muscle_passive_stiffness[i], K_, dws_);
      if (std::abs(fs.norm_fiber_velocity) < 1.0) {  // force-velocity: a damper along the path
        double dfv = 0.0;
        curves::force_velocity(fs.norm_fiber_velocity, &dfv);
        const double dTdv = a[i] * p.max_isometric_force * fs.f_active_length * fs.cos_pennation * dfv * fs.cos_pennation /
                            p.max_contraction_velocity;
        D.noalias() -= dTdv * rg * rg.transpose();
      }
    }
    add_ligament_derivatives(model_, data_, K_, dws_);
    add_joint_passive_derivative(model_, qv, K_);
    if (!spec_.supported) add_gravity_derivative(model_, data_, K_, dws_);
    if (!planes_.empty()) {
      for (int j = 0; j < nc_ && static_cast<size_t>(j) < contacts_.size(); ++j) {
        ContactPoint& cp = contacts_[static_cast<size_t>(j)];
        fric_per_normal_[j] = cp.force > 0.0 ? cp.friction / cp.force : 0.0;
        if (!(cp.force > 0.0)) continue;
        // the friction's slope in the slip velocity: a damper along the contact tangent
        const double mu = planes_[static_cast<size_t>(cp.plane)].friction;
        const int body = model_.contact_body[static_cast<size_t>(cp.sphere)];
        tau_e.setZero();
        add_point_force(model_, data_, body, cp.p_W, cp.t_W, tau_e);
        jt.noalias() = G_.transpose() * tau_e;
        const double vt = jt.dot(xde), hv = 1e-6;
        const double dfdv = (regularized_friction(cp.force, mu, vt + hv, st.friction_velocity) -
                             regularized_friction(cp.force, mu, vt - hv, st.friction_velocity)) / (2.0 * hv);
        D.noalias() += dfdv * jt * jt.transpose();
      }
      add_contact_force_derivative(model_, data_, planes_, contacts_, fric_per_normal_, K_, dws_);
    }
    KG_.noalias() = K_ * G_;
    K.noalias() = G_.transpose() * KG_;
    for (int k = 0; k < nx_; ++k) D(k, k) -= c_damp[k];
  };

  for (int n = 0; n < steps; ++n) {
    // Jacobians of f in x and xd at fixed activations and fibre lengths, refreshed every
    // jacobian_interval steps: analytic where the contact geometry and the paths allow, else
    // forward differences; before f at the state, which sets the workspaces
    if (implicit && n % std::max(1, st.jacobian_interval) == 0 && analytic_ok_ && st.analytic_jacobian) {
      forces(x, xd, f, false);
      jacobians(xd);
    } else if (implicit && n % std::max(1, st.jacobian_interval) == 0) {
      forces(x, xd, f, false);
      const double hx = 1e-7, hv = 1e-5;
      for (int j = 0; j < nx_; ++j) {
        xs = x;
        xs[j] += hx;
        forces(xs, xd, fp, false);
        K.col(j) = (fp - f) / hx;
        xds = xd;
        xds[j] += hv;
        forces(x, xds, fp, false);
        D.col(j) = (fp - f) / hv;
      }
    }
    for (const auto& [surface, time] : st.plant_releases)  // scheduled releases
      if (n * st.dt >= time)
        for (Anchor& an : anchors)
          if (!an.released && planes_[static_cast<size_t>(an.plane)].name == surface) {
            an.released = true;
            planes_[static_cast<size_t>(an.plane)].spheres.push_back(an.sphere);
          }
    forces(x, xd, f, true);
    if (planted) {  // the weld's rows at the state (data_ holds its kinematics)
      anchor_rows(anchors, Jq, phi, J3);
      Jr.noalias() = Jq * G_;
      Jrt = Jr.transpose();
    }
    const bool recorded = record_every > 0 && n % record_every == 0 && nrec < out.time.size();
    if (recorded) {  // the state at t = n dt
      VecX& surf = out.surface_force_samples[nrec];
      surf.setZero();
      for (const auto& cp : contacts_) surf[cp.plane] += cp.force;
      out.time[nrec] = n * st.dt;
      out.q_samples[nrec] = q;
      ++nrec;
    }
    crba(model_, data_, q);
    MG.noalias() = data_.M * G_;
    Mr.noalias() = G_.transpose() * MG;
    // computed muscle control: excitations from static optimisation of the generalized forces
    // that give the PD-corrected acceleration toward the reference posture
    if (tracking && n % ctrl_every == 0) {
      if (motion) {  // the reference's position, velocity and acceleration at this time
        const double tn = n * st.dt;
        sample_reference(motion->t, knots, knot_v, tn, knot, x_ref, xd_ref, xdd_ref);
      }
      xdd_des = xdd_ref + st.track_kp * (x_ref - x) + st.track_kv * (xd_ref - xd);
      // the muscles' share: M xdd_des minus f without the muscles' active (tendon) forces
      need.noalias() = Mr * xdd_des;
      need -= f;
      need.noalias() += G_.transpose() * tau_m;
      need.noalias() -= G_.transpose() * tau_fp;
      for (int i = 0; i < nm_; ++i) {
        A.col(i).noalias() = G_.transpose() * data_.path_moment_arm.row(model_.muscle_path[static_cast<size_t>(i)]).transpose();
        A.col(i) *= Fact[i];
      }
      if (plan) {
        // the contact forces are planned, not taken as given: remove them from f, and give each
        // touching point two columns along its friction cone's edges (unit activation = the
        // body's weight)
        need.noalias() += G_.transpose() * tau_c;
        for (int j = 0; j < nc_; ++j) {
          auto e1 = A.col(nm_ + 2 * j), e2 = A.col(nm_ + 2 * j + 1);
          e1.setZero();
          e2.setZero();
          if (static_cast<size_t>(j) >= contacts_.size() || !(contacts_[static_cast<size_t>(j)].force > 0.0)) continue;
          const ContactPoint& cp = contacts_[static_cast<size_t>(j)];
          const int body = model_.contact_body[static_cast<size_t>(cp.sphere)];
          const double mu = planes_[static_cast<size_t>(cp.plane)].friction;
          for (int side = 0; side < 2; ++side) {
            const Vec3 edge = (cp.n_W + (side == 0 ? mu : -mu) * cp.t_W).normalized() * body_weight;
            tau_e.setZero();
            add_point_force(model_, data_, body, cp.p_W, edge, tau_e);
            (side == 0 ? e1 : e2).noalias() = G_.transpose() * tau_e;
          }
        }
      }
      for (int k : held) {  // the held legs need no control
        need[k] = 0.0;
        A.row(k).setZero();
      }
      if (planted) {  // the weld's forces are planned with the muscles
        for (int i = 0; i < nn; ++i) A.col(nm_ + plan_cols + i) = body_weight * Jrt.col(normal_rows[static_cast<size_t>(i)]);
        for (int i = 0; i < nt; ++i) Bt.col(i) = Jrt.col(tangent_rows[static_cast<size_t>(i)]);
        qp.solve(A, need, w_ctrl, StaticOptSettings{}, &Bt, &mu_plant);
      } else {
        qp.solve(A, need, w_ctrl);
      }
      u = qp.activations().head(nm_);
    }
    for (int k : held) {
      // the legs stay where they settled (held, not simulated)
      Mr.row(k).setZero();
      Mr.col(k).setZero();
      Mr(k, k) = 1.0;
    }
    if (implicit) {
      // linearly implicit (Rosenbrock) Euler: backward Euler on the mechanics with f linearised
      //   (M - dt D - dt^2 K) dv = dt (f + dt K xd),  xd += dv,  x += dt xd
      S = Mr;
      S.noalias() -= st.dt * D;
      S.noalias() -= (st.dt * st.dt) * K;
      for (int k : held) {
        S.row(k).setZero();
        S(k, k) = 1.0;
      }
      rhs = f;
      rhs.noalias() += st.dt * (K * xd);
      rhs *= st.dt;
      for (int k : held) rhs[k] = 0.0;
      lu.compute(S);
      dv = lu.solve(rhs);
    } else {
      // semi-implicit (symplectic) Euler: velocities from the accelerations, then positions
      ldlt.compute(Mr);
      xdd = ldlt.solve(f);
      dv = st.dt * xdd;
    }
    if (planted) {
      // The weld: the velocity change gains dt Y lam (Y = S^-1 Jr^T, S the step's matrix), lam
      // the anchors' forces (N), such that the new velocity meets Jr xd = -phi / tau; released
      // anchors have zero rows (identity in W, no force).
      const auto weld_forces = [&] {
        if (implicit)
          Y = lu.solve(Jrt);
        else
          Y = ldlt.solve(Jrt);
        W.noalias() = Jr * Y;
        W.diagonal().array() += 1e-12 * W.diagonal().cwiseAbs().maxCoeff();
        cvec = -phi / st.plant_time_constant;
        for (Eigen::Index r = 0; const Anchor& an : anchors) {
          const Eigen::Index rows = an.tangential ? 2 : 1;
          if (an.released) {
            W.diagonal().segment(r, rows).array() += 1.0;
            cvec.segment(r, rows).setZero();
          }
          r += rows;
        }
        luW.compute(W);
        vnew = xd + dv;
        cvec.noalias() -= Jr * vnew;
        lam = luW.solve(cvec);
        lam /= st.dt;
      };
      weld_forces();
      // A support does not pull: an anchor whose normal force would be negative is released
      // for good (its sphere back in compliant contact) and the step is solved again without it.
      bool released = false;
      for (Eigen::Index r = 0; Anchor& an : anchors) {
        if (!an.released && lam[r] < 0.0) {
          an.released = released = true;
          planes_[static_cast<size_t>(an.plane)].spheres.push_back(an.sphere);  // within its first capacity
          Jr.middleRows(r, an.tangential ? 2 : 1).setZero();
        }
        r += an.tangential ? 2 : 1;
      }
      if (released) {
        Jrt = Jr.transpose();
        weld_forces();
      }
      dv.noalias() += st.dt * (Y * lam);
      if (recorded) {  // the sample taken at the start of this step
        double fn = 0.0, moment = 0.0;
        Eigen::Index r = 0;
        for (const Anchor& an : anchors) {
          const ContactPlane& pl = planes_[static_cast<size_t>(an.plane)];
          out.surface_force_samples[nrec - 1][an.plane] += lam[r];
          if (an.plane == plant_plane) {
            fn += lam[r];
            moment += lam[r] * pl.normal.cross(Vec3::UnitZ()).dot(an.target);
          }
          r += an.tangential ? 2 : 1;
        }
        out.plant_normal_samples[nrec - 1] = fn;
        out.plant_cop_samples[nrec - 1] = fn > 0.0 ? moment / fn : std::numeric_limits<double>::quiet_NaN();
      }
    }
    xd += dv;
    x += st.dt * xd;
    // fibre lengths (linearly implicit in each fibre's own velocity) and activations
    for (int i = 0; i < nm_; ++i) {
      const auto k = static_cast<size_t>(i);
      const MuscleParams& p = model_.muscle[k];
      if (p.compliant_tendon) {
        const double lmt = data_.path_length[model_.muscle_path[k]];
        double step = st.dt * vm[i];
        if (implicit) {
          const double e = 1e-7 * p.optimal_fiber_length;
          const double dv = (compliant_fiber_velocity(p, lmt, lm[i] + e, a[i], 0.1) - vm[i]) / e;
          if (dv < 0.0) step /= 1.0 - st.dt * dv;
        }
        lm[i] += step;
      }
      a[i] = std::clamp(a[i] + st.dt * activation_derivative(p, u[i], a[i]), 0.0, 1.0);
    }
    if (!x.allFinite() || !xd.allFinite()) {
      out.finite = false;
      break;
    }
    out.steps = n + 1;
  }
  out.time.resize(nrec);  // shrinking: no allocation
  out.q_samples.resize(nrec);
  out.surface_force_samples.resize(nrec);
  if (planted && record_every > 0) {
    out.plant_normal_samples.resize(nrec);
    out.plant_cop_samples.resize(nrec);
  }
  out.q = full_q(x);
  out.qdot_free = xd;
  out.activations = a;
  return out;
}

}  // namespace lumbosim
