// The lumbosim executable (LUMBOSIM_CLI): help, version, `model` output, overrides and exit codes
// (0 ok, 2 invalid input). Each test runs the real program from the source directory.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace {

struct Result {
  int status = -1;  ///< exit code, or -1 if the program did not exit normally
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

/// Runs `lumbosim ARGS` (ARGS already shell-quoted where needed) in the source directory.
Result run(const std::string& args) {
  static int counter = 0;
  const auto dir = std::filesystem::temp_directory_path();
  const std::string tag = "lumbosim_cli_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  const std::string out = (dir / (tag + ".out")).string(), err = (dir / (tag + ".err")).string();
  const std::string cmd = "cd " + quote(LUMBOSIM_SOURCE_DIR) + " && " + quote(LUMBOSIM_CLI) + " " + args + " >" +
                          quote(out) + " 2>" + quote(err) + " </dev/null";
  const int raw = std::system(cmd.c_str());
  Result r;
  r.status = (raw != -1 && WIFEXITED(raw)) ? WEXITSTATUS(raw) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return r;
}

nlohmann::json json_of(const Result& r) {
  try {
    return nlohmann::json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "stdout is not JSON (" << e.what() << "):\n" << r.out;
    return nlohmann::json::object();
  }
}

/// The JSON report of a run that must succeed (exit 0).
nlohmann::json json_ok(const std::string& args) {
  const Result r = run(args);
  EXPECT_EQ(r.status, 0) << args << ": " << r.err;
  return json_of(r);
}

const nlohmann::json* coordinate(const nlohmann::json& j, const std::string& name) {
  for (const auto& c : j["coordinates"])
    if (c["name"] == name) return &c;
  return nullptr;
}

const std::string kModel = "models/lumbopelvic.yaml";

}  // namespace

TEST(Cli, Help) {
  const Result r = run("--help");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("model"), std::string::npos) << r.out;
}

TEST(Cli, Version) {
  const Result r = run("--version");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("lumbosim"), std::string::npos) << r.out;
}

TEST(Cli, ModelHelp) {
  const Result r = run("model --help");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("--set"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--json"), std::string::npos) << r.out;
}

TEST(Cli, ModelJson) {
  const Result r = run("model " + kModel + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const auto j = json_of(r);
  for (const char* k : {"bodies", "coordinates", "total_mass_kg", "com_height_m"}) EXPECT_TRUE(j.contains(k)) << k;
  ASSERT_TRUE(j["total_mass_kg"].is_number());
  ASSERT_TRUE(j["com_height_m"].is_number());
  const double mass_param = j["parameters"]["mass"]["value"].get<double>();
  EXPECT_EQ(mass_param, 75.0);
  EXPECT_NEAR(j["total_mass_kg"].get<double>(), mass_param, 0.005 * mass_param);
  EXPECT_GE(j["bodies"].size(), 13u);
  EXPECT_GE(j["coordinates"].size(), 15u);
  // standing COM at roughly 55 % of the 1.75 m stature
  EXPECT_GT(j["com_height_m"].get<double>(), 0.8);
  EXPECT_LT(j["com_height_m"].get<double>(), 1.1);
}

TEST(Cli, ModelText) {
  const Result r = run("model " + kModel);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("lumbopelvic"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hip_flexion_r"), std::string::npos) << r.out;
}

TEST(Cli, SetMass) {
  const Result r = run("model " + kModel + " --set mass=85 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = json_of(r);
  EXPECT_NEAR(j["total_mass_kg"].get<double>(), 85.0, 0.005 * 85.0);
  EXPECT_EQ(j["parameters"]["mass"]["value"].get<double>(), 85.0);
}

TEST(Cli, SetCoordinate) {
  const Result r = run("model " + kModel + " --set hip_flexion_r=90 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = json_of(r);
  const auto* c = coordinate(j, "hip_flexion_r");
  ASSERT_NE(c, nullptr);
  EXPECT_NEAR((*c)["value"].get<double>(), 90.0, 1e-9);
  EXPECT_EQ((*c)["unit"], "deg");
  // the other leg stays at its default
  const auto* l = coordinate(j, "hip_flexion_l");
  ASSERT_NE(l, nullptr);
  EXPECT_NEAR((*l)["value"].get<double>(), (*l)["default"].get<double>(), 1e-9);
  EXPECT_NEAR((*c)["value"].get<double>(), (*c)["default"].get<double>(), 1e-9);  // --set sets the default
}

TEST(Cli, SeveralSets) {
  const Result r = run("model " + kModel + " --set mass=85 --set hip_flexion_r=90 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = json_of(r);
  EXPECT_NEAR(j["total_mass_kg"].get<double>(), 85.0, 0.005 * 85.0);
  const auto* c = coordinate(j, "hip_flexion_r");
  ASSERT_NE(c, nullptr);
  EXPECT_NEAR((*c)["value"].get<double>(), 90.0, 1e-9);
}

TEST(Cli, UnknownSetName) {
  const Result r = run("model " + kModel + " --set nope=1 --json");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("nope"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(Cli, BadSetValues) {
  for (const char* s : {"mass=abc", "mass", "mass=1000", "hip_flexion_r=200"}) {
    const Result r = run("model " + kModel + " --set " + quote(s) + " --json");
    EXPECT_EQ(r.status, 2) << s;
    EXPECT_EQ(r.out, "") << s;
    EXPECT_NE(r.err.find(std::string(s).substr(0, std::string(s).find('='))), std::string::npos) << s << ": " << r.err;
  }
}

TEST(Cli, BadModelsExit2WithoutOutput) {
  for (const char* f : {"tests/io/bad_models/30_unknown_parent.yaml", "tests/io/bad_models/06_truncated.yaml",
                        "tests/io/bad_models/03_binary_nul.yaml", "tests/io/bad_models/01_empty.yaml",
                        "tests/io/bad_models/38_cycle.yaml"}) {
    for (const char* mode : {" --json", ""}) {
      const Result r = run(std::string("model ") + f + mode);
      EXPECT_EQ(r.status, 2) << f << mode;
      EXPECT_NE(r.err.find(f), std::string::npos) << f << ": " << r.err;
      EXPECT_EQ(r.out, "") << f << mode;
    }
  }
  const Result r = run("model tests/io/bad_models/30_unknown_parent.yaml");
  EXPECT_NE(r.err.find("tests/io/bad_models/30_unknown_parent.yaml:27:13: joints[1].parent: unknown body 'bsae'"),
            std::string::npos)
      << r.err;
}

TEST(Cli, MissingFile) {
  const Result r = run("model models/no_such_model.yaml");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("models/no_such_model.yaml"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(Cli, UnknownSubcommand) {
  const Result r = run("frobnicate");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out.find("\"bodies\""), std::string::npos);
}

TEST(Cli, UsageErrorsExit2) {
  EXPECT_EQ(run("").status, 2);                                    // no subcommand
  EXPECT_EQ(run("model").status, 2);                               // no FILE
  EXPECT_EQ(run("model " + kModel + " --bogus").status, 2);        // unknown option
  EXPECT_EQ(run("model " + kModel + " --set").status, 2);          // --set without a value
}

// ---- muscles, clinical, posture ---------------------------------------------------------------

TEST(Cli, ClinicalCalibratesTheSlrOnBothSides) {
  const Result r = run("clinical models/lumbopelvic.yaml --set hamstrings.slr_deg=50 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = json_of(r);
  EXPECT_NEAR(j["slr_deg_r"].get<double>(), 50.0, 0.5);
  EXPECT_NEAR(j["slr_deg_l"].get<double>(), 50.0, 0.5);
  EXPECT_TRUE(j.contains("popliteal_deg_r") && j.contains("popliteal_deg_l") && j.contains("hamstrings"));
}

TEST(Cli, ImpossibleSlrIsAnInputError) {
  const Result r = run("clinical models/lumbopelvic.yaml --set hamstrings.slr_deg=140 --json");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("hamstrings.slr_deg"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(Cli, MusclesReportsMomentArmsOfSpannedCoordinates) {
  const Result r = run("muscles models/lumbopelvic.yaml --set hip_flexion_r=45 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = json_of(r);
  bool found = false;
  for (const auto& m : j["muscles"])
    if (m["name"] == "semimem_r") {
      found = true;
      EXPECT_LT(m["moment_arms_m"]["hip_flexion_r"].get<double>(), -0.04);
      EXPECT_GT(m["moment_arms_m"]["knee_flexion_r"].get<double>(), 0.02);
      EXPECT_FALSE(m["moment_arms_m"].contains("ankle_angle_r"));  // does not span the ankle
      for (const char* k : {"mtu_length_m", "fiber_length_m", "passive_force_N"}) EXPECT_TRUE(m.contains(k)) << k;
    }
  EXPECT_TRUE(found);
}

TEST(Cli, PostureSetsWhatThePostureOwns) {
  // A coordinate the posture prescribes, a target and a surface are the posture's: --set
  // changes them (a prescribed knee angle was silently left at the file's value before session
  // 10); a coordinate the posture solves for is an input error naming it; model parameters
  // still reach the model.
  const auto j = json_ok("posture models/lumbopelvic.yaml --posture sitting_relaxed --set knee_flexion_r=45 "
                         "--set targets.thorax_inclination_deg=5 --set seat.height=0.47 --set mass=80 --json");
  EXPECT_DOUBLE_EQ(j["coordinates_deg"]["knee_flexion_r"].get<double>(), 45.0);
  EXPECT_DOUBLE_EQ(j["coordinates_deg"]["knee_flexion_l"].get<double>(), 90.0);
  EXPECT_NEAR(j["trunk_inclination_deg"].get<double>(), 5.0, 1e-3);
  EXPECT_DOUBLE_EQ(j["environment"]["seat"]["point_m"][1].get<double>(), 0.47);
  EXPECT_NEAR(j["contact_force_total_N"].get<double>(), 80 * 9.81, 1e-3);
  const Result r = run("posture models/lumbopelvic.yaml --posture sitting_relaxed --set pelvis_tilt=5 --json");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find("pelvis_tilt"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("free"), std::string::npos) << r.err;
  const Result k = run("posture models/lumbopelvic.yaml --posture sitting_relaxed --set seat.depth=0.3 --json");
  EXPECT_EQ(k.status, 2);
  EXPECT_NE(k.err.find("seat.depth"), std::string::npos) << k.err;
  EXPECT_NE(k.err.find("extent_max"), std::string::npos) << k.err << " (the settable keys are listed)";
}

TEST(Cli, PostureReportsLoadsAndStatus) {
  const Result r = run("posture models/lumbopelvic.yaml --posture standing --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = json_of(r);
  EXPECT_EQ(j["status"], "converged");
  for (const char* k : {"pelvic_tilt_deg", "sacral_slope_deg", "lumbar_lordosis_deg", "segment_angles_deg",
                        "disc_compression_N", "disc_shear_ap_N", "idp_MPa", "muscle_forces_N", "coordinates_deg",
                        "spinopelvic_pt_deg", "pelvic_incidence_deg", "equilibrium_residual", "friction_forces_N",
                        "ligament_forces_N", "passive_muscle_forces_N", "disc_passive_moment_Nm", "thigh_inclination_deg",
                        "external_force_residual_N", "external_moment_residual_Nm", "held_moments_Nm"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_GT(j["disc_compression_N"]["L4_L5"].get<double>(), 200.0);
  EXPECT_TRUE(j["segment_angles_deg"].contains("L4_L5"));
  EXPECT_TRUE(j["ligament_forces_N"].contains("LF_L4L5"));
  EXPECT_TRUE(j["held_moments_Nm"].contains("knee_flexion_r")) << "standing holds the knees straight";
  EXPECT_FALSE(j["held_moments_Nm"].contains("pelvis_tilt")) << "a free coordinate is balanced";
}

TEST(Cli, EffortExponentIsValidatedAndUsed) {
  const Result bad = run("posture models/lumbopelvic.yaml --posture standing --effort-exponent 1.5");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("--effort-exponent"), std::string::npos) << bad.err;
  EXPECT_TRUE(bad.out.empty());
  const Result r = run("posture models/lumbopelvic.yaml --posture sitting_upright --effort-exponent 3 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(json_of(r)["status"], "converged");
}

TEST(Cli, FrictionWeightIsValidatedAndUsed) {
  for (const char* bad_value : {"-1", "nan", "0"}) {
    const Result bad = run(std::string("posture models/lumbopelvic.yaml --posture standing --friction-weight ") + bad_value);
    EXPECT_EQ(bad.status, 2) << bad_value;
    EXPECT_NE(bad.err.find("--friction-weight"), std::string::npos) << bad.err;
    EXPECT_TRUE(bad.out.empty());
  }
  // cheaper friction: the least-effort sitter leans on more of it
  const Result dear = run("posture models/lumbopelvic.yaml --posture sitting_upright --json");
  const Result cheap = run("posture models/lumbopelvic.yaml --posture sitting_upright --friction-weight 0.001 --json");
  ASSERT_EQ(dear.status, 0) << dear.err;
  ASSERT_EQ(cheap.status, 0) << cheap.err;
  EXPECT_GT(json_of(cheap)["friction_total_N"].get<double>(), json_of(dear)["friction_total_N"].get<double>() + 1.0);
}

TEST(Cli, AllStartsRunsMoreIterationsToTheSamePosture) {
  const auto q = json_ok("posture models/lumbopelvic.yaml --posture sitting_upright --json");
  const auto a = json_ok("posture models/lumbopelvic.yaml --posture sitting_upright --all-starts --json");
  EXPECT_GT(a["iterations"].get<int>(), q["iterations"].get<int>());  // the third start ran
  EXPECT_NEAR(a["pelvic_tilt_deg"].get<double>(), q["pelvic_tilt_deg"].get<double>(), 1e-9);
  EXPECT_NEAR(a["lumbar_lordosis_deg"].get<double>(), q["lumbar_lordosis_deg"].get<double>(), 1e-9);
}

TEST(Cli, StablePostureTiltsTheStandingPelvisForwardWithLessEffort) {
  const auto p = json_ok("posture models/lumbopelvic.yaml --posture standing --json");
  const auto s = json_ok("posture models/lumbopelvic.yaml --posture standing --stable-posture --json");
  EXPECT_GT(s["pelvic_tilt_deg"].get<double>(), p["pelvic_tilt_deg"].get<double>() + 1.0);
  EXPECT_LT(s["effort"].get<double>(), p["effort"].get<double>());
}

TEST(Cli, UnknownPostureAndUnreachableTarget) {
  const Result unknown = run("posture models/lumbopelvic.yaml --posture cartwheel");
  EXPECT_EQ(unknown.status, 2);
  EXPECT_NE(unknown.err.find("cartwheel"), std::string::npos);
  EXPECT_TRUE(unknown.out.empty());
  // a posture file with an impossible target: non-zero exit, a message, a complete report
  const auto path = std::filesystem::temp_directory_path() / "lumbosim_cli_postures.yaml";
  std::ofstream(path) << "lumbosim_postures: 1\npostures:\n  fold:\n    thigh_inclination_deg: 0\n"
                         "    coordinates: {knee_flexion: 0, ankle_angle: 0}\n"
                         "    free: [pelvis_tilt, L4_L5_flexion]\n    targets: {thorax_inclination_deg: 170}\n";
  const Result r = run("posture models/lumbopelvic.yaml --posture fold --postures " + path.string() + " --json");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("fold"), std::string::npos) << r.err;
  const auto j = json_of(r);
  EXPECT_NE(j["status"], "converged");
  EXPECT_EQ(r.out.find("nan"), std::string::npos);
  std::filesystem::remove(path);
}

TEST(Cli, SimulateRunsATransitionAndRefusesIncompatibleStarts) {
  // `simulate`: upright to relaxed sitting in forward dynamics, ending on the relaxed prediction
  // (the same run as Posture.RelaxingFromUprightSittingSettlesOnTheRelaxedPrediction); a start
  // that the end posture cannot hold, a model parameter given to --to-set and a non-physical
  // time are input errors with nothing on standard output.
  const auto j = json_ok("simulate models/lumbopelvic.yaml --from sitting_upright --posture sitting_relaxed --json");
  EXPECT_EQ(j["status"], "settled");
  EXPECT_LT(j["max_angle_deviation_deg"].get<double>(), 0.5);
  const auto& tilt = j["samples"]["pelvic_tilt_deg"];
  ASSERT_EQ(tilt.size(), 200u);
  EXPECT_GT(tilt.front().get<double>() - tilt.back().get<double>(), 10.0) << "the pelvis rolls back";
  EXPECT_EQ(j["samples"]["surface_force_N"]["seat"].size(), 200u);
  EXPECT_NEAR(j["final_coordinates_deg"]["pelvis_tilt"].get<double>(), j["predicted_coordinates_deg"]["pelvis_tilt"].get<double>(),
              0.5);
  // --to-set changes the end posture alone: a forward lean from upright sitting
  const auto lean = json_ok("simulate models/lumbopelvic.yaml --from sitting_upright --posture sitting_upright "
                            "--to-set targets.thorax_inclination_deg=30 --json");
  EXPECT_EQ(lean["status"], "settled");
  const auto& seat = lean["samples"]["surface_force_N"]["seat"];
  EXPECT_LT(seat.back().get<double>(), seat.front().get<double>() - 50.0) << "leaning forward unloads the seat";
  for (const auto& [args, word] : std::vector<std::pair<std::string, std::string>>{
           {"--from long_sitting --posture sitting_relaxed", "knee_flexion"},
           {"--from sitting_upright --posture sitting_relaxed --to-set mass=80", "--to-set"},
           {"--from sitting_upright --posture sitting_relaxed --move 0", "--move"},
           {"--from sitting_upright --posture sitting_relaxed --duration 1", "--duration"},
           {"--from nowhere --posture sitting_relaxed", "nowhere"}}) {
    const Result r = run("simulate models/lumbopelvic.yaml " + args + " --json");
    EXPECT_EQ(r.status, 2) << args;
    EXPECT_TRUE(r.out.empty()) << args;
    EXPECT_NE(r.err.find(word), std::string::npos) << args << ": " << r.err;
  }
}

