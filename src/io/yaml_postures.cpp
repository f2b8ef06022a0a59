#include "lumbosim/io/yaml_postures.hpp"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace lumbosim::io {
namespace {

SourceLoc at(const std::string& file, const YAML::Node& n) {
  const auto m = n.Mark();
  return m.is_null() ? SourceLoc{file, 0, 0} : SourceLoc{file, m.line + 1, m.column + 1};
}
[[noreturn]] void fail(const std::string& file, const YAML::Node& n, const std::string& key, const std::string& msg) {
  throw InputError(Error{at(file, n), key, msg});
}
double number(const std::string& file, const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar()) fail(file, n, key, "expected a number");
  try {
    size_t pos = 0;
    const double v = std::stod(n.Scalar(), &pos);
    if (pos != n.Scalar().size() || !std::isfinite(v)) throw std::invalid_argument(n.Scalar());
    return v;
  } catch (const std::exception&) {
    fail(file, n, key, "expected a finite number, got '" + n.Scalar() + "'");
  }
}

}  // namespace

std::vector<PostureSpec> parse_postures(const std::string& text, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw InputError(Error{SourceLoc{file, e.mark.line + 1, e.mark.column + 1}, "", "YAML syntax error: " + e.msg});
  }
  if (!root.IsMap() || !root["postures"] || !root["postures"].IsMap())
    fail(file, root, "postures", "a postures file is a mapping with a 'postures' mapping");
  for (auto it = root.begin(); it != root.end(); ++it)
    if (it->first.Scalar() != "postures" && it->first.Scalar() != "lumbosim_postures")
      fail(file, it->first, it->first.Scalar(), "unknown key (allowed: lumbosim_postures, postures)");
  if (!root["lumbosim_postures"])
    fail(file, root, "lumbosim_postures", "missing required key 'lumbosim_postures' (format version)");
  if (number(file, root["lumbosim_postures"], "lumbosim_postures") != 1.0)
    fail(file, root["lumbosim_postures"], "lumbosim_postures", "unsupported format version (this build reads 1)");
  std::vector<PostureSpec> out;
  std::set<std::string> names;
  for (auto it = root["postures"].begin(); it != root["postures"].end(); ++it) {
    PostureSpec p;
    p.name = it->first.Scalar();
    const std::string key = "postures." + p.name;
    if (!names.insert(p.name).second) fail(file, it->first, key, "duplicate posture");
    const YAML::Node n = it->second;
    p.loc = at(file, n);
    if (!n.IsMap()) fail(file, n, key, "expected a mapping");
    for (auto f = n.begin(); f != n.end(); ++f) {
      const std::string k = f->first.Scalar();
      const YAML::Node v = f->second;
      if (k == "description") {
        if (!v.IsScalar()) fail(file, v, key + ".description", "expected text");
        p.description = v.Scalar();
      }
      else if (k == "coordinates") {
        if (!v.IsMap()) fail(file, v, key + ".coordinates", "expected a mapping name: value");
        for (auto c = v.begin(); c != v.end(); ++c)
          p.coordinates.emplace_back(c->first.Scalar(), number(file, c->second, key + ".coordinates." + c->first.Scalar()));
      } else if (k == "thigh_inclination_deg") {
        p.thigh_inclination_deg = number(file, v, key + ".thigh_inclination_deg");
      } else if (k == "free") {
        if (!v.IsSequence()) fail(file, v, key + ".free", "expected a list of coordinate names");
        for (const auto& c : v) {
          if (!c.IsScalar()) fail(file, c, key + ".free", "expected coordinate names");
          p.free.push_back(c.Scalar());
        }
      } else if (k == "balanced") {
        if (!v.IsSequence()) fail(file, v, key + ".balanced", "expected a list of coordinate names");
        for (const auto& c : v) {
          if (!c.IsScalar()) fail(file, c, key + ".balanced", "expected coordinate names");
          p.balanced.push_back(c.Scalar());
        }
      } else if (k == "targets") {
        if (!v.IsMap()) fail(file, v, key + ".targets", "expected a mapping quantity: value");
        for (auto c = v.begin(); c != v.end(); ++c)
          p.targets.push_back(PostureTarget{c->first.Scalar(), number(file, c->second, key + ".targets." + c->first.Scalar()),
                                            at(file, c->first)});
      } else if (k == "contacts") {
        if (!v.IsSequence()) fail(file, v, key + ".contacts", "expected a list of planes");
        for (size_t i = 0; i < v.size(); ++i) {
          const YAML::Node c = v[i];
          const std::string ck = key + ".contacts[" + std::to_string(i) + "]";
          if (!c.IsMap()) fail(file, c, ck, "expected a mapping");
          PostureContact pc;
          pc.loc = at(file, c);
          for (auto e = c.begin(); e != c.end(); ++e) {
            const std::string ek = e->first.Scalar();
            const YAML::Node ev = e->second;
            auto vec3 = [&](const std::string& kk) {
              if (!ev.IsSequence() || ev.size() != 3) fail(file, ev, ck + "." + kk, "expected a list of 3 numbers");
              return Vec3(number(file, ev[0], ck + "." + kk), number(file, ev[1], ck + "." + kk), number(file, ev[2], ck + "." + kk));
            };
            if (ek == "name") pc.name = ev.Scalar();
            else if (ek == "point") pc.point = vec3(ek);
            else if (ek == "normal") pc.normal = vec3(ek);
            else if (ek == "stiffness") {
              pc.stiffness = number(file, ev, ck + ".stiffness");
              if (!(pc.stiffness > 0)) fail(file, ev, ck + ".stiffness", "must be positive");
            } else if (ek == "extent") {
              if (!ev.IsSequence() || ev.size() != 2) fail(file, ev, ck + ".extent", "expected [min, max] in metres along the surface");
              pc.extent_min = number(file, ev[0], ck + ".extent");
              pc.extent_max = number(file, ev[1], ck + ".extent");
              if (!(pc.extent_max - pc.extent_min > 2 * ContactPlane::kEdge))
                fail(file, ev, ck + ".extent", "max must exceed min by more than the 2 cm edge fade");
            } else if (ek == "radius") {
              pc.radius = number(file, ev, ck + ".radius");
              if (!(pc.radius > 0)) fail(file, ev, ck + ".radius", "must be positive (a cylinder along z)");
            } else if (ek == "friction") {
              pc.friction = number(file, ev, ck + ".friction");
              if (!(pc.friction >= 0)) fail(file, ev, ck + ".friction", "must be zero or positive (Coulomb coefficient)");
            } else if (ek == "spheres") {
              if (!ev.IsSequence()) fail(file, ev, ck + ".spheres", "expected a list of contact sphere names");
              for (const auto& sn : ev) pc.spheres.push_back(sn.Scalar());
            } else fail(file, e->first, ck + "." + ek, "unknown key (allowed: name, point, normal, stiffness, friction, extent, radius, spheres)");
          }
          if (pc.name.empty()) fail(file, c, ck + ".name", "missing required key 'name'");
          p.contacts.push_back(std::move(pc));
        }
      } else if (k == "settle_legs") {
        if (!v.IsScalar() || (v.Scalar() != "true" && v.Scalar() != "false"))
          fail(file, v, key + ".settle_legs", "expected true or false");
        p.settle_legs = v.Scalar() == "true";
      } else if (k == "supported") {
        if (!v.IsScalar() || (v.Scalar() != "true" && v.Scalar() != "false"))
          fail(file, v, key + ".supported", "expected true or false");
        p.supported = v.Scalar() == "true";
      } else {
        fail(file, f->first, key + "." + k,
             "unknown key (allowed: description, coordinates, thigh_inclination_deg, free, balanced, targets, supported, settle_legs, contacts)");
      }
    }
    if (p.free.empty() && !p.supported && p.targets.empty() && p.coordinates.empty())
      fail(file, n, key, "a posture needs coordinates, free coordinates or targets");
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<PostureSpec> load_postures(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(Error{SourceLoc{path, 0, 0}, "", "cannot open postures file"});
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_postures(ss.str(), path);
}

}  // namespace lumbosim::io
