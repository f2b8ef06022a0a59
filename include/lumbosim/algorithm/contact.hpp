#pragma once
/// @file contact.hpp
/// Contact between the model's body-fixed spheres and environment planes (floor, seat,
/// backrest). Geometry (closest points, depth, normal) comes from a ContactDetector: the core's
/// analytic one, or Bullet's collision detection (bullet/bullet_contact.hpp) behind the same
/// interface. The force law is lumbosim's: a smooth, differentiable compliant normal force
///   f_n = k * d_s^1.5,   d_s = (d + sqrt(d^2 + eps^2)) / 2   (smooth max(d, 0), eps = 0.5 mm),
/// the Hertz-like exponent of soft tissue on a cushion (cf. Hunt & Crossley 1975). Friction is
/// not modelled yet: the postures prescribe the horizontal position, so only normal forces act.
#include <string>
#include <vector>

#include "lumbosim/data/data.hpp"
#include "lumbosim/model/model.hpp"

namespace lumbosim {

/// A plane of the environment: points x with (x - point) . normal >= 0 are outside.
struct ContactPlane {
  std::string name;
  Vec3 point = Vec3::Zero();
  Vec3 normal = Vec3::UnitY();
  double stiffness = 1e5;        ///< k, N / m^1.5
  std::vector<int> spheres;      ///< contact spheres that can touch this plane
};

/// One sphere-plane pair: signed depth (> 0 penetrating), the contact point on the plane and
/// the plane normal (pointing out of the environment, toward the body).
struct ContactPoint {
  int plane = -1, sphere = -1;
  double depth = 0.0;
  Vec3 p_W = Vec3::Zero(), n_W = Vec3::UnitY();
  double force = 0.0;  ///< N, normal force on the body
};

/// Interface: fills one ContactPoint per (plane, sphere) pair, whatever its depth.
class ContactDetector {
 public:
  virtual ~ContactDetector() = default;
  virtual void detect(const Model& model, const Data& data, const std::vector<ContactPlane>& planes,
                      std::vector<ContactPoint>& out) = 0;
};

/// Closed-form sphere-plane geometry.
class AnalyticContactDetector final : public ContactDetector {
 public:
  void detect(const Model& model, const Data& data, const std::vector<ContactPlane>& planes,
              std::vector<ContactPoint>& out) override;
};

/// Smooth normal force (N) for signed depth d (m), and its derivative.
double contact_normal_force(double depth, double stiffness, double* dfdd = nullptr);

/// Adds the contact generalized forces J^T f to tau (size nv) and sets each contact's force.
/// @pre forward_kinematics; contacts from a detector at the same pose.
void contact_generalized_forces(const Model& model, const Data& data, const std::vector<ContactPlane>& planes,
                                std::vector<ContactPoint>& contacts, VecX& tau);

}  // namespace lumbosim
