// Model file loading and validation: malformed files (tests/io/bad_models), the valid models, a
// mutation fuzz of the default model, the error message format, and `--set` overrides.
//
// Each text file in tests/io/bad_models starts with two comment lines:
//   # expect: <substring the error message must contain>
//   # line: <N | any | none>   (line the message must point at; `any`: some line; `none`: no line)
// Files that cannot carry comments (empty, whitespace only, binary) are listed in kRawExpect.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numbers>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "lumbosim/io/yaml_model.hpp"
#include "lumbosim/model/compile.hpp"

using namespace lumbosim;
namespace fs = std::filesystem;

namespace {

const std::string kSourceDir = LUMBOSIM_SOURCE_DIR;
const std::string kBadDir = kSourceDir + "/tests/io/bad_models";
const std::string kDefaultModel = kSourceDir + "/models/lumbopelvic.yaml";

/// The tiny valid model every bad model is derived from (one defect each).
const char* const kTinyModel = R"(lumbosim_model: 1
name: tiny
parameters:
  mass: {value: 70, unit: kg, min: 30, max: 250}
bodies:
  - name: base
    mass: 10
    com: [0, 0.1, 0]
    gyration_radii: [0.1, 0.1, 0.1]
  - name: link
    mass_fraction: 0.2
    com: [0, -0.2, 0]
    inertia: [0.1, 0.02, 0.1, 0, 0, 0]
joints:
  - name: ground_base
    type: planar
    parent: ground
    child: base
    coordinates:
      - {name: base_tx, range: [-1, 1], default: 0}
      - {name: base_ty, range: [-1, 2], default: 1}
      - {name: base_rz, range: [-90, 90], default: 0}
  - name: hinge
    type: revolute
    parent: base
    child: link
    parent_frame: {position: [0, -0.1, 0]}
    coordinates:
      - name: hinge_flex
        axis: [0, 0, 1]
        range: [-45, 90]
        default: 10
        locked: false
landmarks:
  - {name: tip, body: link, position: [0, -0.4, 0]}
)";

struct Expectation {
  std::string substring;
  std::string line;  ///< a number, "any" or "none"
};

/// Files without a `# expect:` header.
const std::map<std::string, Expectation> kRawExpect = {
    {"01_empty.yaml", {"empty model file", "none"}},
    {"02_whitespace_only.yaml", {"empty model file", "none"}},
    {"03_binary_nul.yaml", {"not a text file (contains NUL bytes)", "1"}},
    {"04_binary_non_utf8.yaml", {"a model file must be a mapping", "any"}},
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> bad_model_files() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(kBadDir, ec))
    if (e.is_regular_file() && e.path().extension() == ".yaml") out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

/// Reads the expectation of a bad model: from kRawExpect or the file's two header lines.
bool expectation_of(const std::string& name, Expectation& ex) {
  if (auto it = kRawExpect.find(name); it != kRawExpect.end()) {
    ex = it->second;
    return true;
  }
  std::istringstream in(read_file(kBadDir + "/" + name));
  std::string l1, l2;
  std::getline(in, l1);
  std::getline(in, l2);
  const std::string p1 = "# expect: ", p2 = "# line: ";
  if (l1.rfind(p1, 0) != 0 || l2.rfind(p2, 0) != 0) return false;
  ex.substring = l1.substr(p1.size());
  ex.line = l2.substr(p2.size());
  return !ex.substring.empty() && !ex.line.empty();
}

/// Loads and compiles; returns the InputError message, or fails the test if anything else happens.
std::string load_error(const std::string& path) {
  try {
    compile(io::load_model_spec(path));
  } catch (const InputError& e) {
    EXPECT_EQ(e.error().loc.file, path);
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << path << ": expected InputError, got another exception: " << e.what();
    return {};
  }
  ADD_FAILURE() << path << ": loaded and compiled without an error";
  return {};
}

std::string test_name(const std::string& file) {
  std::string s = fs::path(file).stem().string();
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

}  // namespace

// ---- (a) every bad model is rejected with a located, specific message ------------------------

class BadModel : public ::testing::TestWithParam<std::string> {};

TEST_P(BadModel, RejectedWithExpectedMessage) {
  const std::string name = GetParam();
  const std::string path = kBadDir + "/" + name;
  Expectation ex;
  ASSERT_TRUE(expectation_of(name, ex)) << name << ": no '# expect:' / '# line:' header and not listed in kRawExpect";
  const std::string msg = load_error(path);
  ASSERT_FALSE(msg.empty());
  EXPECT_EQ(msg.rfind(path, 0), 0u) << "message does not start with the file path: " << msg;
  EXPECT_NE(msg.find(ex.substring), std::string::npos) << "expected '" << ex.substring << "' in: " << msg;
  const std::string rest = msg.substr(std::min(path.size(), msg.size()));
  if (ex.line == "none") {
    EXPECT_EQ(rest.rfind(": ", 0), 0u) << "expected no line number: " << msg;
  } else if (ex.line == "any") {
    EXPECT_TRUE(std::regex_search(rest, std::regex("^:[1-9][0-9]*:[1-9][0-9]*: "))) << "expected FILE:LINE:COL: " << msg;
  } else {
    EXPECT_EQ(rest.rfind(":" + ex.line + ":", 0), 0u) << "expected line " << ex.line << ": " << msg;
    EXPECT_TRUE(std::regex_search(rest, std::regex("^:[0-9]+:[1-9][0-9]*: "))) << "expected a column: " << msg;
  }
}

INSTANTIATE_TEST_SUITE_P(Files, BadModel, ::testing::ValuesIn(bad_model_files()),
                         [](const ::testing::TestParamInfo<std::string>& i) { return test_name(i.param); });

TEST(BadModels, EnoughFilesAndAllHaveExpectations) {
  const auto files = bad_model_files();
  EXPECT_GE(files.size(), 34u);
  for (const auto& [name, ex] : kRawExpect)
    EXPECT_NE(std::find(files.begin(), files.end(), name), files.end()) << name << " listed but missing";
  // the raw files really are what their names say
  EXPECT_EQ(read_file(kBadDir + "/01_empty.yaml").size(), 0u);
  EXPECT_EQ(read_file(kBadDir + "/02_whitespace_only.yaml").find_first_not_of(" \t\r\n"), std::string::npos);
  EXPECT_NE(read_file(kBadDir + "/03_binary_nul.yaml").find('\0'), std::string::npos);
  const std::string junk = read_file(kBadDir + "/04_binary_non_utf8.yaml");
  EXPECT_TRUE(std::any_of(junk.begin(), junk.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; }));
}

// ---- (b) valid models ------------------------------------------------------------------------

TEST(ValidModels, TinyModelCompiles) {
  const ModelSpec s = io::parse_model_spec(kTinyModel, "tiny.yaml");
  const Model m = compile(s);
  EXPECT_EQ(m.nbody(), 3);  // ground, base, link
  EXPECT_EQ(m.njoint(), 2);
  EXPECT_EQ(m.nv, 4);
  // base: 10 kg at the reference mass 75 kg, scaled to 70; link: 20 % of 70 kg
  EXPECT_NEAR(m.total_mass, 10.0 * 70.0 / 75.0 + 0.2 * 70.0, 1e-12);
  const int c = m.find_coord("hinge_flex");
  ASSERT_GE(c, 0);
  EXPECT_NEAR(m.default_q()[c], 10.0 * std::numbers::pi / 180.0, 1e-12);
  EXPECT_EQ(m.nlandmark(), 1);
}

TEST(ValidModels, DefaultModelCompiles) {
  const Model m = compile(io::load_model_spec(kDefaultModel));
  EXPECT_EQ(m.name, "lumbopelvic");
  EXPECT_GE(m.nbody(), 14);  // ground, pelvis, L5..L1, thorax, two legs of three
  EXPECT_GE(m.nv, 15);
  EXPECT_NEAR(m.total_mass, 75.0, 0.005 * 75.0);
  EXPECT_GE(m.find_coord("hip_flexion_r"), 0);
}

TEST(ValidModels, MissingFileIsInputError) {
  const std::string path = kSourceDir + "/tests/io/no_such_model.yaml";
  try {
    io::load_model_spec(path);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cannot open"), std::string::npos) << e.what();
  }
}

TEST(ValidModels, HugeAxisAndDirectionComponentsNormalize) {
  // Regression: normalized() squares the components, so [0, 0, 1e200] became a zero axis (a
  // silently frozen joint) and a zero landmark direction.
  std::string text = kTinyModel;
  text.replace(text.find("axis: [0, 0, 1]"), 15, "axis: [0, 0, 1e200]");
  text.replace(text.find("position: [0, -0.4, 0]}"), 23, "position: [0, -0.4, 0], direction: [-1e300, 0, 0]}");
  const Model m = compile(io::parse_model_spec(text, "huge.yaml"));
  const int c = m.find_coord("hinge_flex");
  ASSERT_GE(c, 0);
  EXPECT_NEAR((m.mob_axis[static_cast<size_t>(c)] - Vec3::UnitZ()).norm(), 0.0, 1e-12);
  EXPECT_NEAR((m.landmark_dir_B[0] + Vec3::UnitX()).norm(), 0.0, 1e-12);
}

TEST(ValidModels, TrailingEmptyDocumentIsAccepted) {
  // A stray `---` at the end adds an empty document; only documents with content are rejected.
  EXPECT_NO_THROW(compile(io::parse_model_spec(std::string(kTinyModel) + "---\n", "tiny.yaml")));
  EXPECT_NO_THROW(compile(io::parse_model_spec(std::string("---\n") + kTinyModel + "...\n", "tiny.yaml")));
}

// ---- (c) mutation fuzz ---------------------------------------------------------------------

namespace {

std::vector<std::string> split_lines(const std::string& t) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : t) {
    if (c == '\n') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::string join_lines(const std::vector<std::string>& ls) {
  std::string out;
  for (const auto& l : ls) out += l + "\n";
  return out;
}

/// Applies mutation `op` to `text`; `what` describes it for failure messages.
std::string mutate(const std::string& text, int op, std::mt19937& rng, std::string& what) {
  auto pick = [&](size_t n) { return n == 0 ? size_t{0} : std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  std::vector<std::string> lines = split_lines(text);
  switch (op) {
    case 0: {  // delete a line
      const size_t i = pick(lines.size());
      what += "delete line " + std::to_string(i + 1) + "; ";
      lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(i));
      return join_lines(lines);
    }
    case 1: {  // truncate at a byte
      const size_t n = pick(text.size() + 1);
      what += "truncate at byte " + std::to_string(n) + "; ";
      return text.substr(0, n);
    }
    case 2: {  // replace a number
      static const std::regex num(R"((^|[^A-Za-z0-9_.])(-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?)(?![A-Za-z0-9_]))");
      std::vector<std::pair<size_t, size_t>> spans;
      for (auto it = std::sregex_iterator(text.begin(), text.end(), num); it != std::sregex_iterator(); ++it)
        spans.emplace_back(static_cast<size_t>(it->position(2)), static_cast<size_t>(it->length(2)));
      if (spans.empty()) return text;
      static const char* const repl[] = {"nan", "-1", "1e308", "abc", ".nan", "-.inf", "1e999", "0", "-1e308", "1e-320"};
      const auto [pos, len] = spans[pick(spans.size())];
      const std::string r = repl[pick(std::size(repl))];
      what += "replace '" + text.substr(pos, len) + "' at byte " + std::to_string(pos) + " by '" + r + "'; ";
      return text.substr(0, pos) + r + text.substr(pos + len);
    }
    case 3: {  // duplicate a line
      const size_t i = pick(lines.size());
      what += "duplicate line " + std::to_string(i + 1) + "; ";
      lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(i), lines[i]);
      return join_lines(lines);
    }
    case 4: {  // swap two lines
      const size_t i = pick(lines.size()), j = pick(lines.size());
      what += "swap lines " + std::to_string(i + 1) + " and " + std::to_string(j + 1) + "; ";
      std::swap(lines[i], lines[j]);
      return join_lines(lines);
    }
    default: {  // insert random bytes (any value, NUL and invalid UTF-8 included)
      const size_t pos = pick(text.size() + 1);
      const size_t n = 1 + pick(8);
      std::string junk;
      for (size_t k = 0; k < n; ++k) junk.push_back(static_cast<char>(pick(256)));
      what += "insert " + std::to_string(n) + " random bytes at byte " + std::to_string(pos) + "; ";
      return text.substr(0, pos) + junk + text.substr(pos);
    }
  }
}

/// The text without whole-line comments and blank lines: mutants that only move, copy or delete
/// comment lines have the same content, so the (slow) compile of one stands for all of them.
std::string content_key(const std::string& text) {
  std::string key;
  for (const auto& l : split_lines(text)) {
    const size_t k = l.find_first_not_of(" \t\r");
    if (k == std::string::npos || l[k] == '#') continue;
    key += l;
    key.push_back('\n');
  }
  return key;
}

}  // namespace

TEST(MutationFuzz, DefaultModelMutantsCompileOrThrowInputError) {
  const std::string original = read_file(kDefaultModel);
  ASSERT_FALSE(original.empty());
  std::mt19937 rng(20240611u);
  int ok = 0, rejected = 0;
  std::set<std::string> compiled;  // content keys of mutants that compiled
  constexpr int kCases = 300;
  for (int i = 0; i < kCases; ++i) {
    std::string what;
    std::string text = mutate(original, i % 6, rng, what);  // every kind of mutation 50 times
    if (i % 3 == 2) text = mutate(text, static_cast<int>(rng() % 6), rng, what);  // and some pairs
    try {
      const ModelSpec s = io::parse_model_spec(text, "mutant.yaml");
      const std::string key = content_key(text);
      if (!compiled.count(key)) {
        const Model m = compile(s);
        compiled.insert(key);
      }
      ++ok;
    } catch (const InputError& e) {
      ++rejected;
      EXPECT_EQ(std::string(e.what()).rfind("mutant.yaml", 0), 0u) << "case " << i << " (" << what << "): " << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "case " << i << " (" << what << "): not an InputError: " << e.what();
    } catch (...) {
      ADD_FAILURE() << "case " << i << " (" << what << "): non-standard exception";
    }
  }
  EXPECT_EQ(ok + rejected, kCases);
  // The mutations are not all harmless nor all fatal (comment lines, re-ordered keys, ...).
  EXPECT_GT(ok, 10);
  EXPECT_GT(rejected, 50);
}

// ---- (d) message format ----------------------------------------------------------------------

TEST(ErrorFormat, FileLineColKeyMessage) {
  const std::string path = kBadDir + "/30_unknown_parent.yaml";
  try {
    compile(io::load_model_spec(path));
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), path + ":27:13: joints[1].parent: unknown body 'bsae'");
    EXPECT_EQ(e.error().loc.file, path);
    EXPECT_EQ(e.error().loc.line, 27);
    EXPECT_EQ(e.error().loc.col, 13);
    EXPECT_EQ(e.error().key, "joints[1].parent");
    EXPECT_EQ(e.error().message, "unknown body 'bsae'");
  }
}

TEST(ErrorFormat, EveryLocatedKeyedMessageMatchesThePattern) {
  // FILE:LINE:COL: key.path: message, the key being a dotted path with [index] parts.
  const std::regex re(R"(^(.+):([1-9][0-9]*):([1-9][0-9]*): ([A-Za-z0-9_\-]+(\[[0-9]+\])?(\.[A-Za-z0-9_\-]+(\[[0-9]+\])?)*): (.+)$)");
  int checked = 0;
  for (const auto& name : bad_model_files()) {
    const std::string path = kBadDir + "/" + name;
    try {
      compile(io::load_model_spec(path));
    } catch (const InputError& e) {
      const Error& err = e.error();
      EXPECT_EQ(std::string(e.what()), err.format());
      if (err.loc.line == 0 || err.key.empty()) continue;
      std::smatch m;
      const std::string msg = e.what();
      ASSERT_TRUE(std::regex_match(msg, m, re)) << msg;
      EXPECT_EQ(m[1].str(), path);
      EXPECT_EQ(m[4].str(), err.key);
      EXPECT_EQ(m[8].str(), err.message);
      ++checked;
    }
  }
  EXPECT_GE(checked, 30);
}

TEST(ErrorFormat, PartsLeftOutWhenUnknown) {
  EXPECT_EQ((Error{SourceLoc{"m.yaml", 3, 7}, "bodies[0].mass", "bad"}).format(), "m.yaml:3:7: bodies[0].mass: bad");
  EXPECT_EQ((Error{SourceLoc{"m.yaml", 0, 0}, "bodies[0].mass", "bad"}).format(), "m.yaml: bodies[0].mass: bad");
  EXPECT_EQ((Error{SourceLoc{"m.yaml", 3, 7}, "", "bad"}).format(), "m.yaml:3:7: bad");
  EXPECT_EQ((Error{SourceLoc{"", 0, 0}, "k", "bad"}).format(), "<input>: k: bad");
}

// ---- (e) overrides ---------------------------------------------------------------------------

TEST(Overrides, ParseOverride) {
  const Override o = parse_override("mass=70");
  EXPECT_EQ(o.name, "mass");
  EXPECT_EQ(o.value, 70.0);
  EXPECT_EQ(o.loc.file, "--set");
  EXPECT_EQ(parse_override("hip_flexion_r=-12.5").value, -12.5);
  for (const char* bad : {"mass=abc", "mass", "=70", "mass=", "mass=70kg", "mass=nan", "mass=inf", "mass=1e999",
                          "mass= 70"}) {
    try {
      parse_override(bad);
      ADD_FAILURE() << bad << ": no error";
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("--set: ", 0), 0u) << e.what();
    }
  }
  try {
    parse_override("mass=abc");
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "--set: mass: value 'abc' is not a number");
  }
}

TEST(Overrides, OverridableNames) {
  const auto names = overridable_names(io::load_model_spec(kDefaultModel));
  for (const char* n : {"mass", "height", "hip_flexion_r", "pelvis_tilt", "L5_S1_flexion"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
}

TEST(Overrides, UnknownNameIsInputErrorNamingIt) {
  const ModelSpec s = io::load_model_spec(kDefaultModel);
  try {
    compile(s, {parse_override("nope=1")});
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.error().key, "nope");
    EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind("--set: nope: unknown", 0), 0u) << e.what();
  }
}

TEST(Overrides, MassSetsTotalMass) {
  const ModelSpec s = io::load_model_spec(kDefaultModel);
  EXPECT_NEAR(compile(s, {parse_override("mass=70")}).total_mass, 70.0, 1e-9);
  EXPECT_NEAR(compile(s, {parse_override("mass=120")}).total_mass, 120.0, 1e-9);
  // the spec itself is not changed by compile()
  EXPECT_NEAR(compile(s).total_mass, 75.0, 1e-9);
}

TEST(Overrides, CoordinateDefault) {
  const ModelSpec s = io::load_model_spec(kDefaultModel);
  const Model m = compile(s, {parse_override("hip_flexion_r=90")});
  const int c = m.find_coord("hip_flexion_r");
  ASSERT_GE(c, 0);
  EXPECT_NEAR(m.default_q()[c], std::numbers::pi / 2, 1e-12);
}

TEST(Overrides, CoordinateOutsideRangeThrows) {
  const ModelSpec s = io::load_model_spec(kDefaultModel);
  try {
    compile(s, {parse_override("hip_flexion_r=200")});  // range [-30, 140]
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.error().key, "hip_flexion_r");
    EXPECT_EQ(e.error().loc.file, "--set");
    EXPECT_NE(std::string(e.what()).find("outside the coordinate range"), std::string::npos) << e.what();
  }
}

TEST(Overrides, ParameterOutsideRangeThrows) {
  const ModelSpec s = io::load_model_spec(kDefaultModel);
  for (const char* o : {"mass=10", "mass=1000", "height=0.5", "height=-1.75"}) {
    try {
      compile(s, {parse_override(o)});
      ADD_FAILURE() << o << ": no error";
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("--set: ", 0), 0u) << e.what();
      EXPECT_NE(std::string(e.what()).find("outside the physical range"), std::string::npos) << e.what();
    }
  }
}
