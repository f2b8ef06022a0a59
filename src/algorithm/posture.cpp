#include "lumbosim/algorithm/posture.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numbers>
#include <stdexcept>

#include "lumbosim/algorithm/dynamics.hpp"
#include "lumbosim/algorithm/kinematics.hpp"
#include "lumbosim/algorithm/muscle.hpp"
#include "lumbosim/algorithm/passive.hpp"

namespace lumbosim {
namespace {

constexpr double kDeg = std::numbers::pi / 180.0;

[[noreturn]] void fail(const SourceLoc& loc, const std::string& key, const std::string& msg) {
  throw InputError(Error{loc, key, msg});
}

/// Coordinates a posture name refers to: itself, or its _r and _l versions.
std::vector<int> resolve(const Model& m, const std::string& name) {
  if (const int c = m.find_coord(name); c >= 0) return {c};
  std::vector<int> out;
  for (const char* sfx : {"_r", "_l"})
    if (const int c = m.find_coord(name + sfx); c >= 0) out.push_back(c);
  return out;
}

double max_abs(const VecX& v) { return v.size() ? v.cwiseAbs().maxCoeff() : 0.0; }

}  // namespace

PostureSolver::PostureSolver(const Model& model, const PostureSpec& posture, ContactDetector* detector)
    : model_(model),
      spec_(posture),
      detector_(detector ? detector : &analytic_),
      data_(model),
      q_base_(model.default_q()),
      dws_(model) {
  for (const auto& pc : spec_.contacts) {
    ContactPlane pl;
    pl.name = pc.name;
    pl.point = pc.point;
    if (pc.normal.norm() < 1e-9) fail(pc.loc, "postures." + spec_.name + ".contacts." + pc.name, "normal must be non-zero");
    pl.normal = pc.normal.normalized();
    pl.stiffness = pc.stiffness;
    pl.friction = pc.friction;
    pl.extent_min = pc.extent_min;
    pl.extent_max = pc.extent_max;
    pl.radius = pc.radius;
    for (const auto& sname : pc.spheres) {
      bool found = false;
      for (const std::string& n : {sname, sname + "_r", sname + "_l"})
        if (const int c = model.find_contact(n); c >= 0) {
          pl.spheres.push_back(c);
          found = true;
        }
      if (!found) fail(pc.loc, "postures." + spec_.name + ".contacts." + pc.name, "unknown contact sphere '" + sname + "'");
    }
    planes_.push_back(pl);
  }
  for (const auto& [name, value] : spec_.coordinates) {
    const auto cs = resolve(model, name);
    if (cs.empty()) fail(spec_.loc, "postures." + spec_.name + ".coordinates." + name, "unknown coordinate '" + name + "'");
    for (int c : cs) q_base_[c] = value * (model.coord_is_rotational(c) ? kDeg : 1.0);
  }
  tilt_ = model.find_coord("pelvis_tilt");
  if (spec_.thigh_inclination_deg) {
    couple_hips_ = true;
    thigh_ = *spec_.thigh_inclination_deg * kDeg;
    hips_ = resolve(model, "hip_flexion");
    if (tilt_ < 0 || hips_.size() != 2)
      fail(spec_.loc, "postures." + spec_.name + ".thigh_inclination_deg", "needs pelvis_tilt, hip_flexion_r and hip_flexion_l");
    for (int h : hips_) q_base_[h] = thigh_ + q_base_[tilt_];
  }
  for (const auto& name : spec_.free) {
    const auto cs = resolve(model, name);
    if (cs.empty()) fail(spec_.loc, "postures." + spec_.name + ".free", "unknown coordinate '" + name + "'");
    for (int c : cs) {
      if (couple_hips_ && (c == hips_[0] || c == hips_[1]))
        fail(spec_.loc, "postures." + spec_.name + ".free", "hip flexion follows the pelvis when thigh_inclination_deg is set");
      free_.push_back(c);
    }
  }
  const int nfc = static_cast<int>(free_.size());
  nx_ = nfc;
  // Resting on contacts, the legs settle on their supports: the thigh inclination becomes the
  // set value plus a free deviation (legs rotating about the hips), so that with the pelvis
  // the whole body is in moment balance on its contacts.
  if (couple_hips_ && !planes_.empty() && !spec_.supported && spec_.settle_legs) kd_ = nx_++;
  ty_ = model.find_coord("pelvis_ty");
  for (int k = 0; k < nfc; ++k)
    if (free_[static_cast<size_t>(k)] == ty_) ty_free_ = k;
  if (ty_free_ >= 0 && planes_.empty())
    fail(spec_.loc, "postures." + spec_.name + ".free", "pelvis_ty can only be free with contacts that carry the body");
  if (ty_free_ >= 0 && !spec_.supported) {
    Data d(model);
    weight_ = generalized_gravity(model, d, q_base_)[ty_];
    project_height_ = true;
  }
  nm_ = model.nmuscle();
  G_ = MatX::Zero(model.nv, nx_);
  for (int k = 0; k < nfc; ++k) {
    G_(free_[static_cast<size_t>(k)], k) = 1.0;
    if (couple_hips_ && free_[static_cast<size_t>(k)] == tilt_)
      for (int h : hips_) G_(h, k) = 1.0;
  }
  if (kd_ >= 0)
    for (int h : hips_) G_(h, kd_) = 1.0;
  // Horizontal force balance of the whole body: the pelvis_tx row, carried by friction alone
  // (muscles are internal forces), whenever the body rests on contacts with pelvis_tx held.
  if (!planes_.empty() && !spec_.supported) {
    tx_ = model.find_coord("pelvis_tx");
    if (std::find(free_.begin(), free_.end(), tx_) != free_.end()) tx_ = -1;
  }
  for (const auto& name : spec_.balanced) {
    const auto cs = resolve(model, name);
    if (cs.empty()) fail(spec_.loc, "postures." + spec_.name + ".balanced", "unknown coordinate '" + name + "'");
    for (int c : cs) {
      if ((G_.cols() > 0 && G_.row(c).cwiseAbs().maxCoeff() != 0.0) || c == tx_)
        fail(spec_.loc, "postures." + spec_.name + ".balanced", "'" + name + "' is already balanced (free or moved by a free variable)");
      balanced_.push_back(c);
    }
  }
  nrow_ = nx_ + (tx_ >= 0 ? 1 : 0) + static_cast<int>(balanced_.size());
  Geq_ = MatX::Zero(model.nv, nrow_);
  Geq_.leftCols(nx_) = G_;
  if (tx_ >= 0) Geq_(tx_, nx_) = 1.0;
  for (size_t k = 0; k < balanced_.size(); ++k) Geq_(balanced_[k], nx_ + (tx_ >= 0 ? 1 : 0) + static_cast<int>(k)) = 1.0;
  geq_adr_.assign(1, 0);
  for (int r = 0; r < nrow_; ++r) {
    for (int c = 0; c < model.nv; ++c)
      if (Geq_(c, r) != 0.0) {
        geq_coord_.push_back(c);
        geq_w_.push_back(Geq_(c, r));
      }
    geq_adr_.push_back(static_cast<int>(geq_coord_.size()));
  }
  for (const auto& pl : planes_) nc_ += static_cast<int>(pl.spheres.size());
  // The paths each free variable moves: those with bodies on both sides of one of the
  // coordinates it drives (every other path moves rigidly, or not at all).
  {
    std::vector<std::vector<int>> path_bodies(static_cast<size_t>(model.npath()));
    for (int p = 0; p < model.npath(); ++p) {
      const int adr = model.path_point_adr[static_cast<size_t>(p)], num = model.path_point_num[static_cast<size_t>(p)];
      for (int k = adr; k < adr + num; ++k) {
        path_bodies[static_cast<size_t>(p)].push_back(model.path_point_body[static_cast<size_t>(k)]);
        if (const int w = model.path_point_wrap[static_cast<size_t>(k)]; w >= 0)
          path_bodies[static_cast<size_t>(p)].push_back(model.wrap_body[static_cast<size_t>(w)]);
      }
    }
    moved_paths_.assign(static_cast<size_t>(nx_), {});
    moved_muscle_.assign(static_cast<size_t>(nx_), std::vector<char>(static_cast<size_t>(model.nmuscle()), 0));
    moved_lig_.assign(static_cast<size_t>(nx_), std::vector<char>(static_cast<size_t>(model.nligament()), 0));
    for (int j = 0; j < nx_; ++j)
      for (int p = 0; p < model.npath(); ++p) {
        bool moved = false;
        for (int c = 0; c < model.nv && !moved; ++c) {
          if (G_(c, j) == 0.0) continue;
          bool inside = false, outside = false;
          for (int body : path_bodies[static_cast<size_t>(p)]) {
            const int mob = model.body_mob[static_cast<size_t>(body)];
            (mob >= 0 && model.mob_in_subtree(mob, c) ? inside : outside) = true;
          }
          moved = inside && outside;
        }
        if (moved) moved_paths_[static_cast<size_t>(j)].push_back(p);
      }
    for (int j = 0; j < nx_; ++j) {
      for (int i = 0; i < model.nmuscle(); ++i)
        for (int p : moved_paths_[static_cast<size_t>(j)])
          if (model.muscle_path[static_cast<size_t>(i)] == p) moved_muscle_[static_cast<size_t>(j)][static_cast<size_t>(i)] = 1;
      for (int l = 0; l < model.nligament(); ++l)
        for (int p : moved_paths_[static_cast<size_t>(j)])
          if (model.ligament_path[static_cast<size_t>(l)] == p) moved_lig_[static_cast<size_t>(j)][static_cast<size_t>(l)] = 1;
    }
  }
  for (const auto& t : spec_.targets) {
    int kind = -1;
    if (t.quantity == "thorax_inclination_deg") kind = 0;
    else if (t.quantity == "lumbar_lordosis_deg") kind = 1;
    else if (t.quantity == "pelvic_tilt_deg") kind = 2;
    else if (t.quantity == "hand_height_m") kind = 3;
    else fail(t.loc, "postures." + spec_.name + ".targets." + t.quantity,
              "unknown target (thorax_inclination_deg, lumbar_lordosis_deg, pelvic_tilt_deg, hand_height_m)");
    if (kind == 3) {
      // Fingertips of arms hanging from the shoulders: shoulder height minus the arm length,
      // 0.440 of stature (upper arm 0.186, forearm 0.146, hand 0.108; Drillis & Contini 1966, as
      // tabulated by Winter 2009). Carried in the target rows as height / kHandScale.
      shoulders_.clear();
      for (const char* n : {"shoulder_r", "shoulder_l"})
        if (const int l = model.find_landmark(n); l >= 0) shoulders_.push_back(l);
      const int hp = model.find_param("height");
      if (shoulders_.empty() || hp < 0)
        fail(t.loc, "postures." + spec_.name + ".targets.hand_height_m", "needs shoulder_r/shoulder_l landmarks and a height parameter");
      arm_length_ = 0.440 * model.param_value[static_cast<size_t>(hp)];
    }
    target_kind_.push_back(kind);
    target_val_.push_back(kind == 3 ? t.value / kHandScale : t.value * kDeg);
  }
  nt_ = static_cast<int>(target_kind_.size());
  lm_ = AlignmentLandmarks::resolve(model);
  thorax_ = model.find_body("thorax");
  c7_ = model.find_landmark("C7");
  if (c7_ >= 0 && model.landmark_body[static_cast<size_t>(c7_)] != thorax_) c7_ = -1;
  if (thorax_ < 0) fail(spec_.loc, "postures." + spec_.name, "the model has no 'thorax' body");
  ncol_ = nm_ + 2 * nc_;
  F_act_ = VecX::Zero(nm_);
  F_pass_ = VecX::Zero(nm_);
  dF_act_ = VecX::Zero(nm_);
  q_work_ = q_base_;
  r_work_ = VecX::Zero(model.nv);
  tauc_work_ = VecX::Zero(model.nv);
  tauf_work_ = VecX::Zero(model.nv);
  K_ = MatX::Zero(model.nv, model.nv);
  KG_ = MatX::Zero(model.nv, nx_);
  fric_per_normal_ = VecX::Zero(nc_);
  tgt_row_ = VecX::Zero(model.nv);
  if (ty_ >= 0) {
    ty_cols_ = {ty_};
    ty_mask_.assign(static_cast<size_t>(model.nv), 0);
    ty_mask_[static_cast<size_t>(ty_)] = 1;
  }
  analytic_ok_ = detector_ == &analytic_ && !has_ellipsoid_wraps(model);
  contacts_.reserve(static_cast<size_t>(nc_) + 8);
  fixed_.emplace(nrow_, ncol_);
  sqp_.emplace(nrow_ + nt_, ncol_, nx_);
  A_ = MatX::Zero(nrow_, ncol_);
  Am_ = A_;
  Aq_ = MatX::Zero(nrow_ + nt_, ncol_);
  Bq_ = MatX::Zero(nrow_ + nt_, nx_);
  Jx_ = MatX::Zero(nrow_, nx_);
  Jc_ = MatX::Zero(nt_, nx_);
  b_ = bm_ = r0_ = r1_ = VecX::Zero(nrow_);
  bq_ = VecX::Zero(nrow_ + nt_);
  c_ = cp_ = VecX::Zero(nt_);
  mu_ = xp_ = xm_ = xt_ = dx_ = VecX::Zero(nx_);
  lam_base_ = lam_step_ = lam_trial_ = VecX::Zero(nrow_);
  a_ = a_base_ = a_step_ = VecX::Zero(ncol_);
  w_ = VecX::Ones(ncol_);
  for (int i = 0; i < nm_; ++i) w_[i] = model.muscle[static_cast<size_t>(i)].effort_weight;
  if (model.stability.enabled) {
    for (int k = 0; k < nfc; ++k)
      if (std::find(model.spinal_coord.begin(), model.spinal_coord.end(), free_[static_cast<size_t>(k)]) != model.spinal_coord.end())
        stab_k_.push_back(k);
    for (int i = 0; i < nm_ && !stab_k_.empty(); ++i) {
      bool crosses = false;
      for (int k : stab_k_) crosses = crosses || moved_muscle_[static_cast<size_t>(k)][static_cast<size_t>(i)];
      if (crosses) stab_m_.push_back(i);
    }
  }
  if (static_cast<int>(stab_k_.size()) > kMaxSpinal)
    fail(spec_.loc, "postures." + spec_.name + ".free",
         "the spinal stability analysis handles at most " + std::to_string(kMaxSpinal) + " free intervertebral coordinates");
  if (!stab_k_.empty()) {
    const auto ns = static_cast<Eigen::Index>(stab_k_.size()), nsm = static_cast<Eigen::Index>(stab_m_.size());
    stab_K0_ = stab_K_ = SpineMat::Zero(ns, ns);
    stab_Kcols_ = MatX::Zero(ns * ns, nsm);
    stab_A_ = MatX::Zero(nrow_ + kStabilityCuts, ncol_);
    stab_b_ = VecX::Zero(nrow_ + kStabilityCuts);
    stab_v_ = stab_w_ = SpineVec::Zero(ns);
    stab_vv_ = stab_kvec_ = VecX::Zero(ns * ns);
    stab_c_ = stab_asub_ = VecX::Zero(nsm);
    stab_a0_ = VecX::Zero(ncol_);
    stab_slot_.assign(kStabilityCuts, 0);
    stab_qp_.emplace(nrow_ + kStabilityCuts, ncol_);
    stab_eig_.emplace(ns);
    stab_V_ = SpineMat::Zero(ns, kStabilityCuts);
    stab_G_ = MatX::Zero(kStabilityCuts, nx_);
    Aq2_ = MatX::Zero(nrow_ + nt_ + kStabilityCuts, ncol_);
    Bq2_ = MatX::Zero(nrow_ + nt_ + kStabilityCuts, nx_);
    bq2_ = VecX::Zero(nrow_ + nt_ + kStabilityCuts);
    stab_f0_ = VecX::Zero(kStabilityCuts);
    sqp2_.emplace(nrow_ + nt_ + kStabilityCuts, ncol_, nx_);
  }
}

void PostureSolver::difference_column(const VecX& x, const VecX& a, int j, double h, MatX& Jx) {
  xp_ = x;
  xp_[j] += h;
  equations_moved(xp_, j, Am_, bm_);
  r0_.noalias() = Am_ * a;
  r0_ -= bm_;
  Jx.col(j) = (r0_ - r1_) / h;
}

void PostureSolver::set_q(const VecX& x, VecX& q) const {
  q = q_base_;
  for (size_t k = 0; k < free_.size(); ++k) q[free_[k]] = x[static_cast<Eigen::Index>(k)];
  if (couple_hips_)
    for (int h : hips_) q[h] = thigh_ + (kd_ >= 0 ? x[kd_] : 0.0) + q[tilt_];
}

VecX PostureSolver::full_q(const VecX& x) const {
  VecX q;
  set_q(x, q);
  return q;
}

VecX PostureSolver::x_of(const VecX& q) const {
  VecX x(nx_);
  for (size_t k = 0; k < free_.size(); ++k) x[static_cast<Eigen::Index>(k)] = q[free_[k]];
  if (kd_ >= 0) x[kd_] = q[hips_[0]] - thigh_ - q[tilt_];
  return x;
}

double PostureSolver::x_min(int k) const {
  if (k == kd_) return -20.0 * kDeg;  // the legs settle within a few degrees of the set inclination
  return model_.coord_min[static_cast<size_t>(free_[static_cast<size_t>(k)])];
}
double PostureSolver::x_max(int k) const {
  if (k == kd_) return 20.0 * kDeg;
  return model_.coord_max[static_cast<size_t>(free_[static_cast<size_t>(k)])];
}

void PostureSolver::equations(const VecX& x, MatX& A, VecX& b) {
  // Workspaces are members: after the first call (sizes fixed) this makes no heap allocation
  // (tests/core/no_alloc_test.cpp).
  set_q(x, q_work_);
  passive_forces(model_, data_, q_work_);
  finish_equations(A, b, -1);
}

void PostureSolver::linearize_at(const VecX& x, MatX& A, VecX& b) {
  equations(x, A, b);
  keep_base(A);
}

void PostureSolver::keep_base(const MatX& A) {
  // the state equations_moved() starts from (kept only here: equations() itself is the merit's)
  base_R_ = data_.path_moment_arm;
  base_Fpass_ = data_.muscle_passive_force;
  base_Flig_ = data_.ligament_force;
  base_tau_paths_ = data_.tau_passive;
  for (size_t s = 0; s < model_.spinal_coord.size(); ++s)
    base_tau_paths_[model_.spinal_coord[s]] -= data_.spinal_moment[static_cast<Eigen::Index>(s)];
  for (size_t s = 0; s < model_.limit_coord.size(); ++s)
    base_tau_paths_[model_.limit_coord[s]] -= data_.limit_moment[static_cast<Eigen::Index>(s)];
  base_Fact_ = F_act_;
  base_dFact_ = dF_act_;
  base_A_ = A;
}

void PostureSolver::equations_moved(const VecX& x, int j, MatX& A, VecX& b) {
  set_q(x, q_work_);
  forward_kinematics(model_, data_, q_work_);
  data_.tau_passive = base_tau_paths_;
  for (int p : moved_paths_[static_cast<size_t>(j)]) compute_path(model_, data_, p);
  // replace the moved paths' passive contributions
  for (int i = 0; i < nm_; ++i) {
    if (!moved_muscle_[static_cast<size_t>(j)][static_cast<size_t>(i)]) continue;
    const int p = model_.muscle_path[static_cast<size_t>(i)];
    double dF = 0.0;
    const double F = passive_mtu_force(model_.muscle[static_cast<size_t>(i)], data_.path_length[p], &dF, &data_.muscle_fiber_guess[i]);
    data_.muscle_passive_stiffness[i] = dF;
    data_.tau_passive.noalias() -= base_Fpass_[i] * base_R_.row(p).transpose();
    data_.tau_passive.noalias() += F * data_.path_moment_arm.row(p).transpose();
    data_.muscle_passive_force[i] = F;
  }
  for (int l = 0; l < model_.nligament(); ++l) {
    const auto k = static_cast<size_t>(l);
    const int p = model_.ligament_path[k];
    if (!moved_lig_[static_cast<size_t>(j)][k]) continue;
    const double F = ligament_tension(model_.ligament_stiffness[k], model_.ligament_transition_strain[k],
                                      model_.ligament_slack_length[k], data_.path_length[p]);
    data_.tau_passive.noalias() -= base_Flig_[l] * base_R_.row(p).transpose();
    data_.tau_passive.noalias() += F * data_.path_moment_arm.row(p).transpose();
    data_.ligament_force[l] = F;
  }
  add_joint_passive_moments(model_, data_, q_work_, data_.tau_passive);
  finish_equations(A, b, j);
}

bool PostureSolver::analytic_jacobian(const VecX& a, MatX& Jx) {
  if (!analytic_ok_) return false;
  // @pre data_, contacts_, F_act_ at x (equations(x) was the last evaluation)
  K_.setZero();
  const ConstVecRef q = q_work_;
  for (int i = 0; i < nm_; ++i) {
    const auto k = static_cast<size_t>(i);
    const int p = model_.muscle_path[k];
    add_path_force_derivative(model_, data_, p, a[i] * F_act_[i] + F_pass_[i],
                              a[i] * dF_act_[i] + data_.muscle_passive_stiffness[i], K_, dws_);
  }
  add_ligament_derivatives(model_, data_, K_, dws_);
  add_joint_passive_derivative(model_, q, K_);
  if (!spec_.supported) add_gravity_derivative(model_, data_, K_, dws_);
  if (!planes_.empty()) {
    for (int j = 0; j < nc_ && static_cast<size_t>(j) < contacts_.size(); ++j)
      fric_per_normal_[j] = planes_[static_cast<size_t>(contacts_[static_cast<size_t>(j)].plane)].friction *
                            (a[nm_ + 2 * j] - a[nm_ + 2 * j + 1]);
    add_contact_force_derivative(model_, data_, planes_, contacts_, fric_per_normal_, K_, dws_);
  }
  // rows: Geq^T (sparse), columns: G
  KG_.noalias() = K_ * G_;
  Jx.resize(nrow_, nx_);
  for (int r = 0; r < nrow_; ++r)
    for (int c = 0; c < nx_; ++c) {
      double v = 0.0;
      for (int e = geq_adr_[static_cast<size_t>(r)]; e < geq_adr_[static_cast<size_t>(r) + 1]; ++e)
        v += geq_w_[static_cast<size_t>(e)] * KG_(geq_coord_[static_cast<size_t>(e)], c);
      Jx(r, c) = v;
    }
  return true;
}

void PostureSolver::finish_equations(MatX& A, VecX& b, int moved) {
  if (spec_.supported) r_work_.setZero();
  else r_work_ = generalized_gravity(model_, data_, q_work_);
  r_work_ -= data_.tau_passive;
  if (!planes_.empty()) {
    detector_->detect(model_, data_, planes_, contacts_);
    tauc_work_.setZero();
    contact_generalized_forces(model_, data_, planes_, contacts_, tauc_work_);
    r_work_ -= tauc_work_;
  }
  A.resize(nrow_, ncol_);
  for (int i = 0; i < nm_; ++i) {
    const auto k = static_cast<size_t>(i);
    if (moved >= 0 && !moved_muscle_[static_cast<size_t>(moved)][k]) {  // an unmoved path: as at the base
      A.col(i) = base_A_.col(i);
      F_act_[i] = base_Fact_[i];
      dF_act_[i] = base_dFact_[i];
      F_pass_[i] = base_Fpass_[i];
      continue;
    }
    const int p = model_.muscle_path[k];
    F_act_[i] = rigid_active_force(model_.muscle[k], data_.path_length[p], &dF_act_[i]);
    F_pass_[i] = data_.muscle_passive_force[i];
    // G_eq^T R^T for this path through the sparse G_eq (a few unit entries per row)
    const auto R = data_.path_moment_arm.row(p);
    for (int r = 0; r < nrow_; ++r) {
      double v = 0.0;
      for (int e = geq_adr_[static_cast<size_t>(r)]; e < geq_adr_[static_cast<size_t>(r) + 1]; ++e)
        v += geq_w_[static_cast<size_t>(e)] * R[geq_coord_[static_cast<size_t>(e)]];
      A(r, i) = v * F_act_[i];
    }
  }
  // Friction at each contact point: a pair of columns (forward, backward along the tangent),
  // each its Coulomb bound mu f_n times the generalized force of a unit tangential force.
  for (int j = 0; j < nc_; ++j) {
    const auto jj = static_cast<size_t>(j);
    const int c0 = nm_ + 2 * j;
    if (jj >= contacts_.size() || contacts_[jj].force <= 0.0) {
      A.col(c0).setZero();
      A.col(c0 + 1).setZero();
      continue;
    }
    const ContactPoint& cp = contacts_[jj];
    const double bound = planes_[static_cast<size_t>(cp.plane)].friction * cp.force;
    tauf_work_.setZero();
    add_point_force(model_, data_, model_.contact_body[static_cast<size_t>(cp.sphere)], cp.p_W, cp.t_W, tauf_work_);
    A.col(c0).noalias() = Geq_.transpose() * tauf_work_;
    A.col(c0) *= bound;
    A.col(c0 + 1) = -A.col(c0);
  }
  b.resize(nrow_);
  b.noalias() = Geq_.transpose() * r_work_;
}

void PostureSolver::initialize_legs(VecX& x) {
  // The legs at rest on their supports: the thigh-settling variable at which gravity, contact and
  // passive forces balance about the hips with every muscle at rest (false position over its
  // range, the height re-settled at each trial). From the set inclination the feet of a long-legged
  // sitter can start centimetres deep in the floor, and the SQP's first steps then throw the legs
  // to the end of their range.
  if (kd_ < 0) return;
  MatX A;
  VecX b;
  // Only the legs' rotation and the height change: the paths the legs move are recomputed from a
  // base point (equations_moved; the height moves the body rigidly and changes no path).
  linearize_at(x, A, b);
  auto f = [&](double v) {
    x[kd_] = v;
    if (project_height_) settle_height(x);
    equations_moved(x, kd_, A, b);
    return b[kd_];
  };
  // The rest is usually within a degree or two of the set inclination: bracket it there first
  // (+-1 deg), which saves about a third of the evaluations of a bracket over the whole +-20 deg.
  // The balance is monotone, so when both ends have the same sign the rest lies beyond the end
  // nearer zero: the bracket moves that way (that end becomes the other, the new one twice the
  // width further), one evaluation per widening.
  const double x0 = x[kd_];
  double lo = std::max(x_min(kd_), x0 - 1.0 * kDeg), hi = std::min(x_max(kd_), x0 + 1.0 * kDeg);
  double flo = f(lo), fhi = f(hi);
  while (!(flo * fhi < 0.0)) {
    const double w = hi - lo;
    if (std::abs(flo) <= std::abs(fhi) && lo > x_min(kd_)) {
      hi = lo;
      fhi = flo;
      lo = std::max(x_min(kd_), lo - 2.0 * w);
      flo = f(lo);
    } else if (std::abs(fhi) < std::abs(flo) && hi < x_max(kd_)) {
      lo = hi;
      flo = fhi;
      hi = std::min(x_max(kd_), hi + 2.0 * w);
      fhi = f(hi);
    } else {
      break;  // at the end of the range on the side the rest would lie
    }
  }
  if (!(flo * fhi < 0.0)) {  // no rest inside the range: keep the set inclination
    x[kd_] = x0;
    if (project_height_) settle_height(x);
    return;
  }
  // Anderson-Bjorck false position: the balance is monotone but bends sharply where a thigh
  // sphere touches (its slope jumps about tenfold), where plain false position crawls from one
  // side; the retained end's value is scaled down by 1 - f_new / f_old each time it is kept
  // (measured with the +-1 deg bracket, chair sitting: 8.5 -> 8 evaluations per start, long
  // sitting 18.5 -> 16.5).
  for (int it = 0, side = 0; it < 20; ++it) {
    const double v = (lo * fhi - hi * flo) / (fhi - flo);
    const double fv = f(v);
    // 1 N m (about 0.005 deg of the legs' rotation here): a start for the SQP, which
    // balances the legs exactly (measured: 17 -> 14 evaluations per upright-sitting solve,
    // every minimum of the 297-solve sweep unchanged; docs/performance.md item 26)
    if (std::abs(fv) < 1.0 || hi - lo < 1e-4) return;
    if ((fv < 0.0) == (flo < 0.0)) {
      if (side == -1) {
        const double m = 1.0 - fv / flo;
        fhi *= m > 0.0 ? m : 0.5;
      }
      lo = v;
      flo = fv;
      side = -1;
    } else {
      if (side == +1) {
        const double m = 1.0 - fv / fhi;
        flo *= m > 0.0 ? m : 0.5;
      }
      hi = v;
      fhi = fv;
      side = +1;
    }
  }
}

void PostureSolver::initialize_height(VecX& x) {
  // The body's height on its supports: the pelvis_ty at which contact forces carry the weight
  // (the ty equation has no muscle terms). Newton from the given height; when that starts out
  // of contact, bisection on the monotone imbalance first.
  if (ty_free_ < 0) return;
  if (settle_height(x)) return;
  auto f = [&](double y) {
    x[ty_free_] = y;
    return vertical_imbalance(x);  // > 0 when the body is too high
  };
  double lo = -1.0, hi = 3.0;
  if (!(f(lo) < 0.0 && f(hi) > 0.0)) return;
  // to 1 mm, then Newton from the low side (in contact, where it has a slope); to round-off
  // only if Newton still fails there
  for (int it = 0; it < 60; ++it) {
    const double mid = 0.5 * (lo + hi);
    (f(mid) > 0.0 ? hi : lo) = mid;
    if (it == 11) {  // 4 m / 2^12 < 1 mm
      x[ty_free_] = lo;
      if (settle_height(x)) return;
    }
  }
  x[ty_free_] = 0.5 * (lo + hi);
  settle_height(x);
}

double PostureSolver::vertical_imbalance(const VecX& x) {
  // Weight minus the contacts' vertical support (the pelvis_ty row): pelvis_ty moves the whole
  // body rigidly, so only kinematics and contacts are needed.
  set_q(x, q_work_);
  forward_kinematics(model_, data_, q_work_);
  return contact_imbalance();
}

double PostureSolver::contact_imbalance() {
  detector_->detect(model_, data_, planes_, contacts_);
  tauc_work_.setZero();
  contact_generalized_forces(model_, data_, planes_, contacts_, tauc_work_);
  // friction as the current activations of its columns scale it (vertical on inclined planes)
  for (int j = 0; j < nc_ && static_cast<size_t>(j) < contacts_.size(); ++j) {
    const ContactPoint& cp = contacts_[static_cast<size_t>(j)];
    const double f = planes_[static_cast<size_t>(cp.plane)].friction * cp.force * (a_[nm_ + 2 * j] - a_[nm_ + 2 * j + 1]);
    if (f != 0.0) add_point_force(model_, data_, model_.contact_body[static_cast<size_t>(cp.sphere)], cp.p_W, f * cp.t_W, tauc_work_);
  }
  return weight_ - tauc_work_[ty_];
}

bool PostureSolver::settle_height(VecX& x) {
  // Newton (analytic slope with the analytic contact geometry, else a forward difference; steps
  // limited to 1 cm) on the vertical balance in pelvis_ty alone. The contact force grows
  // monotonically as the body sinks, so f(y) increases with y.
  if (ty_free_ < 0) return false;
  double y = x[ty_free_];
  double f = vertical_imbalance(x);
  for (int it = 0; it < 20 && std::abs(f) > 1e-9 * weight_; ++it) {
    double slope = 0.0;
    if (analytic_ok_) {  // f = weight - tau_c[ty]: slope = -d tau_c[ty] / d q_ty (data_ at x)
      for (int j = 0; j < nc_ && static_cast<size_t>(j) < contacts_.size(); ++j)
        fric_per_normal_[j] = planes_[static_cast<size_t>(contacts_[static_cast<size_t>(j)].plane)].friction *
                              (a_[nm_ + 2 * j] - a_[nm_ + 2 * j + 1]);
      K_(ty_, ty_) = 0.0;
      add_contact_force_derivative(model_, data_, planes_, contacts_, fric_per_normal_, K_, dws_, &ty_cols_, &ty_mask_);
      slope = -K_(ty_, ty_);
    } else {
      const double h = 1e-7;
      x[ty_free_] = y + h;
      slope = (vertical_imbalance(x) - f) / h;
    }
    if (!(slope > 0.0)) {  // out of contact (or fully sunk): no Newton information
      x[ty_free_] = y;
      return false;
    }
    const double dy = std::clamp(-f / slope, -0.01, 0.01);
    y += dy;
    x[ty_free_] = y;
    if (analytic_ok_) {  // the height moves the body rigidly: translate, keep every rotation
      translate_prismatic(model_, data_, ty_, dy);
      q_work_[ty_] = y;
      f = contact_imbalance();
    } else {
      f = vertical_imbalance(x);  // data_ is at y + h after the difference
    }
  }
  x[ty_free_] = y;
  return std::abs(f) <= 1e-9 * weight_;
}

double PostureSolver::trunk_axis_inclination() const {
  // Trunk axis: T12-L1 joint centre -> C7 (vertical in the model's default standing pose).
  const SE3& X = data_.X_WB[static_cast<size_t>(thorax_)];
  if (c7_ >= 0) return sagittal_inclination(X.R * model_.landmark_p_B[static_cast<size_t>(c7_)]);
  return sagittal_inclination(X.R.col(1));
}

double PostureSolver::target_value(int k) const {
  const Alignment a = compute_alignment(model_, data_, lm_);
  switch (target_kind_[static_cast<size_t>(k)]) {
    case 0: return trunk_axis_inclination();
    case 1: return a.lumbar_lordosis;
    case 2: return a.pelvic_tilt;
    default: {
      double y = 0.0;
      for (int l : shoulders_) y += point_position(data_, model_.landmark_body[static_cast<size_t>(l)], model_.landmark_p_B[static_cast<size_t>(l)]).y();
      return (y / static_cast<double>(shoulders_.size()) - arm_length_) / kHandScale;
    }
  }
}

void PostureSolver::targets_and_jacobian(const VecX& x, VecX& c, MatX& Jc) {
  c.resize(nt_);
  Jc.resize(nt_, nx_);
  set_q(x, q_work_);
  forward_kinematics(model_, data_, q_work_);
  for (int k = 0; k < nt_; ++k) c[k] = target_value(k) - target_val_[static_cast<size_t>(k)];
  // Analytic: each target is an angle of a body-fixed direction w (atan2(w_x, w_y), which turns
  // with every revolute ancestor k of its body as dw = s_k x w), of the line between two landmark
  // pairs (the ASIS-PSIS line), or a landmark height.
  Eigen::Ref<VecX> row = tgt_row_;
  auto add_direction = [&](int body, const Vec3& w, double sign) {
    const double n2 = w.x() * w.x() + w.y() * w.y();
    const Vec3 g(w.y() / n2, -w.x() / n2, 0.0);  // gradient of atan2(w_x, w_y)
    for (int j = model_.body_mob[static_cast<size_t>(body)]; j >= 0; j = model_.mob_parent[static_cast<size_t>(j)])
      if (model_.mob_kind[static_cast<size_t>(j)] == DofKind::Revolute)
        row[j] += sign * g.dot(data_.axis_W[static_cast<size_t>(j)].cross(w));
  };
  auto add_point = [&](int landmark, const Vec3& g) {  // row += g . J(landmark)
    const auto l = static_cast<size_t>(landmark);
    const int body = model_.landmark_body[l];
    point_jacobian_world(model_, data_, body, point_position(data_, body, model_.landmark_p_B[l]), dws_.JX);
    row.noalias() += dws_.JX.transpose() * g;
  };
  auto landmark_dir = [&](int l) {
    return Vec3(data_.X_WB[static_cast<size_t>(model_.landmark_body[static_cast<size_t>(l)])].R *
                model_.landmark_dir_B[static_cast<size_t>(l)]);
  };
  for (int k = 0; k < nt_; ++k) {
    row.setZero();
    switch (target_kind_[static_cast<size_t>(k)]) {
      case 0: {  // trunk axis inclination
        const SE3& X = data_.X_WB[static_cast<size_t>(thorax_)];
        add_direction(thorax_, c7_ >= 0 ? Vec3(X.R * model_.landmark_p_B[static_cast<size_t>(c7_)]) : Vec3(X.R.col(1)), 1.0);
        break;
      }
      case 1:  // lordosis: S1 endplate inclination minus L1's
        add_direction(model_.landmark_body[static_cast<size_t>(lm_.s1)], landmark_dir(lm_.s1), 1.0);
        add_direction(model_.landmark_body[static_cast<size_t>(lm_.sup_endplate[4])], landmark_dir(lm_.sup_endplate[4]), -1.0);
        break;
      case 2: {  // ASIS-PSIS line: atan2(-v_y, v_x), v = mean ASIS - mean PSIS
        const auto pos = [&](int l) {
          return point_position(data_, model_.landmark_body[static_cast<size_t>(l)], model_.landmark_p_B[static_cast<size_t>(l)]);
        };
        const Vec3 v = 0.5 * (pos(lm_.asis_r) + pos(lm_.asis_l) - pos(lm_.psis_r) - pos(lm_.psis_l));
        const Vec3 g = Vec3(v.y(), -v.x(), 0.0) / (v.x() * v.x() + v.y() * v.y());
        add_point(lm_.asis_r, 0.5 * g);
        add_point(lm_.asis_l, 0.5 * g);
        add_point(lm_.psis_r, -0.5 * g);
        add_point(lm_.psis_l, -0.5 * g);
        break;
      }
      default:  // hand height: mean shoulder height (scaled)
        for (int l : shoulders_) add_point(l, Vec3::UnitY() / (static_cast<double>(shoulders_.size()) * kHandScale));
    }
    for (int j = 0; j < nx_; ++j) {
      double v = 0.0;
      for (int i = 0; i < model_.nv; ++i) v += row[i] * G_(i, j);
      Jc(k, j) = v;
    }
  }
}

double PostureSolver::merit(const VecX& x, const PostureSettings& st, StaticOptimizer& qp) {
  equations(x, Am_, bm_);  // leaves data_ at the pose of x (passive_forces runs the kinematics)
  merit_status_ = qp.solve(Am_, bm_, w_, st.qp);
  double m = qp.objective() + st.qp.reserve_weight * qp.reserves().squaredNorm();
  merit_qp_ = &qp;
  if (stab_posture_ && &qp == &*fixed_) {  // the stabilised effort (the cut rows' reserves weighed in)
    bool ok = true;
    StaticOptimizer& f = stabilize(x, Am_, bm_, st, stab_scratch_, ok);
    merit_qp_ = &f;
    m = f.objective() + st.qp.reserve_weight * f.reserves().head(nrow_).squaredNorm();
  }
  if (nt_ > 0) {  // target values only (one forward kinematics; data_ holds the pose of x)
    double c2 = 0.0;
    for (int k = 0; k < nt_; ++k) {
      const double ck = target_value(k) - target_val_[static_cast<size_t>(k)];
      c2 += ck * ck;
    }
    m += st.qp.reserve_weight * st.target_scale * st.target_scale * c2;
  }
  return m;
}

PostureResult PostureSolver::solve(const PostureSettings& st, const VecX* q0) {
  const auto t0 = std::chrono::steady_clock::now();
  if (!(st.friction_weight > 0.0) || !std::isfinite(st.friction_weight))
    throw std::invalid_argument("PostureSettings::friction_weight must be a finite number > 0");
  w_.tail(2 * nc_).setConstant(st.friction_weight);
  defer_stability_ = false;
  merge_x_.resize(0);  // no basin known yet: only this call's converged starts are merged into
  a_.setZero();        // no friction known yet for the height and legs initialisation
  if (q0) {
    PostureResult r = solve_from(x_of(*q0), st);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
  }
  // Without targets, a passive equilibrium (gravity, tissues and contact balance with every
  // muscle at rest) has zero effort, the global minimum: try Newton on it first.
  if (nt_ == 0 && nx_ > 0) {
    VecX x = x_of(q_base_);
    initialize_height(x);
    int its = 0;
    if (passive_equilibrium(x, st, its)) {
      PostureResult r = solve_from(x, st);  // polishes and fills the result (a few iterations)
      r.iterations += its;
      if (r.status == SolveStatus::Converged) {
        r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return r;
      }
    }
  }
  // Multi-start over the pelvic tilt (the least-effort problem can have several local minima,
  // e.g. pelvis upright with a flexed L5-S1 versus pelvis rolled back with the flexion shared):
  // keep the converged solution of least effort.
  PostureResult best;
  bool have = false;
  int tilt_k = -1;
  for (size_t k = 0; k < free_.size(); ++k)
    if (free_[k] == tilt_) tilt_k = static_cast<int>(k);
  // Two further starts (15 deg forward, 45 deg back) run only where the best of the first three
  // is strained (effort above kStrainedEffort): over the 297-solve sweep they found lower minima
  // in two such cases (a 1.95 m, 110 kg backrest sitter with SLR 40: effort 2.02 with the pelvis
  // at -45 deg -> 0.006 at +10 deg; a toe touch 0.33 -> 0.32) and changed nothing else. With
  // the adductor magnus (session 9) a 1.75 m, 110 kg toe touch with SLR 40 found 0.166 in the
  // first three starts and 0.055 at +15 deg: the threshold is now 0.1 (docs/performance.md).
  const double offsets[5] = {0.0, -15.0 * kDeg, -30.0 * kDeg, 15.0 * kDeg, -45.0 * kDeg};
  const int nstart = tilt_k >= 0 ? 5 : 1;
  int total_iterations = 0;
  const auto score = [&](const PostureResult& p) {
    return (p.status == SolveStatus::Converged ? 0.0 : 1e9) + p.effort + st.qp.reserve_weight * p.reserves.squaredNorm();
  };
  // The starts are compared on least effort (the SQP's own merit); the chosen posture's muscle
  // solution is stabilised once, at the end.
  defer_stability_ = !stab_k_.empty() && !st.stable_posture;
  VecX best_x;
  SolveStatus best_loop_status = SolveStatus::Failed;
  for (int s = 0; s < nstart; ++s) {
    if (s >= 3 && !st.all_starts && have && best.status == SolveStatus::Converged && score(best) < kStrainedEffort) break;
    VecX x = x_of(q_base_);
    if (tilt_k >= 0) x[tilt_k] += offsets[s];
    initialize_height(x);
    // a sitter's legs (thighs on a seat or the floor) start at rest on their supports
    if (thigh_ >= 45.0 * kDeg) initialize_legs(x);
    merged_ = false;
    PostureResult r = solve_from(x, st);
    total_iterations += r.iterations;
    // The same minimum as an earlier start. When the second start (15 deg back) has joined the
    // first one's basin and the muscles there are nearly idle (effort below kIdleEffort: an RMS
    // activation of a few per cent), the third start (30 deg back) is skipped. Over the
    // 297-solve person sweep (docs/performance.md) this changes no result; the one case where
    // the third start finds a lower minimum after the first two agreed (long sitting, 110 kg)
    // has an effort of 1.19.
    if (!st.all_starts && merged_ && s == 1 && have && best.status == SolveStatus::Converged && score(best) < kIdleEffort) break;
    if (merged_) continue;
    if (!have || score(r) < score(best)) {
      best = std::move(r);
      best_x = last_x_;
      best_loop_status = last_status_;
      have = true;
      if (best.status == SolveStatus::Converged) {
        merge_x_ = x_of(best.q);
        merge_merit_ = last_merit_;
      }
    }
    // The merit is non-negative: a converged start with (almost) no muscle effort and no
    // reserves is a global minimum, so the other starts cannot improve on it.
    if (best.status == SolveStatus::Converged && score(best) < 1e-6) break;
  }
  if (defer_stability_) {
    defer_stability_ = false;
    best.status = best_loop_status;
    best.message.clear();
    finish(best_x, st, best, true);
  }
  best.iterations = total_iterations;
  best.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return best;
}

bool PostureSolver::passive_equilibrium(VecX& x, const PostureSettings& st, int& iterations) {
  MatX A, Ap;
  VecX b, bp;
  MatX J(nx_, nx_);
  // Only the free variables' rows: the horizontal balance is left to friction (solve_from).
  equations(x, A, b);
  b.conservativeResize(nx_);
  const VecX at_rest = VecX::Zero(ncol_);
  MatX Jr;
  for (iterations = 0; iterations < 40; ++iterations) {
    if (max_abs(b) < 1e-9) return true;
    if (st.analytic_jacobian && analytic_jacobian(at_rest, Jr)) {  // d(0 a - b)/dx = -db/dx
      J = -Jr.topRows(nx_);
    } else {
      const double h = 1e-7;
      for (int j = 0; j < nx_; ++j) {
        VecX xp = x;
        xp[j] += h;
        equations(xp, Ap, bp);
        J.col(j) = (bp.head(nx_) - b) / h;
      }
    }
    const VecX dx = -J.colPivHouseholderQr().solve(b);
    if (!dx.allFinite()) return false;
    double t = 1.0;
    bool ok = false;
    for (int ls = 0; ls < 20; ++ls) {
      VecX xt = x + t * dx;
      bool inside = true;
      for (int k = 0; k < nx_; ++k) inside = inside && xt[k] >= x_min(k) && xt[k] <= x_max(k);
      if (inside) {
        equations(xt, A, bp);
        bp.conservativeResize(nx_);
        if (bp.norm() < (1.0 - 1e-4 * t) * b.norm()) {
          x = xt;
          b = bp;
          ok = true;
          break;
        }
      }
      t *= 0.5;
    }
    if (!ok) return false;
  }
  return max_abs(b) < 1e-9;
}

PostureResult PostureSolver::solve_from(VecX x, const PostureSettings& st) {
  const auto t0 = std::chrono::steady_clock::now();
  PostureResult res;
  StaticOptimizer& fixed = *fixed_;
  StaticOptimizer& sqp = *sqp_;
  fixed.reset_warm_start();  // every start from scratch: results do not depend on earlier solves
  sqp.reset_warm_start();
  MatX &A = A_, &Aq = Aq_, &Bq = Bq_, &Jx = Jx_, &Jc = Jc_;
  VecX &b = b_, &bq = bq_, &c = c_, &mu = mu_, &a = a_;
  double trust = st.initial_trust;
  a.setZero();  // no friction known yet for the height
  if (project_height_) settle_height(x);
  stab_posture_ = st.stable_posture && !stab_k_.empty();
  double current = merit(x, st, fixed);
  a = merit_qp_->activations();
  bool at_x = true;  // merit(x) just ran
  res.status = SolveStatus::MaxIterations;
  int it = 0;
  if (nx_ == 0) res.status = SolveStatus::Converged;  // fully prescribed posture
  for (; nx_ > 0 && it < st.max_iterations; ++it) {
    // Linearise the equilibrium in x at the current activations: analytically, or by forward
    // differences from the base point (as accurate as the SQP needs: the final muscle solution
    // is recomputed exactly).
    if (st.analytic_jacobian && analytic_ok_) {
      if (at_x) {  // the merit has just evaluated the equations at x
        A = Am_;
        b = bm_;
      } else {
        equations(x, A, b);
      }
      analytic_jacobian(a, Jx);
    } else {
      const double h = kDifferenceStep;
      // the base point (each column recomputes only the paths its variable moves): after an
      // accepted step the merit has just evaluated the equations there
      if (at_x) {
        A = Am_;
        b = bm_;
        keep_base(A);
      } else {
        linearize_at(x, A, b);
      }
      r1_.noalias() = A * a;
      r1_ -= b;
      for (int j = 0; j < nx_; ++j) difference_column(x, a, j, h, Jx);
    }
    Aq.topRows(nrow_) = A;
    Aq.bottomRows(nt_).setZero();
    bq.head(nrow_) = b;
    Bq.topRows(nrow_) = Jx;
    if (nt_ > 0) {
      targets_and_jacobian(x, c, Jc);
      Bq.bottomRows(nt_) = st.target_scale * Jc;
      bq.tail(nt_) = -st.target_scale * c;
    }
    mu.setConstant(trust);
    if (stab_posture_ && !at_x) {  // the stability cuts at x
      current = merit(x, st, fixed);
      a = merit_qp_->activations();
    }
    SolveStatus qs_status = SolveStatus::Converged;
    StaticOptimizer& step_qp = stab_posture_ ? stable_step(x, st, Aq, Bq, bq, mu, qs_status) : sqp;
    if (!stab_posture_) qs_status = sqp.solve(Aq, bq, w_, st.qp, &Bq, &mu);
    if (qs_status == SolveStatus::Failed) {
      res.status = SolveStatus::Failed;
      res.message = "QP subproblem failed";
      break;
    }
    VecX& dx = dx_;
    dx = step_qp.free_variables();
    // The height of a trial point settles with the friction the step proposes (a fraction t of
    // the way from the current friction): friction on an inclined contact (a lumbar support) has
    // a vertical part, and settling with the current friction would hold it where it is.
    a_base_ = a;
    a_step_ = step_qp.activations();
    // The trial points' merits warm-start their dual iteration on the line between the merit's
    // multipliers at x and the step's (the QP's multipliers are the ones the linearised
    // equilibrium predicts at x + dx); the solution does not depend on the start (strictly
    // convex), only its iteration count (measured, upright sitting: 268 -> 232 dual iterations
    // per solve, docs/performance.md item 26).
    if (!stab_posture_) {
      lam_base_ = fixed.multipliers();
      lam_step_ = step_qp.multipliers().head(nrow_);
    }
    // Backtracking on the reduced merit.
    double t = 1.0, moved = 0.0;
    bool stalled = false;
    bool accepted = false;
    at_x = false;
    for (int ls = 0; ls < 12; ++ls) {
      VecX& xt = xt_;
      xt = x + t * dx;
      // the free coordinates stay within their ranges (projected step)
      for (int k = 0; k < nx_; ++k) xt[k] = std::clamp(xt[k], x_min(k), x_max(k));
      // the vertical balance, the stiffest row (a contact's support against its depth), is met
      // exactly at every trial point: otherwise its linearisation error dominates the merit
      if (project_height_) {
        a.tail(2 * nc_) = (1.0 - t) * a_base_.tail(2 * nc_) + t * a_step_.tail(2 * nc_);
        settle_height(xt);
      }
      if (!stab_posture_) {
        lam_trial_ = (1.0 - t) * lam_base_ + t * lam_step_;
        fixed.warm_start(lam_trial_);
      }
      const double mt = merit(xt, st, fixed);
      if (std::isfinite(mt) && mt <= current - 1e-10 * std::abs(current)) {
        moved = (xt - x).cwiseAbs().maxCoeff();
        x = xt;
        stalled = current - mt < st.merit_tolerance * (1.0 + current);
        current = mt;
        a = merit_qp_->activations();
        accepted = true;
        at_x = true;  // data_, Am_ and bm_ hold the equations at the new x
        break;
      }
      t *= 0.5;
    }
    if (!accepted) a = a_base_;
    const double step = moved;  // actual (projected) displacement
    if (accepted) {
      // The trust weight stands in for the missing curvature of the equilibrium in x: a step
      // the line search cut to t asks for 1/t times the weight, a full step for less.
      trust = t >= 1.0 ? std::max(trust / 1.5, 1e-6) : trust / t;
      if (step < st.step_tolerance || stalled) {
        res.status = SolveStatus::Converged;
        break;
      }
      // a later start that reaches an earlier start's converged solution ends there: it has
      // joined that basin (the multi-start keeps the earlier result)
      if (merge_x_.size() == nx_ && current >= merge_merit_ && (x - merge_x_).cwiseAbs().maxCoeff() < kMergeDistance) {
        res.status = SolveStatus::Converged;
        merged_ = true;
        break;
      }
    } else {
      trust *= 10.0;
      if (max_abs(dx) < st.step_tolerance || trust > 1e12) {
        res.status = SolveStatus::Converged;  // no descent direction left: stationary
        break;
      }
    }
  }
  res.iterations = it;
  last_merit_ = current;
  last_x_ = x;
  last_status_ = res.status;
  finish(x, st, res, !defer_stability_, at_x);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

void PostureSolver::finish(const VecX& x, const PostureSettings& st, PostureResult& res, bool stabilise, bool at_x) {
  StaticOptimizer& fixed = *fixed_;
  MatX &A = A_, &Jc = Jc_;
  VecX &b = b_, &c = c_;
  // Final muscle solution at x, stabilised (Model::stability). A start of the multi-start whose
  // last merit evaluation was at x (plain least effort) has them already: equations and muscle
  // solution are reused (the chosen start is finished again in full).
  SolveStatus fs;
  if (at_x && !stabilise && merit_qp_ == &fixed) {
    A = Am_;
    b = bm_;
    fs = merit_status_;
  } else {
    equations(x, A, b);
    fs = fixed.solve(A, b, w_, st.qp);
  }
  bool stable = true;
  StaticOptimizer& final_qp = fs == SolveStatus::Failed || !stabilise ? fixed : stabilize(x, A, b, st, res, stable);
  const MatX& final_A = &final_qp == &fixed ? A : stab_A_;
  res.q = full_q(x);
  const VecX a_all = final_qp.activations();
  res.activations = a_all.head(nm_);
  res.reserves = final_qp.reserves().head(nrow_);
  if (&final_qp != &fixed && fs != SolveStatus::Failed) {
    // the cut rows' reserves measure the stability constraints' slack, not missing muscle moment
    if (final_qp.iterations() >= st.qp.max_iterations) fs = SolveStatus::MaxIterations;
    else fs = max_abs(res.reserves) > st.qp.reserve_flag ? SolveStatus::Infeasible : SolveStatus::Converged;
  }
  res.muscle_forces = res.activations.cwiseProduct(F_act_) + F_pass_;
  res.equilibrium_residual = max_abs(A * a_all + res.reserves - b);
  res.thigh_inclination = couple_hips_ ? res.q[hips_[0]] - res.q[tilt_] : 0.0;
  for (int j = 0; j < nc_ && static_cast<size_t>(j) < contacts_.size(); ++j) {
    ContactPoint& cp = contacts_[static_cast<size_t>(j)];
    cp.friction = planes_[static_cast<size_t>(cp.plane)].friction * cp.force * (a_all[nm_ + 2 * j] - a_all[nm_ + 2 * j + 1]);
  }
  res.kkt_residual = final_qp.kkt_residual(final_A, w_, st.qp.exponent);
  res.effort = final_qp.objective();
  if (!res.q.allFinite() || !res.activations.allFinite()) {
    res.status = SolveStatus::Failed;
    res.message = "non-finite solution";
  }
  if (res.status == SolveStatus::Converged && (fs == SolveStatus::MaxIterations || fs == SolveStatus::Failed)) {
    res.status = SolveStatus::Failed;
    res.message = "the muscle-force problem at the final posture did not converge (residual " +
                  std::to_string(res.equilibrium_residual) + " N m)";
  }
  if (res.status == SolveStatus::Converged && !stable) {
    res.status = SolveStatus::Infeasible;
    res.message = "the muscles cannot stabilise the spine: the smallest eigenvalue of the intervertebral stiffness stays at " +
                  std::to_string(res.spine_stiffness_min) + " N m/rad (stability.margin " + std::to_string(model_.stability.margin) + ")" +
                  (max_abs(res.reserves) > st.qp.reserve_flag
                       ? "; reserve actuators carry up to " + std::to_string(max_abs(res.reserves)) + " N m"
                       : std::string());
  }
  if (res.status == SolveStatus::Converged && fs == SolveStatus::Infeasible) {
    res.status = SolveStatus::Infeasible;
    res.message = "muscles cannot balance the posture" +
                  std::string(&final_qp != &fixed ? " and keep the spine stable" : "") +
                  ": reserve actuators carry up to " + std::to_string(max_abs(res.reserves)) + " N m" +
                  (&final_qp != &fixed ? " (without the stability constraint " + std::to_string(max_abs(fixed.reserves())) + " N m)"
                                       : std::string());
  }
  if (res.status == SolveStatus::MaxIterations)
    res.message = "no convergence in " + std::to_string(st.max_iterations) + " iterations";
  if (nt_ > 0) {
    targets_and_jacobian(x, c, Jc);
    for (int k = 0; k < nt_ && res.status == SolveStatus::Converged; ++k)
      if (std::abs(c[k]) > 0.5 * kDeg) {  // 0.5 deg; 4.4 mm of hand height
        const bool metres = target_kind_[static_cast<size_t>(k)] == 3;
        res.status = SolveStatus::Infeasible;
        res.message = "the posture target " + spec_.targets[static_cast<size_t>(k)].quantity + " could not be reached (off by " +
                      std::to_string(metres ? std::abs(c[k]) * kHandScale : std::abs(c[k]) / kDeg) + (metres ? " m)" : " deg)");
      }
  }
  if (defer_stability_ && !stabilise) {
    // a start of the multi-start: status, effort, reserves and q are all it is compared on;
    // the chosen one is finished again, stabilised, with everything else
    if (res.message.empty()) res.message = status_name(res.status);
    return;
  }
  // data_ holds the pose of x (the last equations(), then the targets' kinematics at x): paths,
  // passive forces and contacts (with the friction just set) are current
  res.alignment = compute_alignment(model_, data_, lm_);
  res.trunk_inclination = trunk_axis_inclination();
  res.contact_force_total = res.friction_total = 0.0;  // (a deferred stabilisation finishes twice)
  if (!planes_.empty()) {
    res.contacts = contacts_;
    for (const auto& c : contacts_) {
      res.contact_force_total += c.force;
      res.friction_total += std::abs(c.friction);
    }
  }
  if (!spec_.supported) {
    // Whole-body balance of the external forces, about the root body's origin.
    const Vec3 o = data_.X_WB[1].p;
    Vec3 F = Vec3::Zero(), M = Vec3::Zero();
    for (int bi = 1; bi < model_.nbody(); ++bi) {
      const Inertia& I = model_.body_inertia[static_cast<size_t>(bi)];
      const Vec3 p = data_.X_WB[static_cast<size_t>(bi)].act_point(I.com);
      F += I.mass * model_.gravity;
      M += (p - o).cross(I.mass * model_.gravity);
    }
    for (const auto& cp : res.contacts) {
      const Vec3 f = cp.force * cp.n_W + cp.friction * cp.t_W;
      F += f;
      M += (cp.p_W - o).cross(f);
    }
    res.external_force_residual = std::hypot(F.x(), F.y());
    res.external_moment_residual = std::abs(M.z());
  }
  res.loads = intervertebral_loads(model_, data_, res.muscle_forces, spec_.supported, &res.contacts);
  // What the held coordinates' guides supply: gravity's load minus every force the model applies
  // (muscles, passive tissues, contact normal and friction forces) on each held coordinate.
  res.held_forces = VecX::Zero(model_.nv);
  res.held.assign(static_cast<size_t>(model_.nv), 0);
  if (!spec_.supported) {
    VecX tau = data_.tau_passive;  // passive tissues, passive muscle tension included
    for (int i = 0; i < nm_; ++i)
      tau.noalias() += res.activations[i] * F_act_[i] *
                       data_.path_moment_arm.row(model_.muscle_path[static_cast<size_t>(i)]).transpose();
    for (const auto& cp : res.contacts)
      add_point_force(model_, data_, model_.contact_body[static_cast<size_t>(cp.sphere)], cp.p_W,
                      cp.force * cp.n_W + cp.friction * cp.t_W, tau);
    const VecX held = generalized_gravity(model_, data_, res.q) - tau;
    for (int k = 0; k < model_.nv; ++k)
      if (Geq_.cols() == 0 || Geq_.row(k).cwiseAbs().maxCoeff() == 0.0) {
        res.held[static_cast<size_t>(k)] = 1;
        res.held_forces[k] = held[k];
      }
  }
  res.passive_muscle_forces = data_.muscle_passive_force;
  res.ligament_forces = data_.ligament_force;
  res.disc_moments = data_.spinal_moment;
  // Reserve moments act on the free coordinates' joints: include them in the sub-chain balance.
  const VecX tau_res = Geq_ * res.reserves;
  for (size_t s = 0; s < model_.spinal_coord.size(); ++s)
    res.loads[s].subchain_residual -= tau_res[model_.spinal_coord[s]];
  if (res.message.empty()) res.message = status_name(res.status);
}

std::vector<LevelLoad> intervertebral_loads(const Model& m, Data& d, const VecX& F, bool supported,
                                           const std::vector<ContactPoint>* contacts) {
  std::vector<LevelLoad> out;
  for (size_t s = 0; s < m.spinal_coord.size(); ++s) {
    const int c = m.spinal_coord[s];
    const int j = m.mob_joint[static_cast<size_t>(c)];
    const int parent = m.joint_parent[static_cast<size_t>(j)];
    const int child = m.joint_child[static_cast<size_t>(j)];
    LevelLoad L;
    L.level = m.joint_name[static_cast<size_t>(j)];
    const Vec3 o = d.X_WM[static_cast<size_t>(c)].p;
    const Vec3& axis = d.axis_W[static_cast<size_t>(c)];
    Vec3 Fsum = Vec3::Zero(), Msum = Vec3::Zero();
    auto add = [&](const Vec3& p, const Vec3& f) {
      Fsum += f;
      Msum += (p - o).cross(f);
    };
    auto above = [&](int body) {
      const int mob = m.body_mob[static_cast<size_t>(body)];
      return mob >= 0 && m.mob_in_subtree(mob, c);
    };
    if (!supported)
      for (int b = 1; b < m.nbody(); ++b)
        if (above(b)) {
          const Inertia& I = m.body_inertia[static_cast<size_t>(b)];
          add(d.X_WB[static_cast<size_t>(b)].act_point(I.com), I.mass * m.gravity);
        }
    auto add_path = [&](int p, double T) {
      const auto pk = static_cast<size_t>(p);
      for (int e = d.eff_adr[pk]; e < d.eff_adr[pk] + d.eff_num[pk]; ++e)
        if (above(d.eff_body[static_cast<size_t>(e)])) add(d.eff_p_W[static_cast<size_t>(e)], T * d.eff_pull_W[static_cast<size_t>(e)]);
    };
    for (int mu = 0; mu < m.nmuscle(); ++mu) add_path(m.muscle_path[static_cast<size_t>(mu)], F[mu]);
    for (int l = 0; l < m.nligament(); ++l) add_path(m.ligament_path[static_cast<size_t>(l)], d.ligament_force[l]);
    if (contacts)
      for (const auto& cp : *contacts)
        if (above(m.contact_body[static_cast<size_t>(cp.sphere)])) add(cp.p_W, cp.force * cp.n_W + cp.friction * cp.t_W);
    // Reaction of the lower structures on everything above this level.
    const Vec3 FR = -Fsum, MR = -Msum;
    // Mid-disc frame: bisector of the lower vertebra's superior endplate and the upper vertebra.
    Vec3 n_low = d.X_WB[static_cast<size_t>(parent)].R.col(1);
    const int lm = m.find_landmark(m.body_name[static_cast<size_t>(parent)] == "pelvis"
                                       ? std::string("S1_superior_endplate")
                                       : m.body_name[static_cast<size_t>(parent)] + "_superior_endplate");
    if (lm >= 0 && m.landmark_dir_B[static_cast<size_t>(lm)].norm() > 0)
      n_low = d.X_WB[static_cast<size_t>(parent)].R * m.landmark_dir_B[static_cast<size_t>(lm)];
    const Vec3 n = (n_low + d.X_WB[static_cast<size_t>(child)].R.col(1)).normalized();
    const Vec3 z = d.X_WB[static_cast<size_t>(child)].R.col(2);
    const Vec3 ap = n.cross(z).normalized();
    L.compression = FR.dot(n);
    L.shear_ap = FR.dot(ap);
    L.shear_lateral = FR.dot(z);
    L.moment = MR.dot(axis);
    L.idp = m.spinal_swelling_pressure[s] + 1.5 * std::max(L.compression, 0.0) / m.spinal_disc_area[s];
    // About the joint axis only the disc's passive moment may remain (the revolute joint carries
    // no moment about its axis): whatever else is left is an equilibrium error.
    L.subchain_residual = L.moment - d.spinal_moment[static_cast<Eigen::Index>(s)];
    out.push_back(L);
  }
  return out;
}

}  // namespace lumbosim
