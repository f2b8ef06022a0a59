#pragma once
/// @file h5_posture.hpp
/// HDF5 output of a solved posture: named quantities with units (attribute `unit` on every
/// dataset). Written to `<path>.tmp` and renamed when complete, so a failure never leaves a
/// partial or corrupt file. Layout (docs/hdf5.md):
///   /              attributes: model, posture, status, message, lumbosim_version
///   /alignment/    pelvic_tilt, sacral_slope, spinopelvic_pt, pelvic_incidence, lumbar_lordosis,
///                  trunk_inclination (deg, scalars); segment_angles (deg, per level), levels
///   /loads/        levels, compression, shear_ap, shear_lateral (N), moment (N m), idp (MPa)
///   /muscles/      names, force (N), activation (1)
///   /coordinates/  names, value (deg or m, unit per entry in `units`)
///   /solver/       equilibrium_residual (N m), kkt_residual, effort, iterations, time (s)
///   /environment/  (with the posture given) surfaces, point_x, point_y (m), normal_x, normal_y,
///                  tangent_angle (deg), stiffness (N/m^1.5), friction, extent_min, extent_max
///                  (m, +-inf when unbounded), radius (m, 0 for planes): as solved, --set included
#include <string>

#include "lumbosim/algorithm/posture.hpp"
#include "lumbosim/algorithm/transition.hpp"

namespace lumbosim::h5 {

/// Writes the report; throws std::runtime_error (naming the path) on any HDF5 failure.
void write_posture(const std::string& path, const Model& model, const std::string& posture, const PostureResult& r);
/// The same, with the posture's environment (its contact surfaces as solved) in /environment.
void write_posture(const std::string& path, const Model& model, const PostureSpec& posture, const PostureResult& r);
/// A transition (simulate_transition) from posture `from` to `to` (its prediction `end`), same
/// atomic write. Layout: attributes model, from, posture, status (settled / not_settled /
/// diverged), lumbosim_version; /time (s, per sample); /coordinates/{names, units, value
/// (samples x coordinates, deg or m), predicted}; /alignment/{pelvic_tilt, lumbar_lordosis (deg
/// per sample), segment_angles (samples x 5), levels}; /surfaces/{names, normal_force (samples x
/// surfaces, N)}; /result/{settled, max_angle_deviation (deg), max_translation_deviation (m),
/// max_speed, steps, duration (s)}; /environment as for a posture.
void write_transition(const std::string& path, const Model& model, const PostureSpec& to, const std::string& from,
                      const PostureResult& end, const TransitionResult& t);

}  // namespace lumbosim::h5
