#include "lumbosim/algorithm/path.hpp"

#include <cmath>
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
void add_pull(const Model& model, Data& data, int body, const Vec3& p_W, const Vec3& f, MatX& R, int row) {
  const auto e = static_cast<size_t>(data.eff_adr[static_cast<size_t>(row)] + data.eff_num[static_cast<size_t>(row)]++);
  data.eff_body[e] = body;
  data.eff_p_W[e] = p_W;
  data.eff_pull_W[e] = -f;  // force of a unit tension on the body: -(dl/dX) = u_out - u_in
  for (int j = model.body_mob[static_cast<size_t>(body)]; j >= 0; j = model.mob_parent[static_cast<size_t>(j)]) {
    const auto k = static_cast<size_t>(j);
    const SE3& X = data.X_WM[k];
    const Vec3 axis_W = X.R * model.mob_axis[k];
    const double dl = model.mob_kind[k] == DofKind::Revolute ? axis_W.cross(p_W - X.p).dot(f) : axis_W.dot(f);
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

void compute_paths(const Model& model, Data& data) {
  data.path_moment_arm.setZero();
  for (int p = 0; p < model.npath(); ++p) {
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
        const CylinderWrap cw =
            wrap_cylinder(X_WW.act_point_inv(A), X_WW.act_point_inv(B), model.wrap_radii[wk].x(), model.wrap_side[wk]);
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
