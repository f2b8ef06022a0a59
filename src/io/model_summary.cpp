#include "lumbosim/io/model_summary.hpp"

#include <cstdio>
#include <numbers>
#include <sstream>

#include "lumbosim/algorithm/kinematics.hpp"

namespace lumbosim::io {

double coord_to_file_units(const Model& model, int i, double value) {
  return model.coord_is_rotational(i) ? value * 180.0 / std::numbers::pi : value;
}

nlohmann::json model_summary(const Model& model, Data& data, const VecX& q) {
  using nlohmann::json;
  forward_kinematics(model, data, q);
  const Vec3 com = center_of_mass(model, data);
  json out;
  out["model"] = model.name;
  out["file"] = model.source_file;
  json params = json::object();
  for (size_t i = 0; i < model.param_name.size(); ++i)
    params[model.param_name[i]] = {{"value", model.param_value[i]}, {"unit", model.param_unit[i]}};
  out["parameters"] = params;
  json bodies = json::array();
  for (int b = 1; b < model.nbody(); ++b) {
    const auto k = static_cast<size_t>(b);
    std::string parent_joint;
    for (int j = 0; j < model.njoint(); ++j)
      if (model.joint_child[static_cast<size_t>(j)] == b) parent_joint = model.joint_name[static_cast<size_t>(j)];
    const Vec3 c = data.X_WB[k].act_point(model.body_inertia[k].com);
    bodies.push_back({{"name", model.body_name[k]},
                      {"mass_kg", model.body_inertia[k].mass},
                      {"joint", parent_joint},
                      {"com_m", {c.x(), c.y(), c.z()}}});
  }
  out["bodies"] = bodies;
  json coords = json::array();
  for (int i = 0; i < model.nv; ++i) {
    const auto k = static_cast<size_t>(i);
    coords.push_back({{"name", model.coord_name[k]},
                      {"joint", model.joint_name[static_cast<size_t>(model.mob_joint[k])]},
                      {"unit", model.coord_is_rotational(i) ? "deg" : "m"},
                      {"min", coord_to_file_units(model, i, model.coord_min[k])},
                      {"max", coord_to_file_units(model, i, model.coord_max[k])},
                      {"default", coord_to_file_units(model, i, model.coord_default[k])},
                      {"value", coord_to_file_units(model, i, q[i])},
                      {"locked", model.coord_locked[k] != 0}});
  }
  out["coordinates"] = coords;
  json lms = json::array();
  for (int l = 0; l < model.nlandmark(); ++l) {
    const auto k = static_cast<size_t>(l);
    const Vec3 p = point_position(data, model.landmark_body[k], model.landmark_p_B[k]);
    lms.push_back({{"name", model.landmark_name[k]},
                   {"body", model.body_name[static_cast<size_t>(model.landmark_body[k])]},
                   {"position_m", {p.x(), p.y(), p.z()}}});
  }
  out["landmarks"] = lms;
  out["total_mass_kg"] = data.mass;
  out["com_m"] = {com.x(), com.y(), com.z()};
  out["com_height_m"] = com.y();
  return out;
}

std::string model_summary_text(const nlohmann::json& s) {
  std::ostringstream o;
  char buf[256];
  o << "model " << s["model"].get<std::string>() << " (" << s["file"].get<std::string>() << ")\n";
  o << "parameters:\n";
  for (auto it = s["parameters"].begin(); it != s["parameters"].end(); ++it) {
    std::snprintf(buf, sizeof buf, "  %-28s %10.4f %s\n", it.key().c_str(), it.value()["value"].get<double>(),
                  it.value()["unit"].get<std::string>().c_str());
    o << buf;
  }
  o << "bodies (" << s["bodies"].size() << "):\n";
  for (const auto& b : s["bodies"]) {
    std::snprintf(buf, sizeof buf, "  %-12s %8.3f kg  joint %s\n", b["name"].get<std::string>().c_str(),
                  b["mass_kg"].get<double>(), b["joint"].get<std::string>().c_str());
    o << buf;
  }
  o << "coordinates (" << s["coordinates"].size() << "):\n";
  for (const auto& c : s["coordinates"]) {
    std::snprintf(buf, sizeof buf, "  %-16s %-4s range [%8.3f, %8.3f]  default %8.3f  value %8.3f%s\n",
                  c["name"].get<std::string>().c_str(), c["unit"].get<std::string>().c_str(), c["min"].get<double>(),
                  c["max"].get<double>(), c["default"].get<double>(), c["value"].get<double>(),
                  c["locked"].get<bool>() ? "  (locked)" : "");
    o << buf;
  }
  o << "landmarks (" << s["landmarks"].size() << ", world position in this pose, m):\n";
  for (const auto& l : s["landmarks"]) {
    const auto& p = l["position_m"];
    std::snprintf(buf, sizeof buf, "  %-22s on %-8s [%8.4f, %8.4f, %8.4f]\n", l["name"].get<std::string>().c_str(),
                  l["body"].get<std::string>().c_str(), p[0].get<double>(), p[1].get<double>(), p[2].get<double>());
    o << buf;
  }
  std::snprintf(buf, sizeof buf, "total mass %.3f kg, centre of mass height %.4f m\n", s["total_mass_kg"].get<double>(),
                s["com_height_m"].get<double>());
  o << buf;
  return o.str();
}

}  // namespace lumbosim::io
