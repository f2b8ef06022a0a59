#pragma once
// Each subcommand registers itself on the CLI11 app and sets `action` when it is selected.
// Actions return the process exit code; InputError escaping an action means exit code 2.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "lumbosim/model/compile.hpp"

namespace lumbosim::cli {

using Action = std::function<int()>;

void register_model(CLI::App& app, Action& action);
void register_muscles(CLI::App& app, Action& action);
void register_clinical(CLI::App& app, Action& action);
void register_posture(CLI::App& app, Action& action);

/// Parses the repeated `--set NAME=VALUE` options.
std::vector<Override> parse_overrides(const std::vector<std::string>& sets);

}  // namespace lumbosim::cli
