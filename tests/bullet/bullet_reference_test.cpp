// lumbosim's ABA against Bullet's btMultiBody (an independent Featherstone implementation).
#include <gtest/gtest.h>

#include "lumbosim/algorithm/dynamics.hpp"
#include "lumbosim/bullet/bullet_reference.hpp"
#include "lumbosim/model/compile.hpp"
#include "lumbosim/model/samples.hpp"

using namespace lumbosim;

namespace {
/// A spatial chain of revolute and prismatic joints about skewed axes, each link massive.
ModelSpec single_dof_chain(int n) {
  ModelSpec s = samples::chain(n, false);
  for (size_t i = 0; i < s.joints.size(); ++i) {
    auto& j = s.joints[i];
    if (j.type == JointType::Ball) {
      j.type = JointType::Revolute;
      CoordSpec c = j.coordinates[0];
      c.axis = Vec3(1.0, 0.3, -0.4);
      j.coordinates = {c};
    }
  }
  return s;
}
}  // namespace

TEST(BulletReference, SameAccelerationsAsAba) {
  const Model model = compile(single_dof_chain(7));
  Data data(model);
  bullet::ReferenceMultiBody ref(model);
  for (int trial = 0; trial < 20; ++trial) {
    const VecX q = VecX::Random(model.nv), qd = VecX::Random(model.nv), tau = VecX::Random(model.nv) * 3.0;
    const VecX qdd_bullet = ref.forward_dynamics(q, qd, tau);
    aba(model, data, q, qd, tau);
    EXPECT_LT((data.qdd - qdd_bullet).norm(), 1e-8 * (1.0 + data.qdd.norm()))
        << "lumbosim " << data.qdd.transpose() << "\nbullet   " << qdd_bullet.transpose();
  }
}

TEST(BulletReference, DoublePendulumAtRest) {
  const Model model = compile(samples::double_pendulum(1.3, 0.8, 0.9, 0.6));
  Data data(model);
  bullet::ReferenceMultiBody ref(model);
  VecX q(2), qd = VecX::Zero(2), tau = VecX::Zero(2);
  q << 0.4, -0.7;
  const VecX qdd_bullet = ref.forward_dynamics(q, qd, tau);
  aba(model, data, q, qd, tau);
  EXPECT_LT((data.qdd - qdd_bullet).norm(), 1e-9);
}

TEST(BulletReference, RejectsMasslessIntermediateFrames) {
  const Model model = compile(samples::chain(3, true));  // free base: massless translation frames
  EXPECT_THROW(bullet::ReferenceMultiBody ref(model), std::invalid_argument);
}
