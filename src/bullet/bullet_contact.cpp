#include "lumbosim/bullet/bullet_contact.hpp"

#include <BulletCollision/CollisionShapes/btBoxShape.h>
#include <BulletCollision/CollisionShapes/btSphereShape.h>
#include <BulletCollision/NarrowPhaseCollision/btGjkEpaPenetrationDepthSolver.h>
#include <BulletCollision/NarrowPhaseCollision/btGjkPairDetector.h>
#include <BulletCollision/NarrowPhaseCollision/btPointCollector.h>
#include <BulletCollision/NarrowPhaseCollision/btVoronoiSimplexSolver.h>

#include <map>

#include "lumbosim/algorithm/kinematics.hpp"

namespace lumbosim::bullet {
namespace {
constexpr double kHalfThickness = 10.0;  // m: the environment below each plane is a deep box (a half-space)
constexpr double kHalfExtent = 50.0;     // m, lateral extent of each plane's box
btVector3 bt(const Vec3& v) { return btVector3(v.x(), v.y(), v.z()); }
Vec3 eig(const btVector3& v) { return Vec3(v.x(), v.y(), v.z()); }
}  // namespace

struct BulletContactDetector::Impl {
  std::map<double, std::unique_ptr<btSphereShape>> spheres;  // by radius
  btBoxShape box{btVector3(kHalfExtent, kHalfThickness, kHalfExtent)};
  btVoronoiSimplexSolver simplex;
  btGjkEpaPenetrationDepthSolver epa;
  btSphereShape& sphere(double r) {
    auto& s = spheres[r];
    if (!s) s = std::make_unique<btSphereShape>(r);
    return *s;
  }
};

BulletContactDetector::BulletContactDetector() : impl_(std::make_unique<Impl>()) { impl_->box.setMargin(0.0); }

void BulletContactDetector::detect_cylinder(const Model& model, const Data& data, const ContactPlane& pl, int k,
                                            std::vector<ContactPoint>& out) {
  // Rolls are not handed to GJK/EPA: on a curved surface its normal came out up to 7e-4 off the
  // closed form (measured on the default model's spheres against a 5 cm roll), too coarse for
  // the posture solver's finite-difference derivatives; the radial closed form is exact.
  for (int s : pl.spheres) {
    const auto i = static_cast<size_t>(s);
    const Vec3 c = point_position(data, model.contact_body[i], model.contact_p_B[i]);
    ContactPoint cp;
    cp.plane = k;
    cp.sphere = s;
    sphere_cylinder_contact(pl, c, model.contact_radius[i], cp);
    out.push_back(cp);
  }
}
BulletContactDetector::~BulletContactDetector() = default;

void BulletContactDetector::detect(const Model& model, const Data& data, const std::vector<ContactPlane>& planes,
                                   std::vector<ContactPoint>& out) {
  out.clear();
  for (size_t k = 0; k < planes.size(); ++k) {
    const ContactPlane& pl = planes[k];
    if (pl.radius > 0.0) {
      detect_cylinder(model, data, pl, static_cast<int>(k), out);
      continue;
    }
    const Vec3 n = pl.normal.normalized();
    // Box frame: local y along the plane normal, top face on the plane.
    const Eigen::Quaterniond q = Eigen::Quaterniond::FromTwoVectors(Vec3::UnitY(), n);
    btTransform box_tf;
    box_tf.setOrigin(bt(pl.point - kHalfThickness * n));
    box_tf.setRotation(btQuaternion(q.x(), q.y(), q.z(), q.w()));
    for (int s : pl.spheres) {
      const auto i = static_cast<size_t>(s);
      const Vec3 c = point_position(data, model.contact_body[i], model.contact_p_B[i]);
      btSphereShape& sph = impl_->sphere(model.contact_radius[i]);
      btTransform sph_tf;
      sph_tf.setIdentity();
      sph_tf.setOrigin(bt(c));
      btGjkPairDetector gjk(&sph, &impl_->box, &impl_->simplex, &impl_->epa);
      btDiscreteCollisionDetectorInterface::ClosestPointInput input;
      input.m_transformA = sph_tf;
      input.m_transformB = box_tf;
      btPointCollector result;
      gjk.getClosestPoints(input, result, nullptr);
      ContactPoint cp;
      cp.plane = static_cast<int>(k);
      cp.sphere = s;
      if (result.m_hasResult) {
        // Bullet identifies the closest feature of the box; the contact is then refined on that
        // face exactly (GJK/EPA carry ~1e-7 m of iteration noise, too much for the Newton
        // derivatives of the posture solver): snap the normal to the face normal and project the
        // sphere centre onto the face.
        const Vec3 nb = eig(result.m_normalOnBInWorld);
        const Mat3 R = q.toRotationMatrix();
        const Vec3 half(kHalfExtent, kHalfThickness, kHalfExtent);
        Vec3 best = R.col(1);
        double best_dot = -2.0, best_half = kHalfThickness;
        for (int ax = 0; ax < 3; ++ax)
          for (double sgn : {1.0, -1.0}) {
            const Vec3 fn = sgn * R.col(ax);
            if (fn.dot(nb) > best_dot) {
              best_dot = fn.dot(nb);
              best = fn;
              best_half = half[ax];
            }
          }
        const Vec3 centre = pl.point - kHalfThickness * n;
        const double dist = (c - centre).dot(best) - best_half;
        cp.depth = model.contact_radius[i] - dist;
        cp.n_W = best;
        cp.p_W = c - dist * best;
      } else {  // far away: fall back to the plane geometry
        const double dist = (c - pl.point).dot(n);
        cp.depth = model.contact_radius[i] - dist;
        cp.n_W = n;
        cp.p_W = c - dist * n;
      }
      out.push_back(cp);
    }
  }
}

}  // namespace lumbosim::bullet
