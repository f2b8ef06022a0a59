#pragma once
/// @file yaml_model.hpp
/// Reads a lumbosim model file (YAML, docs/model-format.md) into a ModelSpec, checking syntax,
/// types, required and unknown keys, duplicates and finiteness. Semantic checks (names,
/// parents, cycles, physical values) happen in compile(). Every failure throws InputError
/// `FILE:LINE:COL: key.path: message`.
#include <string>

#include "lumbosim/model/spec.hpp"

namespace lumbosim::io {

/// Loads and parses the model file at `path`.
ModelSpec load_model_spec(const std::string& path);

/// Parses model text; `file_label` is used in messages.
ModelSpec parse_model_spec(const std::string& text, const std::string& file_label);

}  // namespace lumbosim::io
