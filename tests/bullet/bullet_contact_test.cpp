// Bullet's narrow phase (GJK/EPA) against the analytic sphere-plane geometry, and a posture
// solved with either detector.
#include <gtest/gtest.h>

#include <numbers>

#include "lumbosim/algorithm/contact.hpp"
#include "lumbosim/algorithm/kinematics.hpp"
#include "lumbosim/algorithm/posture.hpp"
#include "lumbosim/bullet/bullet_contact.hpp"
#include "lumbosim/io/yaml_model.hpp"
#include "lumbosim/io/yaml_postures.hpp"
#include "lumbosim/model/compile.hpp"

using namespace lumbosim;

namespace {
Model model() { return compile(io::load_model_spec(std::string(LUMBOSIM_SOURCE_DIR) + "/models/lumbopelvic.yaml")); }
}  // namespace

TEST(BulletContact, MatchesAnalyticSpherePlaneGeometry) {
  const Model m = model();
  Data d(m);
  std::vector<ContactPlane> planes(2);
  planes[0].point = Vec3(0, 0.0, 0);
  planes[0].normal = Vec3(0, 1, 0);
  planes[1].point = Vec3(-0.15, 0.5, 0);
  planes[1].normal = Vec3(0.98, 0.2, 0);  // an inclined backrest
  for (int s = 0; s < static_cast<int>(m.contact_name.size()); ++s)
    for (auto& pl : planes) pl.spheres.push_back(s);
  AnalyticContactDetector analytic;
  bullet::BulletContactDetector bt;
  std::vector<ContactPoint> a, b;
  std::srand(3);
  int penetrating = 0;
  for (int trial = 0; trial < 20; ++trial) {
    VecX q = m.default_q();
    q[m.find_coord("pelvis_ty")] = 0.05 + 0.9 * (trial / 20.0);
    q[m.find_coord("pelvis_tilt")] = -0.3 + 0.03 * trial;
    q[m.find_coord("hip_flexion_r")] = 1.2;
    q[m.find_coord("knee_flexion_r")] = 0.8;
    forward_kinematics(m, d, q);
    analytic.detect(m, d, planes, a);
    bt.detect(m, d, planes, b);
    ASSERT_EQ(a.size(), b.size());
    for (size_t k = 0; k < a.size(); ++k) {
      if (std::abs(a[k].depth) > 0.3) continue;  // far from the plane: not a contact candidate
      EXPECT_NEAR(a[k].depth, b[k].depth, 1e-6) << m.contact_name[static_cast<size_t>(a[k].sphere)];
      EXPECT_LT((a[k].n_W - b[k].n_W).norm(), 1e-6);
      if (a[k].depth > 0) {
        ++penetrating;
        EXPECT_LT((a[k].p_W - b[k].p_W).norm(), 1e-4);
      }
    }
  }
  EXPECT_GT(penetrating, 10);
}

TEST(BulletContact, SittingPostureIsTheSameWithEitherDetector) {
  // upright sitting (planes) and relaxed sitting against a lumbar-support roll (a cylinder)
  const Model m = model();
  const auto postures = io::load_postures(std::string(LUMBOSIM_SOURCE_DIR) + "/models/postures.yaml");
  for (const char* name : {"sitting_upright", "sitting_lumbar_support"}) {
    const PostureSpec* sit = nullptr;
    for (const auto& p : postures)
      if (p.name == name) sit = &p;
    ASSERT_NE(sit, nullptr) << name;
    bullet::BulletContactDetector bt;
    PostureSolver with_bullet(m, *sit, &bt), analytic(m, *sit);
    const PostureResult rb = with_bullet.solve(), ra = analytic.solve();
    ASSERT_EQ(rb.status, SolveStatus::Converged) << name << ": " << rb.message;
    EXPECT_NEAR(rb.alignment.pelvic_tilt, ra.alignment.pelvic_tilt, 1e-3) << name;
    EXPECT_NEAR(rb.alignment.lumbar_lordosis, ra.alignment.lumbar_lordosis, 1e-3) << name;
    EXPECT_NEAR(rb.contact_force_total, ra.contact_force_total, 1e-3 * ra.contact_force_total) << name;
  }
}
