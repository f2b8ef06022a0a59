// Dynamics against closed-form answers and against each other (Featherstone 2008; the
// double-pendulum equations are the textbook Lagrangian ones for two uniform rods).
#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>

#include <cmath>

#include "lumbosim/algorithm/contact.hpp"
#include "lumbosim/algorithm/dynamics.hpp"
#include "lumbosim/model/compile.hpp"
#include "lumbosim/model/samples.hpp"

using namespace lumbosim;

TEST(Dynamics, PendulumMatchesClosedForm) {
  const double m = 2.0, l = 0.7, g = 9.81;
  const Model model = compile(samples::pendulum(m, l));
  Data data(model);
  const double Ibob = model.body_inertia[1].I_com(2, 2);
  for (double th : {0.0, 0.3, 1.2, -2.5}) {
    VecX q(1), qd(1), tau = VecX::Zero(1);
    q << th;
    qd << 1.7;
    aba(model, data, q, qd, tau);
    EXPECT_NEAR(data.qdd[0], -m * g * l * std::sin(th) / (m * l * l + Ibob), 1e-12);
    generalized_gravity(model, data, q);
    EXPECT_NEAR(data.tau[0], m * g * l * std::sin(th), 1e-12);
    crba(model, data, q);
    EXPECT_NEAR(data.M(0, 0), m * l * l + Ibob, 1e-12);
  }
}

TEST(Dynamics, DoublePendulumMatchesLagrangian) {
  const double m1 = 1.3, l1 = 0.8, m2 = 0.9, l2 = 0.6, g = 9.81;
  const Model model = compile(samples::double_pendulum(m1, l1, m2, l2));
  Data data(model);
  for (int trial = 0; trial < 10; ++trial) {
    const VecX q = VecX::Random(2) * 3.0, qd = VecX::Random(2) * 2.0, qdd = VecX::Random(2);
    const double c2 = std::cos(q[1]), s2 = std::sin(q[1]);
    Eigen::Matrix2d M;
    M(0, 0) = m1 * l1 * l1 / 3 + m2 * (l1 * l1 + l2 * l2 / 3 + l1 * l2 * c2);
    M(0, 1) = M(1, 0) = m2 * (l2 * l2 / 3 + l1 * l2 * c2 / 2);
    M(1, 1) = m2 * l2 * l2 / 3;
    Eigen::Vector2d h;
    h[0] = -m2 * l1 * l2 / 2 * s2 * (2 * qd[0] * qd[1] + qd[1] * qd[1]) + m1 * g * l1 / 2 * std::sin(q[0]) +
           m2 * g * (l1 * std::sin(q[0]) + l2 / 2 * std::sin(q[0] + q[1]));
    h[1] = m2 * l1 * l2 / 2 * s2 * qd[0] * qd[0] + m2 * g * l2 / 2 * std::sin(q[0] + q[1]);
    const Eigen::Vector2d tau_expected = M * qdd + h;
    rnea(model, data, q, qd, qdd);
    // Each rod has a tiny axial inertia (1e-6 m l^2) that does not act in plane rotation.
    EXPECT_NEAR(data.tau[0], tau_expected[0], 1e-10);
    EXPECT_NEAR(data.tau[1], tau_expected[1], 1e-10);
    crba(model, data, q);
    EXPECT_LT((data.M - M).norm(), 1e-12);
  }
}

class ChainDynamics : public ::testing::TestWithParam<bool> {};

TEST_P(ChainDynamics, AbaAgreesWithCrbaSolve) {
  const Model model = compile(samples::chain(9, GetParam()));
  Data data(model);
  for (int trial = 0; trial < 20; ++trial) {
    const VecX q = VecX::Random(model.nv), qd = VecX::Random(model.nv) * 2.0, tau = VecX::Random(model.nv) * 5.0;
    const VecX zero = VecX::Zero(model.nv);
    const VecX h = rnea(model, data, q, qd, zero);
    const MatX M = crba(model, data, q);
    const VecX qdd_ref = M.ldlt().solve(tau - h);
    aba(model, data, q, qd, tau);
    EXPECT_LT((data.qdd - qdd_ref).norm(), 1e-10 * (1.0 + qdd_ref.norm()));
    // forward then inverse reproduces tau
    const VecX qdd = data.qdd;
    rnea(model, data, q, qd, qdd);
    EXPECT_LT((data.tau - tau).norm(), 1e-10 * (1.0 + tau.norm()));
    // M symmetric positive definite
    EXPECT_LT((M - M.transpose()).norm(), 1e-14 * M.norm());
    EXPECT_GT(M.selfadjointView<Eigen::Lower>().eigenvalues().minCoeff(), 0.0);
  }
}

TEST_P(ChainDynamics, GravityIsGradientOfPotential) {
  const Model model = compile(samples::chain(7, GetParam()));
  Data data(model);
  const VecX q = VecX::Random(model.nv);
  generalized_gravity(model, data, q);
  const VecX g = data.tau;
  const double h = 1e-6;
  for (int i = 0; i < model.nv; ++i) {
    VecX qp = q, qm = q;
    qp[i] += h;
    qm[i] -= h;
    const double dV = (potential_energy(model, data, qp) - potential_energy(model, data, qm)) / (2 * h);
    EXPECT_NEAR(g[i], dV, 1e-6) << "coordinate " << model.coord_name[static_cast<size_t>(i)];
  }
}

TEST_P(ChainDynamics, UnforcedChainConservesEnergy) {
  const Model model = compile(samples::chain(6, GetParam()));
  Data data(model);
  VecX q = VecX::Random(model.nv) * 0.5, qd = VecX::Random(model.nv);
  const VecX zero = VecX::Zero(model.nv);
  auto energy = [&](const VecX& qq, const VecX& vv) {
    return kinetic_energy(model, data, qq, vv) + potential_energy(model, data, qq);
  };
  const double E0 = energy(q, qd);
  const double dt = 5e-4;
  auto f = [&](const VecX& qq, const VecX& vv) { return VecX(aba(model, data, qq, vv, zero)); };
  for (int step = 0; step < static_cast<int>(10.0 / dt); ++step) {  // 10 s, classic RK4
    const VecX k1v = f(q, qd), k1q = qd;
    const VecX k2v = f(q + 0.5 * dt * k1q, qd + 0.5 * dt * k1v), k2q = qd + 0.5 * dt * k1v;
    const VecX k3v = f(q + 0.5 * dt * k2q, qd + 0.5 * dt * k2v), k3q = qd + 0.5 * dt * k2v;
    const VecX k4v = f(q + dt * k3q, qd + dt * k3v), k4q = qd + dt * k3v;
    q += dt / 6 * (k1q + 2 * k2q + 2 * k3q + k4q);
    qd += dt / 6 * (k1v + 2 * k2v + 2 * k3v + k4v);
  }
  const double E1 = energy(q, qd);
  const double scale = std::abs(kinetic_energy(model, data, q, qd)) + 1.0;
  EXPECT_NEAR(E1, E0, 1e-6 * scale) << "E0 " << E0 << " E1 " << E1;
}

INSTANTIATE_TEST_SUITE_P(FixedAndFloating, ChainDynamics, ::testing::Values(false, true));

TEST(Contact, RegularizedFrictionIsSmoothCoulomb) {
  // f = -mu N tanh(v / v_s): Coulomb's bound far from zero slip, linear (viscous) near it, odd.
  EXPECT_NEAR(regularized_friction(100.0, 0.5, 10.0), -50.0, 1e-9);
  EXPECT_NEAR(regularized_friction(100.0, 0.5, -10.0), 50.0, 1e-9);
  EXPECT_DOUBLE_EQ(regularized_friction(100.0, 0.5, 0.0), 0.0);
  const double v = 1e-4, vs = 0.2;
  EXPECT_NEAR(regularized_friction(100.0, 0.5, v, vs) / v, -0.5 * 100.0 / vs, 1e-3);
  for (double x = -1; x < 1; x += 0.05)
    EXPECT_LE(std::abs(regularized_friction(80.0, 0.6, x)), 0.6 * 80.0 + 1e-12);
}

TEST(Contact, FiniteSeatAndCylinderGeometry) {
  // A seat 0.40 m deep (u from -0.10 to 0.30 m along +x): full load inside, half at the edge,
  // none beyond it; the fade is C1.
  ContactPlane seat;
  seat.extent_min = -0.10;
  seat.extent_max = 0.30;
  EXPECT_DOUBLE_EQ(contact_extent_window(seat, 0.10), 1.0);
  EXPECT_NEAR(contact_extent_window(seat, 0.30), 0.5, 1e-12);
  EXPECT_NEAR(contact_extent_window(seat, -0.10), 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(contact_extent_window(seat, 0.31), 0.0);
  const double h = 1e-7, u = 0.30 + 0.5 * ContactPlane::kEdge;  // the end of the fade: slope 0 on both sides
  // (a kink would show a slope near 75 /m here; the smooth fade gives 1.5 h / e^2)
  EXPECT_NEAR((contact_extent_window(seat, u + h) - contact_extent_window(seat, u - h)) / (2 * h), 0.0, 1e-2);
}
