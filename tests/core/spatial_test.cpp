// Identities of the spatial algebra (Featherstone 2008, ch. 2).
#include <gtest/gtest.h>

#include "lumbosim/core/spatial.hpp"

using namespace lumbosim;

namespace {
SE3 random_se3(int seed) {
  std::srand(static_cast<unsigned>(seed));
  SE3 X;
  X.R = Eigen::Quaterniond(Eigen::Vector4d::Random().normalized()).toRotationMatrix();
  X.p = Vec3::Random();
  return X;
}
}  // namespace

TEST(Spatial, MotionAndForceTransformsAreDual) {
  // Power is frame independent: (X m) . (X* f) = m . f
  for (int s = 1; s < 20; ++s) {
    const SE3 X = random_se3(s);
    const Vec6 m = Vec6::Random(), f = Vec6::Random();
    EXPECT_NEAR(X.act_motion(m).dot(X.act_force(f)), m.dot(f), 1e-12);
    EXPECT_LT((X.act_motion_inv(X.act_motion(m)) - m).norm(), 1e-12);
    EXPECT_LT((X.act_force_inv(X.act_force(f)) - f).norm(), 1e-12);
    EXPECT_LT((X.force_matrix() * f - X.act_force(f)).norm(), 1e-12);
    EXPECT_LT((X.force_matrix().transpose() * m - X.act_motion_inv(m)).norm(), 1e-12);
  }
}

TEST(Spatial, CrossProductsAreAdjoint) {
  const Vec6 v = Vec6::Random(), m = Vec6::Random(), f = Vec6::Random();
  // crf(v) = -crm(v)^T  <=>  f . crm(v) m = - m . crf(v) f
  EXPECT_NEAR(f.dot(cross_motion(v, m)), -m.dot(cross_force(v, f)), 1e-12);
}

TEST(Spatial, InertiaMatrixMatchesApplyAndTransforms) {
  Inertia I;
  I.mass = 2.5;
  I.com = Vec3(0.1, -0.2, 0.05);
  I.I_com << 0.3, 0.01, 0.02, 0.01, 0.2, -0.01, 0.02, -0.01, 0.25;
  const Vec6 v = Vec6::Random();
  EXPECT_LT((I.matrix() * v - I.apply(v)).norm(), 1e-12);
  const SE3 X = random_se3(7);
  // Transforming the inertia equals the congruence X* I X^-1.
  const Mat6 Xf = X.force_matrix();
  EXPECT_LT((I.transformed(X).matrix() - Xf * I.matrix() * Xf.transpose()).norm(), 1e-12);
  // Adding two halves gives the original body.
  Inertia h = I;
  h.mass = 1.25;
  h.I_com *= 0.5;
  EXPECT_LT(((h + h).matrix() - I.matrix()).norm(), 1e-12);
}
