#include "lumbosim/algorithm/static_opt.hpp"

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace lumbosim {
namespace {

/// The activation minimising w a^p + eps w a^2 - z a over [0, 1] and its slope da/dz (0 on a
/// bound). p = 2: a = z / (2 w) (eps = 0). p > 2: the small quadratic term (eps = kEpsP) keeps the
/// slope finite where a muscle switches on (for w a^p alone it is infinite at a = 0, which stalls
/// the dual Newton iteration); it changes the criterion by at most eps w a^2 against w a^p, under
/// 3 % of it for a > 0.03 at p = 3. Solved by Newton on p w a^(p-1) + 2 eps w a = z (increasing
/// and convex in a) from the smaller of the two one-term solutions, a lower bound of the root.
constexpr double kEpsP = 1e-3;
inline double activation(double z, double w, double p, double& da) {
  da = 0.0;
  if (z <= 0.0) return 0.0;
  if (p == 2.0) {
    const double a = z / (2.0 * w);
    if (a >= 1.0) return 1.0;
    da = 1.0 / (2.0 * w);
    return a;
  }
  const double e2 = 2.0 * kEpsP * w;
  if (p * w + e2 <= z) return 1.0;  // the gradient at a = 1 is still below z
  // a lies below both single-term solutions; from the smaller one the first Newton step lands
  // above the root (convexity), and from there the iterates decrease monotonically onto it
  double a = std::min(z / e2, std::pow(z / (p * w), 1.0 / (p - 1.0)));
  a = std::min(a, 1.0);
  for (int k = 0; k < 50; ++k) {
    const double ap = std::pow(a, p - 2.0);
    const double f = p * w * ap * a + e2 * a - z;
    const double fp = p * (p - 1.0) * w * ap + e2;
    const double step = f / fp;
    a -= step;
    if (std::abs(step) <= 1e-14 * (1.0 + a)) break;
  }
  a = std::clamp(a, 0.0, 1.0);
  da = 1.0 / (p * (p - 1.0) * w * std::pow(a, p - 2.0) + e2);
  return a;
}

/// The criterion's per-muscle term and its derivative in a.
inline double effort_term(double a, double w, double p) {
  return p == 2.0 ? w * a * a : w * (std::pow(a, p) + kEpsP * a * a);
}
inline double effort_gradient(double a, double w, double p) {
  return p == 2.0 ? 2.0 * w * a : w * (p * std::pow(a, p - 1.0) + 2.0 * kEpsP * a);
}

/// H += c x x^T on the lower triangle (column-major, x of length H.rows()). A plain loop: few
/// muscles are active, and for a 12 x 12 matrix Eigen's vector rankUpdate costs more in
/// dispatch than in arithmetic (measured: the static optimisation benchmark 4.8 -> 4.4 us; one
/// product (A D) A^T over every column was slower, docs/performance.md item 18).
inline void add_lower_rank_one(MatX& H, const double* x, double c) {
  const Eigen::Index m = H.rows();
  double* h = H.data();
  for (Eigen::Index j = 0; j < m; ++j) {
    const double cx = c * x[j];
    double* col = h + j * m;
    for (Eigen::Index k = j; k < m; ++k) col[k] += cx * x[k];
  }
}

}  // namespace

const char* status_name(SolveStatus s) {
  switch (s) {
    case SolveStatus::Converged: return "converged";
    case SolveStatus::MaxIterations: return "max_iterations";
    case SolveStatus::Infeasible: return "infeasible";
    case SolveStatus::Failed: return "failed";
  }
  return "?";
}

StaticOptimizer::StaticOptimizer(int m, int n, int nf)
    : m_(m), n_(n), nf_(nf), a_(VecX::Zero(n)), s_(VecX::Zero(m)), y_(VecX::Zero(nf)), lambda_(VecX::Zero(m)),
      z_(VecX::Zero(n)), dz_(VecX::Zero(n)), d_(VecX::Zero(n)), btl_(VecX::Zero(nf)), btd_(VecX::Zero(nf)), g_(VecX::Zero(m)), dlam_(VecX::Zero(m)),
      inv2w_(VecX::Zero(n)), kinks_(2 * static_cast<size_t>(n)),
      H_(MatX::Zero(m, m)), llt_(m) {}

void StaticOptimizer::primal(const MatX& A, const VecX& w, double p, double rho, const MatX* B, const VecX* mu) {
  z_.noalias() = A.transpose() * lambda_;
  if (p == 2.0) {  // a = clamp(z / (2 w), 0, 1), slope 1 / (2 w) inside the bounds
    const auto u = z_.array() * inv2w_.array();
    a_.array() = u.max(0.0).min(1.0);
    d_.array() = (u > 0.0 && u < 1.0).select(inv2w_.array(), 0.0);
  } else {
    for (int i = 0; i < n_; ++i) a_[i] = activation(z_[i], w[i], p, d_[i]);
  }
  s_ = lambda_ / (2.0 * rho);
  if (nf_ > 0) {
    y_.noalias() = B->transpose() * lambda_;
    y_.array() /= 2.0 * mu->array();
  }
}

SolveStatus StaticOptimizer::solve(const MatX& A, const VecX& b, const VecX& w, const StaticOptSettings& st,
                                   const MatX* B, const VecX* mu) {
  const double p = st.exponent, rho = st.reserve_weight;
  if (m_ == 0) {  // nothing to balance: every muscle rests
    a_.setZero();
    y_.setZero();
    iterations_ = 0;
    residual_ = objective_ = 0.0;
    return SolveStatus::Converged;
  }
  const double tol = st.tolerance * (1.0 + b.cwiseAbs().maxCoeff());
  inv2w_.array() = 0.5 / w.array();
  if (lambda_.isZero(0.0)) {
    // Cold start at the kink lambda = 0 (every muscle exactly at its lower bound): start from
    // the multipliers of the problem without bounds instead, all muscles active.
    H_.setZero();
    for (int i = 0; i < n_; ++i) add_lower_rank_one(H_, A.col(i).data(), 1.0 / (p * w[i]));
    H_.diagonal().array() += 1.0 / (2.0 * rho);
    for (int k = 0; k < nf_; ++k) add_lower_rank_one(H_, B->col(k).data(), 1.0 / (2.0 * (*mu)[k]));
    llt_.compute(H_);
    if (llt_.info() == Eigen::Success) lambda_ = llt_.solve(b);
  }
  auto residual = [&] {
    primal(A, w, p, rho, B, mu);
    g_ = b;
    g_.noalias() -= A * a_;
    g_ -= s_;
    if (nf_ > 0) g_.noalias() -= *B * y_;
  };
  residual();
  iterations_ = 0;
  SolveStatus status = SolveStatus::MaxIterations;
  double g_max = g_.cwiseAbs().maxCoeff();
  for (; iterations_ < st.max_iterations; ++iterations_) {
    if (g_max <= tol) {
      status = SolveStatus::Converged;
      break;
    }
    // Generalized Hessian of the negative dual: A D A^T + I/(2 rho) + B diag(1/(2 mu)) B^T.
    H_.setZero();
    for (int i = 0; i < n_; ++i)
      if (d_[i] > 0.0) add_lower_rank_one(H_, A.col(i).data(), d_[i]);
    H_.diagonal().array() += 1.0 / (2.0 * rho);
    for (int k = 0; k < nf_; ++k) add_lower_rank_one(H_, B->col(k).data(), 1.0 / (2.0 * (*mu)[k]));
    llt_.compute(H_);
    if (llt_.info() != Eigen::Success) return SolveStatus::Failed;
    dlam_ = llt_.solve(g_);
    // Exact line search: the dual restricted to lambda + t dlam is concave and smooth, its
    // derivative D'(t) = dlam^T g(t) decreasing (piecewise linear for p = 2). Its root is found
    // from per-muscle closed forms along z + t dz (no matrix product): for p = 2 exactly, by a
    // walk over the kinks; for p > 2 by safeguarded Newton (O(n) per evaluation). Each
    // semismooth step lands on the line's maximum, bounds switching on the way included.
    dz_.noalias() = A.transpose() * dlam_;
    if (nf_ > 0) {
      btl_.noalias() = B->transpose() * lambda_;
      btd_.noalias() = B->transpose() * dlam_;
    }
    const double t = p == 2.0 ? line_maximum_p2(b, rho, mu) : line_maximum(b, w, p, rho, mu);
    if (!(t > 0.0) || !std::isfinite(t)) {
      status = g_max <= 1e3 * tol ? SolveStatus::Converged : SolveStatus::Failed;
      break;
    }
    lambda_ += t * dlam_;
    residual();
    // Round-off floor: with large multipliers (a reserve carrying a large imbalance, lambda
    // about 3e4) the residual can stall a little above the tolerance and cycle there (measured:
    // 8.4e-8 <-> 8.9e-8, just above the tolerance, for 200 iterations in a cold standing
    // solve). A step that no longer lowers a residual already within 1e3 tolerances ends it, as
    // a failed line search does above.
    const double g_after = g_.cwiseAbs().maxCoeff();
    if (g_after >= g_max && g_after <= 1e3 * tol) {
      ++iterations_;
      status = SolveStatus::Converged;
      break;
    }
    g_max = g_after;
  }
  residual_ = g_.cwiseAbs().maxCoeff();
  objective_ = 0.0;
  for (int i = 0; i < n_; ++i) objective_ += effort_term(a_[i], w[i], p);
  if (status == SolveStatus::Converged && m_ > 0 && s_.cwiseAbs().maxCoeff() > st.reserve_flag) status = SolveStatus::Infeasible;
  return status;
}

double StaticOptimizer::line_derivative(double t, const VecX& b, const VecX& w, double p, double rho, const VecX* mu,
                                        double& d2) const {
  // D'(t) = dlam^T (b - A a(t) - s(t) - B y(t)) and D''(t), a(t), s(t), y(t) the primal
  // minimisers at lambda + t dlam (z + t dz for the muscles).
  double d1 = dlam_.dot(b) - (lambda_.dot(dlam_) + t * dlam_.squaredNorm()) / (2.0 * rho);
  d2 = -dlam_.squaredNorm() / (2.0 * rho);
  for (int k = 0; k < nf_; ++k) {
    const double two_mu = 2.0 * (*mu)[k];
    d1 -= btd_[k] * (btl_[k] + t * btd_[k]) / two_mu;
    d2 -= btd_[k] * btd_[k] / two_mu;
  }
  if (p == 2.0) {  // a = clamp(z / (2 w), 0, 1): branch-free, vectorised
    const auto u = (z_.array() + t * dz_.array()) * inv2w_.array();  // the unclamped activations
    d1 -= (u.max(0.0).min(1.0) * dz_.array()).sum();
    d2 -= ((u > 0.0 && u < 1.0).select(inv2w_.array(), 0.0) * dz_.array().square()).sum();
    return d1;
  }
  for (int i = 0; i < n_; ++i) {
    double da = 0.0;
    const double ai = activation(z_[i] + t * dz_[i], w[i], p, da);
    d1 -= ai * dz_[i];
    d2 -= da * dz_[i] * dz_[i];
  }
  return d1;
}

double StaticOptimizer::line_maximum(const VecX& b, const VecX& w, double p, double rho, const VecX* mu) const {
  double d2 = 0.0;
  const double d0 = line_derivative(0.0, b, w, p, rho, mu, d2);
  if (!(d0 > 0.0)) return 0.0;  // no ascent along dlam (at the optimum up to round-off)
  double lo = 0.0, hi = 1.0, dhi = line_derivative(hi, b, w, p, rho, mu, d2);
  for (int k = 0; k < 60 && dhi > 0.0; ++k) {  // bracket the root: D' decreases
    lo = hi;
    hi *= 2.0;
    dhi = line_derivative(hi, b, w, p, rho, mu, d2);
  }
  if (dhi > 0.0) return hi;
  if (dhi == 0.0) return hi;
  // Safeguarded Newton inside [lo, hi] (D'(lo) > 0 > D'(hi)), from the end with the smaller |D'|.
  double t = hi, dt = line_derivative(t, b, w, p, rho, mu, d2);
  for (int k = 0; k < 100; ++k) {
    if (std::abs(dt) <= 1e-13 * d0 || hi - lo <= 1e-15 * hi) break;
    double tn = d2 < 0.0 ? t - dt / d2 : 0.5 * (lo + hi);
    if (!(tn > lo && tn < hi)) tn = 0.5 * (lo + hi);
    t = tn;
    dt = line_derivative(t, b, w, p, rho, mu, d2);
    (dt > 0.0 ? lo : hi) = t;
  }
  return t;
}

double StaticOptimizer::line_maximum_p2(const VecX& b, double rho, const VecX* mu) {
  // For p = 2 the dual's derivative along the line, D'(t), is piecewise linear and decreasing:
  // every muscle contributes -clamp(u_i(t), 0, 1) dz_i with u_i(t) = (z_i + t dz_i) / (2 w_i),
  // whose slope changes only where u_i crosses 0 or 1. Its root is found exactly by walking
  // those kinks in increasing t from D'(0+) (a min-heap: only the kinks before the root are
  // ordered), instead of iterating on D' (each evaluation O(n)).
  double v = dlam_.dot(b) - lambda_.dot(dlam_) / (2.0 * rho);
  double slope = -dlam_.squaredNorm() / (2.0 * rho);
  for (int k = 0; k < nf_; ++k) {
    const double two_mu = 2.0 * (*mu)[k];
    v -= btd_[k] * btl_[k] / two_mu;
    slope -= btd_[k] * btd_[k] / two_mu;
  }
  // A bracket [L, T] of the root (D'(L) > 0 >= D'(T)) from vectorised evaluations of D': T = 1,
  // 2, 4, ... (the semismooth Newton step usually lands near t = 1), then two bisections. Only
  // the kinks inside the bracket can matter, so only those enter the heap (measured in upright
  // sitting: 43 per search, of about 150, with the doubling alone), and the walk starts at L.
  const double v_rest = v, slope_rest = slope;  // D'(0) and D'' without the muscles' terms
  const auto dprime = [&](double t) {
    return v_rest + t * slope_rest - ((z_.array() + t * dz_.array()) * inv2w_.array()).max(0.0).min(1.0).cwiseProduct(dz_.array()).sum();
  };
  if (!(dprime(0.0) > 0.0)) return 0.0;  // no ascent along dlam (at the optimum up to round-off)
  double L = 0.0, T = 1.0;
  for (int k = 0; k < 60 && dprime(T) > 0.0; ++k) {
    L = T;
    T *= 2.0;
  }
  for (int k = 0; k < 2; ++k) {
    const double mid = 0.5 * (L + T);
    (dprime(mid) > 0.0 ? L : T) = mid;
  }
  v = v_rest + L * slope_rest;
  size_t nk = 0;
  for (int i = 0; i < n_; ++i) {
    const double dz = dz_[i], du = dz * inv2w_[i], u = z_[i] * inv2w_[i] + L * du;  // u at L
    v -= std::clamp(u, 0.0, 1.0) * dz;
    if (du == 0.0) continue;
    const double c = du * dz;  // the muscle's share of -D'' while it is between its bounds
    // between the bounds just after L (a muscle exactly on a bound enters if it moves inward)
    if (du > 0.0 ? (u >= 0.0 && u < 1.0) : (u > 0.0 && u <= 1.0)) slope -= c;
    const double inv_du = 1.0 / du;
    const double t_lo = L - u * inv_du, t_hi = L + (1.0 - u) * inv_du;  // where u = 0 and u = 1
    const double t_in = du > 0.0 ? t_lo : t_hi, t_out = du > 0.0 ? t_hi : t_lo;
    if (t_in > L && t_in < T) kinks_[nk++] = {t_in, -c};
    if (t_out > L && t_out < T) kinks_[nk++] = {t_out, c};
  }
  const auto later = [](const std::pair<double, double>& x, const std::pair<double, double>& y) { return x.first > y.first; };
  std::make_heap(kinks_.begin(), kinks_.begin() + static_cast<std::ptrdiff_t>(nk), later);
  double t = L;
  while (nk > 0) {
    const auto [tk, dslope] = kinks_.front();
    const double vk = v + slope * (tk - t);
    if (vk <= 0.0) break;  // the root lies before this kink
    t = tk;
    v = vk;
    slope += dslope;
    std::pop_heap(kinks_.begin(), kinks_.begin() + static_cast<std::ptrdiff_t>(nk), later);
    --nk;
  }
  // slope < 0: the reserves' term alone makes D' strictly decreasing
  return t - v / slope;
}

double StaticOptimizer::kkt_residual(const MatX& A, const VecX& w, double p) const {
  // Stationarity: p w a^{p-1} - (A^T lambda)_i - nu_lo + nu_hi = 0 with nu >= 0 only on active
  // bounds; the violation is the part that no admissible bound multiplier can absorb.
  double worst = 0.0;
  const VecX z = A.transpose() * lambda_;
  for (int i = 0; i < n_; ++i) {
    const double grad = effort_gradient(a_[i], w[i], p) - z[i];
    double v;
    if (a_[i] <= 0.0) v = std::max(0.0, -grad);       // at lower bound: grad >= 0
    else if (a_[i] >= 1.0) v = std::max(0.0, grad);   // at upper bound: grad <= 0
    else v = std::abs(grad);
    worst = std::max(worst, v / (1.0 + std::abs(z[i])));
    worst = std::max(worst, std::max(0.0, -a_[i]) + std::max(0.0, a_[i] - 1.0));
  }
  return worst;
}

}  // namespace lumbosim
