// `lumbosim model FILE [--set NAME=VALUE ...] [--json]`
#include <cmath>
#include <iostream>

#include "commands.hpp"
#include "lumbosim/data/data.hpp"
#include "lumbosim/io/model_summary.hpp"
#include "lumbosim/io/reports.hpp"
#include "lumbosim/io/yaml_postures.hpp"
#ifdef LUMBOSIM_HAVE_BULLET
#include "lumbosim/bullet/bullet_contact.hpp"
#endif
#ifdef LUMBOSIM_HAVE_HDF5
#include "lumbosim/hdf5/h5_posture.hpp"
#endif
#ifdef LUMBOSIM_HAVE_VTK
#include "lumbosim/vtk/render.hpp"
#endif
#include "lumbosim/io/yaml_model.hpp"

namespace lumbosim::cli {

namespace {
struct ModelOpts {
  std::string file;
  std::vector<std::string> sets;
  bool json = false;
};

std::shared_ptr<ModelOpts> add_model_options(CLI::App* sub) {
  auto opts = std::make_shared<ModelOpts>();
  sub->add_option("MODEL", opts->file, "model file (YAML)")->required();
  sub->add_option("--set", opts->sets,
                  "override a parameter, coordinate or element parameter: NAME=VALUE (deg for angles); repeatable")
      ->expected(1)
      ->take_all();
  sub->add_flag("--json", opts->json, "print one JSON object");
  return opts;
}

/// Loads, overrides and compiles the model; the pose is the default pose with --set applied.
Model load_model(const ModelOpts& o) { return compile(io::load_model_spec(o.file), parse_overrides(o.sets)); }
}  // namespace

namespace {
/// A subcommand that loads a model and prints one report (JSON or text).
using ReportFn = std::function<nlohmann::json(const Model&, Data&)>;
using TextFn = std::function<std::string(const nlohmann::json&)>;
void register_report(CLI::App& app, Action& action, const char* name, const char* help, ReportFn report, TextFn text) {
  auto* sub = app.add_subcommand(name, help);
  auto opts = add_model_options(sub);
  sub->callback([opts, &action, report, text] {
    action = [opts, report, text] {
      const Model model = load_model(*opts);
      Data data(model);
      const auto rep = report(model, data);
      if (opts->json) std::cout << rep.dump(2) << "\n";
      else std::cout << text(rep);
      return 0;
    };
  });
}
}  // namespace

void register_muscles(CLI::App& app, Action& action) {
  register_report(app, action, "muscles", "Muscle-tendon lengths, fibre lengths, passive forces and moment arms at a pose",
                  [](const Model& m, Data& d) { return io::muscles_report(m, d, m.default_q()); }, io::muscles_report_text);
}

void register_clinical(CLI::App& app, Action& action) {
  register_report(app, action, "clinical", "Simulated straight-leg raise and popliteal angle, calibrated hamstring parameters",
                  io::clinical_report, io::clinical_report_text);
}

std::string postures_path(const std::string& model_file, const std::string& postures_file) {
  if (!postures_file.empty()) return postures_file;
  const auto slash = model_file.find_last_of('/');
  return (slash == std::string::npos ? std::string(".") : model_file.substr(0, slash)) + "/postures.yaml";
}

PostureSpec find_posture(const std::vector<PostureSpec>& specs, const std::string& name, const char* option, const std::string& file) {
  std::string names;
  for (const auto& p : specs) {
    if (p.name == name) return p;
    names += (names.empty() ? "" : ", ") + p.name;
  }
  throw InputError(Error{SourceLoc{option, 0, 0}, name, "unknown posture (in " + file + ": " + names + ")"});
}

void register_posture(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("posture", "Predicted posture, muscle forces and lumbar loads for a posture definition");
  auto opts = add_model_options(sub);
  auto posture = std::make_shared<std::string>();
  auto postures_file = std::make_shared<std::string>();
  sub->add_option("--posture", *posture, "posture name (from the postures file)")->required();
  sub->add_option("--postures", *postures_file, "postures file (default: postures.yaml beside the model)");
  auto h5_path = std::make_shared<std::string>();
  auto png_path = std::make_shared<std::string>();
  sub->add_option("--h5", *h5_path, "also write the report to this HDF5 file");
  sub->add_option("--png", *png_path, "also render a sagittal picture to this PNG file (needs a display: xvfb-run -a)");
  auto contact = std::make_shared<std::string>("analytic");
  sub->add_option("--contact", *contact, "contact geometry: analytic | bullet")->check(CLI::IsMember({"analytic", "bullet"}));
  auto exponent = std::make_shared<double>(2.0);
  sub->add_option("--effort-exponent", *exponent, "p of the least-effort criterion sum w a^p (>= 2; default 2)");
  auto friction_weight = std::make_shared<double>(PostureSettings{}.friction_weight);
  sub->add_option("--friction-weight", *friction_weight,
                  "cost of contact friction in the least-effort criterion, w (f_t / mu f_n)^p per contact (> 0; default 1)");
  auto all_starts = std::make_shared<bool>(false);
  sub->add_flag("--all-starts", *all_starts,
                "run all five pelvic-tilt starts (by default the third is skipped where the first two agree with idle muscles, the last two run only for strained solutions)");
  auto stable_posture = std::make_shared<bool>(false);
  sub->add_flag("--stable-posture", *stable_posture,
                "choose the posture with the spinal stability co-activation in the least-effort criterion (slower; by default the least-effort posture is stabilised afterwards)");
  sub->callback([opts, posture, postures_file, contact, h5_path, png_path, exponent, friction_weight, all_starts, stable_posture, &action] {
    action = [opts, posture, postures_file, contact, h5_path, png_path, exponent, friction_weight, all_starts, stable_posture] {
      if (!(*exponent >= 2.0) || !std::isfinite(*exponent))
        throw InputError(Error{SourceLoc{"--effort-exponent", 0, 0}, std::to_string(*exponent), "must be a number >= 2"});
      if (!(*friction_weight > 0.0) || !std::isfinite(*friction_weight))
        throw InputError(Error{SourceLoc{"--friction-weight", 0, 0}, std::to_string(*friction_weight),
                               "must be a finite number > 0 (free friction leaves its share undetermined)"});
      const auto specs = io::load_postures(postures_path(opts->file, *postures_file));
      // --set names the posture owns (its prescribed coordinates, targets, surfaces) change the
      // posture; the rest go to the model
      PostureSpec posture_spec = find_posture(specs, *posture, "--posture", postures_path(opts->file, *postures_file));
      const PostureSpec* spec = &posture_spec;
      const Model model = compile(io::load_model_spec(opts->file), apply_posture_overrides(posture_spec, parse_overrides(opts->sets)));
      std::unique_ptr<ContactDetector> detector;
#ifdef LUMBOSIM_HAVE_BULLET
      if (*contact == "bullet") detector = std::make_unique<bullet::BulletContactDetector>();
#else
      if (*contact == "bullet") throw InputError(Error{SourceLoc{"--contact", 0, 0}, "bullet", "this build has no Bullet adapter"});
#endif
      PostureSolver solver(model, *spec, detector.get());
      PostureSettings settings;
      settings.qp.exponent = *exponent;
      settings.friction_weight = *friction_weight;
      settings.all_starts = *all_starts;
      settings.stable_posture = *stable_posture;
      const PostureResult res = solver.solve(settings);
      auto rep = io::posture_report(model, spec->name, res);
      rep["environment"] = io::environment_report(*spec);
      if (!h5_path->empty()) {
#ifdef LUMBOSIM_HAVE_HDF5
        h5::write_posture(*h5_path, model, *spec, res);
#else
        throw InputError(Error{SourceLoc{"--h5", 0, 0}, *h5_path, "this build has no HDF5 adapter"});
#endif
      }
      if (!png_path->empty()) {
#ifdef LUMBOSIM_HAVE_VTK
        viz::render_posture_png(*png_path, model, *spec, res);
#else
        throw InputError(Error{SourceLoc{"--png", 0, 0}, *png_path, "this build has no VTK adapter"});
#endif
      }
      if (opts->json) std::cout << rep.dump(2) << "\n";
      else std::cout << io::posture_report_text(rep);
      if (res.status != SolveStatus::Converged) {
        std::cerr << "error: posture " << spec->name << ": " << res.message << "\n";
        return 1;
      }
      return 0;
    };
  });
}

void register_model(CLI::App& app, Action& action) {
  struct Opts {
    std::string file;
    std::vector<std::string> sets;
    bool json = false;
  };
  auto opts = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("model", "Validate a model file and print its summary in the default pose");
  sub->add_option("FILE", opts->file, "model file (YAML)")->required();
  sub->add_option("--set", opts->sets, "override a parameter or coordinate: NAME=VALUE (deg for angles)")
      ->expected(1)
      ->take_all();
  sub->add_flag("--json", opts->json, "print one JSON object");
  sub->callback([opts, &action] {
    action = [opts] {
      const ModelSpec spec = io::load_model_spec(opts->file);
      const Model model = compile(spec, parse_overrides(opts->sets));
      Data data(model);
      const auto summary = io::model_summary(model, data, model.default_q());
      if (opts->json)
        std::cout << summary.dump(2) << "\n";
      else
        std::cout << io::model_summary_text(summary);
      return 0;
    };
  });
}

}  // namespace lumbosim::cli
