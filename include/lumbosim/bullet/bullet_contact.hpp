#pragma once
/// @file bullet_contact.hpp
/// Contact geometry from Bullet's narrow phase: each contact sphere is a btSphereShape and
/// each environment plane a large btBoxShape whose top face is the plane; GJK (closest points,
/// separated pairs) and EPA (penetration depth) give the signed distance, the normal and the
/// contact point. Bullet finds the closest feature of the box; the contact is refined exactly on
/// it (GJK/EPA's iteration noise, ~1e-7 m, would spoil the finite-difference derivatives of the
/// posture solver). Cylindrical surfaces (lumbar-support rolls) use the radial closed form: GJK's
/// normal on a curved surface is accurate to only ~1e-3. Implements the core's ContactDetector;
/// the force law stays lumbosim's.
#include <memory>

#include "lumbosim/algorithm/contact.hpp"

namespace lumbosim::bullet {

class BulletContactDetector final : public ContactDetector {
 public:
  BulletContactDetector();
  ~BulletContactDetector() override;
  void detect(const Model& model, const Data& data, const std::vector<ContactPlane>& planes,
              std::vector<ContactPoint>& out) override;

 private:
  void detect_cylinder(const Model& model, const Data& data, const ContactPlane& plane, int index,
                       std::vector<ContactPoint>& out);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lumbosim::bullet
