#pragma once
/// @file reports.hpp
/// JSON/text reports of the muscle and clinical computations (units in the key names).
#include <nlohmann/json.hpp>
#include <string>

#include "lumbosim/algorithm/posture.hpp"
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

}  // namespace lumbosim::io
