#include "lumbosim/model/compile.hpp"

#include "lumbosim/algorithm/clinical.hpp"
#include "lumbosim/algorithm/path.hpp"
#include "lumbosim/data/data.hpp"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <numbers>
#include <functional>
#include <set>
#include <unordered_map>

namespace lumbosim {
namespace {

constexpr double kDeg = std::numbers::pi / 180.0;

[[noreturn]] void fail(const SourceLoc& loc, const std::string& key, const std::string& msg) {
  throw InputError(Error{loc, key, msg});
}

std::string idx(const char* list, size_t i) { return std::string(list) + "[" + std::to_string(i) + "]"; }

void require_finite(double v, const SourceLoc& loc, const std::string& key) {
  if (!std::isfinite(v)) fail(loc, key, "value must be a finite number");
}
void require_finite(const Vec3& v, const SourceLoc& loc, const std::string& key) {
  if (!v.allFinite()) fail(loc, key, "all components must be finite numbers");
}

Mat3 euler_xyz_deg(const Vec3& a) {
  return (Eigen::AngleAxisd(a.x() * kDeg, Vec3::UnitX()) * Eigen::AngleAxisd(a.y() * kDeg, Vec3::UnitY()) *
          Eigen::AngleAxisd(a.z() * kDeg, Vec3::UnitZ()))
      .toRotationMatrix();
}

SE3 frame_to_se3(const FrameSpec& f, double length_scale) {
  SE3 X;
  X.R = euler_xyz_deg(f.orientation_deg);
  X.p = f.position * length_scale;
  return X;
}

struct Prim {
  DofKind kind;
  Vec3 axis;
};

std::vector<Prim> primitives(JointType t) {
  const Vec3 X = Vec3::UnitX(), Y = Vec3::UnitY(), Z = Vec3::UnitZ();
  switch (t) {
    case JointType::Weld: return {};
    case JointType::Revolute: return {{DofKind::Revolute, Z}};
    case JointType::Prismatic: return {{DofKind::Prismatic, X}};
    case JointType::Planar: return {{DofKind::Prismatic, X}, {DofKind::Prismatic, Y}, {DofKind::Revolute, Z}};
    // Rotation sequence Z (flexion-extension), X (lateral bending / ab-adduction), Y (axial
    // rotation), as the ISB recommends for the spine and the hip.
    case JointType::Ball: return {{DofKind::Revolute, Z}, {DofKind::Revolute, X}, {DofKind::Revolute, Y}};
    case JointType::Free:
      return {{DofKind::Prismatic, X}, {DofKind::Prismatic, Y}, {DofKind::Prismatic, Z},
              {DofKind::Revolute, Z},  {DofKind::Revolute, X},  {DofKind::Revolute, Y}};
  }
  return {};
}


std::string mirror_name(const std::string& n) {
  if (n.size() > 2 && n.compare(n.size() - 2, 2, "_r") == 0) return n.substr(0, n.size() - 2) + "_l";
  return n;
}
Vec3 mirror_z(const Vec3& v) { return Vec3(v.x(), v.y(), -v.z()); }

/// Left-side copies of every entry marked `mirror: true` (names `_r` -> `_l`, z -> -z).
void expand_mirrors(ModelSpec& s) {
  std::set<std::string> bodies;
  for (const auto& b : s.bodies) bodies.insert(b.name);
  auto mb = [&](const std::string& b) {
    const std::string m = mirror_name(b);
    return bodies.count(m) ? m : b;
  };
  auto mpath = [&](std::vector<PathPointSpec> path) {
    for (auto& pp : path) {
      if (!pp.wrap.empty()) pp.wrap = mirror_name(pp.wrap);
      else { pp.body = mb(pp.body); pp.position = mirror_z(pp.position); }
    }
    return path;
  };
  const size_t nw = s.wraps.size();
  for (size_t i = 0; i < nw; ++i) {
    if (!s.wraps[i].mirror) continue;
    WrapSpec w = s.wraps[i];
    w.mirror = false;
    w.name = mirror_name(w.name);
    w.body = mb(w.body);
    w.frame.position = mirror_z(w.frame.position);
    w.frame.orientation_deg = Vec3(-w.frame.orientation_deg.x(), -w.frame.orientation_deg.y(), w.frame.orientation_deg.z());
    s.wraps.push_back(w);
  }
  const size_t nm = s.muscles.size();
  for (size_t i = 0; i < nm; ++i) {
    if (!s.muscles[i].mirror) continue;
    MuscleSpec m = s.muscles[i];
    m.mirror = false;
    m.name = mirror_name(m.name);
    m.path = mpath(m.path);
    s.muscles.push_back(m);
  }
  const size_t nl = s.ligaments.size();
  for (size_t i = 0; i < nl; ++i) {
    if (!s.ligaments[i].mirror) continue;
    LigamentSpec l = s.ligaments[i];
    l.mirror = false;
    l.name = mirror_name(l.name);
    l.path = mpath(l.path);
    s.ligaments.push_back(l);
  }
  const size_t ncs = s.contact_spheres.size();
  for (size_t i = 0; i < ncs; ++i) {
    if (!s.contact_spheres[i].mirror) continue;
    ContactSphereSpec c = s.contact_spheres[i];
    c.mirror = false;
    c.name = mirror_name(c.name);
    c.body = mb(c.body);
    c.position = mirror_z(c.position);
    s.contact_spheres.push_back(c);
  }
  const size_t nc = s.coordinate_limits.size();
  for (size_t i = 0; i < nc; ++i) {
    if (!s.coordinate_limits[i].mirror) continue;
    CoordinateLimitSpec c = s.coordinate_limits[i];
    c.mirror = false;
    c.coordinate = mirror_name(c.coordinate);
    s.coordinate_limits.push_back(c);
  }
}

/// Group names of a muscle: each listed group, plus the group with the muscle's side suffix.
std::vector<std::string> muscle_groups(const MuscleSpec& m) {
  std::vector<std::string> g;
  const bool r = m.name.size() > 2 && m.name.compare(m.name.size() - 2, 2, "_r") == 0;
  const bool l = m.name.size() > 2 && m.name.compare(m.name.size() - 2, 2, "_l") == 0;
  for (const auto& n : m.groups) {
    g.push_back(n);
    if (r) g.push_back(n + "_r");
    if (l) g.push_back(n + "_l");
  }
  return g;
}

}  // namespace

std::vector<std::string> muscle_group_names(const ModelSpec& spec_in) {
  ModelSpec s = spec_in;
  expand_mirrors(s);
  std::vector<std::string> out;
  for (const auto& m : s.muscles)
    for (const auto& g : muscle_groups(m))
      if (std::find(out.begin(), out.end(), g) == out.end()) out.push_back(g);
  return out;
}

namespace {
}  // namespace

Override parse_override(const std::string& text, const std::string& origin) {
  const SourceLoc loc{origin, 0, 0};
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    fail(loc, text, "expected NAME=VALUE");
  Override o;
  o.name = text.substr(0, eq);
  o.loc = loc;
  const std::string v = text.substr(eq + 1);
  const char* b = v.data();
  const char* e = v.data() + v.size();
  auto [ptr, ec] = std::from_chars(b, e, o.value);
  if (v.empty() || ec != std::errc() || ptr != e)
    fail(loc, o.name, "value '" + v + "' is not a number");
  if (!std::isfinite(o.value)) fail(loc, o.name, "value must be finite");
  return o;
}

std::vector<std::string> overridable_names(const ModelSpec& spec) {
  std::vector<std::string> names;
  for (const auto& p : spec.parameters) names.push_back(p.name);
  for (const auto& j : spec.joints)
    for (const auto& c : j.coordinates) names.push_back(c.name);
  return names;
}

Model compile(const ModelSpec& spec_in, const std::vector<Override>& overrides) {
  ModelSpec spec = spec_in;  // overrides are applied to a copy
  Model m;
  m.name = spec.name;
  m.source_file = spec.file;
  require_finite(spec.gravity, spec.loc, "gravity");
  m.gravity = spec.gravity;
  if (!(spec.reference_height_m > 0.0) || !std::isfinite(spec.reference_height_m))
    fail(spec.loc, "reference.height", "must be a positive finite length (m)");
  if (!(spec.reference_mass_kg > 0.0) || !std::isfinite(spec.reference_mass_kg))
    fail(spec.loc, "reference.mass", "must be a positive finite mass (kg)");

  // ---- overrides ---------------------------------------------------------------------------
  std::set<std::string> overridden;
  expand_mirrors(spec);
  std::unordered_map<std::string, double> group_slack_scale, group_strain_scale;
  std::vector<std::pair<std::string, double>> slr_targets;
  std::set<std::string> groups;
  for (const auto& mu : spec.muscles)
    for (const auto& g : muscle_groups(mu)) groups.insert(g);
  for (const auto& o : overrides) {
    overridden.insert(o.name);
    bool found = false;
    for (auto& p : spec.parameters)
      if (p.name == o.name) { p.value = o.value; p.loc = o.loc; found = true; }
    for (auto& j : spec.joints)
      for (auto& c : j.coordinates)
        if (c.name == o.name) { c.default_value = o.value; c.loc = o.loc; found = true; }
    const auto dot = o.name.find('.');
    if (!found && dot != std::string::npos) {
      const std::string a = o.name.substr(0, dot), b = o.name.substr(dot + 1);
      auto bad_field = [&](const std::string& what, const std::string& allowed) {
        fail(o.loc, o.name, "unknown " + what + " parameter '" + b + "' (settable: " + allowed + ")");
      };
      auto need_positive = [&] {
        if (!(o.value > 0.0)) fail(o.loc, o.name, "must be positive");
      };
      if (a == "clinical") {
        found = true;
        if (b == "end_feel_torque") { need_positive(); spec.clinical.end_feel_torque = o.value; }
        else if (b == "knee_end_feel_torque") { need_positive(); spec.clinical.knee_end_feel_torque = o.value; }
        else if (b == "pelvis_free") spec.clinical.pelvis_free = o.value != 0.0;
        else bad_field("clinical", "end_feel_torque, knee_end_feel_torque, pelvis_free");
      }
      if (a == "stability") {
        found = true;
        if (b == "enabled") spec.stability.enabled = o.value != 0.0;
        else if (b == "muscle_stiffness_gain") { need_positive(); spec.stability.muscle_stiffness_gain = o.value; }
        else if (b == "reflex_share") {
          if (!(o.value >= 0.0 && o.value < 1.0)) fail(o.loc, o.name, "must be a fraction in [0, 1)");
          spec.stability.reflex_share = o.value;
        } else if (b == "preload_stiffening") {
          if (!(o.value >= 0.0) || !std::isfinite(o.value)) fail(o.loc, o.name, "must be a finite fraction >= 0");
          spec.stability.preload_stiffening = o.value;
        } else if (b == "preload_force") { need_positive(); spec.stability.preload_force = o.value; }
        else if (b == "margin") {
          if (!(o.value >= 0.0) || !std::isfinite(o.value)) fail(o.loc, o.name, "must be a finite stiffness >= 0 (N m/rad)");
          spec.stability.margin = o.value;
        } else bad_field("stability", "enabled, muscle_stiffness_gain, reflex_share, preload_stiffening, preload_force, margin");
      }
      for (auto& mu : spec.muscles) {
        if (mu.name != a) continue;
        found = true;
        if (b == "max_isometric_force") { need_positive(); mu.max_isometric_force = o.value; }
        else if (b == "optimal_fiber_length") { need_positive(); mu.optimal_fiber_length = o.value; }
        else if (b == "tendon_slack_length") { need_positive(); mu.tendon_slack_length = o.value; }
        else if (b == "passive_strain") { need_positive(); mu.passive_strain = o.value; }
        else if (b == "effort_weight") { need_positive(); mu.effort_weight = o.value; }
        else if (b == "pennation_deg") {
          if (o.value < 0 || o.value >= 60) fail(o.loc, o.name, "pennation must be in [0, 60) degrees");
          mu.pennation_deg = o.value;
        } else bad_field("muscle", "max_isometric_force, optimal_fiber_length, tendon_slack_length, passive_strain, effort_weight, pennation_deg");
      }
      if (!found && groups.count(a)) {
        found = true;
        if (b == "slack_length_scale") { need_positive(); group_slack_scale[a] = o.value; }
        else if (b == "passive_strain_scale") { need_positive(); group_strain_scale[a] = o.value; }
        else if (b == "effort_weight") {
          need_positive();
          for (auto& mu : spec.muscles)
            for (const auto& g : muscle_groups(mu))
              if (g == a) mu.effort_weight = o.value;
        } else if (b == "slr_deg") {
          if (a.rfind("hamstrings", 0) != 0) fail(o.loc, o.name, "slr_deg is defined for the hamstrings groups only");
          if (o.value <= 0.0 || o.value >= 150.0) fail(o.loc, o.name, "SLR angle must be in (0, 150) degrees");
          slr_targets.emplace_back(a, o.value);
        } else bad_field("muscle group", "slack_length_scale, passive_strain_scale, effort_weight, slr_deg");
      }
      for (auto& bd : spec.bodies) {
        if (bd.name != a) continue;
        found = true;
        need_positive();
        if (b == "mass_fraction") { bd.mass_fraction = o.value; bd.mass_kg.reset(); }
        else if (b == "mass") { bd.mass_kg = o.value; bd.mass_fraction.reset(); }
        else bad_field("body", "mass, mass_fraction");
      }
      for (auto& sj : spec.spinal_joints) {
        if (sj.coordinate != a) continue;
        found = true;
        if (b == "swelling_pressure") {
          if (!(o.value >= 0.0)) fail(o.loc, o.name, "must be >= 0 (Pa)");
          sj.swelling_pressure = o.value;
          continue;
        }
        need_positive();
        if (b == "neutral_stiffness") sj.neutral_stiffness = o.value;
        else if (b == "flexion_exponent") sj.flexion_exponent = o.value;
        else if (b == "extension_exponent") sj.extension_exponent = o.value;
        else if (b == "compression_stiffness") sj.compression_stiffness = o.value;
        else if (b == "disc_area") sj.disc_area = o.value;
        else bad_field("intervertebral joint", "neutral_stiffness, flexion_exponent, extension_exponent, compression_stiffness, disc_area, swelling_pressure");
      }
      for (auto& lg : spec.ligaments) {
        if (lg.name != a) continue;
        found = true;
        if (b == "stiffness") { need_positive(); lg.stiffness = o.value; }
        else if (b == "reference_strain") lg.reference_strain = o.value;
        else bad_field("ligament", "stiffness, reference_strain");
      }
    }
    if (!found) fail(o.loc, o.name, "unknown parameter, coordinate or model element name");
  }

  // ---- parameters -----------------------------------------------------------------------------
  std::set<std::string> pnames;
  for (size_t i = 0; i < spec.parameters.size(); ++i) {
    const auto& p = spec.parameters[i];
    const std::string key = "parameters." + p.name;
    if (p.name.empty()) fail(p.loc, idx("parameters", i), "empty parameter name");
    if (!pnames.insert(p.name).second) fail(p.loc, key, "duplicate parameter name '" + p.name + "'");
    require_finite(p.value, p.loc, key);
    if (p.value < p.min || p.value > p.max)
      fail(p.loc, key, "value " + std::to_string(p.value) + " outside the physical range [" +
                           std::to_string(p.min) + ", " + std::to_string(p.max) + "] " + p.unit);
    m.param_name.push_back(p.name);
    m.param_value.push_back(p.value);
    m.param_unit.push_back(p.unit);
  }
  const int ih = m.find_param("height");
  const int im = m.find_param("mass");
  const double sL = ih >= 0 ? m.param_value[static_cast<size_t>(ih)] / spec.reference_height_m : 1.0;
  const double body_mass = im >= 0 ? m.param_value[static_cast<size_t>(im)] : spec.reference_mass_kg;
  const double sM = body_mass / spec.reference_mass_kg;
  if (!(sL > 0.0)) fail(spec.loc, "parameters.height", "must be positive");
  if (!(sM > 0.0)) fail(spec.loc, "parameters.mass", "must be positive");

  // ---- bodies ---------------------------------------------------------------------------------
  m.body_name.push_back("ground");
  m.body_mob.push_back(-1);
  m.body_X_MB.push_back(SE3{});
  m.body_inertia.push_back(Inertia{});
  m.body_source.push_back("");
  std::unordered_map<std::string, int> body_index{{"ground", 0}};
  for (size_t i = 0; i < spec.bodies.size(); ++i) {
    const auto& b = spec.bodies[i];
    const std::string key = idx("bodies", i);
    if (b.name.empty()) fail(b.loc, key + ".name", "empty body name");
    if (b.name == "ground") fail(b.loc, key + ".name", "'ground' is reserved");
    if (!body_index.emplace(b.name, m.nbody()).second)
      fail(b.loc, key + ".name", "duplicate body name '" + b.name + "'");
    Inertia I;
    if (b.mass_kg && b.mass_fraction)
      fail(b.loc, key, "give either 'mass' or 'mass_fraction', not both");
    if (b.mass_kg) {
      require_finite(*b.mass_kg, b.loc, key + ".mass");
      if (*b.mass_kg <= 0.0) fail(b.loc, key + ".mass", "mass must be positive (kg)");
      I.mass = *b.mass_kg * sM;
    } else if (b.mass_fraction) {
      require_finite(*b.mass_fraction, b.loc, key + ".mass_fraction");
      if (*b.mass_fraction <= 0.0 || *b.mass_fraction > 1.0)
        fail(b.loc, key + ".mass_fraction", "mass fraction must be in (0, 1]");
      I.mass = *b.mass_fraction * body_mass;
    } else {
      fail(b.loc, key, "missing required key 'mass' or 'mass_fraction'");
    }
    require_finite(b.com, b.loc, key + ".com");
    I.com = b.com * sL;
    if (b.inertia && b.gyration_radii) fail(b.loc, key, "give either 'inertia' or 'gyration_radii', not both");
    if (b.inertia) {
      const auto& v = *b.inertia;
      if (!v.allFinite()) fail(b.loc, key + ".inertia", "all components must be finite numbers");
      Mat3 J;
      J << v[0], v[3], v[4], v[3], v[1], v[5], v[4], v[5], v[2];
      I.I_com = J * sM * sL * sL;
    } else if (b.gyration_radii) {
      const Vec3& r = *b.gyration_radii;
      require_finite(r, b.loc, key + ".gyration_radii");
      if ((r.array() <= 0.0).any()) fail(b.loc, key + ".gyration_radii", "radii of gyration must be positive (m)");
      I.I_com = (I.mass * (r * sL).array().square()).matrix().asDiagonal();
    } else {
      fail(b.loc, key, "missing required key 'inertia' or 'gyration_radii'");
    }
    if (!I.I_com.allFinite() || !I.com.allFinite() || !std::isfinite(I.mass))
      fail(b.loc, key, "mass, centre of mass or inertia too large once scaled (not finite)");
    Eigen::SelfAdjointEigenSolver<Mat3> es(I.I_com, Eigen::EigenvaluesOnly);
    const Vec3 ev = es.eigenvalues();
    if (!(ev.minCoeff() > 0.0))
      fail(b.loc, key + ".inertia", "inertia tensor is not positive definite");
    const double tol = 1e-12 * ev.sum();
    if (ev[0] + ev[1] < ev[2] - tol)
      fail(b.loc, key + ".inertia", "principal moments violate the triangle inequality (not a physical body)");
    m.body_name.push_back(b.name);
    m.body_mob.push_back(-2);  // unresolved until its joint is placed
    m.body_X_MB.push_back(SE3{});
    m.body_inertia.push_back(I);
    m.body_source.push_back(b.source);
  }

  // ---- joints: names, references, coordinates ------------------------------------------------
  std::set<std::string> jnames, cnames;
  std::vector<int> joint_of_child(static_cast<size_t>(m.nbody()), -1);
  for (size_t i = 0; i < spec.joints.size(); ++i) {
    const auto& j = spec.joints[i];
    const std::string key = idx("joints", i);
    if (j.name.empty()) fail(j.loc, key + ".name", "empty joint name");
    if (!jnames.insert(j.name).second) fail(j.loc, key + ".name", "duplicate joint name '" + j.name + "'");
    auto pit = body_index.find(j.parent);
    if (pit == body_index.end()) fail(j.parent_loc, key + ".parent", "unknown body '" + j.parent + "'");
    auto cit = body_index.find(j.child);
    if (cit == body_index.end()) fail(j.child_loc, key + ".child", "unknown body '" + j.child + "'");
    if (cit->second == 0) fail(j.child_loc, key + ".child", "ground cannot be a child");
    if (cit->second == pit->second) fail(j.child_loc, key + ".child", "a body cannot be its own parent");
    auto& slot = joint_of_child[static_cast<size_t>(cit->second)];
    if (slot >= 0)
      fail(j.child_loc, key + ".child", "body '" + j.child + "' is already the child of joint '" +
                                            spec.joints[static_cast<size_t>(slot)].name + "' (a body has one parent joint)");
    slot = static_cast<int>(i);
    require_finite(j.in_parent.position, j.in_parent.loc, key + ".parent_frame.position");
    require_finite(j.in_parent.orientation_deg, j.in_parent.loc, key + ".parent_frame.orientation_deg");
    require_finite(j.in_child.position, j.in_child.loc, key + ".child_frame.position");
    require_finite(j.in_child.orientation_deg, j.in_child.loc, key + ".child_frame.orientation_deg");
    const int nd = joint_type_dofs(j.type);
    if (static_cast<int>(j.coordinates.size()) != nd)
      fail(j.loc, key + ".coordinates",
           std::string(joint_type_name(j.type)) + " joint needs " + std::to_string(nd) + " coordinate(s), got " +
               std::to_string(j.coordinates.size()));
    for (size_t c = 0; c < j.coordinates.size(); ++c) {
      const auto& cs = j.coordinates[c];
      const std::string ck = key + ".coordinates[" + std::to_string(c) + "]";
      if (cs.name.empty()) fail(cs.loc, ck + ".name", "empty coordinate name");
      if (!cnames.insert(cs.name).second) fail(cs.loc, ck + ".name", "duplicate coordinate name '" + cs.name + "'");
      require_finite(cs.min, cs.loc, ck + ".range");
      require_finite(cs.max, cs.loc, ck + ".range");
      require_finite(cs.default_value, cs.loc, ck + ".default");
      if (cs.min > cs.max) fail(cs.loc, ck + ".range", "range min > max");
      if (cs.default_value < cs.min || cs.default_value > cs.max)  // key: the --set name, else the file key
        fail(cs.loc, overridden.count(cs.name) ? cs.name : ck + ".default",
             "value " + std::to_string(cs.default_value) + " outside the coordinate range [" +
                 std::to_string(cs.min) + ", " + std::to_string(cs.max) + "]");
      if (cs.axis) {
        require_finite(*cs.axis, cs.loc, ck + ".axis");
        if (cs.axis->stableNorm() < 1e-9) fail(cs.loc, ck + ".axis", "axis must be non-zero");
      }
    }
  }
  for (int b = 1; b < m.nbody(); ++b)
    if (joint_of_child[static_cast<size_t>(b)] < 0)
      fail(spec.bodies[static_cast<size_t>(b - 1)].loc, idx("bodies", static_cast<size_t>(b - 1)),
           "body '" + m.body_name[static_cast<size_t>(b)] + "' is not connected: no joint has it as child");

  // ---- topological order: depth first from ground, children in file order (so each limb's
  // coordinates are contiguous); joints never reached form a cycle -------------------------------
  std::vector<int> order;
  std::vector<char> placed(static_cast<size_t>(m.nbody()), 0);
  placed[0] = 1;
  std::function<void(int)> visit = [&](int pb) {
    for (size_t i = 0; i < spec.joints.size(); ++i) {
      if (body_index.at(spec.joints[i].parent) != pb) continue;
      const int cb = body_index.at(spec.joints[i].child);
      if (placed[static_cast<size_t>(cb)]) continue;
      placed[static_cast<size_t>(cb)] = 1;
      order.push_back(static_cast<int>(i));
      visit(cb);
    }
  };
  visit(0);
  if (order.size() != spec.joints.size()) {
    for (size_t i = 0; i < spec.joints.size(); ++i)
      if (!placed[static_cast<size_t>(body_index.at(spec.joints[i].child))])
        fail(spec.joints[i].loc, idx("joints", i),
             "joint '" + spec.joints[i].name + "' is part of a cycle (its body is not reachable from ground)");
  }

  // ---- mobilizers --------------------------------------------------------------------------------
  for (const int ji : order) {
    const auto& j = spec.joints[static_cast<size_t>(ji)];
    const int jidx = m.njoint();
    const int pb = body_index.at(j.parent);
    const int cb = body_index.at(j.child);
    const int pm = m.body_mob[static_cast<size_t>(pb)];
    const SE3 X_base = m.body_X_MB[static_cast<size_t>(pb)] * frame_to_se3(j.in_parent, sL);
    const SE3 X_CJ = frame_to_se3(j.in_child, sL);
    const auto prims = primitives(j.type);
    m.joint_name.push_back(j.name);
    m.joint_type.push_back(j.type);
    m.joint_parent.push_back(pb);
    m.joint_child.push_back(cb);
    m.joint_coord_adr.push_back(m.nv);
    m.joint_coord_num.push_back(static_cast<int>(prims.size()));
    for (size_t k = 0; k < prims.size(); ++k) {
      const auto& cs = j.coordinates[k];
      const int n = m.nv++;
      m.mob_parent.push_back(k == 0 ? pm : n - 1);
      m.mob_X_PJ.push_back(k == 0 ? X_base : SE3{});
      // stableNormalized: normalized() squares the components, so e.g. [0, 0, 1e200] gave a zero axis
      m.mob_axis.push_back(cs.axis ? Vec3(cs.axis->stableNormalized()) : prims[k].axis);
      m.mob_kind.push_back(prims[k].kind);
      m.mob_inertia.push_back(Inertia{});
      m.mob_joint.push_back(jidx);
      const double u = prims[k].kind == DofKind::Revolute ? kDeg : 1.0;
      m.coord_name.push_back(cs.name);
      m.coord_min.push_back(cs.min * u);
      m.coord_max.push_back(cs.max * u);
      const bool scaled = cs.scales_with_height && prims[k].kind == DofKind::Prismatic && !overridden.count(cs.name);
      m.coord_default.push_back(cs.default_value * u * (scaled ? sL : 1.0));
      m.coord_locked.push_back(cs.locked ? 1 : 0);
    }
    if (j.type == JointType::Ball || j.type == JointType::Free) {
      const size_t r0 = j.type == JointType::Ball ? 0 : 3;
      Mat3 A;
      for (int c = 0; c < 3; ++c) A.col(c) = m.mob_axis[static_cast<size_t>(m.nv - 3 + c)];
      if (std::abs(A.determinant()) < 1e-6)
        fail(j.coordinates[r0].loc, idx("joints", static_cast<size_t>(ji)) + ".coordinates",
             "the three rotation axes must be linearly independent");
    }
    if (prims.empty()) {
      m.body_mob[static_cast<size_t>(cb)] = pm;
      m.body_X_MB[static_cast<size_t>(cb)] = X_base * X_CJ.inverse();
    } else {
      m.body_mob[static_cast<size_t>(cb)] = m.nv - 1;
      m.body_X_MB[static_cast<size_t>(cb)] = X_CJ.inverse();
    }
  }
  for (int b = 1; b < m.nbody(); ++b) {
    const auto k = static_cast<size_t>(b);
    m.total_mass += m.body_inertia[k].mass;
    const int mob = m.body_mob[k];
    if (mob >= 0) {
      auto& mi = m.mob_inertia[static_cast<size_t>(mob)];
      mi = mi + m.body_inertia[k].transformed(m.body_X_MB[k]);
    }
  }

  // ---- landmarks ------------------------------------------------------------------------------
  std::set<std::string> lnames;
  for (size_t i = 0; i < spec.landmarks.size(); ++i) {
    const auto& l = spec.landmarks[i];
    const std::string key = idx("landmarks", i);
    if (l.name.empty()) fail(l.loc, key + ".name", "empty landmark name");
    if (!lnames.insert(l.name).second) fail(l.loc, key + ".name", "duplicate landmark name '" + l.name + "'");
    auto it = body_index.find(l.body);
    if (it == body_index.end()) fail(l.body_loc, key + ".body", "unknown body '" + l.body + "'");
    require_finite(l.position, l.loc, key + ".position");
    Vec3 dir = Vec3::Zero();
    if (l.direction) {
      require_finite(*l.direction, l.loc, key + ".direction");
      if (l.direction->stableNorm() < 1e-9) fail(l.loc, key + ".direction", "direction must be non-zero");
      dir = l.direction->stableNormalized();  // normalized() overflows for huge components
    }
    m.landmark_name.push_back(l.name);
    m.landmark_body.push_back(it->second);
    m.landmark_p_B.push_back(l.position * sL);
    m.landmark_dir_B.push_back(dir);
  }
  // ---- wrap surfaces -------------------------------------------------------------------------
  for (size_t i = 0; i < spec.wraps.size(); ++i) {
    const auto& w = spec.wraps[i];
    const std::string key = idx("wrap_surfaces", i);
    if (m.find_wrap(w.name) >= 0) fail(w.loc, key + ".name", "duplicate wrap surface name '" + w.name + "'");
    auto it = body_index.find(w.body);
    if (it == body_index.end()) fail(w.loc, key + ".body", "unknown body '" + w.body + "'");
    m.wrap_name.push_back(w.name);
    m.wrap_type.push_back(w.type);
    m.wrap_body.push_back(it->second);
    m.wrap_X_BW.push_back(frame_to_se3(w.frame, sL));
    m.wrap_radii.push_back(w.type == WrapType::Cylinder ? Vec3(w.radius * sL, 0, 0) : Vec3(w.radii * sL));
    m.wrap_side.push_back(w.side);
  }
  auto build_path = [&](const std::string& name, const std::vector<PathPointSpec>& path, const SourceLoc& loc,
                        const std::string& key) {
    int npts = 0;
    bool last_was_wrap = true;  // a path must start with a point
    const int adr = static_cast<int>(m.path_point_body.size());
    for (size_t k = 0; k < path.size(); ++k) {
      const auto& pp = path[k];
      const std::string pk = key + ".path[" + std::to_string(k) + "]";
      if (!pp.wrap.empty()) {
        if (last_was_wrap) fail(pp.loc, pk + ".wrap", "a wrap surface must stand between two path points");
        const int w = m.find_wrap(pp.wrap);
        if (w < 0) fail(pp.loc, pk + ".wrap", "unknown wrap surface '" + pp.wrap + "'");
        m.path_point_wrap.back() = w;
        last_was_wrap = true;
        continue;
      }
      auto it = body_index.find(pp.body);
      if (it == body_index.end()) fail(pp.loc, pk + ".body", "unknown body '" + pp.body + "'");
      require_finite(pp.position, pp.loc, pk + ".position");
      m.path_point_body.push_back(it->second);
      m.path_point_p_B.push_back(pp.position * sL);
      m.path_point_wrap.push_back(-1);
      ++npts;
      last_was_wrap = false;
    }
    if (npts < 2) fail(loc, key + ".path", "a path needs at least two points");
    if (last_was_wrap) fail(loc, key + ".path", "a path must end with a point, not a wrap surface");
    m.path_name.push_back(name);
    m.path_point_adr.push_back(adr);
    m.path_point_num.push_back(npts);
    return m.npath() - 1;
  };

  // ---- muscles --------------------------------------------------------------------------------
  const double force_scale = std::pow(sM, 2.0 / 3.0);
  for (size_t i = 0; i < spec.muscles.size(); ++i) {
    const auto& mu = spec.muscles[i];
    const std::string key = idx("muscles", i);
    if (m.find_muscle(mu.name) >= 0) fail(mu.loc, key + ".name", "duplicate muscle name '" + mu.name + "'");
    MuscleParams p;
    p.max_isometric_force = mu.max_isometric_force * force_scale;
    p.optimal_fiber_length = mu.optimal_fiber_length * sL;
    p.pennation = mu.pennation_deg * kDeg;
    p.max_contraction_velocity = mu.max_contraction_velocity * p.optimal_fiber_length;
    p.compliant_tendon = mu.compliant_tendon;
    p.effort_weight = mu.effort_weight;
    p.activation_time = mu.activation_time;
    p.deactivation_time = mu.deactivation_time;
    double slack_scale = 1.0, strain_scale = 1.0;
    const int mi = m.nmuscle();
    for (const auto& g : muscle_groups(mu)) {
      if (auto it = group_slack_scale.find(g); it != group_slack_scale.end()) slack_scale *= it->second;
      if (auto it = group_strain_scale.find(g); it != group_strain_scale.end()) strain_scale *= it->second;
      int gi = m.find_group(g);
      if (gi < 0) {
        m.group_name.push_back(g);
        m.group_muscles.emplace_back();
        gi = static_cast<int>(m.group_name.size()) - 1;
      }
      m.group_muscles[static_cast<size_t>(gi)].push_back(mi);
    }
    m.muscle_base_tendon_slack.push_back(mu.tendon_slack_length * sL);
    m.muscle_base_passive_strain.push_back(mu.passive_strain);
    p.tendon_slack_length = mu.tendon_slack_length * sL * slack_scale;
    p.passive_strain = mu.passive_strain * strain_scale;
    m.muscle_name.push_back(mu.name);
    m.muscle.push_back(p);
    m.muscle_path.push_back(build_path(mu.name, mu.path, mu.loc, key));
  }

  // ---- ligaments -----------------------------------------------------------------------------
  std::vector<double> lig_source_length;
  for (size_t i = 0; i < spec.ligaments.size(); ++i) {
    const auto& lg = spec.ligaments[i];
    const std::string key = idx("ligaments", i);
    for (const auto& n : m.ligament_name)
      if (n == lg.name) fail(lg.loc, key + ".name", "duplicate ligament name '" + lg.name + "'");
    m.ligament_name.push_back(lg.name);
    m.ligament_stiffness.push_back(lg.stiffness);
    m.ligament_transition_strain.push_back(lg.transition_strain);
    m.ligament_slack_length.push_back(lg.reference_strain);  // replaced by l0 below
    lig_source_length.push_back(lg.source_length);
    m.ligament_path.push_back(build_path(lg.name, lg.path, lg.loc, key));
  }
  // Mobilizers every moving body hangs from (a floating base's), and paths whose points and
  // wraps all move: such a path's length is invariant under those mobilizers (they move it
  // rigidly), so its moment arms about them are zero and need not be summed (path.cpp).
  {
    std::vector<int> hits(static_cast<size_t>(m.nv), 0);
    int moving = 0;
    for (int b = 1; b < m.nbody(); ++b) {
      const int j0 = m.body_mob[static_cast<size_t>(b)];
      if (j0 < 0) continue;
      ++moving;
      for (int j = j0; j >= 0; j = m.mob_parent[static_cast<size_t>(j)]) ++hits[static_cast<size_t>(j)];
    }
    m.mob_common.assign(static_cast<size_t>(m.nv), 0);
    for (int j = 0; j < m.nv; ++j) m.mob_common[static_cast<size_t>(j)] = moving > 0 && hits[static_cast<size_t>(j)] == moving;
    m.path_moves_whole.assign(static_cast<size_t>(m.npath()), 1);
    for (int q = 0; q < m.npath(); ++q)
      for (int k = 0; k < m.path_point_num[static_cast<size_t>(q)]; ++k) {
        const auto pk = static_cast<size_t>(m.path_point_adr[static_cast<size_t>(q)] + k);
        const int w = m.path_point_wrap[pk];
        if (m.body_mob[static_cast<size_t>(m.path_point_body[pk])] < 0 ||
            (w >= 0 && m.body_mob[static_cast<size_t>(m.wrap_body[static_cast<size_t>(w)])] < 0))
          m.path_moves_whole[static_cast<size_t>(q)] = 0;
      }
  }

  // ---- intervertebral joints and coordinate limits ------------------------------------------------
  std::set<int> spinal_seen;
  for (size_t i = 0; i < spec.spinal_joints.size(); ++i) {
    const auto& sj = spec.spinal_joints[i];
    const std::string key = idx("spinal_joints", i);
    const int c = m.find_coord(sj.coordinate);
    if (c < 0) fail(sj.loc, key + ".coordinate", "unknown coordinate '" + sj.coordinate + "'");
    if (!m.coord_is_rotational(c)) fail(sj.loc, key + ".coordinate", "must be a rotational coordinate");
    if (!spinal_seen.insert(c).second) fail(sj.loc, key + ".coordinate", "duplicate intervertebral joint");
    m.spinal_coord.push_back(c);
    m.spinal_k0.push_back(sj.neutral_stiffness / kDeg);  // N m/deg -> N m/rad
    m.spinal_bf.push_back(sj.flexion_exponent / kDeg);   // 1/deg -> 1/rad
    m.spinal_be.push_back(sj.extension_exponent / kDeg);
    m.spinal_compression_stiffness.push_back(sj.compression_stiffness);
    m.spinal_disc_area.push_back(sj.disc_area * sL * sL);
    m.spinal_swelling_pressure.push_back(sj.swelling_pressure);
  }
  for (size_t i = 0; i < spec.coordinate_limits.size(); ++i) {
    const auto& cl = spec.coordinate_limits[i];
    const std::string key = idx("coordinate_limits", i);
    const int c = m.find_coord(cl.coordinate);
    if (c < 0) fail(cl.loc, key + ".coordinate", "unknown coordinate '" + cl.coordinate + "'");
    m.limit_coord.push_back(c);
    m.limit_lower.push_back(cl.lower_deg * kDeg);
    m.limit_upper.push_back(cl.upper_deg * kDeg);
    m.limit_k1.push_back(cl.k1);
    m.limit_k2.push_back(cl.k2);
    m.limit_k3.push_back(cl.k3);
    m.limit_k4.push_back(cl.k4);
  }
  m.clinical = spec.clinical;
  m.stability = spec.stability;
  for (size_t i = 0; i < spec.contact_spheres.size(); ++i) {
    const auto& c = spec.contact_spheres[i];
    const std::string key = idx("contact_spheres", i);
    if (m.find_contact(c.name) >= 0) fail(c.loc, key + ".name", "duplicate contact sphere '" + c.name + "'");
    auto it = body_index.find(c.body);
    if (it == body_index.end()) fail(c.loc, key + ".body", "unknown body '" + c.body + "'");
    require_finite(c.position, c.loc, key + ".position");
    m.contact_name.push_back(c.name);
    m.contact_body.push_back(it->second);
    m.contact_p_B.push_back(c.position * sL);
    m.contact_radius.push_back(c.radius * sL);
  }

  // Ligament slack lengths from their length in the default pose and their reference strain;
  // `auto` tendon slack lengths put the fibres at optimal length in the default pose.
  if (m.nligament() > 0 || m.nmuscle() > 0) {
    Data d(m);
    forward_kinematics(m, d, m.default_q());
    compute_paths(m, d);
    for (int i = 0; i < m.nmuscle(); ++i) {
      const auto k = static_cast<size_t>(i);
      if (m.muscle_base_tendon_slack[k] >= 0.0) continue;
      auto& p = m.muscle[k];
      const double lmt = d.path_length[m.muscle_path[k]];
      const double lts = lmt - p.optimal_fiber_length * std::cos(p.pennation);
      if (lts <= 0.0)
        fail(spec.muscles[k].loc, idx("muscles", k) + ".tendon_slack_length",
             "auto: the path is shorter than the optimal fibre length in the default pose");
      const double scale = p.tendon_slack_length / m.muscle_base_tendon_slack[k];  // group scales
      m.muscle_base_tendon_slack[k] = lts;
      p.tendon_slack_length = lts * scale;
    }
    for (int l = 0; l < m.nligament(); ++l) {
      // Zero-force length l0 = L + e_r lR (L: default-pose length, lR: source spring length, L
      // without one); stiffness and transition strain rescaled so that force against elongation
      // beyond l0 is that of the source spring: k' = k l0 / l0R, e_t' = e_t l0R / l0.
      const auto k = static_cast<size_t>(l);
      const double er = m.ligament_slack_length[k];
      const double L = d.path_length[m.ligament_path[k]];
      const double lR = lig_source_length[k] > 0.0 ? lig_source_length[k] : L;
      const double l0R = lR * (1.0 + er);
      const double l0 = L + er * lR;
      if (!(l0 > 0.0))
        fail(spec.ligaments[k].loc, idx("ligaments", k) + ".reference_strain", "gives a non-positive zero-force length");
      m.ligament_slack_length[k] = l0;
      m.ligament_stiffness[k] *= l0 / l0R;
      m.ligament_transition_strain[k] *= l0R / l0;
    }
  }

  // Clinical calibration: hamstring slack lengths that reproduce the requested SLR angles. The
  // model's default SLR applies unless the user set the hamstrings' SLR or slack scale.
  bool user_r = false, user_l = false;
  auto mark = [&](const std::string& g) {
    if (g == "hamstrings") user_r = user_l = true;
    if (g == "hamstrings_r") user_r = true;
    if (g == "hamstrings_l") user_l = true;
  };
  for (const auto& t : slr_targets) mark(t.first);
  for (const auto& t : group_slack_scale) mark(t.first);
  for (const auto& t : group_strain_scale) mark(t.first);
  if (spec.clinical.default_slr_deg > 0.0) {
    const double target = spec.clinical.default_slr_deg * kDeg;
    if (!user_r && m.find_group("hamstrings_r") >= 0) calibrate_slr(m, "hamstrings_r", target, spec.clinical.loc);
    if (!user_l && m.find_group("hamstrings_l") >= 0) calibrate_slr(m, "hamstrings_l", target, spec.clinical.loc);
  }
  for (const auto& [group, slr_deg] : slr_targets) {
    const Override* src = nullptr;
    for (const auto& o : overrides)
      if (o.name == group + ".slr_deg") src = &o;
    calibrate_slr(m, group, slr_deg * kDeg, src ? src->loc : SourceLoc{});
  }
  return m;
}

}  // namespace lumbosim
