#include "lumbosim/hdf5/h5_posture.hpp"

#include <hdf5.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <vector>

namespace lumbosim::h5 {
namespace {

constexpr double kDeg = 180.0 / std::numbers::pi;

void check(herr_t e, const std::string& what) {
  if (e < 0) throw std::runtime_error("HDF5: " + what);
}
hid_t check_id(hid_t id, const std::string& what) {
  if (id < 0) throw std::runtime_error("HDF5: " + what);
  return id;
}

void attr_string(hid_t obj, const char* name, const std::string& value) {
  const hid_t type = check_id(H5Tcopy(H5T_C_S1), "string type");
  check(H5Tset_size(type, value.empty() ? 1 : value.size()), "string size");
  const hid_t space = check_id(H5Screate(H5S_SCALAR), "scalar space");
  const hid_t a = check_id(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), std::string("attribute ") + name);
  check(H5Awrite(a, type, value.empty() ? "" : value.c_str()), std::string("write attribute ") + name);
  H5Aclose(a);
  H5Sclose(space);
  H5Tclose(type);
}

/// A dataset of doubles in `space` (closed here) with its unit.
void dataset(hid_t group, const char* name, hid_t space, const std::vector<double>& v, const std::string& unit) {
  const hid_t d = H5Dcreate2(group, name, H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (d < 0) {
    H5Sclose(space);
    throw std::runtime_error(std::string("HDF5: dataset ") + name);
  }
  const herr_t w = v.empty() ? 0 : H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  if (w >= 0) attr_string(d, "unit", unit);
  H5Dclose(d);
  H5Sclose(space);
  check(w, std::string("write ") + name);
}

void doubles(hid_t group, const char* name, const std::vector<double>& v, const std::string& unit, bool scalar = false) {
  const hsize_t n = v.size();
  dataset(group, name, check_id(scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr), "dataspace"), v, unit);
}

void strings(hid_t group, const char* name, const std::vector<std::string>& v) {
  std::vector<const char*> ptrs;
  for (const auto& s : v) ptrs.push_back(s.c_str());
  const hsize_t n = v.size();
  const hid_t type = check_id(H5Tcopy(H5T_C_S1), "string type");
  check(H5Tset_size(type, H5T_VARIABLE), "variable string");
  const hid_t space = check_id(H5Screate_simple(1, &n, nullptr), "dataspace");
  const hid_t d = check_id(H5Dcreate2(group, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), std::string("dataset ") + name);
  if (!v.empty()) check(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), std::string("write ") + name);
  H5Dclose(d);
  H5Sclose(space);
  H5Tclose(type);
}

hid_t group(hid_t file, const char* name) {
  return check_id(H5Gcreate2(file, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), std::string("group ") + name);
}

void write_environment(hid_t f, const PostureSpec& p) {
  const hid_t g = group(f, "/environment");
  std::vector<std::string> names;
  std::vector<double> px, py, nx, ny, angle, k, mu, emin, emax, radius;
  constexpr double inf = std::numeric_limits<double>::infinity();
  for (const PostureContact& c : p.contacts) {
    names.push_back(c.name);
    px.push_back(c.point.x());
    py.push_back(c.point.y());
    nx.push_back(c.normal.x());
    ny.push_back(c.normal.y());
    angle.push_back(tangent_angle(c) * kDeg);
    k.push_back(c.stiffness);
    mu.push_back(c.friction);
    emin.push_back(c.extent_min > -1e29 ? c.extent_min : -inf);  // the unbounded sentinel
    emax.push_back(c.extent_max < 1e29 ? c.extent_max : inf);
    radius.push_back(c.radius);
  }
  strings(g, "surfaces", names);
  doubles(g, "point_x", px, "m");
  doubles(g, "point_y", py, "m");
  doubles(g, "normal_x", nx, "1");
  doubles(g, "normal_y", ny, "1");
  doubles(g, "tangent_angle", angle, "deg");
  doubles(g, "stiffness", k, "N/m^1.5");
  doubles(g, "friction", mu, "1");
  doubles(g, "extent_min", emin, "m");
  doubles(g, "extent_max", emax, "m");
  doubles(g, "radius", radius, "m");
  H5Gclose(g);
}

/// Writes `path` through `<path>.tmp`, renamed when `fill` has written everything: a failure
/// removes the temporary file and leaves no partial output.
void write_atomically(const std::string& path, const std::function<void(hid_t)>& fill) {
  const std::string tmp = path + ".tmp";
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors are reported by exceptions
  const hid_t f = H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (f < 0) throw std::runtime_error("cannot create HDF5 file " + tmp);
  try {
    fill(f);
  } catch (...) {
    H5Fclose(f);
    std::remove(tmp.c_str());
    throw;
  }
  if (H5Fclose(f) < 0 || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot finish HDF5 file " + path);
  }
}

/// A rows x cols dataset (row-major values) with its unit.
void matrix(hid_t group, const char* name, const std::vector<double>& v, size_t rows, size_t cols, const std::string& unit) {
  const hsize_t dims[2] = {rows, cols};
  dataset(group, name, check_id(H5Screate_simple(2, dims, nullptr), "dataspace"), v, unit);
}

void write_file(const std::string& path, const Model& m, const std::string& posture, const PostureSpec* spec,
                const PostureResult& r) {
  write_atomically(path, [&](hid_t f) {
    attr_string(f, "model", m.name);
    attr_string(f, "posture", posture);
    attr_string(f, "status", status_name(r.status));
    attr_string(f, "message", r.message);
    attr_string(f, "lumbosim_version", "0.1.0");
    const Alignment& a = r.alignment;
    hid_t g = group(f, "/alignment");
    doubles(g, "pelvic_tilt", {a.pelvic_tilt * kDeg}, "deg", true);
    doubles(g, "sacral_slope", {a.sacral_slope * kDeg}, "deg", true);
    doubles(g, "spinopelvic_pt", {a.spinopelvic_pt * kDeg}, "deg", true);
    doubles(g, "pelvic_incidence", {a.pelvic_incidence * kDeg}, "deg", true);
    doubles(g, "lumbar_lordosis", {a.lumbar_lordosis * kDeg}, "deg", true);
    doubles(g, "trunk_inclination", {r.trunk_inclination * kDeg}, "deg", true);
    std::vector<double> seg;
    for (double s : a.segment) seg.push_back(s * kDeg);
    doubles(g, "segment_angles", seg, "deg");
    strings(g, "levels", {"L5_S1", "L4_L5", "L3_L4", "L2_L3", "L1_L2"});
    H5Gclose(g);
    g = group(f, "/loads");
    std::vector<std::string> lv;
    std::vector<double> comp, ap, lat, mom, idp;
    for (const auto& L : r.loads) {
      lv.push_back(L.level);
      comp.push_back(L.compression);
      ap.push_back(L.shear_ap);
      lat.push_back(L.shear_lateral);
      mom.push_back(L.moment);
      idp.push_back(L.idp * 1e-6);
    }
    strings(g, "levels", lv);
    doubles(g, "compression", comp, "N");
    doubles(g, "shear_ap", ap, "N");
    doubles(g, "shear_lateral", lat, "N");
    doubles(g, "moment", mom, "N m");
    doubles(g, "idp", idp, "MPa");
    H5Gclose(g);
    g = group(f, "/muscles");
    strings(g, "names", m.muscle_name);
    doubles(g, "force", std::vector<double>(r.muscle_forces.data(), r.muscle_forces.data() + r.muscle_forces.size()), "N");
    doubles(g, "activation", std::vector<double>(r.activations.data(), r.activations.data() + r.activations.size()), "1");
    doubles(g, "passive_force",
            std::vector<double>(r.passive_muscle_forces.data(), r.passive_muscle_forces.data() + r.passive_muscle_forces.size()), "N");
    H5Gclose(g);
    g = group(f, "/ligaments");
    strings(g, "names", m.ligament_name);
    doubles(g, "force", std::vector<double>(r.ligament_forces.data(), r.ligament_forces.data() + r.ligament_forces.size()), "N");
    H5Gclose(g);
    g = group(f, "/contacts");
    std::vector<std::string> cn;
    std::vector<double> fn, ft, px, py;
    for (const auto& c : r.contacts) {
      cn.push_back(m.contact_name[static_cast<size_t>(c.sphere)]);
      fn.push_back(c.force);
      ft.push_back(c.friction);
      px.push_back(c.p_W.x());
      py.push_back(c.p_W.y());
    }
    strings(g, "spheres", cn);
    doubles(g, "normal_force", fn, "N");
    doubles(g, "friction_force", ft, "N");
    doubles(g, "point_x", px, "m");
    doubles(g, "point_y", py, "m");
    H5Gclose(g);
    g = group(f, "/coordinates");
    strings(g, "names", m.coord_name);
    std::vector<double> val;
    std::vector<std::string> units;
    for (int i = 0; i < m.nv; ++i) {
      const bool rot = m.coord_is_rotational(i);
      val.push_back(r.q[i] * (rot ? kDeg : 1.0));
      units.push_back(rot ? "deg" : "m");
    }
    doubles(g, "value", val, "deg or m (see units)");
    strings(g, "units", units);
    // held (prescribed, unbalanced) coordinates: the generalized force their guides supply
    std::vector<double> held_force(static_cast<size_t>(m.nv), 0.0), held(static_cast<size_t>(m.nv), 0.0);
    for (int i = 0; i < m.nv && static_cast<size_t>(i) < r.held.size(); ++i) {
      held[static_cast<size_t>(i)] = r.held[static_cast<size_t>(i)] ? 1.0 : 0.0;
      held_force[static_cast<size_t>(i)] = r.held_forces[i];
    }
    doubles(g, "held", held, "1");
    doubles(g, "held_force", held_force, "N m or N (rotational or translational coordinate)");
    H5Gclose(g);
    g = group(f, "/solver");
    doubles(g, "equilibrium_residual", {r.equilibrium_residual}, "N m", true);
    doubles(g, "external_force_residual", {r.external_force_residual}, "N", true);
    doubles(g, "external_moment_residual", {r.external_moment_residual}, "N m", true);
    doubles(g, "kkt_residual", {r.kkt_residual}, "1", true);
    doubles(g, "effort", {r.effort}, "1", true);
    doubles(g, "spine_stiffness_min", {r.spine_stiffness_min}, "N m/rad", true);
    doubles(g, "spine_stiffness_min_passive", {r.spine_stiffness_min_passive}, "N m/rad", true);
    doubles(g, "stability_iterations", {static_cast<double>(r.stability_iterations)}, "1", true);
    doubles(g, "iterations", {static_cast<double>(r.iterations)}, "1", true);
    doubles(g, "time", {r.seconds}, "s", true);
    H5Gclose(g);
    if (spec) write_environment(f, *spec);
  });
}

}  // namespace

void write_posture(const std::string& path, const Model& m, const std::string& posture, const PostureResult& r) {
  write_file(path, m, posture, nullptr, r);
}

void write_posture(const std::string& path, const Model& m, const PostureSpec& posture, const PostureResult& r) {
  write_file(path, m, posture.name, &posture, r);
}

void write_transition(const std::string& path, const Model& m, const PostureSpec& to, const std::string& from,
                      const PostureResult& end, const TransitionResult& t) {
  const ForwardResult& fr = t.forward;
  write_atomically(path, [&](hid_t f) {
    attr_string(f, "model", m.name);
    attr_string(f, "from", from);
    attr_string(f, "posture", to.name);
    attr_string(f, "status", transition_status_name(t));
    attr_string(f, "lumbosim_version", "0.1.0");
    const size_t n = fr.time.size(), nv = static_cast<size_t>(m.nv), ns = to.contacts.size();
    doubles(f, "time", fr.time, "s");
    hid_t g = group(f, "/coordinates");
    strings(g, "names", m.coord_name);
    std::vector<std::string> units;
    std::vector<double> scale, val, pred;
    for (int i = 0; i < m.nv; ++i) {
      const bool rot = m.coord_is_rotational(i);
      units.push_back(rot ? "deg" : "m");
      scale.push_back(rot ? kDeg : 1.0);
      pred.push_back(end.q[i] * scale.back());
    }
    strings(g, "units", units);
    for (const VecX& q : fr.q_samples)
      for (size_t i = 0; i < nv; ++i) val.push_back(q[static_cast<Eigen::Index>(i)] * scale[i]);
    matrix(g, "value", val, n, nv, "deg or m (see units); one row per sample");
    doubles(g, "predicted", pred, "deg or m (see units): the end posture's static prediction");
    H5Gclose(g);
    g = group(f, "/alignment");
    std::vector<double> tilt, ll, seg;
    for (const Alignment& a : t.alignment) {
      tilt.push_back(a.pelvic_tilt * kDeg);
      ll.push_back(a.lumbar_lordosis * kDeg);
      for (double s : a.segment) seg.push_back(s * kDeg);
    }
    doubles(g, "pelvic_tilt", tilt, "deg");
    doubles(g, "lumbar_lordosis", ll, "deg");
    matrix(g, "segment_angles", seg, n, 5, "deg; one row per sample");
    strings(g, "levels", {"L5_S1", "L4_L5", "L3_L4", "L2_L3", "L1_L2"});
    H5Gclose(g);
    g = group(f, "/surfaces");
    std::vector<std::string> names;
    for (const auto& c : to.contacts) names.push_back(c.name);
    strings(g, "names", names);
    std::vector<double> force;
    for (const VecX& v : fr.surface_force_samples)
      for (size_t s = 0; s < ns; ++s) force.push_back(v[static_cast<Eigen::Index>(s)]);
    matrix(g, "normal_force", force, n, ns, "N; one row per sample");
    H5Gclose(g);
    g = group(f, "/result");
    doubles(g, "settled", {t.settled ? 1.0 : 0.0}, "1", true);
    doubles(g, "max_angle_deviation", {t.max_angle_deviation * kDeg}, "deg", true);
    doubles(g, "max_translation_deviation", {t.max_translation_deviation}, "m", true);
    doubles(g, "max_speed", {t.max_speed}, "rad/s or m/s", true);
    doubles(g, "steps", {static_cast<double>(fr.steps)}, "1", true);
    doubles(g, "duration", {t.duration}, "s", true);
    H5Gclose(g);
    write_environment(f, to);
  });
}

}  // namespace lumbosim::h5
