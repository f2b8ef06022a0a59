#include "lumbosim/algorithm/clinical.hpp"

#include <cmath>
#include <cstdio>
#include <numbers>

#include "lumbosim/algorithm/passive.hpp"

namespace lumbosim {
namespace {

constexpr double kDeg = std::numbers::pi / 180.0;

const char* sfx(Side s) { return s == Side::Right ? "_r" : "_l"; }

int coord(const Model& m, const std::string& name) {
  const int c = m.find_coord(name);
  if (c < 0) throw std::invalid_argument("clinical tests need coordinate '" + name + "'");
  return c;
}

/// Supine reference configuration.
VecX supine(const Model& m) {
  VecX q = m.default_q();
  for (int i = 0; i < m.nv; ++i) {
    const std::string& n = m.coord_name[static_cast<size_t>(i)];
    const bool lumbar = n.find("_flexion") != std::string::npos && (n[0] == 'L' || n[0] == 'T');
    if (lumbar || n.rfind("knee_flexion", 0) == 0 || n.rfind("ankle_angle", 0) == 0) q[i] = 0.0;
  }
  return q;
}

double pelvis_tilt0(const Model& m) { return m.coord_default[static_cast<size_t>(coord(m, "pelvis_tilt"))]; }

/// Largest x in [lo, hi] with f(x) <= target for increasing f (bisection); reached=false if
/// f(hi) < target (returns hi) or f(lo) > target (returns lo).
template <class F>
double bisect_increasing(F f, double lo, double hi, double target, bool* reached, double tol = 1e-7) {
  const double flo = f(lo), fhi = f(hi);
  *reached = true;
  if (fhi < target) { *reached = false; return hi; }
  if (flo > target) { *reached = false; return lo; }
  for (int it = 0; it < 200 && hi - lo > tol; ++it) {
    const double mid = 0.5 * (lo + hi);
    if (f(mid) < target) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

}  // namespace

double passive_hip_extension_moment(const Model& m, Data& d, Side side, double hip, double knee) {
  VecX q = supine(m);
  const int h = coord(m, std::string("hip_flexion") + sfx(side));
  q[h] = hip;
  q[coord(m, std::string("knee_flexion") + sfx(side))] = knee;
  passive_forces(m, d, q);
  return -d.tau_passive[h];
}

SlrResult simulate_slr(const Model& m, Data& d, Side side) {
  SlrResult r;
  const double tau0 = pelvis_tilt0(m);
  const double torque = m.clinical.end_feel_torque;
  const int h = coord(m, std::string("hip_flexion") + sfx(side));
  const double hmax = m.coord_max[static_cast<size_t>(h)];
  r.hip_flexion = bisect_increasing([&](double x) { return passive_hip_extension_moment(m, d, side, x, 0.0); },
                                    tau0, hmax, torque, &r.reached);
  if (m.clinical.pelvis_free) {
    // Pelvis rotates posteriorly by phi: lumbar flexion phi shared by the lumbar levels (thorax
    // on the table), contralateral hip extended by phi (thigh on the table).
    const Side other = side == Side::Right ? Side::Left : Side::Right;
    const int hc = coord(m, std::string("hip_flexion") + sfx(other));
    std::vector<int> lumbar;
    for (const char* n : {"L5_S1_flexion", "L4_L5_flexion", "L3_L4_flexion", "L2_L3_flexion", "L1_L2_flexion", "T12_L1_flexion"})
      if (m.find_coord(n) >= 0) lumbar.push_back(m.find_coord(n));
    const int l5 = coord(m, "L5_S1_flexion");
    auto resist = [&](double phi) {
      VecX q = supine(m);
      for (int c : lumbar) q[c] = phi / static_cast<double>(lumbar.size());
      q[hc] = tau0 - phi;
      passive_forces(m, d, q);
      return -d.tau_passive[l5] + d.tau_passive[hc];
    };
    bool ok = true;
    r.pelvic_rotation = bisect_increasing(resist, 0.0, 60.0 * kDeg, torque, &ok);
  }
  r.angle = r.hip_flexion - tau0 + r.pelvic_rotation;
  return r;
}

double simulate_popliteal_angle(const Model& m, Data& d, Side side) {
  const double tau0 = pelvis_tilt0(m);
  const int k = coord(m, std::string("knee_flexion") + sfx(side));
  const double hip = 90.0 * kDeg + tau0;
  // Passive knee flexion moment falls as the knee extends; find where it equals the end feel.
  auto moment = [&](double knee) {
    VecX q = supine(m);
    q[coord(m, std::string("hip_flexion") + sfx(side))] = hip;
    q[k] = knee;
    passive_forces(m, d, q);
    return -d.tau_passive[k];  // increasing in knee flexion (negative = extension resisted)
  };
  bool reached = true;
  // -moment(knee) = flexing moment; flexing moment decreases with knee flexion, so use its negative.
  return bisect_increasing(moment, 0.0, 150.0 * kDeg, -m.clinical.knee_end_feel_torque, &reached);
}

void calibrate_slr(Model& m, const std::string& group, double target, const SourceLoc& loc) {
  const int g = m.find_group(group);
  if (g < 0) throw InputError(Error{loc, group + ".slr_deg", "unknown muscle group '" + group + "'"});
  const std::vector<int> members = m.group_muscles[static_cast<size_t>(g)];
  std::vector<Side> sides;
  const bool right = group.size() > 2 && group.compare(group.size() - 2, 2, "_r") == 0;
  const bool left = group.size() > 2 && group.compare(group.size() - 2, 2, "_l") == 0;
  if (!left) sides.push_back(Side::Right);
  if (!right) sides.push_back(Side::Left);
  Data d(m);
  for (Side side : sides) {
    std::vector<int> ms;
    for (int mi : members) {
      const std::string& n = m.muscle_name[static_cast<size_t>(mi)];
      if (n.size() > 2 && n.compare(n.size() - 2, 2, sfx(side)) == 0) ms.push_back(mi);
    }
    std::vector<double> base(ms.size());
    for (size_t i = 0; i < ms.size(); ++i) base[i] = m.muscle[static_cast<size_t>(ms[i])].tendon_slack_length;
    auto slr_at = [&](double scale) {
      for (size_t i = 0; i < ms.size(); ++i) m.muscle[static_cast<size_t>(ms[i])].tendon_slack_length = base[i] * scale;
      const SlrResult r = simulate_slr(m, d, side);
      // Not reached at the top of the hip range: the SLR would exceed what the range allows.
      // (End feel at the start means SLR 0: the function stays continuous.)
      return r.reached || r.hip_flexion <= pelvis_tilt0(m) + 1e-9 ? r.angle : 1e9;
    };
    constexpr double lo = 0.5, hi = 2.0;
    const double a_lo = slr_at(lo), a_hi = slr_at(hi);
    if (!(a_lo <= target && target <= a_hi)) {
      char buf[256];
      auto show = [](double a) { return std::abs(a) > 1e8 ? (a < 0 ? -999.0 : 999.0) : a / kDeg; };
      std::snprintf(buf, sizeof buf,
                    "target SLR %.1f deg (%s side) cannot be reached: tendon slack scales 0.5..2 give %.1f..%.1f deg "
                    "(999: the end-feel torque is never reached within the hip's range of motion)",
                    target / kDeg, side == Side::Right ? "right" : "left", show(a_lo), show(a_hi));
      for (size_t i = 0; i < ms.size(); ++i) m.muscle[static_cast<size_t>(ms[i])].tendon_slack_length = base[i];
      throw InputError(Error{loc, group + ".slr_deg", buf});
    }
    double l = lo, h = hi;
    for (int it = 0; it < 100 && h - l > 1e-10; ++it) {
      const double mid = 0.5 * (l + h);
      if (slr_at(mid) < target) l = mid;
      else h = mid;
    }
    slr_at(0.5 * (l + h));
  }
}

}  // namespace lumbosim
