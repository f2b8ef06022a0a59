#pragma once
/// @file posture.hpp
/// Predicted posture and lumbar loads.
///
/// A posture is data (PostureSpec): prescribed coordinates, free coordinates, an optional
/// prescribed thigh inclination (hip flexion then follows the pelvis: hip = thigh + tilt, the
/// legs resting on seat or floor), targets (trunk inclination, lordosis) and whether each
/// segment rests on a support (lying). The free coordinates settle where gravity, passive
/// tissues and muscles balance with least muscle effort:
///
///   min_{x, a} sum w a^p   s.t.   G^T (R^T F(a, q(x)) + tau_passive(q(x)) - g(q(x))) = 0,
///                                 targets(q(x)) = 0,  0 <= a <= 1,
///
/// solved by sequential quadratic programming: at each iterate the equilibrium is linearised in
/// x (analytic derivatives at fixed activations, algorithm/derivatives.hpp) and the QP in (a, reserves,
/// dx) is solved by the StaticOptimizer with dx as a free, trust-weighted variable; steps are
/// accepted on the reduced merit (least effort at fixed x plus target penalties), with
/// backtracking, a trust weight that follows the line search, and the pelvis height solved
/// exactly for the vertical balance at every trial point (docs/postures.md). Rigid-tendon muscle forces are used (F = a F_act
/// + F_pass, F_pass from the tendon model at rest).
#include <cmath>
#include <cstdint>
#include <Eigen/Eigenvalues>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "lumbosim/algorithm/alignment.hpp"
#include "lumbosim/algorithm/contact.hpp"
#include "lumbosim/algorithm/derivatives.hpp"
#include "lumbosim/algorithm/static_opt.hpp"
#include "lumbosim/data/data.hpp"
#include "lumbosim/model/compile.hpp"
#include "lumbosim/model/model.hpp"

namespace lumbosim {

struct PostureTarget {
  /// thorax_inclination_deg (trunk axis T12-L1 -> C7 from vertical, forward positive) |
  /// lumbar_lordosis_deg | pelvic_tilt_deg | hand_height_m (fingertips of hanging arms above
  /// the floor: shoulder landmarks' height minus 0.44 of stature)
  std::string quantity;
  double value = 0.0;    ///< deg (m for hand_height_m)
  SourceLoc loc;
};

/// An environment plane and the contact spheres (names; without `_r`/`_l` both sides) that
/// can touch it.
struct PostureContact {
  std::string name;
  Vec3 point = Vec3::Zero();
  Vec3 normal = Vec3::UnitY();
  double stiffness = 1e5;  ///< N / m^1.5
  double friction = 0.5;   ///< Coulomb coefficient
  double extent_min = -1e30, extent_max = 1e30;  ///< m along the plane's tangent n x e_z from point
  double radius = 0.0;     ///< m; > 0: a cylinder along e_z through point (lumbar support)
  std::vector<std::string> spheres;
  SourceLoc loc;
};

/// A surface's tangent n x e_z measured from +X toward +Y (rad): a flat seat 0, its front edge
/// raised positive, a backrest reclined 10 deg behind vertical -80 deg.
inline double tangent_angle(const PostureContact& c) { return std::atan2(-c.normal.x(), c.normal.y()); }
/// Whether a plane is finite along its tangent (extent_min / extent_max set).
inline bool has_extent(const PostureContact& c) { return c.extent_min > -1e29 || c.extent_max < 1e29; }

struct PostureSpec {
  std::string name;
  std::string description;
  /// Prescribed coordinate values in file units (deg / m); a name without `_r`/`_l` that the
  /// model has with both suffixes applies to both sides.
  std::vector<std::pair<std::string, double>> coordinates;
  std::optional<double> thigh_inclination_deg;  ///< femur from vertical, forward positive
  std::vector<std::string> free;                ///< coordinates solved for
  /// Held (prescribed) coordinates whose moment balance is nevertheless required: muscles and
  /// contact friction must balance them (e.g. a chair sitter's knees, the feet held in place on
  /// the floor), where otherwise the held coordinate absorbs its moment (held_forces).
  std::vector<std::string> balanced;
  std::vector<PostureTarget> targets;
  bool supported = false;  ///< lying: each segment's weight is carried at its COM by the support
  /// With a thigh inclination and contacts, the legs settle on their supports (whole-body moment
  /// balance). false: the legs are held at the set inclination (a guided stance); the moment
  /// they take is reported as PostureResult::external_moment_residual.
  bool settle_legs = true;
  std::vector<PostureContact> contacts;
  SourceLoc loc;
};

/// Applies the named overrides that belong to the posture (the rest, model parameters and the
/// coordinates the posture leaves at the model's values, are returned for compile()):
///   - a coordinate the posture prescribes, `knee_flexion=45` (deg, m; a name without `_r`/`_l`
///     sets both sides, `knee_flexion_r=45` one side);
///   - `thigh_inclination_deg` where the posture sets one;
///   - an existing target, `targets.thorax_inclination_deg=20` (`targets.QUANTITY`, its unit);
///   - a contact surface's geometry and law, `SURFACE.KEY` for a surface the posture lists:
///     `height` (m, the reference point's y: a seat's height, a roll's axis), `x` (m, the
///     reference point's x: a backrest's or a roll's fore-aft place), `rotate_deg` (the surface
///     turned about its reference point, about +Z: a seat's front edge up, a backrest reclined,
///     from the file's orientation; planes only), `extent_min` / `extent_max` (m along the tangent n x e_z: a
///     seat's depth, a backrest's height), `radius` (m, cylinders), `stiffness` (N/m^1.5),
///     `friction`.
/// A coordinate the posture solves for cannot be set (an error names it), nor hip flexion where
/// the thigh inclination sets it, nor a key a surface does not have; every error names the
/// override (file "--set" or a scenario) and the key.
std::vector<Override> apply_posture_overrides(PostureSpec& posture, const std::vector<Override>& overrides);

struct PostureSettings {
  StaticOptSettings qp;
  int max_iterations = 1000;
  double step_tolerance = 1e-5;    ///< rad (0.0006 deg), on the largest coordinate step
  double merit_tolerance = 1e-10;  ///< relative merit decrease below which the iteration stops
  double target_scale = 200.0;     ///< N m per rad: weight of target rows against equilibrium rows
  double initial_trust = 1.0;     ///< cost of a 1-rad step, in effort units
  /// Cost of friction in the least-effort criterion: w (f_t / (mu f_n))^p per contact, the
  /// friction force measured against its Coulomb bound as a muscle force against its strength
  /// (> 0: free friction leaves its share between the contacts undetermined).
  double friction_weight = 1.0;
  /// Jacobians of the equilibrium in the free variables: analytic (algorithm/derivatives.hpp;
  /// used whenever the contact geometry is the analytic one and no path wraps an ellipsoid) or
  /// forward differences.
  bool analytic_jacobian = true;
  /// Run all five pelvic-tilt starts of a solve from scratch (0, -15, -30, +15, -45 deg). By
  /// default the third is skipped when the second joined the first's basin and the effort there
  /// is below PostureSolver::kIdleEffort (muscles nearly idle), and the last two run only when
  /// the best of the first three is above PostureSolver::kStrainedEffort (docs/performance.md).
  bool all_starts = false;
  /// Choose the posture with the spinal stability co-activation in the criterion (Model::
  /// stability): the SQP's merit is the stabilised effort and its steps carry the active
  /// stability cuts, linearised in the posture by forward differences. Off by default: slower
  /// (a few times), and the default posture is the least-effort one, stabilised afterwards.
  bool stable_posture = false;
};

/// One intervertebral level's load, in its mid-disc frame (acting on the upper vertebra).
struct LevelLoad {
  std::string level;        ///< e.g. "L4_L5"
  double compression = 0;   ///< N, positive when the disc is compressed
  double shear_ap = 0;      ///< N, anterior shear on the upper vertebra positive
  double shear_lateral = 0; ///< N, toward the right positive
  double moment = 0;        ///< N m about the flexion axis on the upper vertebra (flexion positive)
  double idp = 0;           ///< Pa, swelling pressure + 1.5 * compression / disc area (Nachemson 1960)
  double subchain_residual = 0;  ///< N m: moment balance about the joint axis of everything above
};

struct PostureResult {
  SolveStatus status = SolveStatus::Failed;
  std::string message;
  VecX q;                 ///< full configuration (internal units)
  VecX activations, muscle_forces;  ///< per muscle
  VecX reserves;                    ///< per equilibrium row (the free coordinates, then pelvis_tx)
  VecX passive_muscle_forces;       ///< N, per muscle: the passive part of muscle_forces
  VecX ligament_forces;             ///< N, per ligament
  VecX disc_moments;                ///< N m, passive moment of each intervertebral joint (model.spinal_coord order)
  Alignment alignment;
  double trunk_inclination = 0;  ///< rad, trunk axis T12-L1 -> C7 from vertical, forward positive
  std::vector<LevelLoad> loads;
  double equilibrium_residual = 0;  ///< N m, largest reduced equilibrium residual (muscles + reserves)
  double kkt_residual = 0;
  double effort = 0;
  std::vector<ContactPoint> contacts;
  double contact_force_total = 0;   ///< N, sum of normal contact forces
  double friction_total = 0;        ///< N, sum of |tangential contact forces|
  /// Thigh inclination from vertical (rad) when the posture sets one and the body rests on
  /// contacts: the legs settle on their supports (a small deviation from the set value).
  double thigh_inclination = 0;
  /// Whole-body balance of the external forces (gravity, contact normal and friction forces):
  /// |sum F| (N) and |sum M_z| (N m, about the root body's origin: any point once the forces
  /// balance); zero at equilibrium.
  double external_force_residual = 0, external_moment_residual = 0;
  /// Per coordinate (N m for rotations, N for translations): the generalized force a held
  /// (prescribed) coordinate's guide supplies at the solution, g - (muscle + passive + contact
  /// forces) on that coordinate; zero on the coordinates the equilibrium rows balance. In chair
  /// postures the knees and ankles are held at their set angles, and this is the moment they
  /// absorb (no muscle or friction is asked to balance it; docs/postures.md). Zero when lying.
  VecX held_forces;
  /// Whether coordinate k is held (prescribed and not balanced by any equilibrium row).
  std::vector<std::uint8_t> held;
  /// Spinal stability (Model::stability; docs/postures.md): the smallest eigenvalue of the
  /// stiffness matrix of the free intervertebral coordinates (N m/rad, > 0: stable) with the
  /// muscles' short-range stiffness at the final activations, and with every muscle at rest (the
  /// passive column under its loads). NaN when the posture frees no intervertebral coordinate.
  double spine_stiffness_min = std::numeric_limits<double>::quiet_NaN();
  double spine_stiffness_min_passive = std::numeric_limits<double>::quiet_NaN();
  /// Cutting-plane rounds the muscle solution needed (0: least effort was already stable).
  int stability_iterations = 0;
  int iterations = 0;
  double seconds = 0;
};

/// Time integrator of the forward dynamics.
enum class Integrator {
  SemiImplicitEuler,      ///< symplectic Euler (explicit in the forces: stiff contacts need tiny steps)
  LinearlyImplicitEuler,  ///< backward Euler linearised (Rosenbrock-Euler): stable on stiff contact
};

/// Forward simulation of a posture's free coordinates (the others prescribed).
struct ForwardSettings {
  Integrator integrator = Integrator::SemiImplicitEuler;
  /// Hold the legs (thigh settling rotation, free coordinates below the hips) where they settled.
  bool hold_legs = true;
  int jacobian_interval = 1;  ///< steps between Jacobian updates of the implicit integrator
  /// The implicit integrator's force Jacobians in closed form (else forward differences; always
  /// differences with Bullet contact geometry or ellipsoid wraps).
  bool analytic_jacobian = true;
  /// m/s: slip velocity at which regularised friction reaches tanh(1) = 76 % of mu N
  /// (contact.hpp); smaller is closer to Coulomb's stick but stiffer (implicit integrator).
  double friction_velocity = 0.2;
  double record_interval = 0.0;  ///< s between samples in ForwardResult (0: none)
  double dt = 2e-4;        ///< s
  double duration = 3.0;   ///< s
  /// N m s/rad on every free rotational coordinate: the settling damper, for runs that settle
  /// onto a static posture. It is not tissue: set it (and damping_translation) to 0 for a
  /// transition, where it resists every motion (2000 N s/m held a rising sitter down by
  /// hundreds of newtons: docs/postures.md, sit-to-stand, session 9).
  double damping = 5.0;
  double damping_translation = 2000.0;  ///< N s/m on free translations (the body on its contacts)
  /// Computed muscle control (Thelen & Anderson 2006 style) when a reference posture is given:
  /// every control_interval the excitations are the static-optimisation activations that give
  /// the acceleration track_kp (x_ref - x) - track_kv xd.
  double track_kp = 100.0;        ///< 1/s^2
  double track_kv = 20.0;         ///< 1/s
  double control_interval = 0.005;  ///< s
  /// Computed muscle control plans the contact forces with the muscles: the desired
  /// accelerations are met by activations and by contact forces inside each touching point's
  /// friction cone (two cone-edge columns per point, cost contact_weight (f / weight)^2), instead
  /// of taking the current contact forces as given. The root (pelvis) is moved only through its
  /// contacts, so without this the controller cannot push on the floor to balance it.
  bool plan_contacts = false;
  double contact_weight = 1e-2;
  /// Planted feet (transitions such as sit-to-stand; the legs free, hold_legs = false): the
  /// contact spheres of the surfaces plant_surfaces that are within plant_tolerance of them at
  /// the start are held at their start positions by a constraint in the sagittal plane (a weld
  /// of each body: its first sphere in both directions, its others normal to the surface),
  /// enforced on the velocities each step with the position drift corrected over
  /// plant_time_constant. Their compliant contact is replaced by the constraint force. A
  /// support does not pull: an anchor whose normal force would be negative is released and its
  /// sphere returns to compliant contact. Computed muscle control plans the weld's forces with
  /// the muscles: normal forces as columns bounded by 0 and the body's weight, tangential forces
  /// free, both of cost contact_weight (f / weight)^2. ForwardResult reports the first
  /// surface's normal force and centre of pressure.
  bool plant_feet = false;
  /// Surfaces whose touching spheres are planted, e.g. {"floor", "seat"} (the ischia too).
  std::vector<std::string> plant_surfaces{"floor"};
  /// Scheduled releases (surface name, s): from that time the surface's anchors are released,
  /// as a tracking simulation takes its contact timing from the reference (e.g. seat-off).
  std::vector<std::pair<std::string, double>> plant_releases;
  double plant_tolerance = 0.01;      ///< m
  double plant_time_constant = 0.02;  ///< s
};

struct ForwardResult {
  VecX q;                  ///< final configuration
  VecX qdot_free;          ///< final free-coordinate velocities
  VecX activations;        ///< final activations
  int steps = 0;
  bool finite = true;
  /// Samples every ForwardSettings::record_interval (if > 0): time (s), configuration, and the
  /// total normal force on each contact surface (N, in the posture's contact order).
  std::vector<double> time;
  std::vector<VecX> q_samples;
  std::vector<VecX> surface_force_samples;
  /// With planted feet, per sample: the constraint's total force normal to the plant surface
  /// (N, pushing the body away from it positive; also added to surface_force_samples) and its
  /// centre of pressure along the surface's sagittal tangent (m, world x on a floor; NaN when
  /// the surface carries no load).
  std::vector<double> plant_normal_samples, plant_cop_samples;
};

/// A reference motion for computed muscle control: configurations q (full, internal units) at
/// increasing times t (s), joined by cubic Hermite segments through the knots with
/// central-difference knot velocities (zero at the first and last knot: the reference is held
/// before and after), so that the control gets the reference's position, velocity and
/// acceleration.
struct MotionReference {
  std::vector<double> t;
  std::vector<VecX> q;
};

/// A reference's knot velocities: central differences, zero at the first and last knot.
std::vector<VecX> reference_knot_velocities(const std::vector<double>& t, const std::vector<VecX>& q);
/// The reference (knots q at times t, knot velocities v) at `time`: position, velocity and
/// acceleration of the cubic Hermite segment that holds it, the end knots held outside
/// [t.front(), t.back()]. `knot` is the segment to search from (0 at first; it only advances,
/// for increasing times). No allocation once x, xd and xdd are sized.
void sample_reference(const std::vector<double>& t, const std::vector<VecX>& q, const std::vector<VecX>& v, double time,
                      size_t& knot, VecX& x, VecX& xd, VecX& xdd);

/// Workspace for posture solves on one Model (one per thread). Sized once; reused.
class PostureSolver {
 public:
  /// `detector` (optional, not owned) replaces the analytic sphere-plane contact geometry,
  /// e.g. with Bullet's (bullet/bullet_contact.hpp).
  PostureSolver(const Model& model, const PostureSpec& posture, ContactDetector* detector = nullptr);
  /// Solves from the posture's initial configuration with a few pelvic-tilt starts, keeping
  /// the converged least-effort solution (or from `q0` alone if given).
  PostureResult solve(const PostureSettings& settings = {}, const VecX* q0 = nullptr);

  /// Reduced equilibrium residual r = A a - b at configuration x (free coordinates) and
  /// activations a; also fills A and b. Exposed for tests and benchmarks.
  void equations(const VecX& x, MatX& A, VecX& b);
  /// equations() at x_base, also kept as the base point of equations_moved().
  void linearize_at(const VecX& x_base, MatX& A, VecX& b);
  /// equations() at x = x_base + a change of free variable j alone, x_base from the last
  /// linearize_at(): only the muscle and ligament paths that variable j moves are recomputed
  /// (the same result as equations(x), faster; used for finite differences).
  void equations_moved(const VecX& x, int j, MatX& A, VecX& b);
  /// Analytic Jacobian Jx = d(A a - b)/dx at the x of the last equations() call, activations a
  /// (muscles, then friction pairs) held fixed. Returns false (Jx untouched) where it does not
  /// apply: a non-analytic contact detector or an ellipsoid wrap.
  bool analytic_jacobian(const VecX& a, MatX& Jx);
  /// Target residuals c (value - target: rad, or hand height / 0.5 m) at x and their analytic
  /// Jacobian in the free variables.
  void targets_and_jacobian(const VecX& x, VecX& c, MatX& Jc);
  VecX full_q(const VecX& x) const;
  /// The free variables at configuration q (inverse of full_q on the free part).
  VecX x_of(const VecX& q) const;

  /// Forward dynamics of the free coordinates, others held at their prescribed values:
  ///   (G^T M G) xdd = G^T (R^T F(a, l, v) + tau_passive + tau_contact - h(q, G xd)) - c xd,
  /// with h = C qd + g from RNEA; rigid-tendon muscles with force-velocity, and compliant-tendon
  /// muscles with their fibre length as a state (damped equilibrium model,
  /// compliant_fiber_velocity), started in static equilibrium; first-order activation dynamics
  /// driven by `excitations`; regularised Coulomb friction at the contacts; a joint damper c.
  /// Semi-implicit (symplectic) Euler: velocities from the accelerations, then positions; fibre
  /// lengths and activations explicitly. The legs stay at the inclination they settled on.
  /// A passively held posture (lying) settles on the static prediction with constant
  /// excitations; upright postures are inverted pendulums and need feedback: with `q_track`
  /// (the predicted posture) computed muscle control drives the excitations.
  ForwardResult simulate(const VecX& q0, const VecX& excitations, const VecX& activations0,
                         const ForwardSettings& settings = {}, const VecX* q_track = nullptr);
  /// The same, tracking a reference motion (e.g. a sit-to-stand): the desired acceleration is
  /// the reference's plus the PD terms, track_kp (x_ref - x) + track_kv (xd_ref - xd).
  ForwardResult simulate(const VecX& q0, const VecX& excitations, const VecX& activations0,
                         const ForwardSettings& settings, const MotionReference& motion);
  /// Inverse kinematics on planted feet: moves the coordinates of the legs (each hip flexion and
  /// the coordinates below it) so that the contact spheres of surface `surface` that are within
  /// `tolerance` of it in `q_feet` return to where they are in q_feet (the first sphere of a
  /// body in both sagittal directions, its others normal to the surface), the rest of q held.
  /// Levenberg-Marquardt (a straight knee makes the legs' Jacobian singular); returns the
  /// largest remaining distance (m). Not for hot loops: it allocates its workspaces.
  double place_feet(VecX& q, const VecX& q_feet, const std::string& surface = "floor", double tolerance = 0.01);
  int nfree() const { return nx_; }
  /// Number of equilibrium rows: one per free variable, plus the horizontal force balance of
  /// the whole body (pelvis_tx row) when the body rests on contacts.
  int nrows() const { return nrow_; }
  /// Free coordinates (excluding the thigh-settling variable, which is not a coordinate).
  const std::vector<int>& free_coordinates() const { return free_; }
  Data& data() { return data_; }
  const Model& model() const { return model_; }

 private:
  double target_value(int k) const;  ///< current value (rad) of target k, @pre FK
  double trunk_axis_inclination() const;
  double merit(const VecX& x, const PostureSettings& st, StaticOptimizer& qp);

  void initialize_height(VecX& x);
  void initialize_legs(VecX& x);
  /// Multi-start: the best converged solution so far and its merit; a later start that comes
  /// within kMergeDistance of it (rad or m, every variable: 2.9 deg, 5 cm) without having
  /// descended below its merit has joined its basin and stops.
  VecX merge_x_;
  double merge_merit_ = 0.0;
  double last_merit_ = 0.0;  ///< the merit at the end of the last solve_from
  bool merged_ = false;
  static constexpr double kMergeDistance = 0.05;
  /// Multi-start: below this least-effort value (sum w a^2) the third start is skipped when the
  /// second joined the first's basin.
  static constexpr double kIdleEffort = 0.04;
  /// Multi-start: above this least-effort value the solution is strained and two further
  /// starts are tried.
  static constexpr double kStrainedEffort = 0.1;
  double vertical_imbalance(const VecX& x);
  /// The same at the pose data_ holds (kinematics current).
  double contact_imbalance();
  /// pelvis_ty at which the contacts carry the body's weight, the other variables fixed.
  bool settle_height(VecX& x);
  bool project_height_ = false;
  double weight_ = 0.0;
  double x_min(int k) const;
  double x_max(int k) const;
  void set_q(const VecX& x, VecX& q) const;
  PostureResult solve_from(VecX x, const PostureSettings& st);
  /// The result at the posture x the SQP ended on (res.status its convergence): the final muscle
  /// solution, stabilised if `stabilise`, loads, residuals and messages.
  /// `at_x`: the last merit evaluation was at x (data_, Am_, bm_ and its optimiser hold x's
  /// equations and muscle solution), which a deferred start's finish reuses.
  void finish(const VecX& x, const PostureSettings& st, PostureResult& res, bool stabilise, bool at_x = false);
  VecX last_x_;  ///< the x the last solve_from ended on, and its SQP status
  SolveStatus last_status_ = SolveStatus::Failed;
  bool defer_stability_ = false;  ///< multi-start: solve_from leaves the stabilisation to solve()
  /// Newton on b(x) = 0 (every muscle at rest); true if it converges inside the ranges.
  bool passive_equilibrium(VecX& x, const PostureSettings& st, int& iterations);
  /// Planted spheres (ForwardSettings::plant_feet): contact sphere, body, body-fixed centre,
  /// world target, and whether the tangential row is constrained too.
  struct Anchor {
    int sphere = -1, body = -1, plane = -1;
    Vec3 p_B = Vec3::Zero(), target = Vec3::Zero();
    bool tangential = false;
    bool released = false;
  };
  /// Appends the anchors of surface `surface` at q; returns the surface's index.
  int find_anchors(const VecX& q, const std::string& surface, double tolerance, std::vector<Anchor>& out);
  /// Constraint rows of the anchors at the pose data_ holds (full coordinates): J (rows x nv)
  /// and the position error phi (rows); zero rows for released anchors.
  void anchor_rows(const std::vector<Anchor>& anchors, MatX& J, VecX& phi, Mat3X& J3);
  ForwardResult simulate_impl(const VecX& q0, const VecX& u0, const VecX& a0, const ForwardSettings& st,
                              const VecX* q_track, const MotionReference* motion);

  // Spinal stability (posture_stability.cpp): the muscle solution at the final posture is
  // re-solved with linear cuts v^T K(a) v >= margin until the stiffness matrix K(a) of the free
  // intervertebral coordinates, affine in the activations, is positive definite.
  /// Stabilises the final muscle solution at x (@pre equations(x, A, b) and fixed_ solved at x;
  /// on return data_ is again at x). Returns the optimiser holding the result (fixed_ if the
  /// least-effort solution was already stable) and sets the result's stability fields;
  /// `ok` is false when the muscles cannot stabilise the spine.
  StaticOptimizer& stabilize(const VecX& x, MatX& A, VecX& b, const PostureSettings& st, PostureResult& res, bool& ok);
  /// K0 and the muscles' columns at x (@pre equations(x, A, b); the preload from the forces of
  /// activations a_ref; the columns of every crossing muscle or of those active in a_ref).
  void stability_matrices(const VecX& x, MatX& A, VecX& b, const PostureSettings& st, const VecX& a_ref, bool all_columns);
  double stability_eigen(const VecX& a);  ///< smallest eigenvalue of K(a) (eigenvectors in stab_eig_, the first in stab_v_)
  void stability_column(size_t m, double gain);  ///< K_i of muscle stab_m_[m] into stab_Kcols_
  /// Column j of Jx = d(A a - b)/dx by a forward difference of step h from the base point of the
  /// last linearize_at(), whose residual A a - b is in r1_.
  void difference_column(const VecX& x, const VecX& a, int j, double h, MatX& Jx);
  static constexpr double kDifferenceStep = 1e-6;  ///< forward-difference step (rad or m)
  std::vector<int> stab_k_;  ///< x indices of the free intervertebral coordinates
  std::vector<int> stab_m_;  ///< muscles crossing them
  /// The stiffness matrices have a fixed capacity, so that the eigen-solver's workspace lives on
  /// the stack (a dynamic one allocates in every decomposition).
  static constexpr int kMaxSpinal = 24;
  using SpineMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, 0, kMaxSpinal, kMaxSpinal>;
  using SpineVec = Eigen::Matrix<double, Eigen::Dynamic, 1, 0, kMaxSpinal, 1>;
  SpineMat stab_K0_, stab_K_;  ///< K(a) = K0 + reshape(Kcols * a[stab_m_])
  SpineVec stab_v_, stab_w_;
  MatX stab_Kcols_, stab_A_;   ///< per-muscle columns; the cut QP's rows
  VecX stab_F_, stab_b_, stab_vv_, stab_c_, stab_asub_, stab_a0_, stab_kvec_;
  std::vector<char> stab_slot_;
  std::optional<StaticOptimizer> stab_qp_;
  std::optional<Eigen::SelfAdjointEigenSolver<SpineMat>> stab_eig_;  ///< sized once (emplace: the solver is not safely copyable before use)
  // stable_posture: the cuts' modes per slot, their gradients in x, the augmented step QP
  SpineMat stab_V_;
  MatX stab_G_, Aq2_, Bq2_;
  VecX bq2_, stab_ale_, stab_astar_, stab_f0_;
  std::optional<StaticOptimizer> sqp2_;
  PostureResult stab_scratch_;
  StaticOptimizer* merit_qp_ = nullptr;  ///< the optimiser holding the last merit's activations
  SolveStatus merit_status_ = SolveStatus::Failed;  ///< its status
  bool stab_posture_ = false;
  /// The step QP of the stable-posture SQP at x (@pre merit(x) just ran): the SQP's rows plus
  /// the active cuts, each with its gradient in x by forward differences. Returns the optimiser.
  StaticOptimizer& stable_step(const VecX& x, const PostureSettings& st, const MatX& Aq, const MatX& Bq, const VecX& bq,
                               const VecX& mu, SolveStatus& status);
  static constexpr int kStabilityCuts = 6;
  static constexpr int kStabilityIterations = 200;

  const Model& model_;
  PostureSpec spec_;
  std::vector<ContactPlane> planes_;
  std::vector<ContactPoint> contacts_;
  AnalyticContactDetector analytic_;
  ContactDetector* detector_ = nullptr;
  int ty_ = -1, ty_free_ = -1;
  Data data_;
  VecX q_base_;
  std::vector<int> free_, hips_;
  int tilt_ = -1;
  double thigh_ = 0.0;
  bool couple_hips_ = false;
  int nx_ = 0, nm_ = 0, nt_ = 0;
  int kd_ = -1;            ///< index in x of the thigh-settling variable (legs rotating about the hips)
  int tx_ = -1;            ///< pelvis_tx coordinate of the horizontal-balance row, or -1
  std::vector<int> balanced_;  ///< held coordinates with an equilibrium row (after the tx row)
  int nrow_ = 0, nc_ = 0, ncol_ = 0;  ///< equilibrium rows, contact points, QP columns (muscles + 2 per contact)
  MatX Geq_;               ///< nv x nrow_: G and, last, the pelvis_tx unit vector
  std::vector<int> geq_adr_, geq_coord_;  ///< Geq_ by rows, sparse: entries geq_adr_[r] .. geq_adr_[r+1]
  std::vector<double> geq_w_;
  // Paths each free variable moves (the others move rigidly or not at all), and the state of the
  // last full equations() call that equations_moved() starts from.
  std::vector<std::vector<int>> moved_paths_;
  std::vector<std::vector<char>> moved_muscle_, moved_lig_;  ///< per free variable, per muscle / ligament
  VecX base_Fpass_, base_Flig_, base_tau_paths_, base_Fact_, base_dFact_;
  MatXr base_R_;
  MatX base_A_;
  void finish_equations(MatX& A, VecX& b, int moved);  ///< gravity, contact, columns, b
  void keep_base(const MatX& A);  ///< data_ and A (at some x) become equations_moved()'s base
  VecX tauf_work_;
  // analytic Jacobian workspaces
  DerivativeWorkspace dws_;
  MatX K_, KG_;
  VecX fric_per_normal_, tgt_row_;
  std::vector<int> ty_cols_;     ///< {pelvis_ty}: the height Newton's slope is K(ty, ty)
  std::vector<char> ty_mask_;
  bool analytic_ok_ = false;
  // SQP workspaces, sized once: an SQP iteration makes no heap allocation
  // (tests/core/no_alloc_test.cpp).
  std::optional<StaticOptimizer> fixed_, sqp_;
  MatX A_, Aq_, Bq_, Jx_, Jc_, Am_;
  VecX b_, bq_, c_, mu_, a_, r0_, r1_, xp_, xm_, xt_, dx_, bm_, cp_;
  VecX a_base_, a_step_;  ///< activations at x and as the SQP step proposes them (friction for the height)
  /// The merit's multipliers at x and as the SQP step proposes them: a trial point's merit starts
  /// its dual iteration between them (lam_trial_)
  VecX lam_base_, lam_step_, lam_trial_;
  std::vector<int> target_kind_;
  std::vector<double> target_val_;
  MatX G_;
  VecX F_act_, F_pass_, dF_act_, w_;  ///< per muscle: active force per activation, passive force, dF_act/dl
  VecX q_work_, r_work_, tauc_work_;  ///< equations() workspaces
  AlignmentLandmarks lm_;
  int thorax_ = -1, c7_ = -1;
  static constexpr double kHandScale = 0.5;  ///< m of hand height per target-row unit (as 1 rad)
  std::vector<int> shoulders_;
  double arm_length_ = 0.0;
};

/// Loads at every intervertebral joint for muscle tensions F (N, per muscle) at the pose in
/// `data` (@pre passive_forces at that pose, so ligament tensions and path points are set).
std::vector<LevelLoad> intervertebral_loads(const Model& model, Data& data, const VecX& muscle_forces, bool supported,
                                           const std::vector<ContactPoint>* contacts = nullptr);

}  // namespace lumbosim
