#pragma once
/// @file transition.hpp
/// A transition between two predicted postures in forward dynamics: the body starts at rest in
/// one posture's prediction and is driven by computed muscle control along a minimum-jerk
/// reference to another's, in the second posture's environment, then held there. The run says
/// whether the dynamics came to rest on the static prediction (docs/postures.md, "Transitions").
#include <optional>
#include <string>
#include <vector>

#include "lumbosim/algorithm/alignment.hpp"
#include "lumbosim/algorithm/posture.hpp"

namespace lumbosim {

struct TransitionSettings {
  double start = 0.5;   ///< s: the reference leaves the start posture
  double move = 1.5;    ///< s: minimum-jerk motion to the end posture
  double knot_interval = 0.025;  ///< s between the reference's knots
  /// The forward dynamics: duration (s, the whole run), integrator, step, recording. Defaults:
  /// linearly implicit Euler at 5 ms with the legs free on their contacts (hold_legs = false),
  /// the settling damper on, samples every 0.05 s, and friction regularised at 1 mm/s (near
  /// Coulomb's stick, as the statics assume: at ForwardSettings' 0.2 m/s a sitter leaning on a
  /// backrest slides off its seat and a stander's feet creep; docs/postures.md).
  ForwardSettings forward = default_forward();
  /// Settled: at the end every free rotation within settle_angle (rad) and every free
  /// translation within settle_translation (m) of the end posture's prediction, and every free
  /// velocity below settle_speed (rad/s or m/s). The defaults are the forward-dynamics
  /// acceptance of issue 5 (0.5 deg).
  double settle_angle = 0.5 * 3.14159265358979323846 / 180.0;
  double settle_translation = 2e-3;
  double settle_speed = 5e-3;

  static ForwardSettings default_forward() {
    ForwardSettings fs;
    fs.integrator = Integrator::LinearlyImplicitEuler;
    fs.hold_legs = false;
    fs.dt = 5e-3;
    fs.jacobian_interval = 5;
    fs.duration = 10.0;
    fs.record_interval = 0.05;
    fs.friction_velocity = 1e-3;
    return fs;
  }
};

struct TransitionResult {
  ForwardResult forward;  ///< samples: time, q, surface normal forces
  /// Per sample: the sagittal alignment (pelvic tilt, lordosis, segments; radians).
  std::vector<Alignment> alignment;
  /// At the end, against the end posture's prediction: largest free rotation (rad) and
  /// translation (m) deviation, the coordinates where they occur, and the largest free speed.
  double max_angle_deviation = 0, max_translation_deviation = 0, max_speed = 0;
  int worst_angle_coordinate = -1, worst_translation_coordinate = -1;
  bool settled = false;
  double duration = 0;  ///< s simulated (steps x dt)
};

/// "settled", "not_settled" or "diverged" (a non-finite state).
const char* transition_status_name(const TransitionResult& t);

/// The first coordinate at which q leaves `solver`'s configuration space (a coordinate the
/// posture prescribes, or a hip that its thigh inclination couples to the pelvis, differing by
/// more than `tolerance`), or nullopt when q is one of its configurations. A start posture must
/// pass this: the simulation moves only the end posture's free coordinates.
std::optional<int> coordinate_outside(const PostureSolver& solver, const VecX& q, double tolerance = 1e-9);

/// Simulates the transition from `from` (a converged prediction whose configuration lies in
/// `solver`'s space) to `to` (`solver`'s converged prediction). Throws std::invalid_argument
/// for an incompatible start or invalid settings. Not a hot loop: it allocates the reference.
TransitionResult simulate_transition(PostureSolver& solver, const PostureResult& from, const PostureResult& to,
                                     const TransitionSettings& settings = {});

}  // namespace lumbosim
