#pragma once
/// @file reports.hpp
/// JSON/text reports of the muscle and clinical computations (units in the key names).
#include <nlohmann/json.hpp>
#include <string>

#include "lumbosim/algorithm/posture.hpp"
#include "lumbosim/algorithm/transition.hpp"
#include "lumbosim/data/data.hpp"
#include "lumbosim/model/model.hpp"

namespace lumbosim::io {

/// Every muscle at configuration q: {"muscles": [{"name", "mtu_length_m", "fiber_length_m",
/// "passive_force_N", "moment_arms_m": {coordinate: m}}]}. Moment arms are listed for the
/// coordinates the muscle spans (|r| > 1e-9 m or N m/N).
nlohmann::json muscles_report(const Model& model, Data& data, const VecX& q);
std::string muscles_report_text(const nlohmann::json& report);

/// Simulated clinical tests: slr_deg_r/l, popliteal_deg_r/l, pelvic_rotation_deg_r/l, the test
/// settings and the calibrated hamstring parameters.
nlohmann::json clinical_report(const Model& model, Data& data);
std::string clinical_report_text(const nlohmann::json& report);

/// A solved posture: alignment (deg), loads per level, muscle forces, solver status.
nlohmann::json posture_report(const Model& model, const std::string& posture, const PostureResult& r);
std::string posture_report_text(const nlohmann::json& report);

/// The posture's environment as solved (after --set overrides), per contact surface:
/// {"SURFACE": {"point_m": [x, y], "normal": [x, y], "tangent_angle_deg" (the tangent n x e_z
/// from +X toward +Y: a flat seat 0, its front edge raised positive), "stiffness_N_per_m1.5",
/// "friction", "extent_m": [min, max] or null (unbounded), "radius_m" (0: a plane)}}.
nlohmann::json environment_report(const PostureSpec& posture);

/// A transition (simulate_transition) from posture `from` to posture `to` (its prediction
/// `end`): {"from", "to", "status" ("settled", "not_settled" or "diverged"), "message",
/// "settled", "max_angle_deviation_deg", "max_translation_deviation_m", "worst_coordinate"
/// (the largest angle deviation's), "max_speed", "duration_s", "steps", "final_coordinates_deg",
/// "predicted_coordinates_deg" (by coordinate, deg or m), "surfaces" (names), and "samples":
/// {"time_s", "pelvic_tilt_deg", "lumbar_lordosis_deg", "surface_force_N": {surface: [...]}}}.
nlohmann::json transition_report(const Model& model, const PostureSpec& to, const std::string& from, const PostureResult& end,
                                 const TransitionResult& t);
std::string transition_report_text(const nlohmann::json& report);

}  // namespace lumbosim::io
