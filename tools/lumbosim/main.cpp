// lumbosim command line: thin wiring of the io adapters and the core. No physics here.
// Exit codes: 0 success, 1 a computation failed (e.g. a solver did not converge), 2 invalid input
// (command line, model file, overrides). See docs/cli.md.
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include "commands.hpp"
#include "lumbosim/core/error.hpp"

namespace lumbosim::cli {

std::vector<Override> parse_overrides(const std::vector<std::string>& sets, const std::string& origin) {
  std::vector<Override> out;
  out.reserve(sets.size());
  for (const auto& s : sets) out.push_back(parse_override(s, origin));
  return out;
}

}  // namespace lumbosim::cli

int main(int argc, char** argv) {
  CLI::App app{"lumbosim: musculoskeletal simulation of the pelvis, lumbar spine and legs"};
  app.set_version_flag("--version", std::string("lumbosim ") + LUMBOSIM_VERSION);
  app.require_subcommand(1);
  lumbosim::cli::Action action;
  lumbosim::cli::register_model(app, action);
  lumbosim::cli::register_muscles(app, action);
  lumbosim::cli::register_clinical(app, action);
  lumbosim::cli::register_posture(app, action);
  lumbosim::cli::register_simulate(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  try {
    return action ? action() : 2;
  } catch (const lumbosim::InputError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
