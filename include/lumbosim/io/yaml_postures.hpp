#pragma once
/// @file yaml_postures.hpp
/// Posture definitions (docs/postures.md) from YAML: every posture is data, so users can add
/// their own without recompiling. Errors: `FILE:LINE:COL: key: message`.
#include <string>
#include <vector>

#include "lumbosim/algorithm/posture.hpp"

namespace lumbosim::io {

std::vector<PostureSpec> load_postures(const std::string& path);
std::vector<PostureSpec> parse_postures(const std::string& text, const std::string& file_label);

/// JSON report of a solved posture (keys in docs/cli.md).
}  // namespace lumbosim::io
