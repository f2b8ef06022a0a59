/// @file posture_overrides.cpp
/// Named overrides of a posture definition (prescribed coordinates, thigh inclination, targets,
/// contact surfaces): the posture-side counterpart of compile()'s model overrides, so that a
/// sweep over knee angle, trunk inclination or chair geometry needs no new postures file.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "lumbosim/algorithm/posture.hpp"
#include "lumbosim/core/error.hpp"

namespace lumbosim {
namespace {

[[noreturn]] void fail(const Override& o, const std::string& message) { throw InputError(Error{o.loc, o.name, message}); }

bool ends_with_side(const std::string& n) { return n.size() > 2 && (n.ends_with("_r") || n.ends_with("_l")); }
std::string base_of(const std::string& n) { return ends_with_side(n) ? n.substr(0, n.size() - 2) : n; }

/// Whether `name` (with or without side) names one of `list`'s coordinates, a list entry
/// without a side standing for both sides.
bool names_listed(const std::vector<std::string>& list, const std::string& name) {
  for (const std::string& e : list)
    if (e == name || e == base_of(name) || base_of(e) == name) return true;
  return false;
}

bool set_coordinate(PostureSpec& p, const Override& o) {
  auto& cs = p.coordinates;
  const std::string& n = o.name;
  bool hit = false;
  for (auto& [name, value] : cs)
    if (name == n || (!ends_with_side(n) && base_of(name) == n && ends_with_side(name))) {
      value = o.value;  // the same entry, or both sided entries of a name given without side
      hit = true;
    }
  if (hit) return true;
  if (ends_with_side(n)) {  // one side of an entry that sets both: split it
    const std::string base = base_of(n);
    const auto it = std::find_if(cs.begin(), cs.end(), [&](const auto& c) { return c.first == base; });
    if (it != cs.end()) {
      const double both = it->second;
      const std::string other = base + (n.ends_with("_r") ? "_l" : "_r");
      *it = {n, o.value};
      cs.emplace_back(other, both);
      return true;
    }
  }
  return false;
}

}  // namespace

std::vector<Override> apply_posture_overrides(PostureSpec& p, const std::vector<Override>& overrides) {
  std::vector<Override> rest;
  const std::string where = "posture '" + p.name + "'";
  for (const Override& o : overrides) {
    const std::string& n = o.name;
    const auto dot = n.find('.');
    if (dot == std::string::npos) {
      if (n == "thigh_inclination_deg") {
        if (!p.thigh_inclination_deg) fail(o, where + " sets no thigh inclination");
        if (std::abs(o.value) > 180.0) fail(o, "must be within [-180, 180] degrees");
        p.thigh_inclination_deg = o.value;
        continue;
      }
      if (names_listed(p.free, n))
        fail(o, where + " solves for this coordinate (it is free); it cannot be prescribed");
      if (p.thigh_inclination_deg && base_of(n) == "hip_flexion")
        fail(o, where + " sets the thigh inclination, and hip flexion follows the pelvis: set thigh_inclination_deg");
      if (!set_coordinate(p, o)) rest.push_back(o);  // a model parameter or an unlisted coordinate
      continue;
    }
    const std::string head = n.substr(0, dot), key = n.substr(dot + 1);
    if (head == "targets") {
      const auto it = std::find_if(p.targets.begin(), p.targets.end(), [&](const PostureTarget& t) { return t.quantity == key; });
      if (it == p.targets.end()) {
        std::string have;
        for (const auto& t : p.targets) have += (have.empty() ? "" : ", ") + t.quantity;
        fail(o, where + " has no target '" + key + "' (its targets: " + (have.empty() ? std::string("none") : have) + ")");
      }
      it->value = o.value;
      continue;
    }
    const auto surface = std::find_if(p.contacts.begin(), p.contacts.end(), [&](const PostureContact& c) { return c.name == head; });
    if (surface == p.contacts.end()) {
      rest.push_back(o);  // a group or element parameter of the model (e.g. hamstrings.slr_deg)
      continue;
    }
    PostureContact& c = *surface;
    const double v = o.value;
    if (key == "height") {
      c.point.y() = v;
    } else if (key == "x") {
      c.point.x() = v;
    } else if (key == "rotate_deg") {
      if (c.radius > 0.0) fail(o, "surface '" + head + "' is a cylinder about e_z: turning it changes nothing (move it with height and x)");
      if (std::abs(v) > 90.0) fail(o, "must be within [-90, 90] degrees");
      const double a = v * std::numbers::pi / 180.0, ca = std::cos(a), sa = std::sin(a);
      const Vec3 n0 = c.normal;
      c.normal = Vec3(ca * n0.x() - sa * n0.y(), sa * n0.x() + ca * n0.y(), n0.z());
    } else if (key == "extent_min" || key == "extent_max") {
      if (c.radius > 0.0) fail(o, "surface '" + head + "' is a cylinder: it has no extent");
      (key == "extent_min" ? c.extent_min : c.extent_max) = v;
      if (!(c.extent_min < c.extent_max)) fail(o, "extent_min must be below extent_max");
    } else if (key == "radius") {
      if (!(c.radius > 0.0)) fail(o, "surface '" + head + "' is a plane: it has no radius");
      if (!(v > 0.0)) fail(o, "must be > 0 m");
      c.radius = v;
    } else if (key == "stiffness") {
      if (!(v > 0.0)) fail(o, "must be > 0 N/m^1.5");
      c.stiffness = v;
    } else if (key == "friction") {
      if (!(v >= 0.0)) fail(o, "must be >= 0");
      c.friction = v;
    } else {
      fail(o, "unknown key of contact surface '" + head +
                  "' (settable: height, x, rotate_deg, extent_min, extent_max, radius, stiffness, friction)");
    }
  }
  return rest;
}

}  // namespace lumbosim
