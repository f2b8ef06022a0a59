#include "lumbosim/io/reports.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <sstream>

#include "lumbosim/algorithm/clinical.hpp"
#include "lumbosim/algorithm/muscle.hpp"
#include "lumbosim/algorithm/passive.hpp"
#include "lumbosim/algorithm/path.hpp"
#include "lumbosim/io/model_summary.hpp"

namespace lumbosim::io {
namespace {
constexpr double kDeg = 180.0 / std::numbers::pi;
}

nlohmann::json muscles_report(const Model& model, Data& data, const VecX& q) {
  using nlohmann::json;
  passive_forces(model, data, q);
  json arr = json::array();
  for (int m = 0; m < model.nmuscle(); ++m) {
    const auto k = static_cast<size_t>(m);
    const int p = model.muscle_path[k];
    const MuscleParams& mp = model.muscle[k];
    const double lmt = data.path_length[p];
    const FiberState s = mp.compliant_tendon ? compliant_tendon_equilibrium(mp, lmt, 0.0) : rigid_tendon_state(mp, lmt);
    json ma = json::object();
    for (int c = 0; c < model.nv; ++c) {
      const double r = data.path_moment_arm(p, c);
      if (std::abs(r) > 1e-9) ma[model.coord_name[static_cast<size_t>(c)]] = r;
    }
    arr.push_back({{"name", model.muscle_name[k]},
                   {"mtu_length_m", lmt},
                   {"fiber_length_m", s.fiber_length},
                   {"normalized_fiber_length", s.norm_fiber_length},
                   {"tendon_slack_length_m", mp.tendon_slack_length},
                   {"passive_force_N", data.muscle_passive_force[m]},
                   {"max_isometric_force_N", mp.max_isometric_force},
                   {"moment_arms_m", ma}});
  }
  return json{{"muscles", arr}};
}

std::string muscles_report_text(const nlohmann::json& r) {
  std::ostringstream o;
  char buf[512];
  std::snprintf(buf, sizeof buf, "%-12s %9s %9s %7s %10s  moment arms (m)\n", "muscle", "l_mt (m)", "l_f (m)", "l_f/lo",
                "F_pass (N)");
  o << buf;
  for (const auto& m : r["muscles"]) {
    std::snprintf(buf, sizeof buf, "%-12s %9.4f %9.4f %7.3f %10.1f ", m["name"].get<std::string>().c_str(),
                  m["mtu_length_m"].get<double>(), m["fiber_length_m"].get<double>(),
                  m["normalized_fiber_length"].get<double>(), m["passive_force_N"].get<double>());
    o << buf;
    for (auto it = m["moment_arms_m"].begin(); it != m["moment_arms_m"].end(); ++it) {
      std::snprintf(buf, sizeof buf, " %s %+.4f", it.key().c_str(), it.value().get<double>());
      o << buf;
    }
    o << "\n";
  }
  return o.str();
}

nlohmann::json clinical_report(const Model& model, Data& data) {
  using nlohmann::json;
  json out;
  for (Side s : {Side::Right, Side::Left}) {
    const char* x = s == Side::Right ? "_r" : "_l";
    const SlrResult slr = simulate_slr(model, data, s);
    out[std::string("slr_deg") + x] = slr.angle * kDeg;
    out[std::string("slr_end_feel_reached") + x] = slr.reached;
    out[std::string("slr_hip_flexion_deg") + x] = slr.hip_flexion * kDeg;
    out[std::string("pelvic_rotation_deg") + x] = slr.pelvic_rotation * kDeg;
    out[std::string("popliteal_deg") + x] = simulate_popliteal_angle(model, data, s) * kDeg;
  }
  out["end_feel_torque_Nm"] = model.clinical.end_feel_torque;
  out["knee_end_feel_torque_Nm"] = model.clinical.knee_end_feel_torque;
  out["pelvis_free"] = model.clinical.pelvis_free;
  json ham = json::object();
  for (const char* g : {"hamstrings_r", "hamstrings_l"}) {
    const int gi = model.find_group(g);
    if (gi < 0) continue;
    for (int m : model.group_muscles[static_cast<size_t>(gi)]) {
      const auto k = static_cast<size_t>(m);
      ham[model.muscle_name[k]] = {
          {"tendon_slack_length_m", model.muscle[k].tendon_slack_length},
          {"slack_length_scale", model.muscle[k].tendon_slack_length / model.muscle_base_tendon_slack[k]},
          {"passive_strain", model.muscle[k].passive_strain}};
    }
  }
  out["hamstrings"] = ham;
  return out;
}

std::string clinical_report_text(const nlohmann::json& r) {
  std::ostringstream o;
  char buf[256];
  for (const char* x : {"_r", "_l"}) {
    std::snprintf(buf, sizeof buf, "side %s: SLR %.1f deg (hip flexion %.1f, pelvic rotation %.1f%s), popliteal angle %.1f deg\n",
                  x + 1, r[std::string("slr_deg") + x].get<double>(), r[std::string("slr_hip_flexion_deg") + x].get<double>(),
                  r[std::string("pelvic_rotation_deg") + x].get<double>(),
                  r[std::string("slr_end_feel_reached") + x].get<bool>() ? "" : ", end feel not reached",
                  r[std::string("popliteal_deg") + x].get<double>());
    o << buf;
  }
  std::snprintf(buf, sizeof buf, "end-feel torques: hip %.1f N m, knee %.1f N m; pelvis %s\n",
                r["end_feel_torque_Nm"].get<double>(), r["knee_end_feel_torque_Nm"].get<double>(),
                r["pelvis_free"].get<bool>() ? "free" : "stabilized");
  o << buf << "hamstrings:\n";
  for (auto it = r["hamstrings"].begin(); it != r["hamstrings"].end(); ++it) {
    std::snprintf(buf, sizeof buf, "  %-10s tendon slack %.4f m (scale %.4f), passive strain %.3f\n", it.key().c_str(),
                  it.value()["tendon_slack_length_m"].get<double>(), it.value()["slack_length_scale"].get<double>(),
                  it.value()["passive_strain"].get<double>());
    o << buf;
  }
  return o.str();
}

nlohmann::json environment_report(const PostureSpec& posture) {
  nlohmann::json out = nlohmann::json::object();
  for (const PostureContact& c : posture.contacts) {
    nlohmann::json s;
    s["point_m"] = {c.point.x(), c.point.y()};
    s["normal"] = {c.normal.x(), c.normal.y()};
    s["tangent_angle_deg"] = tangent_angle(c) * kDeg;
    s["stiffness_N_per_m1.5"] = c.stiffness;
    s["friction"] = c.friction;
    s["extent_m"] = has_extent(c) ? nlohmann::json{c.extent_min, c.extent_max} : nlohmann::json(nullptr);
    s["radius_m"] = c.radius;
    out[c.name] = s;
  }
  return out;
}

nlohmann::json posture_report(const Model& model, const std::string& posture, const PostureResult& r) {
  using nlohmann::json;
  json out;
  out["posture"] = posture;
  out["status"] = status_name(r.status);
  out["message"] = r.message;
  const Alignment& a = r.alignment;
  out["pelvic_tilt_deg"] = a.pelvic_tilt * kDeg;
  out["sacral_slope_deg"] = a.sacral_slope * kDeg;
  out["spinopelvic_pt_deg"] = a.spinopelvic_pt * kDeg;
  out["pelvic_incidence_deg"] = a.pelvic_incidence * kDeg;
  out["lumbar_lordosis_deg"] = a.lumbar_lordosis * kDeg;
  out["trunk_inclination_deg"] = r.trunk_inclination * kDeg;
  json contacts = json::object();
  for (const auto& c : r.contacts) contacts[model.contact_name[static_cast<size_t>(c.sphere)]] = c.force;
  out["contact_forces_N"] = contacts;
  out["contact_force_total_N"] = r.contact_force_total;
  json friction = json::object();
  for (const auto& c : r.contacts) friction[model.contact_name[static_cast<size_t>(c.sphere)]] = c.friction;
  out["friction_forces_N"] = friction;
  out["friction_total_N"] = r.friction_total;
  out["thigh_inclination_deg"] = r.thigh_inclination * kDeg;
  out["external_force_residual_N"] = r.external_force_residual;
  out["external_moment_residual_Nm"] = r.external_moment_residual;
  // held (prescribed) rotational coordinates: the moment their guides supply (N m)
  json held = json::object();
  for (int i = 0; i < model.nv && static_cast<size_t>(i) < r.held.size(); ++i)
    if (r.held[static_cast<size_t>(i)] && model.mob_kind[static_cast<size_t>(i)] == DofKind::Revolute)
      held[model.coord_name[static_cast<size_t>(i)]] = r.held_forces[i];
  out["held_moments_Nm"] = held;
  const char* levels[5] = {"L5_S1", "L4_L5", "L3_L4", "L2_L3", "L1_L2"};
  json seg = json::object();
  for (size_t k = 0; k < 5; ++k) seg[levels[k]] = a.segment[k] * kDeg;
  out["segment_angles_deg"] = seg;
  json coords = json::object();
  for (int i = 0; i < model.nv; ++i) coords[model.coord_name[static_cast<size_t>(i)]] = coord_to_file_units(model, i, r.q[i]);
  out["coordinates_deg"] = coords;
  json comp = json::object(), shear = json::object(), lat = json::object(), mom = json::object(), idp = json::object(),
       sub = json::object();
  for (const auto& L : r.loads) {
    comp[L.level] = L.compression;
    shear[L.level] = L.shear_ap;
    lat[L.level] = L.shear_lateral;
    mom[L.level] = L.moment;
    idp[L.level] = L.idp * 1e-6;
    sub[L.level] = L.subchain_residual;
  }
  out["disc_compression_N"] = comp;
  out["disc_shear_ap_N"] = shear;
  out["disc_shear_lateral_N"] = lat;
  out["disc_moment_Nm"] = mom;
  out["idp_MPa"] = idp;
  out["subchain_moment_residual_Nm"] = sub;
  json forces = json::object(), acts = json::object();
  for (int m = 0; m < model.nmuscle(); ++m) {
    forces[model.muscle_name[static_cast<size_t>(m)]] = r.muscle_forces[m];
    acts[model.muscle_name[static_cast<size_t>(m)]] = r.activations[m];
  }
  out["muscle_forces_N"] = forces;
  json passive = json::object(), ligs = json::object(), discs = json::object();
  for (int mu = 0; mu < model.nmuscle(); ++mu) passive[model.muscle_name[static_cast<size_t>(mu)]] = r.passive_muscle_forces[mu];
  for (int l = 0; l < model.nligament(); ++l) ligs[model.ligament_name[static_cast<size_t>(l)]] = r.ligament_forces[l];
  for (size_t s = 0; s < model.spinal_coord.size(); ++s)
    discs[model.joint_name[static_cast<size_t>(model.mob_joint[static_cast<size_t>(model.spinal_coord[s])])]] =
        r.disc_moments[static_cast<Eigen::Index>(s)];
  out["passive_muscle_forces_N"] = passive;
  out["ligament_forces_N"] = ligs;
  out["disc_passive_moment_Nm"] = discs;
  out["activations"] = acts;
  out["reserve_max_Nm"] = r.reserves.size() ? r.reserves.cwiseAbs().maxCoeff() : 0.0;
  out["equilibrium_residual"] = r.equilibrium_residual;
  out["kkt_residual"] = r.kkt_residual;
  out["effort"] = r.effort;
  // NaN (no free intervertebral coordinate) is written as null
  out["spine_stiffness_min_Nm_per_rad"] = r.spine_stiffness_min;
  out["spine_stiffness_min_passive_Nm_per_rad"] = r.spine_stiffness_min_passive;
  out["stability_iterations"] = r.stability_iterations;
  out["iterations"] = r.iterations;
  out["time_s"] = r.seconds;
  return out;
}

std::string posture_report_text(const nlohmann::json& r) {
  std::ostringstream o;
  char buf[256];
  std::snprintf(buf, sizeof buf, "posture %s: %s (%d iterations, %.3f s)\n", r["posture"].get<std::string>().c_str(),
                r["message"].get<std::string>().c_str(), r["iterations"].get<int>(), r["time_s"].get<double>());
  o << buf;
  std::snprintf(buf, sizeof buf,
                "pelvic tilt %.1f deg (ASIS-PSIS), sacral slope %.1f, spinopelvic PT %.1f, PI %.1f, lumbar lordosis %.1f deg, "
                "trunk inclination %.1f deg\n",
                r["pelvic_tilt_deg"].get<double>(), r["sacral_slope_deg"].get<double>(), r["spinopelvic_pt_deg"].get<double>(),
                r["pelvic_incidence_deg"].get<double>(), r["lumbar_lordosis_deg"].get<double>(),
                r["trunk_inclination_deg"].get<double>());
  o << buf << "level    segment(deg)  compression(N)  AP shear(N)  moment(N m)  IDP(MPa)\n";
  for (auto it = r["disc_compression_N"].begin(); it != r["disc_compression_N"].end(); ++it) {
    const std::string& lv = it.key();
    const double seg = r["segment_angles_deg"].contains(lv) ? r["segment_angles_deg"][lv].get<double>() : 0.0;
    std::snprintf(buf, sizeof buf, "%-8s %12.1f %15.0f %12.0f %12.1f %9.3f\n", lv.c_str(), seg, it.value().get<double>(),
                  r["disc_shear_ap_N"][lv].get<double>(), r["disc_moment_Nm"][lv].get<double>(), r["idp_MPa"][lv].get<double>());
    o << buf;
  }
  std::snprintf(buf, sizeof buf, "effort %.4f, equilibrium residual %.2e N m, reserves up to %.2e N m\n",
                r["effort"].get<double>(), r["equilibrium_residual"].get<double>(), r["reserve_max_Nm"].get<double>());
  o << buf;
  if (r.contains("spine_stiffness_min_Nm_per_rad") && r["spine_stiffness_min_Nm_per_rad"].is_number()) {
    std::snprintf(buf, sizeof buf,
                  "spinal stability: smallest stiffness eigenvalue %.1f N m/rad (passive column %.1f; %d cutting-plane rounds)\n",
                  r["spine_stiffness_min_Nm_per_rad"].get<double>(), r["spine_stiffness_min_passive_Nm_per_rad"].get<double>(),
                  r["stability_iterations"].get<int>());
    o << buf;
  }
  if (r.contains("held_moments_Nm") && !r["held_moments_Nm"].empty()) {
    o << "held coordinates (moment their guides supply, N m):";
    for (auto it = r["held_moments_Nm"].begin(); it != r["held_moments_Nm"].end(); ++it) {
      std::snprintf(buf, sizeof buf, " %s %.1f", it.key().c_str(), it.value().get<double>());
      o << buf;
    }
    o << "\n";
  }
  return o.str();
}

nlohmann::json transition_report(const Model& model, const PostureSpec& to, const std::string& from, const PostureResult& end,
                                 const TransitionResult& t) {
  using nlohmann::json;
  const ForwardResult& f = t.forward;
  json out;
  out["from"] = from;
  out["to"] = to.name;
  out["status"] = transition_status_name(t);
  char buf[256];
  if (!f.finite)
    std::snprintf(buf, sizeof buf, "the simulation diverged (non-finite state) after %d steps", f.steps);
  else
    std::snprintf(buf, sizeof buf, "%s: %.3f deg (%s) and %.2g m from the predicted posture, speeds up to %.2g",
                  t.settled ? "settled" : "did not settle", t.max_angle_deviation * kDeg,
                  t.worst_angle_coordinate >= 0 ? model.coord_name[static_cast<size_t>(t.worst_angle_coordinate)].c_str() : "-",
                  t.max_translation_deviation, t.max_speed);
  out["message"] = buf;
  out["settled"] = t.settled;
  out["max_angle_deviation_deg"] = t.max_angle_deviation * kDeg;
  out["max_translation_deviation_m"] = t.max_translation_deviation;
  out["worst_coordinate"] =
      t.worst_angle_coordinate >= 0 ? json(model.coord_name[static_cast<size_t>(t.worst_angle_coordinate)]) : json(nullptr);
  out["max_speed"] = t.max_speed;
  out["duration_s"] = t.duration;
  out["steps"] = f.steps;
  json fin = json::object(), pred = json::object();
  for (int i = 0; i < model.nv; ++i) {
    const std::string& n = model.coord_name[static_cast<size_t>(i)];
    if (f.q.size() == model.nv) fin[n] = coord_to_file_units(model, i, f.q[i]);
    pred[n] = coord_to_file_units(model, i, end.q[i]);
  }
  out["final_coordinates_deg"] = fin;
  out["predicted_coordinates_deg"] = pred;
  json surfaces = json::array();
  for (const auto& c : to.contacts) surfaces.push_back(c.name);
  out["surfaces"] = surfaces;
  json time = json::array(), tilt = json::array(), ll = json::array(), force = json::object();
  for (size_t k = 0; k < f.time.size(); ++k) {
    time.push_back(f.time[k]);
    tilt.push_back(t.alignment[k].pelvic_tilt * kDeg);
    ll.push_back(t.alignment[k].lumbar_lordosis * kDeg);
  }
  for (size_t s = 0; s < to.contacts.size(); ++s) {
    json col = json::array();
    for (const VecX& v : f.surface_force_samples) col.push_back(v[static_cast<Eigen::Index>(s)]);
    force[to.contacts[s].name] = col;
  }
  out["samples"] = {{"time_s", time}, {"pelvic_tilt_deg", tilt}, {"lumbar_lordosis_deg", ll}, {"surface_force_N", force}};
  return out;
}

std::string transition_report_text(const nlohmann::json& r) {
  std::ostringstream o;
  char buf[256];
  std::snprintf(buf, sizeof buf, "transition %s -> %s: %s\n", r["from"].get<std::string>().c_str(), r["to"].get<std::string>().c_str(),
                r["message"].get<std::string>().c_str());
  o << buf;
  const auto& s = r["samples"];
  o << "time(s)  pelvic tilt(deg)  lordosis(deg)";
  for (const auto& n : r["surfaces"]) o << "  " << n.get<std::string>() << "(N)";
  o << "\n";
  const size_t n = s["time_s"].size();
  const size_t every = std::max<size_t>(1, n / 20);  // about twenty rows
  for (size_t k = 0; k < n; k += every) {
    std::snprintf(buf, sizeof buf, "%7.2f %17.2f %14.2f", s["time_s"][k].get<double>(), s["pelvic_tilt_deg"][k].get<double>(),
                  s["lumbar_lordosis_deg"][k].get<double>());
    o << buf;
    for (const auto& nm : r["surfaces"]) {
      std::snprintf(buf, sizeof buf, "  %8.1f", s["surface_force_N"][nm.get<std::string>()][k].get<double>());
      o << buf;
    }
    o << "\n";
  }
  return o.str();
}

}  // namespace lumbosim::io
