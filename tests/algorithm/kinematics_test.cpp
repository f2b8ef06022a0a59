// Jacobians against central differences of the forward kinematics.
#include <gtest/gtest.h>

#include "lumbosim/algorithm/kinematics.hpp"
#include "lumbosim/model/compile.hpp"
#include "lumbosim/model/samples.hpp"

using namespace lumbosim;

TEST(Kinematics, PointJacobianMatchesFiniteDifferences) {
  const Model model = compile(samples::chain(8, true));
  Data data(model);
  const VecX q = VecX::Random(model.nv);
  const Vec3 p_B(0.03, -0.1, 0.02);
  for (int body = 1; body < model.nbody(); ++body) {
    forward_kinematics(model, data, q);
    Mat3X J(3, model.nv);
    point_jacobian(model, data, body, p_B, J);
    Mat6X J6(6, model.nv);
    frame_jacobian(model, data, body, p_B, J6);
    EXPECT_LT((J6.bottomRows<3>() - J).norm(), 1e-14);
    const double h = 1e-6;
    for (int i = 0; i < model.nv; ++i) {
      VecX qp = q, qm = q;
      qp[i] += h;
      qm[i] -= h;
      forward_kinematics(model, data, qp);
      const Vec3 a = point_position(data, body, p_B);
      const Mat3 Ra = data.X_WB[static_cast<size_t>(body)].R;
      forward_kinematics(model, data, qm);
      const Vec3 b = point_position(data, body, p_B);
      const Mat3 Rb = data.X_WB[static_cast<size_t>(body)].R;
      EXPECT_LT((J.col(i) - (a - b) / (2 * h)).norm(), 1e-8);
      // angular part: skew(w) = dR/dq R^T
      const Mat3 W = (Ra - Rb) / (2 * h) * Ra.transpose();
      const Vec3 w(W(2, 1), W(0, 2), W(1, 0));
      EXPECT_LT((J6.col(i).head<3>() - w).norm(), 1e-6);
    }
  }
}

TEST(Kinematics, ComJacobianMatchesFiniteDifferences) {
  const Model model = compile(samples::chain(8, true));
  Data data(model);
  const VecX q = VecX::Random(model.nv);
  forward_kinematics(model, data, q);
  Mat3X J(3, model.nv);
  com_jacobian(model, data, J);
  const double h = 1e-6;
  for (int i = 0; i < model.nv; ++i) {
    VecX qp = q, qm = q;
    qp[i] += h;
    qm[i] -= h;
    forward_kinematics(model, data, qp);
    const Vec3 a = center_of_mass(model, data);
    forward_kinematics(model, data, qm);
    const Vec3 b = center_of_mass(model, data);
    EXPECT_LT((J.col(i) - (a - b) / (2 * h)).norm(), 1e-8);
  }
}

TEST(Kinematics, TotalMassIsSumOfBodies) {
  const Model model = compile(samples::chain(5, false));
  double m = 0;
  for (int i = 0; i < 5; ++i) m += 1.0 + 0.3 * i;
  EXPECT_NEAR(model.total_mass, m, 1e-12);
}

TEST(Kinematics, TranslatingAPrismaticCoordinateEqualsForwardKinematics) {
  // A floating chain: the root's two slides carry everything; moving one of them rigidly
  // translates the frames it carries (and leaves the others where they were).
  const Model model = compile(samples::chain(6, true));
  Data moved(model), fresh(model);
  VecX q = VecX::Random(model.nv);
  int slides = 0;
  for (int j = 0; j < model.nv; ++j) {
    if (model.mob_kind[static_cast<size_t>(j)] != DofKind::Prismatic) continue;
    ++slides;
    forward_kinematics(model, moved, q);
    const double dq = 0.037;
    translate_prismatic(model, moved, j, dq);
    q[j] += dq;
    forward_kinematics(model, fresh, q);
    for (int b = 0; b < model.nbody(); ++b) {
      const auto k = static_cast<size_t>(b);
      EXPECT_LT((moved.X_WB[k].p - fresh.X_WB[k].p).norm(), 1e-14) << "body " << b << " slide " << j;
      EXPECT_LT((moved.X_WB[k].R - fresh.X_WB[k].R).norm(), 1e-14);
    }
    for (int m = 0; m < model.nv; ++m) {
      const auto k = static_cast<size_t>(m);
      EXPECT_LT((moved.X_WM[k].p - fresh.X_WM[k].p).norm(), 1e-14) << "mobilizer " << m;
      EXPECT_LT((moved.X_PM[k].p - fresh.X_PM[k].p).norm(), 1e-14) << "mobilizer " << m;
    }
  }
  EXPECT_GE(slides, 1);
}
