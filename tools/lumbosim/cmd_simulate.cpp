// `lumbosim simulate MODEL --from NAME --posture NAME [--to-set ...] [--h5 FILE] [--json]`:
// a transition between two predicted postures in forward dynamics (docs/cli.md).
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "lumbosim/algorithm/transition.hpp"
#include "lumbosim/io/reports.hpp"
#include "lumbosim/io/yaml_model.hpp"
#include "lumbosim/io/yaml_postures.hpp"
#ifdef LUMBOSIM_HAVE_HDF5
#include "lumbosim/hdf5/h5_posture.hpp"
#endif

namespace lumbosim::cli {

namespace {
struct SimulateOpts {
  std::string file, from, to, postures, h5;
  std::vector<std::string> sets, to_sets;
  bool json = false, plan_contacts = false;
  double friction_velocity = TransitionSettings{}.forward.friction_velocity;
  double start = TransitionSettings{}.start, move = TransitionSettings{}.move;
  double duration = TransitionSettings{}.forward.duration, dt = TransitionSettings{}.forward.dt;
  double record = TransitionSettings{}.forward.record_interval;
  double damping = TransitionSettings{}.forward.damping, damping_translation = TransitionSettings{}.forward.damping_translation;
};

void positive(double v, const char* option, bool allow_zero = false) {
  if (!std::isfinite(v) || v < 0.0 || (!allow_zero && v == 0.0))
    throw InputError(Error{SourceLoc{option, 0, 0}, std::to_string(v), allow_zero ? "must be a finite number >= 0" : "must be a finite number > 0"});
}
}  // namespace

void register_simulate(CLI::App& app, Action& action) {
  auto o = std::make_shared<SimulateOpts>();
  auto* sub = app.add_subcommand("simulate",
                                 "Transition between two predicted postures in forward dynamics (computed muscle control, contacts)");
  sub->add_option("MODEL", o->file, "model file (YAML)")->required();
  sub->add_option("--from", o->from, "start posture (its prediction, at rest)")->required();
  sub->add_option("--posture", o->to, "end posture: its environment, its prediction as the target")->required();
  sub->add_option("--postures", o->postures, "postures file (default: postures.yaml beside the model)");
  sub->add_option("--set", o->sets, "override for the model and both postures: NAME=VALUE (deg for angles); repeatable")
      ->expected(1)
      ->take_all();
  sub->add_option("--to-set", o->to_sets,
                  "override for the end posture only (its coordinates, targets, surfaces), e.g. targets.thorax_inclination_deg=30")
      ->expected(1)
      ->take_all();
  sub->add_option("--start", o->start, "s: the motion starts (default 0.5)");
  sub->add_option("--move", o->move, "s: minimum-jerk motion time (default 1.5)");
  sub->add_option("--duration", o->duration, "s: the whole run (default 10)");
  sub->add_option("--dt", o->dt, "s: time step of the linearly implicit Euler integrator (default 0.005)");
  sub->add_option("--record-interval", o->record, "s between recorded samples (default 0.05)");
  sub->add_option("--damping", o->damping, "N m s/rad on every free rotation (default 5; 0 for none)");
  sub->add_option("--damping-translation", o->damping_translation, "N s/m on the free translations (default 2000; 0 for none)");
  sub->add_flag("--plan-contacts", o->plan_contacts,
                "the control plans the contact forces with the muscles (standing on free legs needs it; docs/postures.md)");
  sub->add_option("--friction-velocity", o->friction_velocity,
                  "m/s: slip speed at which regularised friction reaches 76 % of mu N (default 0.2; standing: 0.01)");
  sub->add_option("--h5", o->h5, "also write the samples and the result to this HDF5 file");
  sub->add_flag("--json", o->json, "print one JSON object");
  sub->callback([o, &action] {
    action = [o] {
      positive(o->start, "--start", true);
      positive(o->move, "--move");
      positive(o->duration, "--duration");
      positive(o->dt, "--dt");
      positive(o->record, "--record-interval");
      positive(o->damping, "--damping", true);
      positive(o->friction_velocity, "--friction-velocity");
      positive(o->damping_translation, "--damping-translation", true);
      if (o->duration < o->start + o->move)
        throw InputError(Error{SourceLoc{"--duration", 0, 0}, std::to_string(o->duration), "must be at least --start + --move"});
      const std::string pf = postures_path(o->file, o->postures);
      const auto specs = io::load_postures(pf);
      PostureSpec from = find_posture(specs, o->from, "--from", pf);
      PostureSpec to = find_posture(specs, o->to, "--posture", pf);
      // --set: the person and the environment both postures share; --to-set: the end posture alone
      const std::vector<Override> sets = parse_overrides(o->sets);
      const std::vector<Override> model_sets = apply_posture_overrides(to, sets);
      (void)apply_posture_overrides(from, sets);
      for (const Override& ov : apply_posture_overrides(to, parse_overrides(o->to_sets, "--to-set")))
        throw InputError(Error{ov.loc, ov.name, "--to-set changes the end posture only; model parameters go to --set"});
      const Model model = compile(io::load_model_spec(o->file), model_sets);
      const PostureResult start = PostureSolver(model, from).solve();
      if (start.status != SolveStatus::Converged) {
        std::cerr << "error: start posture " << from.name << ": " << start.message << "\n";
        return 1;
      }
      PostureSolver solver(model, to);
      const PostureResult end = solver.solve();
      if (end.status != SolveStatus::Converged) {
        std::cerr << "error: end posture " << to.name << ": " << end.message << "\n";
        return 1;
      }
      if (const auto c = coordinate_outside(solver, start.q, 1e-6)) {
        const std::string& name = model.coord_name[static_cast<size_t>(*c)];
        const bool rot = model.coord_is_rotational(*c);
        const double scale = rot ? 180.0 / 3.14159265358979323846 : 1.0;
        char buf[160];
        std::snprintf(buf, sizeof buf, "the start (%s's prediction) has %s = %.4g %s, which %s holds at %.4g %s", from.name.c_str(),
                      name.c_str(), start.q[*c] * scale, rot ? "deg" : "m", to.name.c_str(), end.q[*c] * scale, rot ? "deg" : "m");
        throw InputError(Error{SourceLoc{"--from", 0, 0}, name,
                               std::string(buf) + " (the simulation moves only the end posture's free coordinates)"});
      }
      TransitionSettings ts;
      ts.start = o->start;
      ts.move = o->move;
      ts.forward.duration = o->duration;
      ts.forward.dt = o->dt;
      ts.forward.record_interval = o->record;
      ts.forward.damping = o->damping;
      ts.forward.plan_contacts = o->plan_contacts;
      ts.forward.friction_velocity = o->friction_velocity;
      ts.forward.damping_translation = o->damping_translation;
      const TransitionResult t = simulate_transition(solver, start, end, ts);
      const auto rep = io::transition_report(model, to, from.name, end, t);
      if (!o->h5.empty()) {
#ifdef LUMBOSIM_HAVE_HDF5
        h5::write_transition(o->h5, model, to, from.name, end, t);
#else
        throw InputError(Error{SourceLoc{"--h5", 0, 0}, o->h5, "this build has no HDF5 adapter"});
#endif
      }
      if (o->json) std::cout << rep.dump(2) << "\n";
      else std::cout << io::transition_report_text(rep);
      if (!t.settled) {
        std::cerr << "error: transition " << from.name << " -> " << to.name << ": " << rep["message"].get<std::string>() << "\n";
        return 1;
      }
      return 0;
    };
  });
}

}  // namespace lumbosim::cli
