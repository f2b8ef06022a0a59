#include "lumbosim/algorithm/posture.hpp"
#include "lumbosim/algorithm/kinematics.hpp"
#include "lumbosim/algorithm/dynamics.hpp"
#include "lumbosim/io/yaml_model.hpp"
#include "lumbosim/io/yaml_postures.hpp"
#include "lumbosim/model/compile.hpp"
#include <cstdio>
#include <cmath>
using namespace lumbosim;
const double D = 180.0 / M_PI;
PostureSpec find(std::vector<PostureSpec>& ps, const char* n) { for (auto& p : ps) if (p.name == n) return p; throw 1; }
double mj(double s) { s = std::clamp(s, 0.0, 1.0); return s * s * s * (10 - 15 * s + 6 * s * s); }
int main(int argc, char** argv) {
  std::vector<Override> ov;
  if (getenv("GLX")) for (const char* side : {"_r", "_l"}) for (auto [n, f] : {std::pair{"glmax1", 983.8}, {"glmax2", 1406.0}, {"glmax3", 947.8}})
    ov.push_back(Override{std::string(n) + side + ".max_isometric_force", f * atof(getenv("GLX")), SourceLoc{"x", 0, 0}});
  const Model m = compile(io::load_model_spec("/work/main/models/lumbopelvic.yaml"), ov);
  auto ps = io::load_postures("/work/main/models/postures.yaml");
  double seat = getenv("SEAT") ? atof(getenv("SEAT")) : 0.40, knee = getenv("KNEE") ? atof(getenv("KNEE")) : 110, ank = getenv("ANK") ? atof(getenv("ANK")) : 13, lean = argc > 1 ? atof(argv[1]) : 40, T1 = argc > 2 ? atof(argv[2]) : 1.0, T2 = argc > 3 ? atof(argv[3]) : 1.5;
  PostureSpec sit = find(ps, "sitting_upright");
  for (auto& c : sit.coordinates) { if (c.first == "knee_flexion") c.second = knee; if (c.first == "ankle_angle") c.second = ank; }
  sit.contacts[0].point.y() = seat;
  PostureResult rs = PostureSolver(m, sit).solve();
  PostureResult rst = PostureSolver(m, find(ps, "standing")).solve();
  PostureSpec sts = sit;
  sts.name = "sts";
  sts.thigh_inclination_deg.reset();
  sts.targets.clear();
  sts.coordinates.clear();
  sts.free = {"pelvis_tx", "pelvis_ty", "pelvis_tilt", "hip_flexion", "knee_flexion", "ankle_angle", "L5_S1_flexion", "L4_L5_flexion", "L3_L4_flexion", "L2_L3_flexion", "L1_L2_flexion", "T12_L1_flexion"};
  PostureSolver sv(m, sts);
  const int tx = m.find_coord("pelvis_tx"), ty = m.find_coord("pelvis_ty"), tilt = m.find_coord("pelvis_tilt");
  // standing pose placed on the sitter's feet
  Data d(m);
  forward_kinematics(m, d, rs.q);
  const int heel = m.find_contact("heel_r");
  const Vec3 h_sit = point_position(d, m.contact_body[heel], m.contact_p_B[heel]);
  VecX qs = rst.q;
  forward_kinematics(m, d, qs);
  const Vec3 h_st = point_position(d, m.contact_body[heel], m.contact_p_B[heel]);
  qs[tx] += h_sit.x() - h_st.x();
  qs[ty] += h_sit.y() - h_st.y();
  printf("stand feet err %.2g\n", sv.place_feet(qs, rs.q));
  VecX q1 = rs.q;
  q1[tilt] += lean / D;
  const double lumb = argc > 4 ? atof(argv[4]) : 0, slide = argc > 5 ? atof(argv[5]) : 0;
  for (const char* c : {"L5_S1_flexion", "L4_L5_flexion", "L3_L4_flexion", "L2_L3_flexion", "L1_L2_flexion", "T12_L1_flexion"}) q1[m.find_coord(c)] += lumb / 6 / D;
  q1[tx] += slide;
  const int isch = m.find_contact("ischium_r");
  forward_kinematics(m, d, rs.q);
  const Vec3 i_sit = point_position(d, m.contact_body[isch], m.contact_p_B[isch]);
  auto keep_ischium = [&](VecX& q) { for (int it = 0; it < 5; ++it) { forward_kinematics(m, d, q); const Vec3 e = point_position(d, m.contact_body[isch], m.contact_p_B[isch]) - i_sit; q[tx] -= e.x(); q[ty] -= e.y(); } };
  if (getenv("SEATW")) keep_ischium(q1);
  printf("lean feet err %.2g\n", sv.place_feet(q1, rs.q));
  // COM of q1, qs
  auto com = [&](const VecX& q) { forward_kinematics(m, d, q); return center_of_mass(m, d); };
  printf("heel %.3f  com sit %.3f lean %.3f stand %.3f\n", h_sit.x(), com(rs.q).x(), com(q1).x(), com(qs).x());
  MotionReference ref;
  const double t0 = 0.3, tend = t0 + T1 + T2 + 0.7;
  for (double t = 0; t <= tend + 1e-9; t += 0.05) {
    VecX q;
    if (t <= t0 + T1) {
      const double s = mj((t - t0) / T1);
      q = (1 - s) * rs.q + s * q1;
      if (getenv("SEATW")) keep_ischium(q);
    } else {
      const double s = mj((t - t0 - T1) / T2);
      q = (1 - s) * q1 + s * qs;
      if (getenv("COMX")) {  // the pelvis placed so that the centre of mass moves straight from the lean's to the standing one's
        const double sc = getenv("SC") ? std::clamp(s * atof(getenv("SC")), 0.0, 1.0) : s;
        const double target = (1 - sc) * com(q1).x() + sc * com(qs).x();
        for (int it = 0; it < 6; ++it) {
          sv.place_feet(q, rs.q);
          const double e = com(q).x() - target;
          q[tx] -= e / 0.9;  // the pelvis carries most of the mass above the legs
        }
      }
    }
    sv.place_feet(q, rs.q);
    ref.t.push_back(t);
    ref.q.push_back(q);
  }
  ForwardSettings fs;
  fs.hold_legs = false;
  fs.plant_feet = true;
  if (getenv("SEATW")) fs.plant_surfaces = {"floor", "seat"};
  if (getenv("REL")) fs.plant_releases = {{"seat", t0 + T1 + atof(getenv("REL"))}};
  fs.duration = tend;
  fs.plan_contacts = getenv("PLAN") != nullptr;
  if (getenv("KP")) fs.track_kp = atof(getenv("KP")), fs.track_kv = 2*sqrt(fs.track_kp);
  fs.record_interval = 0.1;
  VecX u = rs.activations, a0 = rs.activations;
  ForwardResult fr = sv.simulate(rs.q, u, a0, fs, ref);
  printf("finite %d steps %d\n", fr.finite, fr.steps);
  for (size_t k = 0; k < fr.time.size(); ++k) {
    const VecX& q = fr.q_samples[k];
    size_t kr = std::min(ref.q.size() - 1, (size_t)std::lround(fr.time[k] / 0.05));
    printf("t %.1f tx %.3f(%.3f) ty %.3f(%.3f) tilt %6.1f(%6.1f) hip %6.1f knee %6.1f ankle %5.1f | seat %4.0f floor %4.0f cop %.3f comx %.3f\n", fr.time[k], q[tx], ref.q[kr][tx], q[ty], ref.q[kr][ty], q[tilt] * D, ref.q[kr][tilt] * D, q[m.find_coord("hip_flexion_r")] * D, q[m.find_coord("knee_flexion_r")] * D, q[m.find_coord("ankle_angle_r")] * D, fr.surface_force_samples[k][0], fr.surface_force_samples[k][1], fr.plant_cop_samples[k], com(q).x());
  }
  VecX e = (fr.q - rst.q); e[tx] = e[ty] = 0; printf("final vs standing max |dq| %.2f deg\n", e.cwiseAbs().maxCoeff() * D);
}
