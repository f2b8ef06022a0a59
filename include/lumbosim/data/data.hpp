#pragma once
/// @file data.hpp
/// Data: every buffer an algorithm writes, sized once from a Model. Algorithms never allocate
/// after construction. One Data per thread; the Model is shared.
#include <cstdint>
#include <vector>

#include "lumbosim/core/spatial.hpp"
#include "lumbosim/model/model.hpp"

namespace lumbosim {

struct Data {
  explicit Data(const Model& model);

  // Position stage (forward_kinematics)
  std::vector<SE3> X_PM;   ///< mobilizer frame in parent mobilizer frame (size nv)
  std::vector<SE3> X_WM;   ///< mobilizer frame in world (size nv)
  std::vector<Vec3> axis_W;  ///< mobilizer axis in world (size nv): X_WM.R * axis
  std::vector<SE3> X_WB;   ///< body frame in world (size nbody; [0] is ground = identity)
  std::vector<Vec6> S;     ///< motion subspace of each mobilizer, in its own frame

  // Velocity / acceleration stage (spatial vectors in the mobilizer frame)
  std::vector<Vec6> v, a, f;

  // Dynamics outputs
  VecX tau;   ///< rnea output / generalized forces (size nv)
  VecX qdd;   ///< aba output (size nv)
  MatX M;     ///< crba output, joint-space inertia (nv x nv, full symmetric)
  VecX nle;   ///< scratch: non-linear effects

  // Articulated-body scratch
  std::vector<Mat6> Ia;  ///< articulated / composite inertias
  std::vector<Vec6> pa, U;
  VecX D, u;

  // Paths (compute_paths): lengths (m), lengthening speeds (m/s), moment arms R = -dl/dq
  VecX path_length, path_speed;
  MatXr path_moment_arm;  ///< npath x nv, row-major (each path's moment arms are contiguous)
  /// Wrap state per path point (segment to the next point): active flag and the tangent points
  /// in world coordinates, for drawing and for tests.
  std::vector<std::uint8_t> seg_wrapped;
  /// Effective points of every path (points, then tangent points of active wraps): body, world
  /// position and unit pull (the force a unit tension applies to that body there). Path p uses
  /// entries [eff_adr[p], eff_adr[p] + eff_num[p]). Capacity: 3 per path point.
  std::vector<int> eff_adr, eff_num, eff_body;
  std::vector<Vec3> eff_p_W, eff_pull_W;
  std::vector<Vec3> seg_T1_W, seg_T2_W;

  // Passive forces (passive_forces): per element and as generalized forces
  VecX muscle_passive_force;  ///< N, per muscle (a = 0)
  VecX muscle_passive_stiffness;  ///< N/m, per muscle: d muscle_passive_force / d path length
  /// m, per muscle: the projected fibre length of the last compliant-tendon passive equilibrium
  /// (the next one's starting guess; -1: none yet)
  VecX muscle_fiber_guess;
  VecX ligament_force;        ///< N, per ligament
  VecX spinal_moment;         ///< N m, per intervertebral joint, on its flexion coordinate
  VecX limit_moment;          ///< N m, per coordinate limit
  VecX tau_passive;           ///< generalized passive force (size nv), acting on the coordinates

  // Centre of mass
  double mass = 0.0;
  Vec3 com_W = Vec3::Zero();
};

}  // namespace lumbosim
