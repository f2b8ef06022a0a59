#include "lumbosim/algorithm/alignment.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "lumbosim/algorithm/kinematics.hpp"

namespace lumbosim {

AlignmentLandmarks AlignmentLandmarks::resolve(const Model& model) {
  auto need = [&](const char* name) {
    const int i = model.find_landmark(name);
    if (i < 0) throw std::invalid_argument(std::string("model has no landmark '") + name + "' (needed for alignment)");
    return i;
  };
  AlignmentLandmarks lm;
  lm.asis_r = need("ASIS_r");
  lm.asis_l = need("ASIS_l");
  lm.psis_r = need("PSIS_r");
  lm.psis_l = need("PSIS_l");
  lm.hip_r = need("hip_center_r");
  lm.hip_l = need("hip_center_l");
  lm.s1 = need("S1_superior_endplate");
  const char* names[5] = {"L5_superior_endplate", "L4_superior_endplate", "L3_superior_endplate",
                          "L2_superior_endplate", "L1_superior_endplate"};
  for (int k = 0; k < 5; ++k) lm.sup_endplate[static_cast<size_t>(k)] = need(names[k]);
  return lm;
}

double sagittal_inclination(const Vec3& d) { return std::atan2(d.x(), d.y()); }

namespace {
Vec3 lm_pos(const Model& m, const Data& d, int l) {
  return point_position(d, m.landmark_body[static_cast<size_t>(l)], m.landmark_p_B[static_cast<size_t>(l)]);
}
Vec3 lm_dir(const Model& m, const Data& d, int l) {
  return d.X_WB[static_cast<size_t>(m.landmark_body[static_cast<size_t>(l)])].R * m.landmark_dir_B[static_cast<size_t>(l)];
}
}  // namespace

Alignment compute_alignment(const Model& model, const Data& data, const AlignmentLandmarks& lm) {
  Alignment a;
  const Vec3 asis = 0.5 * (lm_pos(model, data, lm.asis_r) + lm_pos(model, data, lm.asis_l));
  const Vec3 psis = 0.5 * (lm_pos(model, data, lm.psis_r) + lm_pos(model, data, lm.psis_l));
  const Vec3 v = asis - psis;
  a.pelvic_tilt = std::atan2(-v.y(), v.x());
  const Vec3 hip = 0.5 * (lm_pos(model, data, lm.hip_r) + lm_pos(model, data, lm.hip_l));
  const Vec3 s1 = lm_pos(model, data, lm.s1);
  const double th_s1 = sagittal_inclination(lm_dir(model, data, lm.s1));
  a.sacral_slope = th_s1;
  const Vec3 d = s1 - hip;
  a.spinopelvic_pt = std::atan2(-d.x(), d.y());
  a.pelvic_incidence = a.sacral_slope + a.spinopelvic_pt;
  double below = th_s1;
  for (size_t k = 0; k < 5; ++k) {
    const double th = sagittal_inclination(lm_dir(model, data, lm.sup_endplate[k]));
    a.segment[k] = below - th;
    below = th;
  }
  a.lumbar_lordosis = th_s1 - below;
  return a;
}

}  // namespace lumbosim
