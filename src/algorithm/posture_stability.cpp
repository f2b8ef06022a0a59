/// @file posture_stability.cpp
/// Spinal stability of the muscle solution (Bergmark 1989; Cholewicki & McGill 1996): the
/// stiffness matrix of the free intervertebral coordinates,
///
///   K(a) = K0 + sum_i a_i K_i,
///
/// K0 the (negated, symmetrised) equilibrium Jacobian with every muscle at rest: passive tissues,
/// passive muscle, gravity and contact; K_i per unit activation of muscle i: the turning of its
/// path under its active force F_i (geometric stiffness) and its short-range stiffness
/// k_i = q F_i / L_i / (1 - reflex share) along its moment arms (it replaces the slope of the
/// force-length curve for small perturbations). K is affine in the activations, so its smallest
/// eigenvalue is concave in them and v^T K(a) v >= margin, for each mode v of the current
/// solution below the margin, is a valid linear cut: the least-effort problem is re-solved with
/// the cuts (at most kStabilityCuts at a time; a cut whose multiplier turns negative is dropped)
/// until K is positive definite with the margin (Kelley's cutting planes). K0 and the columns
/// are built once per call; the cut loop makes no heap allocation.
#include <algorithm>
#include <cmath>

#include "lumbosim/algorithm/derivatives.hpp"
#include "lumbosim/algorithm/passive.hpp"
#include "lumbosim/algorithm/posture.hpp"

namespace lumbosim {

double PostureSolver::stability_eigen(const VecX& a) {
  const auto ns = static_cast<Eigen::Index>(stab_k_.size());
  for (size_t k = 0; k < stab_m_.size(); ++k) stab_asub_[static_cast<Eigen::Index>(k)] = a[stab_m_[k]];
  stab_kvec_.noalias() = stab_Kcols_ * stab_asub_;
  for (Eigen::Index i = 0; i < ns; ++i)
    for (Eigen::Index j = 0; j < ns; ++j) stab_K_(i, j) = stab_K0_(i, j) + stab_kvec_[i * ns + j];
  stab_eig_->compute(stab_K_);
  stab_v_ = stab_eig_->eigenvectors().col(0);
  return stab_eig_->eigenvalues()[0];
}

void PostureSolver::stability_column(size_t m, double gain) {
  const auto ns = static_cast<Eigen::Index>(stab_k_.size());
  const auto col = static_cast<Eigen::Index>(m);
  const int i = stab_m_[m];
  const int p = model_.muscle_path[static_cast<size_t>(i)];
  const double F = F_act_[i], L = data_.path_length[p];
  stab_Kcols_.col(col).setZero();
  if (!(F > 0.0) || !(L > 0.0)) return;
  const double k = gain * F / L;
  bool ellipsoid = false;
  const int adr = model_.path_point_adr[static_cast<size_t>(p)], num = model_.path_point_num[static_cast<size_t>(p)];
  for (int pt = adr; pt < adr + num; ++pt)
    if (const int w = model_.path_point_wrap[static_cast<size_t>(pt)]; w >= 0 && model_.wrap_type[static_cast<size_t>(w)] == WrapType::Ellipsoid)
      ellipsoid = true;
  if (!ellipsoid) {
    K_.setZero();
    add_path_force_derivative(model_, data_, p, F, k, K_, dws_);
  }
  for (Eigen::Index r = 0; r < ns; ++r)
    for (Eigen::Index c = 0; c < ns; ++c) {
      const int qr = free_[static_cast<size_t>(stab_k_[static_cast<size_t>(r)])];
      const int qc = free_[static_cast<size_t>(stab_k_[static_cast<size_t>(c)])];
      // on an ellipsoid wrap (not covered by the analytic derivatives) the short-range stiffness
      // along the moment arms alone, without the path's geometric stiffness
      stab_Kcols_(r * ns + c, col) = ellipsoid ? k * data_.path_moment_arm(p, qr) * data_.path_moment_arm(p, qc)
                                               : -0.5 * (K_(qr, qc) + K_(qc, qr));
    }
}

void PostureSolver::stability_matrices(const VecX& x, MatX& A, VecX& b, const PostureSettings& st, const VecX& a_ref,
                                       bool all_columns) {
  const auto ns = static_cast<Eigen::Index>(stab_k_.size());
  const StabilitySpec& S = model_.stability;
  const double gain = S.muscle_stiffness_gain / (1.0 - S.reflex_share);
  // K0: the equilibrium's Jacobian in the intervertebral coordinates with the muscles at rest
  // (friction as solved), analytic or by forward differences of those columns
  stab_a0_ = a_ref;
  stab_a0_.head(nm_).setZero();
  MatX& Jx = Jx_;
  if (!(st.analytic_jacobian && analytic_jacobian(stab_a0_, Jx))) {
    linearize_at(x, A, b);
    r1_.noalias() = A * stab_a0_;
    r1_ -= b;
    for (int k : stab_k_) difference_column(x, stab_a0_, k, kDifferenceStep, Jx);
    equations(x, A, b);  // data_ back at x
  }
  for (Eigen::Index i = 0; i < ns; ++i)
    for (Eigen::Index j = 0; j < ns; ++j)
      stab_K0_(i, j) = -0.5 * (Jx(stab_k_[static_cast<size_t>(i)], stab_k_[static_cast<size_t>(j)]) +
                               Jx(stab_k_[static_cast<size_t>(j)], stab_k_[static_cast<size_t>(i)]));
  // The intervertebral joints' tangent stiffness under their compression at the least-effort
  // solution (in vitro moment-angle curves are measured without preload)
  if (S.preload_stiffening > 0.0) {
    stab_F_ = a_ref.head(nm_).cwiseProduct(F_act_) + F_pass_;
    const std::vector<LevelLoad> loads = intervertebral_loads(model_, data_, stab_F_, spec_.supported, &contacts_);
    for (Eigen::Index r = 0; r < ns; ++r) {
      const int c = free_[static_cast<size_t>(stab_k_[static_cast<size_t>(r)])];
      for (size_t s = 0; s < model_.spinal_coord.size(); ++s) {
        if (model_.spinal_coord[s] != c) continue;
        const double P = std::max(0.0, loads[s].compression);
        double d = 0.0;
        spinal_passive_moment(model_.spinal_k0[s], model_.spinal_bf[s], model_.spinal_be[s], q_work_[c], &d);
        stab_K0_(r, r) -= S.preload_stiffening * (1.0 - std::exp(-P / S.preload_force)) * d;
      }
    }
  }
  // K_i per unit activation of the muscles crossing the free intervertebral joints: all, or the
  // active ones (the others' columns are built when needed)
  for (size_t m = 0; m < stab_m_.size(); ++m) {
    if (all_columns || a_ref[stab_m_[m]] > 0.0) stability_column(m, gain);
    else stab_Kcols_.col(static_cast<Eigen::Index>(m)).setZero();
  }
}

StaticOptimizer& PostureSolver::stabilize(const VecX& x, MatX& A, VecX& b, const PostureSettings& st, PostureResult& res,
                                          bool& ok) {
  ok = true;
  StaticOptimizer& fixed = *fixed_;
  if (stab_k_.empty()) return fixed;
  const auto ns = static_cast<Eigen::Index>(stab_k_.size());
  const StabilitySpec& S = model_.stability;
  const double gain = S.muscle_stiffness_gain / (1.0 - S.reflex_share);

  stability_matrices(x, A, b, st, fixed.activations(), false);
  const VecX& a_fixed = fixed.activations();
  res.spine_stiffness_min_passive = stability_eigen(stab_a0_);
  double lam = stability_eigen(a_fixed);
  // accepted within 0.1 % of the passive column's instability (at least 0.01 N m/rad) below the
  // margin; each cut aims as far above it, so that the cutting planes end in a few rounds
  const double tol = 1e-3 * std::max(10.0, std::abs(res.spine_stiffness_min_passive));
  const double aim = S.margin + tol;
  res.stability_iterations = 0;
  res.spine_stiffness_min = lam;
  if (lam >= S.margin - tol) return fixed;
  for (size_t m = 0; m < stab_m_.size(); ++m)
    if (!(a_fixed[stab_m_[m]] > 0.0)) stability_column(m, gain);

  StaticOptimizer& qp = *stab_qp_;
  qp.warm_start(fixed.multipliers());
  // Co-activation raises the equilibrium rows' multipliers, and with them their reserves
  // (lambda / 2 rho): a heavier reserve weight keeps those at round-off where muscles can carry
  // the posture (where they cannot, the reserves still carry what is missing).
  StaticOptSettings qs = st.qp;
  qs.reserve_weight *= 10.0;
  stab_A_.topRows(nrow_) = A;
  stab_A_.bottomRows(kStabilityCuts).setZero();
  stab_b_.head(nrow_) = b;
  stab_b_.tail(kStabilityCuts).setZero();
  std::fill(stab_slot_.begin(), stab_slot_.end(), 0);
  int it = 0;
  for (; it < kStabilityIterations && lam < S.margin - tol; ++it) {
    // a cut the last solution no longer pressed against (negative multiplier) is dropped
    for (int s = 0; s < kStabilityCuts && it > 0; ++s)
      if (stab_slot_[static_cast<size_t>(s)] && qp.multipliers()[nrow_ + s] < 0.0) {
        stab_slot_[static_cast<size_t>(s)] = 0;
        stab_A_.row(nrow_ + s).setZero();
        stab_b_[nrow_ + s] = 0.0;
      }
    // a cut at each mode v below the margin: sum_i a_i v^T K_i v >= aim - v^T K0 v
    for (Eigen::Index e = 0; e < ns && stab_eig_->eigenvalues()[e] < S.margin - tol; ++e) {
      stab_v_ = stab_eig_->eigenvectors().col(e);
      for (Eigen::Index i = 0; i < ns; ++i)
        for (Eigen::Index j = 0; j < ns; ++j) stab_vv_[i * ns + j] = stab_v_[i] * stab_v_[j];
      stab_c_.noalias() = stab_Kcols_.transpose() * stab_vv_;
      stab_w_.noalias() = stab_K0_ * stab_v_;
      const double rhs = aim - stab_v_.dot(stab_w_);
      int slot = -1;
      double least = 0.0;
      for (int s = 0; s < kStabilityCuts && slot < 0; ++s)
        if (!stab_slot_[static_cast<size_t>(s)]) slot = s;
      if (slot < 0)  // all in use: replace the least binding cut
        for (int s = 0; s < kStabilityCuts; ++s)
          if (const double mult = qp.multipliers()[nrow_ + s]; slot < 0 || mult < least) {
            slot = s;
            least = mult;
          }
      const Eigen::Index row = nrow_ + slot;
      stab_A_.row(row).setZero();
      for (size_t m = 0; m < stab_m_.size(); ++m) stab_A_(row, stab_m_[m]) = stab_c_[static_cast<Eigen::Index>(m)];
      stab_b_[row] = rhs;
      stab_slot_[static_cast<size_t>(slot)] = 1;
      stab_V_.col(slot) = stab_v_;
    }
    qp.solve(stab_A_, stab_b_, w_, qs);
    lam = stability_eigen(qp.activations());
  }
  res.stability_iterations = it;
  res.spine_stiffness_min = lam;
  ok = lam >= S.margin - tol;
  return qp;
}

StaticOptimizer& PostureSolver::stable_step(const VecX& x, const PostureSettings& st, const MatX& Aq, const MatX& Bq,
                                            const VecX& bq, const VecX& mu, SolveStatus& status) {
  const auto ns = static_cast<Eigen::Index>(stab_k_.size());
  const Eigen::Index top = nrow_ + nt_;
  Aq2_.topRows(top) = Aq;
  Bq2_.topRows(top) = Bq;
  bq2_.head(top) = bq;
  Aq2_.bottomRows(kStabilityCuts).setZero();
  Bq2_.bottomRows(kStabilityCuts).setZero();
  bq2_.tail(kStabilityCuts).setZero();
  bool any = false;
  for (int s = 0; s < kStabilityCuts; ++s) any = any || (stab_slot_[static_cast<size_t>(s)] && merit_qp_ == &*stab_qp_);
  if (any) {
    // each cut's value v^T K(x, a*) v at x and at x + h e_j, the activations a* held
    stab_ale_ = fixed_->activations();
    stab_astar_ = stab_qp_->activations();
    auto cut_value = [&](int s) {
      for (size_t k = 0; k < stab_m_.size(); ++k) stab_asub_[static_cast<Eigen::Index>(k)] = stab_astar_[stab_m_[k]];
      stab_kvec_.noalias() = stab_Kcols_ * stab_asub_;
      double v = 0.0;
      for (Eigen::Index i = 0; i < ns; ++i)
        for (Eigen::Index j = 0; j < ns; ++j) v += stab_V_(i, s) * (stab_K0_(i, j) + stab_kvec_[i * ns + j]) * stab_V_(j, s);
      return v;
    };
    for (int s = 0; s < kStabilityCuts; ++s) stab_f0_[s] = stab_slot_[static_cast<size_t>(s)] ? cut_value(s) : 0.0;
    const double h = 1e-5;
    for (int j = 0; j < nx_; ++j) {
      // xm_, not xp_: stability_matrices' own differences (Bullet geometry, ellipsoid wraps) use xp_
      xm_ = x;
      xm_[j] += h;
      equations(xm_, Am_, bm_);
      stability_matrices(xm_, Am_, bm_, st, stab_ale_, true);
      for (int s = 0; s < kStabilityCuts; ++s)
        stab_G_(s, j) = stab_slot_[static_cast<size_t>(s)] ? (cut_value(s) - stab_f0_[s]) / h : 0.0;
    }
    for (int s = 0; s < kStabilityCuts; ++s) {
      if (!stab_slot_[static_cast<size_t>(s)]) continue;
      Aq2_.row(top + s) = stab_A_.row(nrow_ + s);
      Bq2_.row(top + s) = stab_G_.row(s);
      bq2_[top + s] = stab_b_[nrow_ + s];
    }
  }
  StaticOptSettings qs = st.qp;
  qs.reserve_weight *= 10.0;
  status = sqp2_->solve(Aq2_, bq2_, w_, qs, &Bq2_, &mu);
  return *sqp2_;
}

}  // namespace lumbosim
