#pragma once
/// @file spec.hpp
/// ModelSpec: the editable description of a model as written in a model file, every value
/// still carrying its source location. `compile()` (compile.hpp) validates a spec and turns it
/// into the flat, immutable `Model`. Values are in file units: lengths in metres at the
/// reference height, masses in kilograms at the reference mass, angles in degrees.
#include <optional>
#include <string>
#include <vector>

#include "lumbosim/core/error.hpp"
#include "lumbosim/core/spatial.hpp"

namespace lumbosim {

enum class JointType { Weld, Revolute, Prismatic, Planar, Ball, Free };

/// Number of coordinates a joint type has.
int joint_type_dofs(JointType t);
const char* joint_type_name(JointType t);

/// A named scalar model parameter (e.g. `height`, `mass`). Overridable with `--set`.
struct ParamSpec {
  std::string name;
  double value = 0.0;
  double min = -1e300;  ///< physical lower bound; values outside are rejected
  double max = 1e300;
  std::string unit;
  std::string source;
  SourceLoc loc;
};

/// A rigid body. Mass is either absolute (kg at the reference mass) or a fraction of `mass`.
struct BodySpec {
  std::string name;
  std::optional<double> mass_kg;
  std::optional<double> mass_fraction;
  Vec3 com = Vec3::Zero();  ///< m, body frame, at reference height
  /// Either the inertia tensor about the COM [Ixx Iyy Izz Ixy Ixz Iyz] (kg m^2, at reference
  /// size) or principal radii of gyration about the COM (m, at reference height).
  std::optional<Eigen::Matrix<double, 6, 1>> inertia;
  std::optional<Vec3> gyration_radii;
  std::string source;
  SourceLoc loc;
};

/// A frame on a body: position (m) and orientation (intrinsic X-Y-Z Euler angles, degrees).
struct FrameSpec {
  Vec3 position = Vec3::Zero();
  Vec3 orientation_deg = Vec3::Zero();
  SourceLoc loc;
};

struct CoordSpec {
  std::string name;
  std::optional<Vec3> axis;  ///< overrides the joint type's default axis for this coordinate
  double min = 0.0, max = 0.0;    ///< deg for rotations, m for translations
  double default_value = 0.0;
  bool locked = false;
  bool scales_with_height = false;  ///< the default (a translation) scales with the length scale
  SourceLoc loc;
};

struct JointSpec {
  std::string name;
  JointType type = JointType::Weld;
  std::string parent, child;
  FrameSpec in_parent;  ///< joint frame on the parent body
  FrameSpec in_child;   ///< joint frame on the child body
  std::vector<CoordSpec> coordinates;
  SourceLoc loc;
  SourceLoc parent_loc, child_loc;
};

/// A named body point (anatomical landmark), optionally with a direction (e.g. an endplate
/// normal) in the body frame.
struct LandmarkSpec {
  std::string name;
  std::string body;
  Vec3 position = Vec3::Zero();
  std::optional<Vec3> direction;
  std::string source;
  SourceLoc loc;
  SourceLoc body_loc;
};

/// A point of a path (muscle or ligament): a body-fixed point, or a wrap surface the path may
/// wrap over between the neighbouring points.
struct PathPointSpec {
  std::string body;  ///< empty for a wrap entry
  Vec3 position = Vec3::Zero();
  std::string wrap;  ///< name of a wrap surface (then body/position are unused)
  SourceLoc loc;
};

enum class WrapType { Cylinder, Ellipsoid };

/// A smooth obstacle fixed to a body. Cylinder: infinite, axis along the local z, `radius`.
/// Ellipsoid: semi-axes `radii` along the local x, y, z. `side` restricts the wrap direction
/// about the local z axis (+1 counter-clockwise, -1 clockwise, 0 the shorter way).
struct WrapSpec {
  std::string name;
  WrapType type = WrapType::Cylinder;
  std::string body;
  FrameSpec frame;
  double radius = 0.0;
  Vec3 radii = Vec3::Zero();
  int side = 0;
  bool mirror = false;
  std::string source;
  SourceLoc loc;
};

/// A Hill-type muscle-tendon unit (De Groote 2016 curves). Values at the reference size.
struct MuscleSpec {
  std::string name;
  double max_isometric_force = 0.0;  ///< N (scaled by (mass/ref)^(2/3))
  double optimal_fiber_length = 0.0; ///< m
  double tendon_slack_length = 0.0;  ///< m; < 0 means `auto` (fibre at optimal length in the default pose)
  double pennation_deg = 0.0;        ///< at optimal fibre length
  double passive_strain = 0.6;       ///< e0: fibre strain at which passive force = Fmax
  double effort_weight = 1.0;        ///< w in the least-effort criterion sum w a^p
  double max_contraction_velocity = 10.0;  ///< optimal fibre lengths per second
  bool compliant_tendon = false;
  double activation_time = 0.015, deactivation_time = 0.060;  ///< s
  std::vector<std::string> groups;
  std::vector<PathPointSpec> path;
  bool mirror = false;  ///< also create the left-side copy (`_r` -> `_l`, z -> -z)
  std::string source;
  SourceLoc loc;
};

/// A passive cable (ligament) along a path: tension-only, toe region then linear
/// (F = 0.25 k e^2 / (e_t / 2) for 0 < e < e_t, k (e - e_t / 2) above). The zero-force length
/// is derived from the length in the default pose, the reference strain e_r and the source
/// spring length (see reference_strain, source_length; docs/model-format.md).
struct LigamentSpec {
  std::string name;
  double stiffness = 0.0;          ///< k, N per unit strain
  double transition_strain = 0.0;  ///< e_t
  /// e_r, zero-force strain relative to the length in the default pose (Remus et al. 2021
  /// convention): the ligament is slack up to l0 = l_default (1 + e_r); e_r > 0 slack in the
  /// default pose, e_r < 0 pre-stretched.
  double reference_strain = 0.0;
  /// Length (m) of the source model's springs that (k, e_t, e_r) were identified on; 0: this
  /// cable's own length. With it the force-elongation law is carried over to this cable:
  /// the slack (or pre-stretch) elongation e_r * source_length, the toe-region elongation and the
  /// stiffness per metre are kept (Remus's springs are 2-30 mm long, our cables 15-30 mm).
  double source_length = 0.0;
  std::vector<PathPointSpec> path;
  bool mirror = false;
  std::string source;
  SourceLoc loc;
};

/// Nonlinear passive moment of an intervertebral joint about its flexion coordinate:
///   M(th) = -(k0/bf) (exp(bf th) - 1) for th >= 0 (flexion),
///   M(th) = +(k0/be) (exp(-be th) - 1) for th < 0 (extension),
/// C1 at th = 0 with neutral stiffness k0; plus the disc's axial compression stiffness.
struct SpinalJointSpec {
  std::string coordinate;
  double neutral_stiffness = 0.0;    ///< k0, N m / deg in the file
  double flexion_exponent = 0.0;     ///< bf, 1/deg in the file
  double extension_exponent = 0.0;   ///< be, 1/deg in the file
  double compression_stiffness = 0.0;  ///< N/m
  double disc_area = 0.0;            ///< m^2 (endplate area, for intradiscal pressure)
  /// Pa: the nucleus pressure of the unloaded disc (osmotic swelling held by the annulus and
  /// endplates), added to the load-borne pressure; it follows the disc's hydration.
  double swelling_pressure = 0.0;
  std::string source;
  SourceLoc loc;
};

/// Passive coordinate-limit moment (joint capsule): double exponential
///   M(q) = k1 exp(k2 (q - upper)) + k3 exp(k4 (q - lower))   (Anderson & Pandy form; q rad),
/// k1 < 0 < k2 resists beyond the upper limit, k3 > 0 > k4 below the lower limit.
struct CoordinateLimitSpec {
  std::string coordinate;
  double lower_deg = 0.0, upper_deg = 0.0;
  double k1 = 0.0, k2 = 0.0, k3 = 0.0, k4 = 0.0;
  bool mirror = false;
  std::string source;
  SourceLoc loc;
};

/// A body-fixed contact sphere (a bony landmark under its soft tissue: radius = tissue
/// thickness) that postures bring into contact with the floor, a seat or a backrest.
struct ContactSphereSpec {
  std::string name;
  std::string body;
  Vec3 position = Vec3::Zero();
  double radius = 0.0;
  bool mirror = false;
  std::string source;
  SourceLoc loc;
};

/// Settings of the simulated clinical tests.
struct ClinicalSpec {
  double end_feel_torque = 40.0;       ///< N m, passive hip extension moment ending the SLR
  double knee_end_feel_torque = 15.0;  ///< N m, passive knee flexion moment ending the popliteal test
  bool pelvis_free = false;       ///< SLR with the pelvis free to rotate (else stabilized)
  /// SLR the default hamstrings are calibrated to (deg, both sides) unless the user sets
  /// `hamstrings*.slr_deg` or `hamstrings*.slack_length_scale`; 0 = no default calibration.
  double default_slr_deg = 0.0;
  std::string source;
  SourceLoc loc;
};

/// Spinal stability (Bergmark 1989; Cholewicki & McGill 1996): the muscle forces must leave the
/// spinal column stable, the stiffness matrix of the free intervertebral coordinates positive
/// definite with its smallest eigenvalue at least `margin`, each active muscle stiff as
/// k = muscle_stiffness_gain * F / L (its active force F over its length L), raised by the
/// reflexes' share of the stabilising stiffness: k / (1 - reflex_share). docs/postures.md.
struct StabilitySpec {
  bool enabled = false;
  double muscle_stiffness_gain = 10.0;  ///< q, dimensionless
  double reflex_share = 0.0;            ///< in [0, 1): reflex part of the muscles' stabilising stiffness
  /// Intervertebral joints stiffen under compression P: their tangent stiffness in the stability
  /// matrix is times 1 + preload_stiffening (1 - exp(-P / preload_force)) (0: no stiffening).
  double preload_stiffening = 0.0;
  double preload_force = 435.0;  ///< N
  double margin = 0.0;                  ///< N m/rad
  std::string source;
  SourceLoc loc;
};

struct ModelSpec {
  std::string name;
  std::string file;  ///< the file it was read from (for messages)
  double reference_height_m = 1.75;
  double reference_mass_kg = 75.0;
  Vec3 gravity = Vec3(0.0, -9.81, 0.0);
  std::vector<ParamSpec> parameters;
  std::vector<BodySpec> bodies;
  std::vector<JointSpec> joints;
  std::vector<LandmarkSpec> landmarks;
  std::vector<WrapSpec> wraps;
  std::vector<MuscleSpec> muscles;
  std::vector<LigamentSpec> ligaments;
  std::vector<SpinalJointSpec> spinal_joints;
  std::vector<CoordinateLimitSpec> coordinate_limits;
  std::vector<ContactSphereSpec> contact_spheres;
  ClinicalSpec clinical;
  StabilitySpec stability;
  SourceLoc loc;
};

}  // namespace lumbosim
