#pragma once
/// @file model_summary.hpp
/// A model's summary (bodies, coordinates, landmarks, mass, centre of mass) at a pose, as JSON
/// and as text. Angles in degrees, lengths in metres, masses in kilograms.
#include <nlohmann/json.hpp>
#include <string>

#include "lumbosim/data/data.hpp"
#include "lumbosim/model/model.hpp"

namespace lumbosim::io {

/// Value of coordinate i in file units (deg for rotations, m for translations).
double coord_to_file_units(const Model& model, int i, double value);

/// Summary at configuration q (internal units). Keys: model, file, parameters, bodies,
/// coordinates, landmarks, total_mass_kg, com_m, com_height_m.
nlohmann::json model_summary(const Model& model, Data& data, const VecX& q);

/// Human-readable version of the same summary.
std::string model_summary_text(const nlohmann::json& summary);

}  // namespace lumbosim::io
