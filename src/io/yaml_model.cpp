#include "lumbosim/io/yaml_model.hpp"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cmath>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>
#include <vector>

namespace lumbosim::io {
namespace {

/// Walks YAML nodes with a key path and the file name, so every error can say where it is.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  SourceLoc loc(const YAML::Node& n) const {
    const auto m = n.Mark();
    if (m.is_null()) return SourceLoc{file_, 0, 0};
    return SourceLoc{file_, m.line + 1, m.column + 1};
  }
  [[noreturn]] void fail(const YAML::Node& n, const std::string& key, const std::string& msg) const {
    throw InputError(Error{loc(n), key, msg});
  }

  /// Checks that `n` is a mapping whose keys are all in `allowed`, unique, and that the keys in
  /// `required` are present.
  void check_map(const YAML::Node& n, const std::string& key, std::initializer_list<const char*> allowed,
                 std::initializer_list<const char*> required) const {
    if (!n.IsMap()) fail(n, key, std::string("expected a mapping, got ") + kind(n));
    std::set<std::string> seen;
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!it->first.IsScalar()) fail(it->first, key, "keys must be plain names");
      const std::string k = it->first.Scalar();
      bool ok = false;
      for (const char* a : allowed) ok = ok || k == a;
      if (!ok) {
        std::string list;
        for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
        fail(it->first, join(key, k), "unknown key '" + k + "' (allowed: " + list + ")");
      }
      if (!seen.insert(k).second) fail(it->first, join(key, k), "duplicate key '" + k + "'");
    }
    for (const char* r : required)
      if (!seen.count(r)) fail(n, join(key, r), std::string("missing required key '") + r + "'");
  }

  static std::string join(const std::string& a, const std::string& b) { return a.empty() ? b : a + "." + b; }

  static const char* kind(const YAML::Node& n) {
    switch (n.Type()) {
      case YAML::NodeType::Map: return "a mapping";
      case YAML::NodeType::Sequence: return "a list";
      case YAML::NodeType::Scalar: return "a scalar";
      case YAML::NodeType::Null: return "nothing (null)";
      default: return "an undefined node";
    }
  }

  std::string str(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, key, std::string("expected a string, got ") + kind(n));
    return n.Scalar();
  }

  double num(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, key, std::string("expected a number, got ") + kind(n));
    const std::string& s = n.Scalar();
    double v = 0.0;
    try {
      size_t pos = 0;
      v = std::stod(s, &pos);
      if (pos != s.size()) throw std::invalid_argument(s);
    } catch (const std::out_of_range&) {
      fail(n, key, "number '" + s + "' is out of range");
    } catch (const std::exception&) {
      // YAML spellings of special values, which are never valid here.
      if (s == ".nan" || s == ".NaN" || s == ".NAN" || s == ".inf" || s == "-.inf" || s == ".Inf" || s == "-.Inf")
        fail(n, key, "value must be a finite number, got '" + s + "'");
      fail(n, key, "expected a number, got '" + s + "'");
    }
    if (!std::isfinite(v)) fail(n, key, "value must be a finite number, got '" + s + "'");
    return v;
  }

  bool boolean(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, key, std::string("expected true or false, got ") + kind(n));
    const std::string& s = n.Scalar();
    if (s == "true") return true;
    if (s == "false") return false;
    fail(n, key, "expected true or false, got '" + s + "'");
  }

  template <int N>
  Eigen::Matrix<double, N, 1> vec(const YAML::Node& n, const std::string& key) const {
    if (!n.IsSequence()) fail(n, key, std::string("expected a list of ") + std::to_string(N) + " numbers, got " + kind(n));
    if (static_cast<int>(n.size()) != N)
      fail(n, key, "expected a list of " + std::to_string(N) + " numbers, got " + std::to_string(n.size()));
    Eigen::Matrix<double, N, 1> v;
    for (int i = 0; i < N; ++i) v[i] = num(n[static_cast<size_t>(i)], key + "[" + std::to_string(i) + "]");
    return v;
  }

  std::string name(const YAML::Node& n, const std::string& key) const {
    std::string s = str(n, key);
    if (s.empty()) fail(n, key, "name must not be empty");
    for (char c : s)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'))
        fail(n, key, "name '" + s + "' may only contain letters, digits, '_' and '-'");
    return s;
  }

  YAML::Node list(const YAML::Node& n, const std::string& key) const {
    if (!n.IsSequence()) fail(n, key, std::string("expected a list, got ") + kind(n));
    return n;
  }

 private:
  std::string file_;
};

FrameSpec read_frame(const Reader& r, const YAML::Node& n, const std::string& key) {
  r.check_map(n, key, {"position", "orientation_deg"}, {});
  FrameSpec f;
  f.loc = r.loc(n);
  if (n["position"]) f.position = r.vec<3>(n["position"], key + ".position");
  if (n["orientation_deg"]) f.orientation_deg = r.vec<3>(n["orientation_deg"], key + ".orientation_deg");
  return f;
}

JointType joint_type(const Reader& r, const YAML::Node& n, const std::string& key) {
  const std::string t = r.str(n, key);
  for (JointType jt : {JointType::Weld, JointType::Revolute, JointType::Prismatic, JointType::Planar,
                       JointType::Ball, JointType::Free})
    if (t == joint_type_name(jt)) return jt;
  r.fail(n, key, "unknown joint type '" + t + "' (weld, revolute, prismatic, planar, ball, free)");
}

std::vector<PathPointSpec> read_path(const Reader& r, const YAML::Node& n, const std::string& key) {
  const auto list = r.list(n, key);
  std::vector<PathPointSpec> out;
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node e = list[i];
    const std::string k = key + "[" + std::to_string(i) + "]";
    PathPointSpec pp;
    pp.loc = r.loc(e);
    if (e.IsMap() && e["wrap"]) {
      r.check_map(e, k, {"wrap"}, {"wrap"});
      pp.wrap = r.name(e["wrap"], k + ".wrap");
    } else {
      r.check_map(e, k, {"body", "position", "source"}, {"body", "position"});
      pp.body = r.name(e["body"], k + ".body");
      pp.position = r.vec<3>(e["position"], k + ".position");
    }
    out.push_back(std::move(pp));
  }
  return out;
}

double positive(const Reader& r, const YAML::Node& n, const std::string& key) {
  const double v = r.num(n, key);
  if (!(v > 0.0)) r.fail(n, key, "must be positive");
  return v;
}

double non_negative(const Reader& r, const YAML::Node& n, const std::string& key) {
  const double v = r.num(n, key);
  if (!(v >= 0.0)) r.fail(n, key, "must be >= 0");
  return v;
}

void read_tissues(const Reader& r, const YAML::Node& root, ModelSpec& s) {
  if (const auto ws = root["wrap_surfaces"]) {
    const auto list = r.list(ws, "wrap_surfaces");
    for (size_t i = 0; i < list.size(); ++i) {
      const YAML::Node w = list[i];
      const std::string key = "wrap_surfaces[" + std::to_string(i) + "]";
      r.check_map(w, key, {"name", "type", "body", "position", "orientation_deg", "radius", "radii", "side", "mirror", "source"},
                  {"name", "type", "body"});
      WrapSpec ws_;
      ws_.loc = r.loc(w);
      ws_.name = r.name(w["name"], key + ".name");
      const std::string t = r.str(w["type"], key + ".type");
      if (t == "cylinder") ws_.type = WrapType::Cylinder;
      else if (t == "ellipsoid") ws_.type = WrapType::Ellipsoid;
      else r.fail(w["type"], key + ".type", "unknown wrap type '" + t + "' (cylinder, ellipsoid)");
      ws_.body = r.name(w["body"], key + ".body");
      if (w["position"]) ws_.frame.position = r.vec<3>(w["position"], key + ".position");
      if (w["orientation_deg"]) ws_.frame.orientation_deg = r.vec<3>(w["orientation_deg"], key + ".orientation_deg");
      if (ws_.type == WrapType::Cylinder) {
        if (!w["radius"]) r.fail(w, key + ".radius", "missing required key 'radius'");
        ws_.radius = positive(r, w["radius"], key + ".radius");
      } else {
        if (!w["radii"]) r.fail(w, key + ".radii", "missing required key 'radii'");
        ws_.radii = r.vec<3>(w["radii"], key + ".radii");
        if ((ws_.radii.array() <= 0).any()) r.fail(w["radii"], key + ".radii", "radii must be positive");
      }
      if (w["side"]) {
        const double sd = r.num(w["side"], key + ".side");
        if (sd != -1.0 && sd != 0.0 && sd != 1.0) r.fail(w["side"], key + ".side", "side must be -1, 0 or 1");
        ws_.side = static_cast<int>(sd);
      }
      if (w["mirror"]) ws_.mirror = r.boolean(w["mirror"], key + ".mirror");
      if (w["source"]) ws_.source = r.str(w["source"], key + ".source");
      s.wraps.push_back(std::move(ws_));
    }
  }
  if (const auto ms = root["muscles"]) {
    const auto list = r.list(ms, "muscles");
    for (size_t i = 0; i < list.size(); ++i) {
      const YAML::Node m = list[i];
      const std::string key = "muscles[" + std::to_string(i) + "]";
      r.check_map(m, key,
                  {"name", "max_isometric_force", "optimal_fiber_length", "tendon_slack_length", "pennation_deg",
                   "passive_strain", "effort_weight", "max_contraction_velocity", "tendon", "activation_time", "deactivation_time",
                   "groups", "mirror", "path", "source"},
                  {"name", "max_isometric_force", "optimal_fiber_length", "tendon_slack_length", "path"});
      MuscleSpec ms_;
      ms_.loc = r.loc(m);
      ms_.name = r.name(m["name"], key + ".name");
      ms_.max_isometric_force = positive(r, m["max_isometric_force"], key + ".max_isometric_force");
      ms_.optimal_fiber_length = positive(r, m["optimal_fiber_length"], key + ".optimal_fiber_length");
      if (m["tendon_slack_length"].IsScalar() && m["tendon_slack_length"].Scalar() == "auto") {
        ms_.tendon_slack_length = -1.0;  // fibre at optimal length in the default pose (compile)
      } else {
        ms_.tendon_slack_length = r.num(m["tendon_slack_length"], key + ".tendon_slack_length");
        if (ms_.tendon_slack_length < 0) r.fail(m["tendon_slack_length"], key + ".tendon_slack_length", "must be >= 0 or 'auto'");
      }
      if (m["pennation_deg"]) {
        ms_.pennation_deg = r.num(m["pennation_deg"], key + ".pennation_deg");
        if (ms_.pennation_deg < 0 || ms_.pennation_deg >= 60)
          r.fail(m["pennation_deg"], key + ".pennation_deg", "pennation must be in [0, 60) degrees");
      }
      if (m["passive_strain"]) ms_.passive_strain = positive(r, m["passive_strain"], key + ".passive_strain");
      if (m["effort_weight"]) ms_.effort_weight = positive(r, m["effort_weight"], key + ".effort_weight");
      if (m["max_contraction_velocity"])
        ms_.max_contraction_velocity = positive(r, m["max_contraction_velocity"], key + ".max_contraction_velocity");
      if (m["tendon"]) {
        const std::string t = r.str(m["tendon"], key + ".tendon");
        if (t == "compliant") ms_.compliant_tendon = true;
        else if (t != "rigid") r.fail(m["tendon"], key + ".tendon", "tendon must be 'rigid' or 'compliant'");
      }
      if (m["activation_time"]) ms_.activation_time = positive(r, m["activation_time"], key + ".activation_time");
      if (m["deactivation_time"]) ms_.deactivation_time = positive(r, m["deactivation_time"], key + ".deactivation_time");
      if (m["groups"]) {
        const auto g = r.list(m["groups"], key + ".groups");
        for (size_t k = 0; k < g.size(); ++k) ms_.groups.push_back(r.name(g[k], key + ".groups"));
      }
      if (m["mirror"]) ms_.mirror = r.boolean(m["mirror"], key + ".mirror");
      ms_.path = read_path(r, m["path"], key + ".path");
      if (m["source"]) ms_.source = r.str(m["source"], key + ".source");
      s.muscles.push_back(std::move(ms_));
    }
  }
  if (const auto ls = root["ligaments"]) {
    const auto list = r.list(ls, "ligaments");
    for (size_t i = 0; i < list.size(); ++i) {
      const YAML::Node l = list[i];
      const std::string key = "ligaments[" + std::to_string(i) + "]";
      r.check_map(l, key, {"name", "stiffness", "transition_strain", "reference_strain", "source_length", "path", "mirror", "source"},
                  {"name", "stiffness", "transition_strain", "path"});
      LigamentSpec lg;
      lg.loc = r.loc(l);
      lg.name = r.name(l["name"], key + ".name");
      lg.stiffness = positive(r, l["stiffness"], key + ".stiffness");
      lg.transition_strain = positive(r, l["transition_strain"], key + ".transition_strain");
      if (l["reference_strain"]) {
        lg.reference_strain = r.num(l["reference_strain"], key + ".reference_strain");
        if (lg.reference_strain <= -0.9) r.fail(l["reference_strain"], key + ".reference_strain", "must be > -0.9");
      }
      if (l["source_length"]) lg.source_length = positive(r, l["source_length"], key + ".source_length");
      lg.path = read_path(r, l["path"], key + ".path");
      if (l["mirror"]) lg.mirror = r.boolean(l["mirror"], key + ".mirror");
      if (l["source"]) lg.source = r.str(l["source"], key + ".source");
      s.ligaments.push_back(std::move(lg));
    }
  }
  if (const auto js = root["spinal_joints"]) {
    const auto list = r.list(js, "spinal_joints");
    for (size_t i = 0; i < list.size(); ++i) {
      const YAML::Node j = list[i];
      const std::string key = "spinal_joints[" + std::to_string(i) + "]";
      r.check_map(j, key,
                  {"coordinate", "neutral_stiffness", "flexion_exponent", "extension_exponent", "compression_stiffness",
                   "disc_area", "swelling_pressure", "source"},
                  {"coordinate", "neutral_stiffness", "flexion_exponent", "extension_exponent", "disc_area"});
      SpinalJointSpec sj;
      sj.loc = r.loc(j);
      sj.coordinate = r.name(j["coordinate"], key + ".coordinate");
      sj.neutral_stiffness = positive(r, j["neutral_stiffness"], key + ".neutral_stiffness");
      sj.flexion_exponent = positive(r, j["flexion_exponent"], key + ".flexion_exponent");
      sj.extension_exponent = positive(r, j["extension_exponent"], key + ".extension_exponent");
      if (j["compression_stiffness"]) sj.compression_stiffness = positive(r, j["compression_stiffness"], key + ".compression_stiffness");
      sj.disc_area = positive(r, j["disc_area"], key + ".disc_area");
      if (j["swelling_pressure"]) sj.swelling_pressure = non_negative(r, j["swelling_pressure"], key + ".swelling_pressure");
      if (j["source"]) sj.source = r.str(j["source"], key + ".source");
      s.spinal_joints.push_back(std::move(sj));
    }
  }
  if (const auto cs = root["coordinate_limits"]) {
    const auto list = r.list(cs, "coordinate_limits");
    for (size_t i = 0; i < list.size(); ++i) {
      const YAML::Node c = list[i];
      const std::string key = "coordinate_limits[" + std::to_string(i) + "]";
      r.check_map(c, key, {"coordinate", "range", "k1", "k2", "k3", "k4", "mirror", "source"},
                  {"coordinate", "range", "k1", "k2", "k3", "k4"});
      CoordinateLimitSpec cl;
      cl.loc = r.loc(c);
      cl.coordinate = r.name(c["coordinate"], key + ".coordinate");
      const auto rg = r.vec<2>(c["range"], key + ".range");
      if (rg[0] > rg[1]) r.fail(c["range"], key + ".range", "range min > max");
      cl.lower_deg = rg[0];
      cl.upper_deg = rg[1];
      cl.k1 = r.num(c["k1"], key + ".k1");
      cl.k2 = r.num(c["k2"], key + ".k2");
      cl.k3 = r.num(c["k3"], key + ".k3");
      cl.k4 = r.num(c["k4"], key + ".k4");
      if (!(cl.k1 <= 0 && cl.k2 > 0 && cl.k3 >= 0 && cl.k4 < 0))
        r.fail(c, key, "limit coefficients must satisfy k1 <= 0 < k2 and k3 >= 0 > k4 (moments resist beyond the range)");
      if (c["mirror"]) cl.mirror = r.boolean(c["mirror"], key + ".mirror");
      if (c["source"]) cl.source = r.str(c["source"], key + ".source");
      s.coordinate_limits.push_back(std::move(cl));
    }
  }
  if (const auto cs = root["contact_spheres"]) {
    const auto list = r.list(cs, "contact_spheres");
    for (size_t i = 0; i < list.size(); ++i) {
      const YAML::Node c = list[i];
      const std::string key = "contact_spheres[" + std::to_string(i) + "]";
      r.check_map(c, key, {"name", "body", "position", "radius", "mirror", "source"}, {"name", "body", "position", "radius"});
      ContactSphereSpec sp;
      sp.loc = r.loc(c);
      sp.name = r.name(c["name"], key + ".name");
      sp.body = r.name(c["body"], key + ".body");
      sp.position = r.vec<3>(c["position"], key + ".position");
      sp.radius = positive(r, c["radius"], key + ".radius");
      if (c["mirror"]) sp.mirror = r.boolean(c["mirror"], key + ".mirror");
      if (c["source"]) sp.source = r.str(c["source"], key + ".source");
      s.contact_spheres.push_back(std::move(sp));
    }
  }
  if (const auto c = root["clinical"]) {
    r.check_map(c, "clinical", {"end_feel_torque", "knee_end_feel_torque", "pelvis_free", "default_slr_deg", "source"}, {});
    if (c["default_slr_deg"]) {
      s.clinical.default_slr_deg = r.num(c["default_slr_deg"], "clinical.default_slr_deg");
      if (s.clinical.default_slr_deg < 0.0 || s.clinical.default_slr_deg >= 150.0)
        r.fail(c["default_slr_deg"], "clinical.default_slr_deg", "must be in [0, 150) degrees (0 = none)");
    }
    if (c["knee_end_feel_torque"])
      s.clinical.knee_end_feel_torque = positive(r, c["knee_end_feel_torque"], "clinical.knee_end_feel_torque");
    s.clinical.loc = r.loc(c);
    if (c["end_feel_torque"]) s.clinical.end_feel_torque = positive(r, c["end_feel_torque"], "clinical.end_feel_torque");
    if (c["pelvis_free"]) s.clinical.pelvis_free = r.boolean(c["pelvis_free"], "clinical.pelvis_free");
    if (c["source"]) s.clinical.source = r.str(c["source"], "clinical.source");
  }
  if (const auto c = root["stability"]) {
    r.check_map(c, "stability", {"enabled", "muscle_stiffness_gain", "reflex_share", "preload_stiffening", "preload_force", "margin", "source"}, {"enabled"});
    s.stability.loc = r.loc(c);
    s.stability.enabled = r.boolean(c["enabled"], "stability.enabled");
    if (c["muscle_stiffness_gain"])
      s.stability.muscle_stiffness_gain = positive(r, c["muscle_stiffness_gain"], "stability.muscle_stiffness_gain");
    if (c["reflex_share"]) {
      s.stability.reflex_share = r.num(c["reflex_share"], "stability.reflex_share");
      if (!(s.stability.reflex_share >= 0.0 && s.stability.reflex_share < 1.0))
        r.fail(c["reflex_share"], "stability.reflex_share", "must be a fraction in [0, 1)");
    }
    if (c["preload_stiffening"]) {
      s.stability.preload_stiffening = r.num(c["preload_stiffening"], "stability.preload_stiffening");
      if (!(s.stability.preload_stiffening >= 0.0)) r.fail(c["preload_stiffening"], "stability.preload_stiffening", "must be >= 0");
    }
    if (c["preload_force"]) s.stability.preload_force = positive(r, c["preload_force"], "stability.preload_force");
    if (c["margin"]) {
      s.stability.margin = r.num(c["margin"], "stability.margin");
      if (!(s.stability.margin >= 0.0)) r.fail(c["margin"], "stability.margin", "must be a stiffness >= 0 (N m/rad)");
    }
    if (c["source"]) s.stability.source = r.str(c["source"], "stability.source");
  }
}

ModelSpec read_model(const Reader& r, const YAML::Node& root, const std::string& file) {
  if (!root || root.IsNull()) r.fail(root, "", "empty model file");
  if (!root.IsMap()) r.fail(root, "", std::string("a model file must be a mapping, got ") + Reader::kind(root));
  r.check_map(root, "",
              {"lumbosim_model", "name", "description", "source", "reference", "gravity", "parameters", "bodies",
               "joints", "landmarks", "wrap_surfaces", "muscles", "ligaments", "spinal_joints", "coordinate_limits",
               "contact_spheres", "clinical", "stability"},
              {"lumbosim_model", "name", "bodies", "joints"});
  ModelSpec s;
  s.file = file;
  s.loc = r.loc(root);
  const double version = r.num(root["lumbosim_model"], "lumbosim_model");
  if (version != 1.0) r.fail(root["lumbosim_model"], "lumbosim_model", "unsupported format version (this build reads 1)");
  s.name = r.name(root["name"], "name");
  if (root["description"]) r.str(root["description"], "description");
  if (root["source"]) r.str(root["source"], "source");
  if (const auto ref = root["reference"]) {
    r.check_map(ref, "reference", {"height", "mass", "source"}, {"height", "mass"});
    s.reference_height_m = r.num(ref["height"], "reference.height");
    s.reference_mass_kg = r.num(ref["mass"], "reference.mass");
    if (s.reference_height_m <= 0.0) r.fail(ref["height"], "reference.height", "must be positive (m)");
    if (s.reference_mass_kg <= 0.0) r.fail(ref["mass"], "reference.mass", "must be positive (kg)");
  }
  if (root["gravity"]) s.gravity = r.vec<3>(root["gravity"], "gravity");

  if (const auto ps = root["parameters"]) {
    if (!ps.IsMap()) r.fail(ps, "parameters", std::string("expected a mapping, got ") + Reader::kind(ps));
    std::set<std::string> seen;
    for (auto it = ps.begin(); it != ps.end(); ++it) {
      ParamSpec p;
      p.name = r.name(it->first, "parameters");
      const std::string key = "parameters." + p.name;
      if (!seen.insert(p.name).second) r.fail(it->first, key, "duplicate parameter '" + p.name + "'");
      const YAML::Node v = it->second;  // a copy: `it->second` lives in a temporary proxy
      r.check_map(v, key, {"value", "unit", "min", "max", "source"}, {"value", "unit"});
      p.loc = r.loc(v);
      p.value = r.num(v["value"], key + ".value");
      p.unit = r.str(v["unit"], key + ".unit");
      if (v["min"]) p.min = r.num(v["min"], key + ".min");
      if (v["max"]) p.max = r.num(v["max"], key + ".max");
      if (p.min > p.max) r.fail(v, key, "min > max");
      if (v["source"]) p.source = r.str(v["source"], key + ".source");
      s.parameters.push_back(std::move(p));
    }
  }

  const auto bodies = r.list(root["bodies"], "bodies");
  for (size_t i = 0; i < bodies.size(); ++i) {
    const YAML::Node b = bodies[i];
    const std::string key = "bodies[" + std::to_string(i) + "]";
    r.check_map(b, key, {"name", "mass", "mass_fraction", "com", "inertia", "gyration_radii", "source", "geometry"},
                {"name", "com"});
    BodySpec bs;
    bs.loc = r.loc(b);
    bs.name = r.name(b["name"], key + ".name");
    if (b["mass"]) bs.mass_kg = r.num(b["mass"], key + ".mass");
    if (b["mass_fraction"]) bs.mass_fraction = r.num(b["mass_fraction"], key + ".mass_fraction");
    if (!b["mass"] && !b["mass_fraction"]) r.fail(b, key + ".mass", "missing required key 'mass' or 'mass_fraction'");
    bs.com = r.vec<3>(b["com"], key + ".com");
    if (b["inertia"]) bs.inertia = r.vec<6>(b["inertia"], key + ".inertia");
    if (b["gyration_radii"]) bs.gyration_radii = r.vec<3>(b["gyration_radii"], key + ".gyration_radii");
    if (!b["inertia"] && !b["gyration_radii"])
      r.fail(b, key + ".inertia", "missing required key 'inertia' or 'gyration_radii'");
    if (b["source"]) bs.source = r.str(b["source"], key + ".source");
    if (b["geometry"]) r.str(b["geometry"], key + ".geometry");
    s.bodies.push_back(std::move(bs));
  }

  const auto joints = r.list(root["joints"], "joints");
  for (size_t i = 0; i < joints.size(); ++i) {
    const YAML::Node j = joints[i];
    const std::string key = "joints[" + std::to_string(i) + "]";
    r.check_map(j, key, {"name", "type", "parent", "child", "parent_frame", "child_frame", "coordinates", "source"},
                {"name", "type", "parent", "child"});
    JointSpec js;
    js.loc = r.loc(j);
    js.name = r.name(j["name"], key + ".name");
    js.type = joint_type(r, j["type"], key + ".type");
    js.parent = r.name(j["parent"], key + ".parent");
    js.parent_loc = r.loc(j["parent"]);
    js.child = r.name(j["child"], key + ".child");
    js.child_loc = r.loc(j["child"]);
    if (j["parent_frame"]) js.in_parent = read_frame(r, j["parent_frame"], key + ".parent_frame");
    if (j["child_frame"]) js.in_child = read_frame(r, j["child_frame"], key + ".child_frame");
    if (j["source"]) r.str(j["source"], key + ".source");
    if (joint_type_dofs(js.type) > 0 && !j["coordinates"])
      r.fail(j, key + ".coordinates", "missing required key 'coordinates'");
    if (j["coordinates"]) {
      const auto cs = r.list(j["coordinates"], key + ".coordinates");
      for (size_t c = 0; c < cs.size(); ++c) {
        const YAML::Node cn = cs[c];
        const std::string ck = key + ".coordinates[" + std::to_string(c) + "]";
        r.check_map(cn, ck, {"name", "axis", "range", "default", "locked", "scales_with_height", "source"}, {"name", "range"});
        CoordSpec co;
        co.loc = r.loc(cn);
        co.name = r.name(cn["name"], ck + ".name");
        if (cn["axis"]) co.axis = r.vec<3>(cn["axis"], ck + ".axis");
        const auto range = r.vec<2>(cn["range"], ck + ".range");
        co.min = range[0];
        co.max = range[1];
        if (co.min > co.max) r.fail(cn["range"], ck + ".range", "range min > max");
        co.default_value = cn["default"] ? r.num(cn["default"], ck + ".default") : 0.0;
        if (cn["locked"]) co.locked = r.boolean(cn["locked"], ck + ".locked");
        if (cn["scales_with_height"]) co.scales_with_height = r.boolean(cn["scales_with_height"], ck + ".scales_with_height");
        if (cn["source"]) r.str(cn["source"], ck + ".source");
        js.coordinates.push_back(std::move(co));
      }
    }
    s.joints.push_back(std::move(js));
  }

  if (const auto ls = root["landmarks"]) {
    r.list(ls, "landmarks");
    for (size_t i = 0; i < ls.size(); ++i) {
      const YAML::Node l = ls[i];
      const std::string key = "landmarks[" + std::to_string(i) + "]";
      r.check_map(l, key, {"name", "body", "position", "direction", "source"}, {"name", "body", "position"});
      LandmarkSpec lm;
      lm.loc = r.loc(l);
      lm.name = r.name(l["name"], key + ".name");
      lm.body = r.name(l["body"], key + ".body");
      lm.body_loc = r.loc(l["body"]);
      lm.position = r.vec<3>(l["position"], key + ".position");
      if (l["direction"]) lm.direction = r.vec<3>(l["direction"], key + ".direction");
      if (l["source"]) lm.source = r.str(l["source"], key + ".source");
      s.landmarks.push_back(std::move(lm));
    }
  }
  read_tissues(r, root, s);
  return s;
}

}  // namespace

ModelSpec parse_model_spec(const std::string& text, const std::string& file_label) {
  Reader r(file_label);
  if (text.find('\0') != std::string::npos)
    throw InputError(Error{SourceLoc{file_label, 1, 1}, "", "not a text file (contains NUL bytes)"});
  // LoadAll, not Load: Load stops after the first document and would silently ignore (and not
  // even syntax-check) anything after a `---` or `...` line.
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    throw InputError(Error{SourceLoc{file_label, e.mark.line + 1, e.mark.column + 1}, "",
                           "YAML syntax error: " + e.msg});
  }
  for (size_t i = 1; i < docs.size(); ++i)
    if (!docs[i].IsNull())
      r.fail(docs[i], "", "more than one YAML document in the file (a model file holds one model)");
  const YAML::Node root = docs.empty() ? YAML::Node() : docs.front();
  try {
    return read_model(r, root, file_label);
  } catch (const YAML::Exception& e) {
    throw InputError(Error{SourceLoc{file_label, e.mark.line + 1, e.mark.column + 1}, "", "invalid model: " + e.msg});
  }
}

ModelSpec load_model_spec(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(Error{SourceLoc{path, 0, 0}, "", "cannot open model file"});
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_model_spec(ss.str(), path);
}

}  // namespace lumbosim::io
