#pragma once
/// @file compile.hpp
/// compile(): validate a ModelSpec, apply named overrides, scale to the subject and build the
/// flat Model. Throws InputError naming the file, line, column and key of the first problem.
#include <string>
#include <vector>

#include "lumbosim/model/model.hpp"
#include "lumbosim/model/spec.hpp"

namespace lumbosim {

/// A `--set NAME=VALUE` override, in file units (degrees for rotational coordinates).
struct Override {
  std::string name;
  double value = 0.0;
  SourceLoc loc;  ///< where it was given (e.g. file "--set", or a scenario file)
};

/// Parses "NAME=VALUE" (VALUE a finite number). Throws InputError on malformed text.
Override parse_override(const std::string& text, const std::string& origin = "--set");

/// Names that `compile` accepts as overrides: every parameter and coordinate name.
std::vector<std::string> overridable_names(const ModelSpec& spec);

/// Muscle group names of a spec (each listed group and its side-suffixed version).
std::vector<std::string> muscle_group_names(const ModelSpec& spec);

/// Builds the Model. Scaling: lengths by height / reference_height (if the spec has a `height`
/// parameter), masses by mass / reference_mass (if it has `mass`); inertias given as tensors
/// scale by mass_scale * length_scale^2, muscle forces by mass_scale^(2/3). Overrides (names in
/// docs/model-format.md) set a parameter, a coordinate default, or a dotted element parameter
/// (`semimem_r.max_isometric_force`, `hamstrings.slack_length_scale`, `L4_L5_flexion.neutral_stiffness`,
/// `clinical.end_feel_torque`, ...). `<hamstrings group>.slr_deg` calibrates that group's
/// tendon slack lengths so the simulated straight-leg raise equals the target
/// (calibrate_slr, clinical.hpp); an unreachable target throws InputError.
Model compile(const ModelSpec& spec, const std::vector<Override>& overrides = {});

}  // namespace lumbosim
