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
/// Derivatives of an active cylinder wrap's tangent points (wrap-frame coordinates) in its end
/// points: dT1/dP, dT1/dS, dT2/dP, dT2/dS (analytic, from the closed form of wrap_cylinder).
/// @pre wrap_cylinder(P, S, r, side).active
void wrap_cylinder_derivatives(const Vec3& P, const Vec3& S, double r, int side, Mat3& dT1dP, Mat3& dT1dS,
                               Mat3& dT2dP, Mat3& dT2dS);

/// Ellipsoid with semi-axes `radii` along the wrap frame's axes, centred at its origin; active
/// when the straight segment P->S enters it. The wrapped path is P -> T1 (tangent) -> geodesic
/// on the surface -> T2 -> S (tangent): the geodesic is integrated from T1 (RK4 on the geodesic
/// equation of the implicit surface) and Newton iterations adjust T1, its direction and the
/// arc length until both straight segments are tangent to the geodesic's ends (4 equations),
/// starting from the great-circle wrap of the affinely mapped unit sphere (`side` chooses its
/// direction about z, 0 the shorter way). The result is a geodesic to integration accuracy, so
/// treating T1 and T2 as points of the wrap body gives the moment arms (envelope theorem).
/// Returns inactive as well when the Newton iterations fail to converge (status in `converged`).
struct EllipsoidWrap {
  bool active = false;
  bool converged = false;
  Vec3 T1 = Vec3::Zero(), T2 = Vec3::Zero();
  double arc = 0.0;     ///< geodesic length T1 -> T2
  double length = 0.0;  ///< total P -> T1 -> T2 -> S
  int iterations = 0;
};
EllipsoidWrap wrap_ellipsoid(const Vec3& P, const Vec3& S, const Vec3& radii, int side);

/// Lengths, speeds (if qd is given) and moment arms of every path.  Fills data.path_length,
/// data.path_speed, data.path_moment_arm, data.seg_*.  @pre forward_kinematics(model, data, q)
void compute_paths(const Model& model, Data& data);
/// One path (length, moment-arm row, effective points) @pre forward_kinematics. Paths are
/// independent: a caller that knows which paths a motion changes may recompute only those.
void compute_path(const Model& model, Data& data, int path);
void compute_paths(const Model& model, Data& data, ConstVecRef qd);

}  // namespace lumbosim
