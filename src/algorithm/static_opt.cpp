#include "lumbosim/algorithm/static_opt.hpp"

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>

namespace lumbosim {

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
      z_(VecX::Zero(n)), d_(VecX::Zero(n)), g_(VecX::Zero(m)), dlam_(VecX::Zero(m)), lam_try_(VecX::Zero(m)),
      H_(MatX::Zero(m, m)), llt_(m) {}

void StaticOptimizer::primal(const MatX& A, const VecX& w, double p, double rho, const MatX* B, const VecX* mu) {
  z_.noalias() = A.transpose() * lambda_;
  const double q = 1.0 / (p - 1.0);
  for (int i = 0; i < n_; ++i) {
    const double c = p * w[i];
    if (z_[i] <= 0.0) {
      a_[i] = 0.0;
      d_[i] = 0.0;
      continue;
    }
    const double r = z_[i] / c;
    const double ai = p == 2.0 ? r : std::pow(r, q);
    if (ai >= 1.0) {
      a_[i] = 1.0;
      d_[i] = 0.0;
    } else {
      a_[i] = ai;
      d_[i] = p == 2.0 ? 1.0 / c : q * ai / z_[i];  // da/dz
    }
  }
  s_ = lambda_ / (2.0 * rho);
  if (nf_ > 0) {
    y_.noalias() = B->transpose() * lambda_;
    y_.array() /= 2.0 * mu->array();
  }
}

double StaticOptimizer::dual_value(const VecX& b, const VecX& w, double p, double rho, const VecX* mu) const {
  // L = sum w a^p + rho |s|^2 + sum mu y^2 - lambda^T (A a + s + B y - b), with g = b - (...)
  double J = 0.0;
  for (int i = 0; i < n_; ++i) J += w[i] * (p == 2.0 ? a_[i] * a_[i] : std::pow(a_[i], p));
  J += rho * s_.squaredNorm();
  if (nf_ > 0) J += (mu->array() * y_.array().square()).sum();
  (void)b;
  return J + lambda_.dot(g_);
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
  if (lambda_.isZero(0.0)) {
    // Cold start at the kink lambda = 0 (every muscle exactly at its lower bound): start from
    // the multipliers of the problem without bounds instead, all muscles active.
    H_.setZero();
    for (int i = 0; i < n_; ++i) H_.selfadjointView<Eigen::Lower>().rankUpdate(A.col(i), 1.0 / (p * w[i]));
    H_.diagonal().array() += 1.0 / (2.0 * rho);
    for (int k = 0; k < nf_; ++k) H_.selfadjointView<Eigen::Lower>().rankUpdate(B->col(k), 1.0 / (2.0 * (*mu)[k]));
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
  double dual = dual_value(b, w, p, rho, mu);
  iterations_ = 0;
  SolveStatus status = SolveStatus::MaxIterations;
  for (; iterations_ < st.max_iterations; ++iterations_) {
    if (g_.cwiseAbs().maxCoeff() <= tol) {
      status = SolveStatus::Converged;
      break;
    }
    // Generalized Hessian of the negative dual: A D A^T + I/(2 rho) + B diag(1/(2 mu)) B^T.
    H_.setZero();
    for (int i = 0; i < n_; ++i)
      if (d_[i] > 0.0) H_.selfadjointView<Eigen::Lower>().rankUpdate(A.col(i), d_[i]);
    H_.diagonal().array() += 1.0 / (2.0 * rho);
    for (int k = 0; k < nf_; ++k) H_.selfadjointView<Eigen::Lower>().rankUpdate(B->col(k), 1.0 / (2.0 * (*mu)[k]));
    llt_.compute(H_);
    if (llt_.info() != Eigen::Success) return SolveStatus::Failed;
    dlam_ = llt_.solve(g_);
    const double slope = g_.dot(dlam_);
    // Armijo backtracking on the concave dual.
    lam_try_ = lambda_;
    double t = 1.0;
    bool accepted = false;
    for (int ls = 0; ls < 40; ++ls) {
      lambda_ = lam_try_ + t * dlam_;
      residual();
      const double d_new = dual_value(b, w, p, rho, mu);
      if (d_new >= dual + 1e-4 * t * slope - 1e-14 * std::abs(dual)) {
        dual = d_new;
        accepted = true;
        break;
      }
      t *= 0.5;
    }
    if (!accepted) {
      lambda_ = lam_try_;
      residual();
      status = g_.cwiseAbs().maxCoeff() <= 1e3 * tol ? SolveStatus::Converged : SolveStatus::Failed;
      break;
    }
  }
  residual_ = g_.cwiseAbs().maxCoeff();
  objective_ = 0.0;
  for (int i = 0; i < n_; ++i) objective_ += w[i] * std::pow(a_[i], p);
  if (status == SolveStatus::Converged && m_ > 0 && s_.cwiseAbs().maxCoeff() > st.reserve_flag) status = SolveStatus::Infeasible;
  return status;
}

double StaticOptimizer::kkt_residual(const MatX& A, const VecX& w, double p) const {
  // Stationarity: p w a^{p-1} - (A^T lambda)_i - nu_lo + nu_hi = 0 with nu >= 0 only on active
  // bounds; the violation is the part that no admissible bound multiplier can absorb.
  double worst = 0.0;
  const VecX z = A.transpose() * lambda_;
  for (int i = 0; i < n_; ++i) {
    const double grad = p * w[i] * std::pow(a_[i], p - 1.0) - z[i];
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
