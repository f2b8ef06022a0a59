#include "lumbosim/algorithm/path.hpp"

#include <array>
#include <cmath>
#include <limits>
#include <numbers>

namespace lumbosim {
namespace {

constexpr double kTwoPi = 2.0 * std::numbers::pi;

double wrap_angle_pos(double a) {  // into [0, 2 pi)
  a = std::fmod(a, kTwoPi);
  return a < 0 ? a + kTwoPi : a;
}

struct Planar {
  double theta1, theta2, arc;  // tangent angles and arc angle (>= 0)
};

Planar plan(double phiP, double aP, double phiS, double aS, int dir) {
  Planar p{};
  if (dir > 0) {
    p.theta1 = phiP + aP;
    p.theta2 = phiS - aS;
    p.arc = wrap_angle_pos(p.theta2 - p.theta1);
  } else {
    p.theta1 = phiP - aP;
    p.theta2 = phiS + aS;
    p.arc = wrap_angle_pos(p.theta1 - p.theta2);
  }
  return p;
}

/// Adds f . J(point) into row `row` of the moment-arm matrix (as -dl/dq), walking the
/// point's mobilizer ancestors: no Jacobian matrix is formed. Records the effective point.
void add_pull(const Model& model, Data& data, int body, const Vec3& p_W, const Vec3& f, MatXr& R, int row) {
  const auto e = static_cast<size_t>(data.eff_adr[static_cast<size_t>(row)] + data.eff_num[static_cast<size_t>(row)]++);
  data.eff_body[e] = body;
  data.eff_p_W[e] = p_W;
  data.eff_pull_W[e] = -f;  // force of a unit tension on the body: -(dl/dX) = u_out - u_in
  // The mobilizers every body hangs from (the floating base) move a wholly moving path
  // rigidly: its pulls there sum to zero, and the walk stops where they begin.
  const bool whole = static_cast<size_t>(row) < model.path_moves_whole.size() && model.path_moves_whole[static_cast<size_t>(row)];
  for (int j = model.body_mob[static_cast<size_t>(body)]; j >= 0; j = model.mob_parent[static_cast<size_t>(j)]) {
    const auto k = static_cast<size_t>(j);
    if (whole && model.mob_common[k]) break;
    const Vec3& axis_W = data.axis_W[k];
    // revolute: (axis x (p - o)) . f = axis . ((p - o) x f)
    const double dl = model.mob_kind[k] == DofKind::Revolute ? axis_W.dot((p_W - data.X_WM[k].p).cross(f)) : axis_W.dot(f);
    R(row, j) -= dl;
  }
}

}  // namespace

CylinderWrap wrap_cylinder(const Vec3& P, const Vec3& S, double r, int side) {
  CylinderWrap w;
  const double rhoP = std::hypot(P.x(), P.y()), rhoS = std::hypot(S.x(), S.y());
  if (rhoP <= r || rhoS <= r) return w;  // an end inside the cylinder: no wrap
  // Closest approach of the planar segment to the axis.
  const double dx = S.x() - P.x(), dy = S.y() - P.y();
  const double len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? -(P.x() * dx + P.y() * dy) / len2 : 0.0;
  const bool inside_span = t > 0.0 && t < 1.0;
  t = std::clamp(t, 0.0, 1.0);
  const double d = std::hypot(P.x() + t * dx, P.y() + t * dy);
  // Signed distance of the axis from the line: > 0 when the axis is on the left of P->S.
  const double s = len2 > 0 ? (P.x() * S.y() - P.y() * S.x()) / std::sqrt(len2) : 0.0;
  bool active = d < r;
  if (side != 0 && inside_span && s * side < 0.0) active = true;  // line on the forbidden side
  if (!active) return w;
  const double phiP = std::atan2(P.y(), P.x()), phiS = std::atan2(S.y(), S.x());
  const double aP = std::acos(r / rhoP), aS = std::acos(r / rhoS);
  Planar pl;
  if (side != 0) {
    pl = plan(phiP, aP, phiS, aS, side);
  } else {
    const Planar ccw = plan(phiP, aP, phiS, aS, +1), cw = plan(phiP, aP, phiS, aS, -1);
    pl = ccw.arc <= cw.arc ? ccw : cw;
  }
  const double tP = std::sqrt(rhoP * rhoP - r * r), tS = std::sqrt(rhoS * rhoS - r * r);
  const double L2 = tP + r * pl.arc + tS;  // unrolled planar length
  const double dz = S.z() - P.z();
  w.active = true;
  w.T1 = Vec3(r * std::cos(pl.theta1), r * std::sin(pl.theta1), P.z() + dz * tP / L2);
  w.T2 = Vec3(r * std::cos(pl.theta2), r * std::sin(pl.theta2), P.z() + dz * (tP + r * pl.arc) / L2);
  w.length = std::sqrt(L2 * L2 + dz * dz);
  return w;
}

void wrap_cylinder_derivatives(const Vec3& P, const Vec3& S, double r, int side, Mat3& dT1dP, Mat3& dT1dS,
                               Mat3& dT2dP, Mat3& dT2dS) {
  const double rhoP = std::hypot(P.x(), P.y()), rhoS = std::hypot(S.x(), S.y());
  const double phiP = std::atan2(P.y(), P.x()), phiS = std::atan2(S.y(), S.x());
  const double aP = std::acos(r / rhoP), aS = std::acos(r / rhoS);
  int dir = side;
  if (dir == 0) dir = plan(phiP, aP, phiS, aS, +1).arc <= plan(phiP, aP, phiS, aS, -1).arc ? +1 : -1;
  const Planar pl = plan(phiP, aP, phiS, aS, dir);
  const double tP = std::sqrt(rhoP * rhoP - r * r), tS = std::sqrt(rhoS * rhoS - r * r);
  const double L2 = tP + r * pl.arc + tS;
  const double dz = S.z() - P.z();
  // gradients (row vectors in the end point's coordinates; z does not enter the planar terms)
  const Vec3 grho_P(P.x() / rhoP, P.y() / rhoP, 0.0), grho_S(S.x() / rhoS, S.y() / rhoS, 0.0);
  const Vec3 gphi_P(-P.y() / (rhoP * rhoP), P.x() / (rhoP * rhoP), 0.0);
  const Vec3 gphi_S(-S.y() / (rhoS * rhoS), S.x() / (rhoS * rhoS), 0.0);
  const Vec3 ga_P = r / (rhoP * tP) * grho_P, ga_S = r / (rhoS * tS) * grho_S;  // d acos(r/rho)
  const Vec3 gt_P = rhoP / tP * grho_P, gt_S = rhoS / tS * grho_S;
  const Vec3 gth1_P = gphi_P + dir * ga_P;  // theta1 = phiP + dir aP
  const Vec3 gth2_S = gphi_S - dir * ga_S;  // theta2 = phiS - dir aS
  // arc = dir (theta2 - theta1) (mod 2 pi)
  const Vec3 garc_P = -dir * gth1_P, garc_S = dir * gth2_S;
  const Vec3 gL_P = gt_P + r * garc_P, gL_S = r * garc_S + gt_S;
  const Vec3 ez = Vec3::UnitZ();
  // T1 = (r cos th1, r sin th1, Pz + dz q1), q1 = tP / L2
  const double q1 = tP / L2, q2 = (tP + r * pl.arc) / L2;
  const Vec3 gq1_P = (gt_P * L2 - tP * gL_P) / (L2 * L2), gq1_S = -tP * gL_S / (L2 * L2);
  const Vec3 gq2_P = ((gt_P + r * garc_P) * L2 - (tP + r * pl.arc) * gL_P) / (L2 * L2);
  const Vec3 gq2_S = (r * garc_S * L2 - (tP + r * pl.arc) * gL_S) / (L2 * L2);
  const Vec3 tan1(-r * std::sin(pl.theta1), r * std::cos(pl.theta1), 0.0);
  const Vec3 tan2(-r * std::sin(pl.theta2), r * std::cos(pl.theta2), 0.0);
  dT1dP = tan1 * gth1_P.transpose();
  dT1dP.row(2) = ((1.0 - q1) * ez + dz * gq1_P).transpose();
  dT1dS.setZero();
  dT1dS.row(2) = (q1 * ez + dz * gq1_S).transpose();
  dT2dS = tan2 * gth2_S.transpose();
  dT2dS.row(2) = (q2 * ez + dz * gq2_S).transpose();
  dT2dP.setZero();
  dT2dP.row(2) = ((1.0 - q2) * ez + dz * gq2_P).transpose();
}

namespace {

/// Geodesic on the ellipsoid sum (x_i / r_i)^2 = 1 from x0 with unit tangent t0 over arc length
/// s (RK4, 60 steps). Returns the end point and its
/// unit tangent.
void geodesic(const Vec3& r, const Vec3& x0, const Vec3& t0, double s, Vec3& x1, Vec3& t1) {
  const Vec3 k = r.cwiseInverse().cwiseAbs2();  // Hessian of f / 2
  auto acc = [&](const Vec3& x, const Vec3& v) {
    const Vec3 g = k.cwiseProduct(x);  // grad f / 2
    return Vec3(-(v.dot(k.cwiseProduct(v)) / g.squaredNorm()) * g);
  };
  constexpr int n = 60;
  const double h = s / n;
  Vec3 x = x0, v = t0;
  for (int i = 0; i < n; ++i) {
    const Vec3 a1 = acc(x, v);
    const Vec3 x2 = x + 0.5 * h * v, v2 = v + 0.5 * h * a1;
    const Vec3 a2 = acc(x2, v2);
    const Vec3 x3 = x + 0.5 * h * v2, v3 = v + 0.5 * h * a2;
    const Vec3 a3 = acc(x3, v3);
    const Vec3 x4 = x + h * v3, v4 = v + h * a3;
    const Vec3 a4 = acc(x4, v4);
    x += h / 6.0 * (v + 2 * v2 + 2 * v3 + v4);
    v += h / 6.0 * (a1 + 2 * a2 + 2 * a3 + a4);
  }
  x1 = x;
  t1 = v.normalized();
}

Vec3 surface_normal(const Vec3& r, const Vec3& x) { return x.cwiseProduct(r.cwiseInverse().cwiseAbs2()).normalized(); }

/// Point on the ellipsoid along the ray from the centre through the unit-sphere direction u.
Vec3 on_surface(const Vec3& r, const Vec3& u) { return r.cwiseProduct(u.normalized()); }

}  // namespace

namespace {

/// A wrap of the path P -> S over the ellipsoid within one plane through P and S: the section of
/// the ellipsoid by the plane is an ellipse (a circle in unit-sphere space, where tangency is
/// preserved), wrapped counter-clockwise about the plane's normal n (real space). Used as the
/// initial guess of the geodesic and as its fallback.
struct PlanarWrap {
  bool ok = false;
  Vec3 T1, T2, t1;  ///< tangent points and the unit direction of travel at T1
  double arc = 0.0, length = 0.0;
  double turn = 0.0;  ///< signed area the path sweeps about the centre in the x-y plane (> 0: counter-clockwise about +z)
};

PlanarWrap planar_wrap(const Vec3& P, const Vec3& S, const Vec3& r, const Vec3& n) {
  PlanarWrap w;
  const Vec3 p = P.cwiseQuotient(r), s = S.cwiseQuotient(r);
  Vec3 ns = n.cwiseProduct(r);  // the plane n . x = n . P in unit-sphere space
  const double ns_norm = ns.norm();
  if (!(ns_norm > 0.0)) return w;
  const double dist = n.dot(P) / ns_norm;
  ns /= ns_norm;
  if (std::abs(dist) >= 1.0) return w;  // the plane misses the ellipsoid
  const Vec3 c = dist * ns;
  const double rho = std::sqrt(1.0 - dist * dist);
  const Vec3 pc = p - c;
  const double dp = pc.norm() / rho;
  if (!(dp > 1.0)) return w;
  const Vec3 e1 = pc.normalized(), e2 = ns.cross(e1);
  const Vec3 sc = s - c;
  const double sx = sc.dot(e1) / rho, sy = sc.dot(e2) / rho;
  const double ds = std::hypot(sx, sy);
  if (!(ds > 1.0)) return w;
  const double th1 = std::acos(1.0 / dp);
  double arc = std::atan2(sy, sx) - std::acos(1.0 / ds) - th1;
  while (arc < 0.0) arc += kTwoPi;
  while (arc >= kTwoPi) arc -= kTwoPi;
  auto at = [&](double th) { return Vec3(r.cwiseProduct(c + rho * (std::cos(th) * e1 + std::sin(th) * e2))); };
  constexpr int n_arc = 32;
  w.T1 = at(th1);
  w.t1 = r.cwiseProduct(-std::sin(th1) * e1 + std::cos(th1) * e2).normalized();
  Vec3 prev = w.T1;
  double len = 0.0;
  w.turn = P.x() * w.T1.y() - P.y() * w.T1.x();
  for (int i = 1; i <= n_arc; ++i) {
    const Vec3 x = at(th1 + arc * i / n_arc);
    len += (x - prev).norm();
    w.turn += prev.x() * x.y() - prev.y() * x.x();
    prev = x;
  }
  w.T2 = prev;
  w.turn += w.T2.x() * S.y() - w.T2.y() * S.x();
  w.arc = len;
  w.length = (w.T1 - P).norm() + len + (S - w.T2).norm();
  w.ok = true;
  return w;
}

/// The geodesic wrap by shooting from an initial tangent point Q, direction t and arc length s:
/// Newton on the tangency of both straight segments (FD Jacobian, damped on the residual).
EllipsoidWrap shoot_geodesic(const Vec3& P, const Vec3& S, const Vec3& r, const Vec3& Q0, const Vec3& t0, double s0) {
  EllipsoidWrap w;
  const Vec3 inv = r.cwiseInverse();
  struct State {
    Vec3 Q, t;
    double s;
  };
  auto apply = [&](const State& st, const Eigen::Vector4d& z) {
    const Vec3 n = surface_normal(r, st.Q);
    const Vec3 b1 = st.t, b2 = n.cross(st.t);
    State o;
    // move Q in its tangent plane, then back onto the surface along the centre ray (sphere space)
    const Vec3 Qm = st.Q + z[0] * b1 + z[1] * b2;
    o.Q = on_surface(r, Qm.cwiseProduct(inv));
    const Vec3 n2 = surface_normal(r, o.Q);
    Vec3 t = std::cos(z[2]) * b1 + std::sin(z[2]) * b2;
    o.t = (t - n2 * n2.dot(t)).normalized();
    o.s = std::max(st.s + z[3], 0.0);
    return o;
  };
  auto residual = [&](const State& st, Vec3& E, Vec3& tE) {
    geodesic(r, st.Q, st.t, st.s, E, tE);
    const Vec3 nQ2 = surface_normal(r, st.Q), nE = surface_normal(r, E);
    const Vec3 uP = (st.Q - P).normalized(), uS = (S - E).normalized();
    Eigen::Vector4d res;
    res << uP.dot(nQ2), uP.dot(nQ2.cross(st.t)), uS.dot(nE), uS.dot(nE.cross(tE));
    return res;
  };
  const Vec3 nQ = surface_normal(r, Q0);
  State st{Q0, (t0 - nQ * nQ.dot(t0)).normalized(), s0};
  Vec3 E, tE;
  Eigen::Vector4d res = residual(st, E, tE);
  for (int it = 0; it < 50; ++it) {
    w.iterations = it;
    if (res.cwiseAbs().maxCoeff() < 1e-13) {
      w.converged = true;
      break;
    }
    Eigen::Matrix4d J;
    const double h = 1e-7;
    for (int j = 0; j < 4; ++j) {
      Eigen::Vector4d zp = Eigen::Vector4d::Zero(), zm = Eigen::Vector4d::Zero();
      zp[j] = h * (j == 2 ? 1.0 : r.maxCoeff());
      zm[j] = -zp[j];
      Vec3 Ep, tp, Em, tm;
      J.col(j) = (residual(apply(st, zp), Ep, tp) - residual(apply(st, zm), Em, tm)) / (2 * zp[j]);
    }
    Eigen::Vector4d z = -J.colPivHouseholderQr().solve(res);
    // damped step on |res|
    double t = 1.0;
    bool ok = false;
    for (int ls = 0; ls < 30; ++ls) {
      const State cand = apply(st, t * z);
      Vec3 Ec, tc2;
      const Eigen::Vector4d rc = residual(cand, Ec, tc2);
      if (rc.norm() < (1.0 - 1e-4 * t) * res.norm()) {
        st = cand;
        res = rc;
        E = Ec;
        tE = tc2;
        ok = true;
        break;
      }
      t *= 0.5;
    }
    if (!ok) {
      w.converged = res.cwiseAbs().maxCoeff() < 1e-9;  // at the integration's round-off floor
      break;
    }
  }
  if (!w.converged) return w;
  w.active = true;
  w.T1 = st.Q;
  w.T2 = E;
  w.arc = st.s;
  w.length = (st.Q - P).norm() + st.s + (S - E).norm();
  return w;
}

}  // namespace

EllipsoidWrap wrap_ellipsoid(const Vec3& P, const Vec3& S, const Vec3& r, int side) {
  EllipsoidWrap none;
  const Vec3 inv = r.cwiseInverse();
  const Vec3 p = P.cwiseProduct(inv), s = S.cwiseProduct(inv);  // unit-sphere space
  if (p.norm() <= 1.0 || s.norm() <= 1.0) return none;
  const Vec3 d = s - p;
  const double tc = std::clamp(-p.dot(d) / d.squaredNorm(), 0.0, 1.0);
  bool active = (p + tc * d).norm() < 1.0;  // the segment cuts the ellipsoid
  if (!active && side != 0) {
    // As the cylinder: a segment passing the z axis on the forbidden side (within its span, and
    // at a height the ellipsoid covers) must wrap round the allowed side.
    const double dx = S.x() - P.x(), dy = S.y() - P.y(), len2 = dx * dx + dy * dy;
    const double t = len2 > 0.0 ? -(P.x() * dx + P.y() * dy) / len2 : 0.0;
    const double z = P.z() + t * (S.z() - P.z());
    active = t > 0.0 && t < 1.0 && std::abs(z) < r.z() && (P.x() * S.y() - P.y() * S.x()) * side < 0.0;
  }
  if (!active) return none;
  // Initial guess: the shortest planar wrap among the planes through P and S (their normals turn
  // about the line PS; both orientations), respecting `side` (+1: counter-clockwise about +z,
  // by the area the path sweeps about the centre; -1 clockwise; 0 either). A coarse scan, then
  // golden-section refinement about the best sample.
  const Vec3 dir = (S - P).normalized();
  const Vec3 u = dir.unitOrthogonal(), v = dir.cross(u);
  auto wrap_at = [&](double phi) { return planar_wrap(P, S, r, std::cos(phi) * u + std::sin(phi) * v); };
  // The side rule tolerates paths that barely turn about z (over the ellipsoid's pole, where the
  // sense of turning is ill-defined): a normalised turn above -0.05 (about 3 deg) counts as
  // either side, so that the geodesic does not jump between branches there.
  const double turn_scale = std::max(P.head<2>().norm() * S.head<2>().norm(), r.head<2>().squaredNorm());
  auto right_way = [&](double turn) { return side == 0 || turn * side / turn_scale > -0.05; };
  auto allowed = [&](const PlanarWrap& w) { return w.ok && right_way(w.turn); };
  constexpr int n_scan = 36;
  double best_phi = 0.0, best_len = std::numeric_limits<double>::infinity();
  for (int i = 0; i < n_scan; ++i) {
    const double phi = kTwoPi * i / n_scan;
    const PlanarWrap w = wrap_at(phi);
    if (allowed(w) && w.length < best_len) {
      best_len = w.length;
      best_phi = phi;
    }
  }
  if (!std::isfinite(best_len)) return none;  // no plane wraps the required way
  const double phi0 = best_phi;
  double lo = phi0 - kTwoPi / n_scan, hi = phi0 + kTwoPi / n_scan;
  auto len_at = [&](double phi) {  // keeps the best allowed plane of every evaluation
    const PlanarWrap w = wrap_at(phi);
    if (!allowed(w)) return std::numeric_limits<double>::infinity();
    if (w.length < best_len) {
      best_len = w.length;
      best_phi = phi;
    }
    return w.length;
  };
  constexpr double g = 0.6180339887498949;
  double x1 = hi - g * (hi - lo), x2 = lo + g * (hi - lo), f1 = len_at(x1), f2 = len_at(x2);
  for (int it = 0; it < 30; ++it) {
    if (f1 <= f2) {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - g * (hi - lo);
      f1 = len_at(x1);
    } else {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + g * (hi - lo);
      f2 = len_at(x2);
    }
  }
  len_at(0.5 * (lo + hi));
  const PlanarWrap guess = wrap_at(best_phi);
  // The geodesic from that guess. The taut path is no longer than any planar wrap: a geodesic
  // that is longer (beyond the guess's 32-chord underestimate of its arc, < 1e-3), or turns the
  // wrong way, is another branch (the long way round); the planar wrap is then kept (continuous
  // in P and S, never through the ellipsoid).
  EllipsoidWrap w = shoot_geodesic(P, S, r, guess.T1, guess.t1, guess.arc);
  if (w.active) {
    // the geodesic's sense of turning about z where it touches and leaves the ellipsoid (its
    // direction of travel there is along the straight segments), normalised like a sine
    const Vec3 u1 = w.T1 - P, u2 = S - w.T2;
    const double turn = (w.T1.x() * u1.y() - w.T1.y() * u1.x()) + (w.T2.x() * u2.y() - w.T2.y() * u2.x());
    const double scale = w.T1.head<2>().norm() * u1.norm() + w.T2.head<2>().norm() * u2.norm() + 1e-300;
    const bool right_way_geo = side == 0 || turn * side / scale > -0.05;
    if (right_way_geo && w.length <= guess.length * (1.0 + 1e-3)) return w;
  }
  EllipsoidWrap fallback;
  fallback.active = true;
  fallback.converged = false;
  fallback.T1 = guess.T1;
  fallback.T2 = guess.T2;
  fallback.arc = guess.arc;
  fallback.length = guess.length;
  fallback.iterations = w.iterations;
  return fallback;
}

void compute_paths(const Model& model, Data& data) {
  for (int p = 0; p < model.npath(); ++p) compute_path(model, data, p);
}

void compute_path(const Model& model, Data& data, int p) {
  data.path_moment_arm.row(p).setZero();
  {
    const int adr = model.path_point_adr[static_cast<size_t>(p)];
    const int num = model.path_point_num[static_cast<size_t>(p)];
    data.eff_adr[static_cast<size_t>(p)] = 3 * adr;
    data.eff_num[static_cast<size_t>(p)] = 0;
    double length = 0.0;
    // Walk segments; the "pull" at each effective point is u_in - u_out.
    Vec3 u_in = Vec3::Zero();
    for (int k = 0; k < num; ++k) {
      const auto pk = static_cast<size_t>(adr + k);
      const int body = model.path_point_body[pk];
      const Vec3 A = point_position(data, body, model.path_point_p_B[pk]);
      if (k == num - 1) {
        add_pull(model, data, body, A, u_in, data.path_moment_arm, p);
        break;
      }
      const auto pn = pk + 1;
      const Vec3 B = point_position(data, model.path_point_body[pn], model.path_point_p_B[pn]);
      const int w = model.path_point_wrap[pk];
      data.seg_wrapped[pk] = 0;
      if (w >= 0) {
        const auto wk = static_cast<size_t>(w);
        const int wb = model.wrap_body[wk];
        const SE3 X_WW = data.X_WB[static_cast<size_t>(wb)] * model.wrap_X_BW[wk];
        CylinderWrap cw;
        if (model.wrap_type[wk] == WrapType::Ellipsoid) {
          const EllipsoidWrap ew =
              wrap_ellipsoid(X_WW.act_point_inv(A), X_WW.act_point_inv(B), model.wrap_radii[wk], model.wrap_side[wk]);
          cw.active = ew.active;
          cw.T1 = ew.T1;
          cw.T2 = ew.T2;
          cw.length = ew.length;
        } else {
          cw = wrap_cylinder(X_WW.act_point_inv(A), X_WW.act_point_inv(B), model.wrap_radii[wk].x(), model.wrap_side[wk]);
        }
        if (cw.active) {
          const Vec3 T1 = X_WW.act_point(cw.T1), T2 = X_WW.act_point(cw.T2);
          const Vec3 u1 = (T1 - A).normalized(), u2 = (B - T2).normalized();
          add_pull(model, data, body, A, u_in - u1, data.path_moment_arm, p);
          add_pull(model, data, wb, T1, u1, data.path_moment_arm, p);   // arc is rigid with the wrap body
          add_pull(model, data, wb, T2, -u2, data.path_moment_arm, p);
          data.seg_wrapped[pk] = 1;
          data.seg_T1_W[pk] = T1;
          data.seg_T2_W[pk] = T2;
          length += cw.length;
          u_in = u2;
          continue;
        }
      }
      const Vec3 d = B - A;
      const double n = d.norm();
      const Vec3 u = n > 0 ? Vec3(d / n) : Vec3::Zero();
      add_pull(model, data, body, A, u_in - u, data.path_moment_arm, p);
      length += n;
      u_in = u;
    }
    data.path_length[p] = length;
  }
}

void compute_paths(const Model& model, Data& data, ConstVecRef qd) {
  compute_paths(model, data);
  // dl/dt = (dl/dq) qd = -R qd
  data.path_speed.noalias() = -(data.path_moment_arm * qd);
}

}  // namespace lumbosim
