// Static optimisation: closed-form answers, bound handling, KKT conditions, reserves.
#include <gtest/gtest.h>

#include "lumbosim/algorithm/static_opt.hpp"

#include <fstream>
#include <string>

using namespace lumbosim;

TEST(StaticOpt, EqualityOnlyMatchesClosedForm) {
  // min a1^2 + a2^2 s.t. a1 + 2 a2 = 1  ->  a = (1, 2) / 5
  MatX A(1, 2);
  A << 1.0, 2.0;
  VecX b(1), w = VecX::Ones(2);
  b << 1.0;
  StaticOptimizer qp(1, 2);
  StaticOptSettings st;
  st.reserve_weight = 1e12;
  ASSERT_EQ(qp.solve(A, b, w, st), SolveStatus::Converged);
  EXPECT_NEAR(qp.activations()[0], 0.2, 1e-9);
  EXPECT_NEAR(qp.activations()[1], 0.4, 1e-9);
  EXPECT_LT(qp.kkt_residual(A, w, 2.0), 1e-9);
}

TEST(StaticOpt, UpperBoundBecomesActive) {
  // min a1^2 + 100 a2^2 s.t. a1 + a2 = 1.8: the cheap muscle saturates at 1, the other takes 0.8
  MatX A(1, 2);
  A << 1.0, 1.0;
  VecX b(1), w(2);
  b << 1.8;
  w << 1.0, 100.0;
  StaticOptimizer qp(1, 2);
  StaticOptSettings st;
  st.reserve_weight = 1e12;
  ASSERT_EQ(qp.solve(A, b, w, st), SolveStatus::Converged);
  EXPECT_NEAR(qp.activations()[0], 1.0, 1e-12);
  EXPECT_NEAR(qp.activations()[1], 0.8, 1e-8);
  EXPECT_LT(qp.kkt_residual(A, w, 2.0), 1e-8);
}

TEST(StaticOpt, RandomProblemsSatisfyKktWithExponents2And3) {
  std::srand(7);
  for (double p : {2.0, 3.0})
    for (int trial = 0; trial < 20; ++trial) {
      const int m = 6, n = 40;
      const MatX A = MatX::Random(m, n) * 50.0;  // N m per unit activation
      const VecX a_true = (VecX::Random(n).array() * 0.5 + 0.5).matrix() * 0.3;
      const VecX b = A * a_true;  // feasible by construction
      const VecX w = VecX::Ones(n) + VecX::Random(n).cwiseAbs();
      StaticOptimizer qp(m, n);
      StaticOptSettings st;
      st.exponent = p;
      ASSERT_EQ(qp.solve(A, b, w, st), SolveStatus::Converged) << "p " << p << " trial " << trial;
      EXPECT_LT((A * qp.activations() + qp.reserves() - b).cwiseAbs().maxCoeff(), 1e-6);
      EXPECT_LT(qp.reserves().cwiseAbs().maxCoeff(), 1e-3);
      EXPECT_LT(qp.kkt_residual(A, w, p), 1e-6);
      EXPECT_GE(qp.activations().minCoeff(), 0.0);
      EXPECT_LE(qp.activations().maxCoeff(), 1.0);
      // optimality: no worse than the activations that generated b
      double J = 0, Jt = 0;
      for (int i = 0; i < n; ++i) {
        J += w[i] * std::pow(qp.activations()[i], p);
        Jt += w[i] * std::pow(a_true[i], p);
      }
      EXPECT_LE(J, Jt + 1e-9);
      // warm start: the same problem again converges at once
      qp.solve(A, b, w, st);
      EXPECT_LE(qp.iterations(), 1);
    }
}

TEST(StaticOpt, InfeasibleDemandIsCarriedByFlaggedReserves) {
  // one muscle that can make 1 N m, a demand of 5 N m: the muscle saturates, reserves carry 4
  MatX A(1, 1);
  A << 1.0;
  VecX b(1), w = VecX::Ones(1);
  b << 5.0;
  StaticOptimizer qp(1, 1);
  const SolveStatus s = qp.solve(A, b, w);
  EXPECT_EQ(s, SolveStatus::Infeasible);
  EXPECT_NEAR(qp.activations()[0], 1.0, 1e-12);
  EXPECT_NEAR(qp.reserves()[0], 4.0, 1e-6);
  EXPECT_TRUE(qp.activations().allFinite());
}

TEST(StaticOpt, FreeVariablesCarryTheirShare) {
  // a + y = 1 with costs a^2 and 3 y^2: a = 3/4, y = 1/4
  MatX A(1, 1), B(1, 1);
  A << 1.0;
  B << 1.0;
  VecX b(1), w = VecX::Ones(1), mu(1);
  b << 1.0;
  mu << 3.0;
  StaticOptimizer qp(1, 1, 1);
  StaticOptSettings st;
  st.reserve_weight = 1e12;
  ASSERT_EQ(qp.solve(A, b, w, st, &B, &mu), SolveStatus::Converged);
  EXPECT_NEAR(qp.activations()[0], 0.75, 1e-9);
  EXPECT_NEAR(qp.free_variables()[0], 0.25, 1e-9);
}

TEST(StaticOpt, WarmStartFromASubproblemReachesTheColdSolution) {
  // The stability cuts add rows to a solved problem: starting from the first rows' multipliers
  // gives the cold-start solution (the dual is strictly concave: one maximum).
  std::srand(11);
  const int m = 6, n = 40;
  const MatX A = MatX::Random(m, n) * 50.0;
  const VecX b = A * ((VecX::Random(n).array() * 0.5 + 0.5).matrix() * 0.3);
  const VecX w = VecX::Ones(n);
  StaticOptimizer small(m, n);
  ASSERT_EQ(small.solve(A, b, w), SolveStatus::Converged);
  MatX A2(m + 2, n);
  A2.topRows(m) = A;
  A2.row(m) = VecX::Ones(n).transpose();  // a cut: sum a >= more than the least-effort sum
  A2.row(m + 1).setZero();                // an unused cut slot
  VecX b2(m + 2);
  b2.head(m) = b;
  b2[m] = 1.2 * small.activations().sum();
  b2[m + 1] = 0.0;
  StaticOptimizer cold(m + 2, n), warm(m + 2, n);
  StaticOptSettings st;
  st.reserve_weight = 1e9;  // the cut held to 1e-6 (its reserve is lambda / 2 rho)
  ASSERT_EQ(cold.solve(A2, b2, w, st), SolveStatus::Converged);
  warm.warm_start(small.multipliers());
  ASSERT_EQ(warm.solve(A2, b2, w, st), SolveStatus::Converged);
  EXPECT_LT((warm.activations() - cold.activations()).cwiseAbs().maxCoeff(), 1e-8);
  EXPECT_NEAR(warm.activations().sum(), b2[m], 1e-6 * b2[m]);
  EXPECT_LT(warm.kkt_residual(A2, w, 2.0), 1e-8);
}

TEST(StaticOpt, EndsAtItsRoundOffFloorInsteadOfCycling) {
  // The first static optimisation of a cold standing solve (12 equations, 100 columns, at the
  // start pose, where reserves carry a large imbalance: multipliers about 3e4), stored to 17
  // digits in tests/data. Its residual cannot get below about 8.7e-8, just above the
  // tolerance, and the semismooth Newton iteration used to cycle there (8.4e-8 <-> 8.9e-8) for
  // all 200 iterations and report max_iterations. A step that no longer lowers a residual
  // within 1e3 tolerances now ends it. The reserves carry the imbalance: infeasible, flagged.
  std::ifstream in(std::string(LUMBOSIM_SOURCE_DIR) + "/tests/data/static_opt_roundoff_floor.txt");
  ASSERT_TRUE(in.good());
  long m = 0, n = 0;
  int nf = 0;
  StaticOptSettings st;
  in >> m >> n >> st.exponent >> st.reserve_weight >> st.max_iterations >> st.tolerance >> st.reserve_flag >> nf;
  ASSERT_EQ(nf, 0);
  MatX A(m, n);
  VecX b(m), w(n);
  for (long i = 0; i < m; ++i)
    for (long j = 0; j < n; ++j) in >> A(i, j);
  for (long i = 0; i < m; ++i) in >> b[i];
  for (long j = 0; j < n; ++j) in >> w[j];
  ASSERT_TRUE(in.good());
  StaticOptimizer qp(static_cast<int>(m), static_cast<int>(n));
  const SolveStatus s = qp.solve(A, b, w, st);
  EXPECT_NE(s, SolveStatus::MaxIterations);
  EXPECT_NE(s, SolveStatus::Failed);
  EXPECT_LT(qp.iterations(), 30);
  EXPECT_LT(qp.residual(), 1e3 * st.tolerance * (1.0 + b.cwiseAbs().maxCoeff()));
  EXPECT_LT(qp.kkt_residual(A, w, st.exponent), 1e-6);
  EXPECT_GT(qp.reserves().cwiseAbs().maxCoeff(), st.reserve_flag);
  EXPECT_EQ(s, SolveStatus::Infeasible);
}
