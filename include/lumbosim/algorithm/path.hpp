#pragma once
/// @file path.hpp
/// Path geometry of muscles and ligaments: length, lengthening speed and moment arms, with
/// via points and wrapping over cylinders. Geometry only: forces live in muscle.hpp/passive.hpp.
///
/// Moment arms are analytic: with the tangent points of a wrap treated as points fixed to the
/// wrap body (exact for a geodesic, by the envelope theorem),
///   dl/dq = sum_e f_e . J_e,   f_e = u_in(e) - u_out(e),
/// over the path's effective points e (u the unit segment directions, zero across a wrap arc),
/// and the moment arm is R = -dl/dq (positive when the path's tension drives the coordinate
/// in its positive direction).
#include "lumbosim/algorithm/kinematics.hpp"

namespace lumbosim {

/// Result of wrapping one straight segment P->S over a cylinder (wrap-frame coordinates).
struct CylinderWrap {
  bool active = false;
  Vec3 T1 = Vec3::Zero(), T2 = Vec3::Zero();  ///< tangent points
  double length = 0.0;                        ///< total P -> T1 -> arc -> T2 -> S
};

/// Cylinder of radius r with its axis along z through the origin; `side` +1 wraps
/// counter-clockwise about +z, -1 clockwise, 0 the shorter way. Inactive when the straight
/// segment clears the cylinder (or either end lies inside it).
CylinderWrap wrap_cylinder(const Vec3& P, const Vec3& S, double r, int side);

/// Lengths, speeds (if qd is given) and moment arms of every path.  Fills data.path_length,
/// data.path_speed, data.path_moment_arm, data.seg_*.  @pre forward_kinematics(model, data, q)
void compute_paths(const Model& model, Data& data);
void compute_paths(const Model& model, Data& data, ConstVecRef qd);

}  // namespace lumbosim
