#pragma once
// Each subcommand registers itself on the CLI11 app and sets `action` when it is selected.
// Actions return the process exit code; InputError escaping an action means exit code 2.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "lumbosim/algorithm/posture.hpp"
#include "lumbosim/model/compile.hpp"

namespace lumbosim::cli {

using Action = std::function<int()>;

void register_model(CLI::App& app, Action& action);
void register_muscles(CLI::App& app, Action& action);
void register_clinical(CLI::App& app, Action& action);
void register_posture(CLI::App& app, Action& action);
void register_simulate(CLI::App& app, Action& action);

/// Parses the repeated `--set NAME=VALUE` options (errors name `origin`, the option).
std::vector<Override> parse_overrides(const std::vector<std::string>& sets, const std::string& origin = "--set");
/// The postures file: `postures_file` if given, else postures.yaml beside the model file.
std::string postures_path(const std::string& model_file, const std::string& postures_file);
/// The posture called `name`; an InputError naming `option` and listing the file's postures if none.
PostureSpec find_posture(const std::vector<PostureSpec>& specs, const std::string& name, const char* option, const std::string& file);

}  // namespace lumbosim::cli
