// Hill-type muscle curves (De Groote et al. 2016) and muscle-tendon mechanics.
#include <gtest/gtest.h>

#include <cmath>

#include "lumbosim/algorithm/muscle.hpp"
#include "lumbosim/algorithm/muscle_curves.hpp"
#include "lumbosim/algorithm/passive.hpp"

using namespace lumbosim;

TEST(MuscleCurves, KnownValues) {
  EXPECT_NEAR(curves::active_force_length(1.0), 1.0, 0.01);  // peak at optimal length
  EXPECT_LT(curves::active_force_length(0.5), 0.3);
  EXPECT_LT(curves::active_force_length(1.6), 0.3);
  EXPECT_NEAR(curves::force_velocity(0.0), 1.0, 0.005);
  EXPECT_NEAR(curves::force_velocity(-1.0), 0.0, 0.02);  // (almost) no force at max shortening speed
  EXPECT_GT(curves::force_velocity(1.0), 1.5);            // eccentric enhancement
  EXPECT_NEAR(curves::force_velocity_inverse(curves::force_velocity(0.37)), 0.37, 1e-12);
  // passive fibre force reaches Fmax at strain e0 (plus the toe's 0.12 % offset)
  EXPECT_NEAR(curves::passive_force_length(1.6, 0.6), 1.0, 0.002);
  EXPECT_EQ(curves::passive_force_length(0.9, 0.6), 0.0);
  // tendon: about 4.7 % strain at Fmax, slack at its slack length
  EXPECT_NEAR(curves::tendon_force_length(1.0474), 1.0, 0.01);
  EXPECT_EQ(curves::tendon_force_length(1.0), 0.0);
  EXPECT_NEAR(curves::tendon_force_length(curves::tendon_force_length_inverse(0.7)), 0.7, 1e-12);
}

TEST(MuscleCurves, DerivativesMatchFiniteDifferences) {
  const double h = 1e-6;
  for (double x : {0.55, 0.8, 0.99, 1.0005, 1.1, 1.35, 1.7}) {
    double d = 0;
    curves::active_force_length(x, &d);
    EXPECT_NEAR(d, (curves::active_force_length(x + h) - curves::active_force_length(x - h)) / (2 * h), 1e-6);
    curves::passive_force_length(x, 0.6, &d);
    EXPECT_NEAR(d, (curves::passive_force_length(x + h, 0.6) - curves::passive_force_length(x - h, 0.6)) / (2 * h), 1e-6);
  }
  for (double v : {-0.9, -0.3, 0.0, 0.4, 0.95}) {
    double d = 0;
    curves::force_velocity(v, &d);
    EXPECT_NEAR(d, (curves::force_velocity(v + h) - curves::force_velocity(v - h)) / (2 * h), 1e-6);
  }
  for (double t : {1.01, 1.03, 1.05}) {
    double d = 0;
    curves::tendon_force_length(t, &d);
    EXPECT_NEAR(d, (curves::tendon_force_length(t + h) - curves::tendon_force_length(t - h)) / (2 * h), 1e-4);
  }
  // passive curve is C1 at its joins
  double dl = 0, dr = 0;
  curves::passive_force_length(1.0 - 1e-12, 0.6, &dl);
  curves::passive_force_length(1.0 + 1e-12, 0.6, &dr);
  EXPECT_NEAR(dl, dr, 1e-9);
}

namespace {
MuscleParams semimem() {
  MuscleParams p;
  p.max_isometric_force = 2201.0;
  p.optimal_fiber_length = 0.069;
  p.tendon_slack_length = 0.3476;
  p.pennation = 0.2546;
  p.max_contraction_velocity = 0.69;
  p.compliant_tendon = true;
  return p;
}
}  // namespace

TEST(Muscle, RigidTendonForceIsLinearInActivation) {
  MuscleParams p = semimem();
  p.compliant_tendon = false;
  const FiberState s = rigid_tendon_state(p, 0.42, 0.0);
  const double f0 = muscle_force(p, s, 0.0), f1 = muscle_force(p, s, 1.0), fh = muscle_force(p, s, 0.5);
  EXPECT_NEAR(fh, 0.5 * (f0 + f1), 1e-9);
  // constant thickness: l_M sin(alpha) = l_opt sin(alpha_0)
  const double sina = std::sqrt(1 - s.cos_pennation * s.cos_pennation);
  EXPECT_NEAR(s.fiber_length * sina, p.optimal_fiber_length * std::sin(p.pennation), 1e-12);
  // shortening reduces force (force-velocity)
  EXPECT_LT(muscle_force(p, rigid_tendon_state(p, 0.42, -0.2), 1.0), f1);
}

TEST(Muscle, CompliantTendonEquilibriumBalancesFibreAndTendon) {
  const MuscleParams p = semimem();
  for (double a : {0.0, 0.3, 1.0})
    for (double lmt : {0.40, 0.42, 0.45}) {
      const FiberState s = compliant_tendon_equilibrium(p, lmt, a);
      const double fiber = (a * s.f_active_length + s.f_passive) * s.cos_pennation;
      const double tendon = curves::tendon_force_length(s.tendon_length / p.tendon_slack_length);
      EXPECT_NEAR(fiber, tendon, 1e-8) << "a " << a << " lmt " << lmt;
      EXPECT_NEAR(s.tendon_length + s.fiber_length * s.cos_pennation, lmt, 1e-12);
      // at equilibrium the fibre velocity that balances forces is zero
      if (a > 0) {
        EXPECT_NEAR(compliant_fiber_velocity(p, lmt, s.fiber_length, a), 0.0, 1e-3);
      }
    }
  // more activation -> more tension at the same MTU length
  EXPECT_GT(passive_mtu_force(p, 0.45), 0.0);
}

TEST(Muscle, WarmStartedTendonEquilibriumIsTheSameSolution) {
  // a starting guess (the last solution, or anything inside the bracket) changes the iterations,
  // not the solution: from slack to strongly stretched, active and passive, guesses on both sides
  const MuscleParams p = semimem();
  for (double a : {0.0, 0.5})
    for (double lmt : {0.30, 0.36, 0.40, 0.42, 0.45, 0.50}) {
      const FiberState cold = compliant_tendon_equilibrium(p, lmt, a);
      for (double g : {1e-4, 0.02, 0.05, 0.08, 0.12}) {
        const FiberState warm = compliant_tendon_equilibrium(p, lmt, a, g);
        EXPECT_NEAR(warm.fiber_length, cold.fiber_length, 1e-12) << "a " << a << " lmt " << lmt << " guess " << g;
        EXPECT_NEAR(warm.tendon_length, cold.tendon_length, 1e-12) << "a " << a << " lmt " << lmt << " guess " << g;
      }
    }
  double guess = -1.0, dF = 0.0;
  for (double lmt : {0.40, 0.41, 0.43}) {
    const double F = passive_mtu_force(p, lmt, &dF, &guess);
    EXPECT_NEAR(F, passive_mtu_force(p, lmt), 1e-9 * (1.0 + F)) << lmt;
    EXPECT_GT(guess, 0.0) << "the solution becomes the next guess";
  }
}

TEST(Muscle, SlackCompliantUnitSkipsItsFibreSolveWithTheSameForce) {
  // passive_mtu_force with a slope skips the fibre solve of a unit that is slack at both ends
  // (tendon below its zero-force length, fibre below the passive toe). Across the threshold, in
  // 0.1 mm steps, it must give the force of the full solve and the slope of its central
  // difference; slack and taut lengths both occur.
  const MuscleParams p = semimem();
  const double slack = p.tendon_slack_length * curves::tendon_force_length_inverse(0.0) +
                       std::sqrt(std::pow(curves::kPassiveToe * p.optimal_fiber_length, 2) -
                                 std::pow(p.optimal_fiber_length * std::sin(p.pennation), 2));
  int zero = 0, taut = 0;
  double guess = -1.0;
  for (double lmt = slack - 0.01; lmt <= slack + 0.01; lmt += 1e-4) {
    double dF = -1.0;
    const double F = passive_mtu_force(p, lmt, &dF, &guess);
    const double ref = passive_mtu_force(p, lmt);
    EXPECT_NEAR(F, ref, 1e-9 * (1.0 + ref)) << lmt;
    const double h = 1e-7;
    const double fd = (passive_mtu_force(p, lmt + h) - passive_mtu_force(p, lmt - h)) / (2.0 * h);
    if (std::abs(lmt - slack) > 1e-6) {  // a difference across the threshold itself straddles it
      EXPECT_NEAR(dF, fd, 1e-4 * (1.0 + std::abs(fd))) << lmt;
    }
    (F == 0.0 ? zero : taut) += 1;
  }
  EXPECT_GT(zero, 10);
  EXPECT_GT(taut, 10);
}

TEST(Muscle, DampedFibreDynamicsSettleOnTheStaticEquilibriumAtAnyActivation) {
  // The fibre-length state of a compliant tendon, integrated with the damped-equilibrium
  // velocity from 15 % off, settles on compliant_tendon_equilibrium, also at a = 0 where the
  // undamped model is singular; the tendon force it reports is then the static one.
  const MuscleParams p = semimem();
  double lmt = 0.40;  // a taut unit (a slack one has a continuum of equilibria at a = 0)
  while (passive_mtu_force(p, lmt) < 0.05 * p.max_isometric_force) lmt += 0.002;
  for (double a : {0.0, 0.2, 1.0}) {
    const FiberState eq = compliant_tendon_equilibrium(p, lmt, a);
    for (double start : {0.85, 1.15}) {
      double lm = eq.fiber_length * start, Ft = 0.0;
      for (int i = 0; i < 100000; ++i) lm += 1e-4 * compliant_fiber_velocity(p, lmt, lm, a, 0.1, &Ft);  // 10 s
      // (De Groote's f_V(0) = 1.0023, not 1: the dynamic rest point is a few micrometres off)
      EXPECT_NEAR(lm, eq.fiber_length, 2e-5) << "a " << a << " start " << start;
      EXPECT_NEAR(Ft, p.max_isometric_force * curves::tendon_force_length(eq.tendon_length / p.tendon_slack_length),
                  5e-3 * p.max_isometric_force);  // f_V(0) = 1.0023 in De Groote's curve
      EXPECT_TRUE(std::isfinite(lm));
    }
  }
}

TEST(Muscle, ActivationDynamicsApproachesExcitation) {
  const MuscleParams p = semimem();
  double a = 0.01;
  for (int i = 0; i < 2000; ++i) a += 1e-4 * activation_derivative(p, 1.0, a);  // 0.2 s
  EXPECT_GT(a, 0.95);
  double b = 1.0;
  for (int i = 0; i < 2000; ++i) b += 1e-4 * activation_derivative(p, 0.0, b);
  EXPECT_LT(b, 0.1);
  EXPECT_GT(b, a - 1.0);  // deactivation slower than activation
  EXPECT_GT(activation_derivative(p, 0.6, 0.2), 0.0);
  EXPECT_LT(activation_derivative(p, 0.2, 0.6), 0.0);
}

TEST(PassiveTissue, SpinalMomentIsC1AndStifferInExtension) {
  const double k0 = 14.3, bf = 18.9, be = 38.4;
  double d0m = 0, d0p = 0;
  spinal_passive_moment(k0, bf, be, -1e-12, &d0m);
  spinal_passive_moment(k0, bf, be, 1e-12, &d0p);
  EXPECT_NEAR(d0m, d0p, 1e-9);
  EXPECT_NEAR(d0p, -k0, 1e-9);
  for (double th : {0.02, 0.08, 0.15}) {
    const double flex = spinal_passive_moment(k0, bf, be, th);
    const double ext = spinal_passive_moment(k0, bf, be, -th);
    EXPECT_LT(flex, 0.0);
    EXPECT_GT(ext, 0.0);
    EXPECT_GT(ext, -flex);  // stiffer in extension
  }
}

TEST(PassiveTissue, LigamentToeThenLinear) {
  const double k = 30.0, et = 0.09, l0 = 0.02;
  EXPECT_EQ(ligament_tension(k, et, l0, 0.019), 0.0);  // slack
  // continuous at the transition strain, linear with slope k/l0 beyond
  const double lt = l0 * (1 + et);
  EXPECT_NEAR(ligament_tension(k, et, l0, lt - 1e-12), ligament_tension(k, et, l0, lt + 1e-12), 1e-7);
  const double a = ligament_tension(k, et, l0, l0 * 1.2), b = ligament_tension(k, et, l0, l0 * 1.3);
  EXPECT_NEAR(b - a, k * 0.1, 1e-9);
}
