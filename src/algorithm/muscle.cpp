#include "lumbosim/algorithm/muscle.hpp"

#include <algorithm>
#include <cmath>

#include "lumbosim/algorithm/muscle_curves.hpp"

namespace lumbosim {
namespace {

/// Fibre state from the fibre's projected length x = l_M cos(alpha) (>= 0).
FiberState from_projected(const MuscleParams& p, double x) {
  FiberState s;
  const double h = p.optimal_fiber_length * std::sin(p.pennation);
  s.fiber_length = std::sqrt(x * x + h * h);
  s.cos_pennation = s.fiber_length > 0 ? x / s.fiber_length : 1.0;
  s.norm_fiber_length = s.fiber_length / p.optimal_fiber_length;
  s.f_active_length = curves::active_force_length(s.norm_fiber_length);
  s.f_passive = curves::passive_force_length(s.norm_fiber_length, p.passive_strain);
  return s;
}

/// Rigid-tendon fibre geometry at MTU length l_mt: projected length x (clamped at 1e-6 l_opt),
/// fibre length l, cos(alpha) c, as from_projected; `clamped` when x sits on its lower limit.
struct RigidGeometry {
  double x, l, c;
  bool clamped;
};
RigidGeometry rigid_geometry(const MuscleParams& p, double l_mt) {
  const double h = p.optimal_fiber_length * std::sin(p.pennation), floor = 1e-6 * p.optimal_fiber_length;
  RigidGeometry g;
  g.clamped = l_mt - p.tendon_slack_length <= floor;
  g.x = std::max(l_mt - p.tendon_slack_length, floor);
  g.l = std::sqrt(g.x * g.x + h * h);
  g.c = g.l > 0 ? g.x / g.l : 1.0;
  return g;
}

}  // namespace

FiberState rigid_tendon_state(const MuscleParams& p, double l_mt, double v_mt) {
  const double x = std::max(l_mt - p.tendon_slack_length, 1e-6 * p.optimal_fiber_length);
  FiberState s = from_projected(p, x);
  s.tendon_length = p.tendon_slack_length;
  // Rigid tendon: the fibre's projected length changes at the MTU speed; fibre speed is its
  // projection onto the fibre direction (constant thickness): v_M = v_mt cos(alpha).
  s.norm_fiber_velocity = std::clamp(v_mt * s.cos_pennation / p.max_contraction_velocity, -1.0, 1.0);
  s.f_velocity = curves::force_velocity(s.norm_fiber_velocity);
  return s;
}

double muscle_active_force_per_activation(const MuscleParams& p, const FiberState& s) {
  return p.max_isometric_force * s.f_active_length * s.f_velocity * s.cos_pennation;
}

double muscle_passive_force(const MuscleParams& p, const FiberState& s) {
  return p.max_isometric_force * s.f_passive * s.cos_pennation;
}

double muscle_force(const MuscleParams& p, const FiberState& s, double a) {
  return a * muscle_active_force_per_activation(p, s) + muscle_passive_force(p, s);
}

FiberState compliant_tendon_equilibrium(const MuscleParams& p, double l_mt, double a, double x_guess) {
  const double lts = p.tendon_slack_length, lo_opt = p.optimal_fiber_length;
  const double h = lo_opt * std::sin(p.pennation);
  // residual(x) = fibre force along the tendon - tendon force (normalized by Fmax), x the
  // fibre's projected length. The tendon force falls strictly as x grows; bracket [lo, hi] and
  // use Newton steps with bisection safeguarding (typically 3-6 iterations).
  auto residual = [&](double x, double* dr) {
    const double l = std::sqrt(x * x + h * h);
    const double c = x / l;
    double dfl = 0, dfp = 0, dft = 0;
    const double fl = curves::active_force_length(l / lo_opt, &dfl);
    const double fp = curves::passive_force_length(l / lo_opt, p.passive_strain, &dfp);
    const double ft = curves::tendon_force_length((l_mt - x) / lts, &dft);
    const double fm = a * fl + fp;
    if (dr) *dr = (a * dfl + dfp) * c * c / lo_opt + fm * h * h / (l * l * l) + dft / lts;
    return fm * c - ft;
  };
  double lo = 1e-6 * lo_opt;
  double hi = std::max(l_mt - lts * curves::tendon_force_length_inverse(0.0), lo * 2.0);
  double x = hi;
  // interior root: r(lo) < 0 < r(hi); otherwise the bound (tendon slack at hi, fibre at lo)
  bool interior = false;
  if (x_guess > lo && x_guess < hi) {  // warm start: one bound checked, Newton from the guess
    if (residual(x_guess, nullptr) > 0.0) {
      if (residual(lo, nullptr) >= 0.0) {
        x = lo;
      } else {
        hi = x_guess;
        interior = true;
      }
    } else if (residual(hi, nullptr) > 0.0) {
      lo = x_guess;
      interior = true;
    }
    x = interior ? x_guess : x;
  } else if (residual(hi, nullptr) > 0.0) {
    if (residual(lo, nullptr) >= 0.0) {
      x = lo;
    } else {
      x = 0.5 * (lo + hi);
      interior = true;
    }
  }
  if (interior) {
    {
      for (int it = 0; it < 100; ++it) {
        double dr = 0.0;
        const double r = residual(x, &dr);
        if (std::abs(r) < 1e-13) break;
        if (r > 0) hi = x;
        else lo = x;
        double xn = dr > 0.0 ? x - r / dr : 0.5 * (lo + hi);
        if (!(xn > lo && xn < hi)) xn = 0.5 * (lo + hi);
        if (std::abs(xn - x) < 1e-15 || hi - lo < 1e-15) {
          x = xn;
          break;
        }
        x = xn;
      }
    }
  }
  FiberState s = from_projected(p, x);
  s.tendon_length = l_mt - x;
  s.f_velocity = 1.0;
  return s;
}

double compliant_fiber_velocity(const MuscleParams& p, double l_mt, double l_m, double a, double beta,
                                double* tendon_force) {
  const double h = p.optimal_fiber_length * std::sin(p.pennation);
  const double lm = std::max(l_m, h * 1.0001 + 1e-9);
  const double x = std::sqrt(lm * lm - h * h);
  const double cosa = x / lm;
  const double ln = lm / p.optimal_fiber_length;
  const double fl = curves::active_force_length(ln);
  const double fpe = curves::passive_force_length(ln, p.passive_strain);
  const double ft = curves::tendon_force_length((l_mt - x) / p.tendon_slack_length);
  if (tendon_force) *tendon_force = p.max_isometric_force * ft;
  const double target = ft / cosa - fpe;
  auto g = [&](double v) { return a * fl * curves::force_velocity(v) + beta * v - target; };  // increasing in v
  double lo = -1.0, hi = 1.0;
  if (g(lo) >= 0.0) return lo * p.max_contraction_velocity;
  if (g(hi) <= 0.0) return hi * p.max_contraction_velocity;
  for (int it = 0; it < 60 && hi - lo > 1e-12; ++it) {
    const double mid = 0.5 * (lo + hi);
    (g(mid) > 0.0 ? hi : lo) = mid;
  }
  return 0.5 * (lo + hi) * p.max_contraction_velocity;
}

double passive_mtu_force(const MuscleParams& p, double l_mt) {
  if (p.compliant_tendon) {
    const FiberState s = compliant_tendon_equilibrium(p, l_mt, 0.0);
    return p.max_isometric_force * curves::tendon_force_length(s.tendon_length / p.tendon_slack_length);
  }
  return muscle_passive_force(p, rigid_tendon_state(p, l_mt));
}

double passive_mtu_force(const MuscleParams& p, double l_mt, double* dFdl) {
  return passive_mtu_force(p, l_mt, dFdl, nullptr);
}

double passive_mtu_force(const MuscleParams& p, double l_mt, double* dFdl, double* x_guess) {
  const double lo = p.optimal_fiber_length, lts = p.tendon_slack_length;
  const double h = lo * std::sin(p.pennation);
  if (p.compliant_tendon) {
    // A slack unit: with the tendon at the length where its force reaches zero, the fibre is
    // still below the passive curve's toe (force exactly zero there too), which is the
    // equilibrium the solve below returns (x on its upper bound); both curves' slopes are zero.
    // Most compliant units are slack in most postures: this skips their fibre solve and its
    // curve evaluations (the active curve's three exponentials included) on the posture
    // solver's hot path (docs/performance.md item 27).
    const double x_slack = l_mt - lts * curves::tendon_force_length_inverse(0.0);
    if (x_slack > 2e-6 * lo && x_slack * x_slack + h * h <= curves::kPassiveToe * curves::kPassiveToe * lo * lo) {
      if (x_guess) *x_guess = x_slack;
      if (dFdl) *dFdl = 0.0;
      return 0.0;
    }
    const FiberState s = compliant_tendon_equilibrium(p, l_mt, 0.0, x_guess ? *x_guess : -1.0);
    if (x_guess) *x_guess = s.fiber_length * s.cos_pennation;
    double dft = 0.0;
    const double ft = curves::tendon_force_length(s.tendon_length / lts, &dft);
    if (dFdl) {
      // residual(x, l_mt) = f_P(l(x)) cos(alpha(x)) - f_T((l_mt - x) / lts) = 0 at the
      // equilibrium: dx/dl_mt = (f_T' / lts) / (d residual / dx).
      const double x = s.fiber_length * s.cos_pennation, l = s.fiber_length, c = s.cos_pennation;
      double dfp = 0.0;
      const double fp = curves::passive_force_length(l / lo, p.passive_strain, &dfp);
      const double drdx = dfp * c * c / lo + fp * h * h / (l * l * l) + dft / lts;
      const double lower = 1e-6 * lo;
      const double dxdl = x <= lower * (1.0 + 1e-9) || drdx <= 0.0 ? 0.0 : (dft / lts) / drdx;
      *dFdl = p.max_isometric_force * dft / lts * (1.0 - dxdl);
    }
    return p.max_isometric_force * ft;
  }
  // rigid tendon: each curve evaluated once, with its slope (the posture solver's hot path)
  const RigidGeometry g = rigid_geometry(p, l_mt);
  double dfp = 0.0;
  const double fp = curves::passive_force_length(g.l / lo, p.passive_strain, &dfp);
  if (dFdl) *dFdl = g.clamped ? 0.0 : p.max_isometric_force * (dfp * g.c * g.c / lo + fp * h * h / (g.l * g.l * g.l));
  return p.max_isometric_force * fp * g.c;
}

double rigid_active_force(const MuscleParams& p, double l_mt, double* dFdl) {
  // as muscle_active_force_per_activation(p, rigid_tendon_state(p, l_mt)), each curve once
  const double lo = p.optimal_fiber_length, h = lo * std::sin(p.pennation);
  const RigidGeometry g = rigid_geometry(p, l_mt);
  double dfl = 0.0;
  const double fl = curves::active_force_length(g.l / lo, &dfl);
  const double fv = curves::force_velocity(0.0);
  if (dFdl) *dFdl = g.clamped ? 0.0 : p.max_isometric_force * fv * (dfl * g.c * g.c / lo + fl * h * h / (g.l * g.l * g.l));
  return p.max_isometric_force * fl * fv * g.c;
}

double activation_derivative(const MuscleParams& p, double u, double a) {
  const double f = 0.5 * std::tanh(10.0 * (u - a)) + 0.5;
  const double c = 0.5 + 1.5 * a;
  return (f / (p.activation_time * c) + c * (1.0 - f) / p.deactivation_time) * (u - a);
}

}  // namespace lumbosim
