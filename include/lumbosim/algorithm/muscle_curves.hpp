#pragma once
/// @file muscle_curves.hpp
/// Smooth, differentiable Hill-type muscle curves of De Groote, Kinney, Rao & Fregly (2016),
/// "Evaluation of direct collocation optimal control problem formulations for solving the
/// muscle redundancy problem", Ann Biomed Eng 44(10):2922-2936, Supplementary eqs. S1-S4.
/// Lengths are normalized by the optimal fibre length (fibre) or tendon slack length (tendon);
/// velocities by the maximum contraction velocity (lengthening positive). Each function
/// returns the value and, through an optional pointer, its derivative.
#include <cmath>

namespace lumbosim::curves {

/// Active force-length f_L(l~): sum of three Gaussian-like terms. Domain l~ > 0, range (0, 1],
/// peak 1.0 near l~ = 1. (De Groote 2016 eq. S2; coefficients b1..b4.)
inline double active_force_length(double l, double* dfdl = nullptr) {
  constexpr double b1[3] = {0.815, 0.433, 0.100};
  constexpr double b2[3] = {1.055, 0.717, 1.000};
  constexpr double b3[3] = {0.162, -0.030, 0.354};
  constexpr double b4[3] = {0.063, 0.200, 0.000};
  double f = 0.0, df = 0.0;
  for (int i = 0; i < 3; ++i) {
    const double w = b3[i] + b4[i] * l;
    const double d = l - b2[i];
    const double e = b1[i] * std::exp(-0.5 * d * d / (w * w));
    f += e;
    // d/dl of -0.5 d^2 / w^2 = -d/w^2 + d^2 b4 / w^3
    df += e * (-d / (w * w) + d * d * b4[i] / (w * w * w));
  }
  if (dfdl) *dfdl = df;
  return f;
}

/// Normalized fibre length below which passive_force_length is exactly zero (its quadratic toe
/// starts at 1 - 0.02; a hair below, so that round-off cannot put a length under it that the
/// curve's own test puts above).
constexpr double kPassiveToe = 0.98 * (1.0 - 1e-12);

/// Passive fibre force-length (De Groote 2016 eq. S3):
///   f_PE = (exp(kPE (l~ - 1) / e0) - 1) / (exp(kPE) - 1),  kPE = 4,
/// e0 the passive strain at which f_PE reaches 1 (default 0.6). Below l~ = 1 the published curve
/// turns slightly negative; here it is made non-negative and C1 by a quadratic toe of width
/// 0.02 (value 0 and slope 0 at l~ = 0.98, matching the exponential's slope at l~ = 1), which
/// shifts the exponential branch up by s0 * 0.01 (0.12 % of Fmax for e0 = 0.6).
inline double passive_force_length(double l, double e0, double* dfdl = nullptr) {
  constexpr double kPE = 4.0;
  constexpr double x0 = 0.02;
  const double den = std::exp(kPE) - 1.0;
  const double s0 = kPE / (e0 * den);  // slope of the exponential branch at l~ = 1
  const double x = l - 1.0;
  if (x >= 0.0) {
    const double e = std::exp(kPE * x / e0);
    if (dfdl) *dfdl = kPE / e0 * e / den;
    return (e - 1.0) / den + 0.5 * s0 * x0;
  }
  if (x <= -x0) {
    if (dfdl) *dfdl = 0.0;
    return 0.0;
  }
  const double a = s0 / (2.0 * x0);
  if (dfdl) *dfdl = 2.0 * a * (x + x0);
  return a * (x + x0) * (x + x0);
}

/// Force-velocity f_V(v~) = d1 log(d2 v~ + d3 + sqrt((d2 v~ + d3)^2 + 1)) + d4, v~ in [-1, 1]
/// (shortening negative); f_V(0) = 1, f_V(-1) = 0, about 1.8 at v~ = 1. (De Groote 2016 eq. S4.)
inline double force_velocity(double v, double* dfdv = nullptr) {
  constexpr double d1 = -0.318, d2 = -8.149, d3 = -0.374, d4 = 0.886;
  const double z = d2 * v + d3;
  const double r = std::sqrt(z * z + 1.0);
  if (dfdv) *dfdv = d1 * d2 / r;
  return d1 * std::log(z + r) + d4;
}

/// Inverse of force_velocity: the normalized velocity at which f_V = f.
inline double force_velocity_inverse(double f) {
  constexpr double d1 = -0.318, d2 = -8.149, d3 = -0.374, d4 = 0.886;
  return (std::sinh((f - d4) / d1) - d3) / d2;
}

/// Tendon force-strain f_T(l~T) = c1 exp(kT (l~T - c2)) - c3, c1 = 0.2, c2 = 0.995, c3 = 0.25,
/// kT = 35 (about 4.7 % strain at f_T = 1). Zero near l~T = 1; clamped to a C1 zero tail below.
inline double tendon_force_length(double lt, double* dfdl = nullptr) {
  constexpr double c1 = 0.2, c2 = 0.995, c3 = 0.25, kT = 35.0;
  const double l0 = c2 + std::log(c3 / c1) / kT;  // where the curve crosses zero
  if (lt <= l0) {
    if (dfdl) *dfdl = 0.0;
    return 0.0;
  }
  const double e = c1 * std::exp(kT * (lt - c2));
  if (dfdl) *dfdl = kT * e;
  return e - c3;
}

/// Normalized tendon length at which the tendon carries normalized force f >= 0.
inline double tendon_force_length_inverse(double f) {
  constexpr double c1 = 0.2, c2 = 0.995, c3 = 0.25, kT = 35.0;
  return c2 + std::log((f + c3) / c1) / kT;
}

}  // namespace lumbosim::curves
