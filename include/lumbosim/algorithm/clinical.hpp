#pragma once
/// @file clinical.hpp
/// Simulated clinical tests of hamstring length, done on the model the way clinics do them,
/// and the calibration that makes a model's hamstrings reproduce a measured SLR.
///
/// Supine reference: all coordinates at their defaults except the lumbar spine (0 flexion),
/// knees and ankles (0); the pelvis keeps its default (standing) tilt tau0 relative to the
/// table's vertical, so a thigh lying on the table has hip flexion tau0 and the thigh angle
/// to the table is T = hip_flexion - tau0 + phi, phi the posterior pelvic rotation.
#include <string>

#include "lumbosim/core/error.hpp"
#include "lumbosim/data/data.hpp"
#include "lumbosim/model/model.hpp"

namespace lumbosim {

enum class Side { Right, Left };

struct SlrResult {
  double angle = 0.0;             ///< rad, thigh vs table at end feel
  double hip_flexion = 0.0;       ///< rad, hip flexion (femur vs pelvis) at end feel
  double pelvic_rotation = 0.0;   ///< rad, posterior pelvic rotation (0 when stabilized)
  bool reached = true;            ///< false if the end-feel torque is not reached in the hip range
};

/// Passive hip moment (N m, extension positive) of one leg in the supine reference with the
/// given hip and knee flexion (rad). Uses every passive element (muscles, capsule limits).
double passive_hip_extension_moment(const Model& model, Data& data, Side side, double hip_flexion, double knee_flexion);

/// Passive straight-leg raise: knee extended, hip flexed until the passive hip extension moment
/// reaches model.clinical.end_feel_torque. With model.clinical.pelvis_free the pelvis rotates
/// posteriorly until the resisting moments of the lumbar spine (thorax on the table) and the
/// other hip (thigh on the table) balance the same torque.
SlrResult simulate_slr(const Model& model, Data& data, Side side);

/// Popliteal angle (rad): hip at 90 deg (thigh vertical, pelvis stabilized), knee extended
/// until the passive knee flexion moment reaches model.clinical.knee_end_feel_torque. Returned
/// as the remaining knee flexion (0 = knee straight).
double simulate_popliteal_angle(const Model& model, Data& data, Side side);

/// Scales the tendon slack lengths of the muscles of `group` (e.g. `hamstrings`,
/// `hamstrings_r`) by the factor that makes the simulated SLR equal `target` (rad) on each side
/// the group covers, by bracketed root finding (bisection on a monotone function, 1e-4 deg).
/// Throws InputError (key `<group>.slr_deg`, at `loc`) when the target is outside the range the
/// scale interval [0.5, 2] can reach.
void calibrate_slr(Model& model, const std::string& group, double target, const SourceLoc& loc);

}  // namespace lumbosim
