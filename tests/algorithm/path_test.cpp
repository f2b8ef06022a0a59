// Path geometry: cylinder wrapping against closed forms, and analytic moment arms against
// central differences of the path length over a pose grid of the default model.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "lumbosim/algorithm/path.hpp"
#include "lumbosim/io/yaml_model.hpp"
#include "lumbosim/model/compile.hpp"
#include "lumbosim/model/samples.hpp"

using namespace lumbosim;
constexpr double kPi = std::numbers::pi;

TEST(CylinderWrap, HalfTurnHasClosedFormLength) {
  // P and S on opposite sides of a cylinder of radius r at distance a from its axis: the
  // geodesic is two tangents of length sqrt(a^2 - r^2) and an arc of angle pi - 2 acos(r/a).
  const double r = 0.03, a = 0.08;
  const CylinderWrap w = wrap_cylinder(Vec3(-a, 0.0, 0.0), Vec3(a, 0.0, 0.0), r, +1);
  ASSERT_TRUE(w.active);
  const double expected = 2.0 * std::sqrt(a * a - r * r) + r * (kPi - 2.0 * std::acos(r / a));
  EXPECT_NEAR(w.length, expected, 1e-12);
  EXPECT_NEAR(w.T1.head<2>().norm(), r, 1e-12);
  EXPECT_NEAR(w.T2.head<2>().norm(), r, 1e-12);
  // counter-clockwise from (-a,0) to (a,0) goes below the axis
  EXPECT_LT(w.T1.y(), 0.0);
  const CylinderWrap cw = wrap_cylinder(Vec3(-a, 0.0, 0.0), Vec3(a, 0.0, 0.0), r, -1);
  EXPECT_GT(cw.T1.y(), 0.0);
  EXPECT_NEAR(cw.length, expected, 1e-12);
}

TEST(CylinderWrap, HelixLengthUnrollsTheCylinder) {
  const double r = 0.02, a = 0.05, dz = 0.07;
  const CylinderWrap flat = wrap_cylinder(Vec3(-a, 0.001, 0.0), Vec3(a, 0.001, 0.0), r, +1);
  const CylinderWrap helix = wrap_cylinder(Vec3(-a, 0.001, 0.0), Vec3(a, 0.001, dz), r, +1);
  ASSERT_TRUE(flat.active && helix.active);
  EXPECT_NEAR(helix.length, std::hypot(flat.length, dz), 1e-12);
}

TEST(CylinderWrap, LengthIsContinuousAtContact) {
  // A straight segment passing at distance h from the axis: no wrap for h > r; as h -> r the
  // wrapped length tends to the straight length.
  const double r = 0.03, a = 0.1;
  const double straight = 2.0 * a;
  const CylinderWrap outside = wrap_cylinder(Vec3(-a, -r - 1e-9, 0), Vec3(a, -r - 1e-9, 0), r, +1);
  EXPECT_FALSE(outside.active);
  const CylinderWrap inside = wrap_cylinder(Vec3(-a, -r + 1e-9, 0), Vec3(a, -r + 1e-9, 0), r, +1);
  ASSERT_TRUE(inside.active);
  EXPECT_NEAR(inside.length, std::hypot(2 * a, 0.0), 1e-6);
  EXPECT_GE(inside.length, straight - 1e-12);
}

TEST(CylinderWrap, SideConstraintHoldsThePathOnItsSide) {
  // With side +1 (counter-clockwise) a path whose straight line lies on the forbidden side
  // still wraps around the allowed side.
  const double r = 0.03, a = 0.1;
  const CylinderWrap w = wrap_cylinder(Vec3(-a, 0.05, 0), Vec3(a, 0.05, 0), r, +1);
  ASSERT_TRUE(w.active);
  EXPECT_LT(w.T1.y(), 0.0);
  const CylinderWrap free = wrap_cylinder(Vec3(-a, 0.05, 0), Vec3(a, 0.05, 0), r, 0);
  EXPECT_FALSE(free.active);
}

namespace {
Model default_model() {
  return compile(io::load_model_spec(std::string(LUMBOSIM_SOURCE_DIR) + "/models/lumbopelvic.yaml"));
}
}  // namespace

TEST(PathMomentArms, MatchCentralDifferencesOverAPoseGrid) {
  // R = -dl/dq for every muscle and ligament, 1e-6 m, over a grid of hip, knee, ankle and
  // lumbar angles that moves many wraps on and off their surfaces.
  const Model m = default_model();
  Data d(m);
  const double h = 1e-7;
  const int hip = m.find_coord("hip_flexion_r"), knee = m.find_coord("knee_flexion_r"),
            ankle = m.find_coord("ankle_angle_r"), l45 = m.find_coord("L4_L5_flexion"),
            tilt = m.find_coord("pelvis_tilt");
  int wrapped_seen = 0, unwrapped_seen = 0, poses = 0;
  for (double hd : {-20.0, 0.0, 35.0, 70.0, 100.0, 120.0})
    for (double kd : {0.0, 45.0, 90.0, 120.0})
      for (double ld : {-10.0, 12.0}) {
        VecX q = m.default_q();
        q[hip] = hd * kPi / 180;
        q[knee] = kd * kPi / 180;
        q[ankle] = (hd - kd) / 8.0 * kPi / 180;
        q[l45] = ld * kPi / 180;
        q[tilt] = -0.1;
        forward_kinematics(m, d, q);
        compute_paths(m, d);
        const MatX R = d.path_moment_arm;
        for (size_t s = 0; s < d.seg_wrapped.size(); ++s) (d.seg_wrapped[s] ? wrapped_seen : unwrapped_seen)++;
        ++poses;
        for (int c = 0; c < m.nv; ++c) {
          VecX qp = q, qm = q;
          qp[c] += h;
          qm[c] -= h;
          forward_kinematics(m, d, qp);
          compute_paths(m, d);
          const VecX lp = d.path_length;
          forward_kinematics(m, d, qm);
          compute_paths(m, d);
          const VecX dl = (lp - d.path_length) / (2 * h);
          for (int p = 0; p < m.npath(); ++p)
            ASSERT_NEAR(R(p, c), -dl[p], 1e-6) << m.path_name[static_cast<size_t>(p)] << " about "
                                               << m.coord_name[static_cast<size_t>(c)] << " at hip " << hd
                                               << " knee " << kd << " L4L5 " << ld;
        }
      }
  EXPECT_GT(wrapped_seen, 0);
  EXPECT_GT(unwrapped_seen, 0);
  EXPECT_EQ(poses, 48);
}

TEST(PathMomentArms, ZeroAboutTheFloatingBaseUnlessAnchoredToGround) {
  // Moving the whole body rigidly (the pelvis's planar base: pelvis_tx, _ty, _tilt) changes no
  // length of a path whose points all move, so its moment arms there are exactly zero (the
  // pull walk stops below the base). A path anchored to ground keeps them, and they match
  // central differences.
  ModelSpec spec = io::load_model_spec(std::string(LUMBOSIM_SOURCE_DIR) + "/models/lumbopelvic.yaml");
  MuscleSpec tether = spec.muscles.front();
  tether.name = "tether";
  tether.groups.clear();
  tether.mirror = false;
  tether.compliant_tendon = false;
  tether.tendon_slack_length = 3.0;  // slack: no passive force in the hamstrings' SLR calibration
  tether.path.clear();
  PathPointSpec a, b;
  a.body = "ground";
  a.position = Vec3(0.3, 0.2, 0.0);
  b.body = "femur_r";
  b.position = Vec3(0.0, -0.2, 0.0);
  tether.path = {a, b};
  spec.muscles.push_back(tether);
  const Model m = compile(spec);
  Data d(m);
  VecX q = m.default_q();
  q[m.find_coord("pelvis_tilt")] = 0.2;
  q[m.find_coord("hip_flexion_r")] = 0.7;
  forward_kinematics(m, d, q);
  compute_paths(m, d);
  const MatX R = d.path_moment_arm;
  const int tp = m.muscle_path[static_cast<size_t>(m.find_muscle("tether"))];
  const double h = 1e-7;
  for (const char* base : {"pelvis_tx", "pelvis_ty", "pelvis_tilt"}) {
    const int c = m.find_coord(base);
    for (int p = 0; p < m.npath(); ++p)
      if (p != tp) {
        EXPECT_EQ(R(p, c), 0.0) << m.path_name[static_cast<size_t>(p)] << " about " << base;
      }
    VecX qp = q, qm = q;
    qp[c] += h;
    qm[c] -= h;
    forward_kinematics(m, d, qp);
    compute_paths(m, d);
    const double lp = d.path_length[tp];
    forward_kinematics(m, d, qm);
    compute_paths(m, d);
    const double dl = (lp - d.path_length[tp]) / (2 * h);
    EXPECT_GT(std::abs(dl), 1e-3) << base;
    EXPECT_NEAR(R(tp, c), -dl, 1e-6) << base;
  }
}

TEST(PathMomentArms, ContinuousAcrossWrapContact) {
  // Sweep hip flexion finely through the ischium wrap's contact change: length and moment arm
  // change by no more than their derivative predicts (no jump).
  const Model m = default_model();
  Data d(m);
  const int hip = m.find_coord("hip_flexion_r");
  const int semimem = m.muscle_path[static_cast<size_t>(m.find_muscle("semimem_r"))];
  const size_t seg0 = static_cast<size_t>(m.path_point_adr[static_cast<size_t>(semimem)]);  // origin -> via, over the ischium
  VecX q = m.default_q();
  double prev_l = 0, prev_r = 0;
  bool prev_wrapped = false, changed = false;
  for (int i = 0; i <= 4000; ++i) {
    q[hip] = (-20.0 + 140.0 * i / 4000.0) * kPi / 180;
    forward_kinematics(m, d, q);
    compute_paths(m, d);
    const double l = d.path_length[semimem], r = d.path_moment_arm(semimem, hip);
    if (i > 0) {
      const double dq = 140.0 / 4000.0 * kPi / 180;
      EXPECT_NEAR(l - prev_l, -0.5 * (r + prev_r) * dq, 1e-6);
      EXPECT_LT(std::abs(r - prev_r), 2e-3);
      if (static_cast<bool>(d.seg_wrapped[seg0]) != prev_wrapped) changed = true;
    }
    prev_wrapped = d.seg_wrapped[seg0];
    prev_l = l;
    prev_r = r;
  }
  EXPECT_TRUE(changed) << "the sweep should cross the ischium wrap's contact change";
}

// ---- ellipsoid wrapping ------------------------------------------------------------------------

TEST(EllipsoidWrap, SphereHalfTurnIsTheGreatCircleGeodesic) {
  const double r = 0.03, a = 0.08;
  const EllipsoidWrap w = wrap_ellipsoid(Vec3(-a, 0.0, 0.0), Vec3(a, 0.0, 0.0), Vec3::Constant(r), 0);
  ASSERT_TRUE(w.active);
  // opposite points: tangents sqrt(a^2 - r^2) each and an arc of pi - 2 acos(r/a)
  const double geodesic = 2.0 * std::sqrt(a * a - r * r) + r * (kPi - 2.0 * std::acos(r / a));
  EXPECT_NEAR(w.length, geodesic, 1e-6);
  EXPECT_NEAR(w.T1.norm(), r, 1e-9);
  EXPECT_NEAR(w.T2.norm(), r, 1e-9);
}

TEST(EllipsoidWrap, SymmetryPlaneGeodesicIsTheEllipticalArc) {
  // Semi-axes 0.03 (x), 0.05 (y), 0.06 (z); P and S on the x axis: the shortest path stays in
  // the x-y symmetry plane (around the smaller y axis): two tangents to the ellipse and its arc.
  const double a = 0.03, b = 0.05, c = 0.06, px = 0.1;
  const EllipsoidWrap w = wrap_ellipsoid(Vec3(-px, 0, 0), Vec3(px, 0, 0), Vec3(a, b, c), 0);
  ASSERT_TRUE(w.active);
  const double xt = a * a / px, yt = b * std::sqrt(1.0 - xt * xt / (a * a));
  const double tangent = std::hypot(px - xt, yt);
  const double f1 = std::acos(xt / a), f2 = std::acos(-xt / a);
  double arc = 0.0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const double f = f1 + (f2 - f1) * (i + 0.5) / n;
    arc += std::hypot(a * std::sin(f), b * std::cos(f)) * (f2 - f1) / n;
  }
  EXPECT_NEAR(w.length, 2 * tangent + arc, 1e-7);
  EXPECT_NEAR(w.T1.z(), 0.0, 1e-9);
}

TEST(EllipsoidWrap, InactiveWhenTheSegmentClears) {
  EXPECT_FALSE(wrap_ellipsoid(Vec3(-0.1, 0.06, 0), Vec3(0.1, 0.06, 0), Vec3(0.03, 0.05, 0.06), 0).active);
  EXPECT_TRUE(wrap_ellipsoid(Vec3(-0.1, 0.04, 0), Vec3(0.1, 0.04, 0), Vec3(0.03, 0.05, 0.06), 0).active);
}

TEST(EllipsoidWrap, MomentArmsMatchCentralDifferencesThroughContactChanges) {
  // A muscle over a tilted ellipsoid at the second hinge of a double pendulum, with an
  // out-of-plane offset so that the geodesic is fully three-dimensional.
  ModelSpec s = samples::double_pendulum(1.0, 0.5, 1.0, 0.4);
  WrapSpec w;
  w.name = "condyle";
  w.type = WrapType::Ellipsoid;
  w.body = "link1";
  w.frame.position = Vec3(0.0, -0.5, 0.0);
  w.frame.orientation_deg = Vec3(10.0, 20.0, 0.0);
  w.radii = Vec3(0.03, 0.04, 0.05);
  s.wraps.push_back(w);
  MuscleSpec mu;
  mu.name = "flexor";
  mu.max_isometric_force = 500;
  mu.optimal_fiber_length = 0.1;
  mu.tendon_slack_length = 0.2;
  PathPointSpec a, ww, b;
  a.body = "link1";
  a.position = Vec3(-0.06, -0.30, 0.01);
  ww.wrap = "condyle";
  b.body = "link2";
  b.position = Vec3(-0.05, -0.10, -0.015);
  mu.path = {a, ww, b};
  s.muscles.push_back(mu);
  const Model m = compile(s);
  Data d(m);
  int wrapped = 0, free_ = 0;
  double prev_l = -1, prev_R = 0;
  for (double q2 = -2.6; q2 <= 2.6; q2 += 0.05) {
    VecX q(2);
    q << 0.3, q2;
    forward_kinematics(m, d, q);
    compute_paths(m, d);
    const double R = d.path_moment_arm(0, 1), l = d.path_length[0];
    (d.seg_wrapped[0] ? wrapped : free_)++;
    if (prev_l > 0) {  // no jump: the length changes as its moment arm predicts (trapezoid rule)
      EXPECT_NEAR(l - prev_l, -0.5 * (R + prev_R) * 0.05, 2e-4) << "q2 " << q2;
    }
    prev_l = l;
    prev_R = R;
    const double h = 1e-6;
    VecX qp = q, qm = q;
    qp[1] += h;
    qm[1] -= h;
    forward_kinematics(m, d, qp);
    compute_paths(m, d);
    const double lp = d.path_length[0];
    forward_kinematics(m, d, qm);
    compute_paths(m, d);
    EXPECT_NEAR(R, -(lp - d.path_length[0]) / (2 * h), 1e-6) << "q2 " << q2;
  }
  EXPECT_GT(wrapped, 5);
  EXPECT_GT(free_, 5);
}

TEST(EllipsoidWrap, LongEllipsoidFollowsTheCylinderContinuously) {
  // An ellipsoid ten times longer (z) than wide is, near its equator, the cylinder of the same
  // radius: a path turning about z with its end points off the equator (as the gluteus maximus
  // over the hip) must wrap it as the cylinder's helix, on the side asked for, and move
  // continuously as the end point swings round (the shooting used to stall or take the long
  // way round at some angles).
  const double a = 0.04;
  const Vec3 P(-0.056, 0.023, 0.013);
  double prev = -1.0;
  // S from 280 to 460 deg about z: the straight segment first cuts the obstacle, then passes
  // the axis on the forbidden side (counter-clockwise asked): the wrap goes on round.
  for (double deg = 280.0; deg <= 460.0; deg += 0.5) {
    const double t = deg * kPi / 180.0;
    const Vec3 S(0.09 * std::cos(t), 0.09 * std::sin(t), 0.036);
    const EllipsoidWrap e = wrap_ellipsoid(P, S, Vec3(a, a, 10.0 * a), 1);
    const CylinderWrap c = wrap_cylinder(P, S, a, 1);
    ASSERT_TRUE(c.active) << deg;
    ASSERT_TRUE(e.active) << deg;
    EXPECT_TRUE(e.converged) << deg;
    EXPECT_NEAR(e.length, c.length, 5e-4) << deg;  // the ellipsoid narrows by 0.3 mm at z = 0.036
    if (prev > 0.0) {
      EXPECT_LT(std::abs(e.length - prev), 2e-3) << deg;
    }
    prev = e.length;
  }
}
