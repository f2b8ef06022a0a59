#pragma once
/// @file contact.hpp
/// Contact between the model's body-fixed spheres and environment planes (floor, seat,
/// backrest). Geometry (closest points, depth, normal) comes from a ContactDetector: the core's
/// analytic one, or Bullet's collision detection (bullet/bullet_contact.hpp) behind the same
/// interface. The force law is lumbosim's: a smooth, differentiable compliant normal force
///   f_n = k * d_s^1.5,   d_s = (d + sqrt(d^2 + eps^2)) / 2   (smooth max(d, 0), eps = 0.5 mm),
/// the Hertz-like exponent of soft tissue on a cushion (cf. Hunt & Crossley 1975).
///
/// Friction acts along the contact's sagittal tangent t = n x e_z (the model is loaded in its
/// sagittal plane), bounded by the Coulomb cone |f_t| <= mu f_n:
///  - in statics (posture prediction) the tangential force is a reaction: an unknown of the
///    static optimisation, bounded by the cone, like a muscle force bounded by its strength
///    (the same treatment as the conditional contact elements of AnyBody-type models);
///  - in forward dynamics it is regularised Coulomb friction, f_t = -mu f_n tanh(v_t / v_s),
///    smooth in the slip velocity v_t (v_s = 0.2 m/s, the transition velocity used in OpenSim contact
///    model examples; much smaller values make the explicit integrator stiff at dt = 0.2 ms and
///    keep computed muscle control from settling).
#include <string>
#include <vector>

#include "lumbosim/data/data.hpp"
#include "lumbosim/model/model.hpp"

namespace lumbosim {

/// A surface of the environment.
///  - radius == 0: a plane, points x with (x - point) . normal >= 0 outside; finite along its
///    sagittal tangent t = normal x e_z when extent is set (a seat of given depth, a backrest of
///    given height): it carries load only for contact points with u = (p - point) . t in
///    [extent_min, extent_max], faded smoothly over kEdge at each edge (a C1 window), so an
///    edge is differentiable for Newton methods;
///  - radius > 0: a cylinder with its axis along e_z through point (a lumbar support, a seat
///    front edge roll); normal and extent are not used.
struct ContactPlane {
  static constexpr double kEdge = 0.01;  ///< m, width of the fade at a finite edge
  std::string name;
  Vec3 point = Vec3::Zero();
  Vec3 normal = Vec3::UnitY();
  double stiffness = 1e5;        ///< k, N / m^1.5
  /// Coulomb coefficient mu (0: frictionless); 0.5: clothing on upholstery or shoe on floor,
  /// 0.4-0.6 (recalled, no single source; docs/literature/parameters.md section 7)
  double friction = 0.5;
  double extent_min = -1e30, extent_max = 1e30;  ///< m along t from point (planes)
  double radius = 0.0;           ///< m; > 0: cylinder
  std::vector<int> spheres;      ///< contact spheres that can touch this surface
};

/// Smooth window of a finite plane at tangential position u (1 inside, 0 beyond the edges).
double contact_extent_window(const ContactPlane& plane, double u, double* dwdu = nullptr);

/// One sphere-plane pair: signed depth (> 0 penetrating), the contact point on the plane and
/// the plane normal (pointing out of the environment, toward the body).
struct ContactPoint {
  int plane = -1, sphere = -1;
  double depth = 0.0;
  Vec3 p_W = Vec3::Zero(), n_W = Vec3::UnitY();
  Vec3 t_W = Vec3::UnitX();  ///< sagittal tangent n x e_z (set by contact_generalized_forces)
  double force = 0.0;     ///< N, normal force on the body
  double friction = 0.0;  ///< N, tangential force on the body along t_W (|friction| <= mu force)
};

/// Sphere (centre c, radius rs) against a cylinder surface (plane.radius > 0, axis along e_z
/// through plane.point): depth, radial normal, contact point on the surface.
void sphere_cylinder_contact(const ContactPlane& plane, const Vec3& c, double rs, ContactPoint& cp);

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

/// Adds the contact generalized forces J^T f_n n to tau (size nv) and sets each contact's normal
/// force and tangent (friction is added separately: it is a reaction in statics and a function
/// of the slip velocity in dynamics). @pre forward_kinematics; contacts from a detector at the
/// same pose.
void contact_generalized_forces(const Model& model, const Data& data, const std::vector<ContactPlane>& planes,
                                std::vector<ContactPoint>& contacts, VecX& tau);

/// Adds J(p)^T f to tau for a force f (world) at world point p moving with `body`.
void add_point_force(const Model& model, const Data& data, int body, const Vec3& p_W, const Vec3& f_W, VecX& tau);

/// World velocity of the material point of `body` at world point p for joint velocities qd.
Vec3 point_velocity(const Model& model, const Data& data, int body, const Vec3& p_W, const VecX& qd);

/// Regularised Coulomb friction (N, along the tangent) for normal force fn, coefficient mu and
/// slip velocity v_t (m/s): -mu fn tanh(v_t / v_s).
double regularized_friction(double fn, double mu, double v_t, double v_s = 0.2);

}  // namespace lumbosim
