#pragma once
/// @file static_opt.hpp
/// Static optimisation of muscle activations: the muscle redundancy problem
///
///   minimise  sum_i w_i a_i^p  +  rho |s|^2  +  sum_k mu_k y_k^2
///   subject to  A a + s + B y = b,   0 <= a_i <= 1,
///
/// with A (m x n) the generalized force per unit activation of each muscle on each equation,
/// b the demanded generalized forces, s heavily penalised reserve actuators (so an infeasible
/// demand is reported, never hidden) and y optional free variables with quadratic cost (used by
/// the posture solver for coordinate steps). p >= 2; for p > 2 the criterion carries a small
/// quadratic term, w_i (a_i^p + 1e-3 a_i^2), which keeps da/dz finite where a muscle switches on
/// (for a^p alone it is unbounded at a = 0 and the dual Newton stalls); it is under 3 % of the
/// criterion for activations above 0.03 at p = 3.
///
/// Solver: semismooth Newton on the (strictly concave) dual. For multipliers lambda, every
/// primal variable minimises its own term in closed form (p = 2: a_i = clamp((A^T lambda)_i /
/// (2 w_i), 0, 1); p > 2 by a scalar Newton solve; s = lambda / (2 rho), y = B^T lambda /
/// (2 mu)), so each iteration
/// solves one m x m system with the free muscles' curvature, then an exact line search: the
/// dual's maximum along the Newton direction (safeguarded Newton on its directional derivative,
/// evaluated in O(n) from the muscles' closed forms).
/// This is a dual active-set method in the spirit of Goldfarb & Idnani (1983): the active
/// bound set changes with lambda and converges in a few steps; lambda warm-starts the next call.
/// All buffers are sized at construction: solve() does not allocate.
#include "lumbosim/core/spatial.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace lumbosim {

enum class SolveStatus { Converged, MaxIterations, Infeasible, Failed };
const char* status_name(SolveStatus s);

struct StaticOptSettings {
  double exponent = 2.0;        ///< p
  double reserve_weight = 1e3;  ///< rho, per (N m)^2
  int max_iterations = 200;
  double tolerance = 1e-9;      ///< on |A a + s + B y - b|_inf, relative to 1 + |b|_inf
  double reserve_flag = 1e-3;   ///< reserves above this (N m) make the status Infeasible
};

class StaticOptimizer {
 public:
  /// m equations, n muscles, nf free variables.
  StaticOptimizer(int m, int n, int nf = 0);

  /// Solves with weights w (size n, every w > 0) and, if nf > 0, free-variable matrix B (m x nf) and costs mu.
  SolveStatus solve(const MatX& A, const VecX& b, const VecX& w, const StaticOptSettings& s = {},
                    const MatX* B = nullptr, const VecX* mu = nullptr);

  void reset_warm_start() { lambda_.setZero(); }
  /// Warm start from multipliers of the first `lambda.size()` equations (the rest zero), e.g. a
  /// solution of the same problem without some added equations.
  void warm_start(const VecX& lambda) {
    lambda_.setZero();
    lambda_.head(std::min(lambda.size(), lambda_.size())) = lambda.head(std::min(lambda.size(), lambda_.size()));
  }

  const VecX& activations() const { return a_; }
  const VecX& reserves() const { return s_; }
  const VecX& free_variables() const { return y_; }
  const VecX& multipliers() const { return lambda_; }
  int iterations() const { return iterations_; }
  double residual() const { return residual_; }  ///< |A a + s + B y - b|_inf
  /// Largest violation of the KKT conditions of the primal (stationarity with bound multipliers,
  /// complementarity, bounds), recomputed from the solution.
  double kkt_residual(const MatX& A, const VecX& w, double exponent) const;
  double objective() const { return objective_; }

 private:
  void primal(const MatX& A, const VecX& w, double p, double rho, const MatX* B, const VecX* mu);
  /// D'(t) (returned) and D''(t) of the dual along lambda + t dlam.
  double line_derivative(double t, const VecX& b, const VecX& w, double p, double rho, const VecX* mu, double& d2) const;
  /// The maximiser t > 0 of the dual along dlam (0 if dlam is not an ascent direction).
  double line_maximum(const VecX& b, const VecX& w, double p, double rho, const VecX* mu) const;
  /// The same for p = 2, exactly: a walk over the kinks of the piecewise-linear D'(t).
  double line_maximum_p2(const VecX& b, double rho, const VecX* mu);

  int m_, n_, nf_;
  VecX a_, s_, y_, lambda_, z_, dz_, d_, btl_, btd_, g_, dlam_;
  VecX inv2w_;  ///< 1 / (2 w) per muscle (p = 2: a = clamp(z / (2 w), 0, 1))
  std::vector<std::pair<double, double>> kinks_;  ///< p = 2 line search: (t, change of D'') per bound crossing
  MatX H_;
  Eigen::LLT<MatX> llt_;
  int iterations_ = 0;
  double residual_ = 0.0, objective_ = 0.0;
};

}  // namespace lumbosim
