#include "lumbosim/algorithm/derivatives.hpp"

#include <cmath>
#include <ranges>

#include "lumbosim/algorithm/kinematics.hpp"
#include "lumbosim/algorithm/passive.hpp"
#include "lumbosim/algorithm/path.hpp"

namespace lumbosim {

DerivativeWorkspace::DerivativeWorkspace(const Model& model) {
  for (Mat3X* m : {&JX, &JY, &dX, &dY, &JA, &JB, &JT1, &JT2, &JAw, &JBw, &dT1, &dT2, &dF}) m->setZero(3, model.nv);
  const auto nv = static_cast<size_t>(model.nv);
  span.resize(static_cast<size_t>(model.npath()));
  span_mask.assign(static_cast<size_t>(model.npath()), std::vector<char>(nv, 0));
  for (int p = 0; p < model.npath(); ++p) {
    std::vector<int> count(nv, 0);
    int nbodies = 0;
    auto add_body = [&](int b) {
      ++nbodies;
      for (int j = model.body_mob[static_cast<size_t>(b)]; j >= 0; j = model.mob_parent[static_cast<size_t>(j)])
        ++count[static_cast<size_t>(j)];
    };
    const auto pp = static_cast<size_t>(p);
    for (int k = model.path_point_adr[pp]; k < model.path_point_adr[pp] + model.path_point_num[pp]; ++k) {
      add_body(model.path_point_body[static_cast<size_t>(k)]);
      if (const int w = model.path_point_wrap[static_cast<size_t>(k)]; w >= 0) add_body(model.wrap_body[static_cast<size_t>(w)]);
    }
    for (size_t j = 0; j < nv; ++j)
      if (count[j] > 0 && count[j] < nbodies) {
        span[pp].push_back(static_cast<int>(j));
        span_mask[pp][j] = 1;
      }
  }
}

void point_jacobian_world(const Model& model, const Data& data, int body, const Vec3& p_W, Mat3X& J) {
  J.setZero();
  for (int j = model.body_mob[static_cast<size_t>(body)]; j >= 0; j = model.mob_parent[static_cast<size_t>(j)]) {
    const auto k = static_cast<size_t>(j);
    J.col(j) = model.mob_kind[k] == DofKind::Revolute ? Vec3(data.axis_W[k].cross(p_W - data.X_WM[k].p)) : data.axis_W[k];
  }
}

namespace {

/// add_point_force_derivative over the coordinates `cols` (rows j: ancestors of the body with
/// in_set(j); columns k: `cols` for the point's motion, ancestors of j with in_set(k)).
template <class Cols, class InSet>
void point_force_derivative(const Model& model, const Data& data, int body, const Vec3& p_W, const Mat3X& dp,
                            const Vec3& f, MatX& K, const Cols& cols, InSet in_set) {
  for (int j = model.body_mob[static_cast<size_t>(body)]; j >= 0; j = model.mob_parent[static_cast<size_t>(j)]) {
    const auto jj = static_cast<size_t>(j);
    if (!in_set(jj)) continue;
    const Vec3& sj = data.axis_W[jj];
    const Vec3& oj = data.X_WM[jj].p;
    const bool rev_j = model.mob_kind[jj] == DofKind::Revolute;
    if (rev_j) {
      // the point's own motion: f . (s_j x dp_k) = (f x s_j) . dp_k
      const Vec3 fxs = f.cross(sj);
      for (int k : cols) K(j, k) += fxs.dot(dp.col(k));
    }
    // the motion of mobilizer j's axis and origin with its ancestors k (j itself moves neither)
    for (int k = model.mob_parent[jj]; k >= 0; k = model.mob_parent[static_cast<size_t>(k)]) {
      const auto kk = static_cast<size_t>(k);
      if (!in_set(kk)) continue;
      const Vec3& sk = data.axis_W[kk];
      if (model.mob_kind[kk] == DofKind::Revolute) {
        const Vec3 ds = sk.cross(sj);
        if (rev_j) {
          const Vec3 doj = sk.cross(Vec3(oj - data.X_WM[kk].p));
          K(j, k) += f.dot(ds.cross(Vec3(p_W - oj)) - sj.cross(doj));
        } else {
          K(j, k) += f.dot(ds);
        }
      } else if (rev_j) {
        K(j, k) -= f.dot(sj.cross(sk));  // do_j = s_k
      }
    }
  }
}

}  // namespace

void add_point_force_derivative(const Model& model, const Data& data, int body, const Vec3& p_W, const Mat3X& dp,
                                const Vec3& f, MatX& K) {
  point_force_derivative(model, data, body, p_W, dp, f, K, std::views::iota(0, model.nv), [](size_t) { return true; });
}

void add_point_force_derivative(const Model& model, const Data& data, int body, const Vec3& p_W, const Mat3X& dp,
                                const Vec3& f, MatX& K, const std::vector<int>& cols, const std::vector<char>& mask) {
  point_force_derivative(model, data, body, p_W, dp, f, K, cols, [&](size_t j) { return mask[j] != 0; });
}

void add_gravity_derivative(const Model& model, const Data& data, MatX& K, DerivativeWorkspace& ws) {
  for (int b = 1; b < model.nbody(); ++b) {
    const Inertia& I = model.body_inertia[static_cast<size_t>(b)];
    if (I.mass <= 0.0 || model.body_mob[static_cast<size_t>(b)] < 0) continue;
    const Vec3 c = data.X_WB[static_cast<size_t>(b)].act_point(I.com);
    point_jacobian_world(model, data, b, c, ws.JX);
    add_point_force_derivative(model, data, b, c, ws.JX, I.mass * model.gravity, K);
  }
}

namespace {

/// One straight segment X -> Y of a path under tension T: the forces T u on X's body and -T u
/// on Y's body (u the unit direction), differentiated with X and Y moving as dX, dY (their
/// bodies' point Jacobians JX, JY project the forces).
void add_segment(const Model& model, const Data& data, int bx, const Vec3& X, const Mat3X& JX, const Mat3X& dX, int by,
                 const Vec3& Y, const Mat3X& JY, const Mat3X& dY, double T, MatX& K, Mat3X& tmp,
                 const std::vector<int>& span, const std::vector<char>& mask) {
  const Vec3 d = Y - X;
  const double L = d.norm();
  if (L <= 0.0) return;
  const Vec3 u = d / L;
  add_point_force_derivative(model, data, bx, X, dX, T * u, K, span, mask);
  add_point_force_derivative(model, data, by, Y, dY, -T * u, K, span, mask);
  // turning of u: K += (T / L) (J_X - J_Y)^T (I - u u^T) (dY - dX)
  for (int k : span) {
    const Vec3 v = dY.col(k) - dX.col(k);
    tmp.col(k) = (T / L) * (v - u * u.dot(v));
  }
  for (int i : span) {
    const Vec3 g = JX.col(i) - JY.col(i);
    for (int k : span) K(i, k) += g.dot(tmp.col(k));
  }
}

}  // namespace

void add_path_force_derivative(const Model& model, const Data& data, int p, double T, double dTdl, MatX& K,
                               DerivativeWorkspace& ws) {
  const auto pp = static_cast<size_t>(p);
  const int adr = model.path_point_adr[pp], num = model.path_point_num[pp];
  const std::vector<int>& span = ws.span[pp];
  const std::vector<char>& mask = ws.span_mask[pp];
  if (span.empty()) return;  // every body of the path moves together: no generalized force
  if (T != 0.0) {
    for (int k = 0; k + 1 < num; ++k) {
      const auto pk = static_cast<size_t>(adr + k), pn = pk + 1;
      const int ba = model.path_point_body[pk], bb = model.path_point_body[pn];
      const Vec3 A = point_position(data, ba, model.path_point_p_B[pk]);
      const Vec3 B = point_position(data, bb, model.path_point_p_B[pn]);
      point_jacobian_world(model, data, ba, A, ws.JA);
      point_jacobian_world(model, data, bb, B, ws.JB);
      const int w = model.path_point_wrap[pk];
      if (w >= 0 && data.seg_wrapped[pk]) {
        const auto wk = static_cast<size_t>(w);
        const int wb = model.wrap_body[wk];
        const SE3 X_WW = data.X_WB[static_cast<size_t>(wb)] * model.wrap_X_BW[wk];
        const Mat3& R = X_WW.R;
        Mat3 D1P, D1S, D2P, D2S;
        wrap_cylinder_derivatives(X_WW.act_point_inv(A), X_WW.act_point_inv(B), model.wrap_radii[wk].x(),
                                  model.wrap_side[wk], D1P, D1S, D2P, D2S);
        const Vec3 &T1 = data.seg_T1_W[pk], &T2 = data.seg_T2_W[pk];
        // the ends' motion relative to the wrap body, in its frame, slides the tangent points
        point_jacobian_world(model, data, wb, A, ws.JAw);
        point_jacobian_world(model, data, wb, B, ws.JBw);
        point_jacobian_world(model, data, wb, T1, ws.JT1);
        point_jacobian_world(model, data, wb, T2, ws.JT2);
        for (int c : span) {
          const Vec3 dPl = R.transpose() * Vec3(ws.JA.col(c) - ws.JAw.col(c));
          const Vec3 dSl = R.transpose() * Vec3(ws.JB.col(c) - ws.JBw.col(c));
          ws.dT1.col(c) = ws.JT1.col(c) + R * (D1P * dPl + D1S * dSl);
          ws.dT2.col(c) = ws.JT2.col(c) + R * (D2P * dPl + D2S * dSl);
        }
        add_segment(model, data, ba, A, ws.JA, ws.JA, wb, T1, ws.JT1, ws.dT1, T, K, ws.dF, span, mask);
        add_segment(model, data, wb, T2, ws.JT2, ws.dT2, bb, B, ws.JB, ws.JB, T, K, ws.dF, span, mask);
      } else {
        add_segment(model, data, ba, A, ws.JA, ws.JA, bb, B, ws.JB, ws.JB, T, K, ws.dF, span, mask);
      }
    }
  }
  // the tension follows the length: d(R T)/dq += R T'(l) dl/dq = -T' R R^T
  if (dTdl != 0.0) {
    const auto Rr = data.path_moment_arm.row(p);
    for (int i : span)
      for (int k : span) K(i, k) -= dTdl * Rr[i] * Rr[k];
  }
}

void add_ligament_derivatives(const Model& model, const Data& data, MatX& K, DerivativeWorkspace& ws) {
  for (int l = 0; l < model.nligament(); ++l) {
    const auto k = static_cast<size_t>(l);
    const int p = model.ligament_path[k];
    double d = 0.0;
    const double T = ligament_tension(model.ligament_stiffness[k], model.ligament_transition_strain[k],
                                      model.ligament_slack_length[k], data.path_length[p], &d);
    add_path_force_derivative(model, data, p, T, d, K, ws);
  }
}

void add_joint_passive_derivative(const Model& model, ConstVecRef q, MatX& K) {
  for (size_t s = 0; s < model.spinal_coord.size(); ++s) {
    const int c = model.spinal_coord[s];
    double d = 0.0;
    spinal_passive_moment(model.spinal_k0[s], model.spinal_bf[s], model.spinal_be[s], q[c], &d);
    K(c, c) += d;
  }
  for (size_t s = 0; s < model.limit_coord.size(); ++s) {
    const int c = model.limit_coord[s];
    double d = 0.0;
    coordinate_limit_moment(model.limit_k1[s], model.limit_k2[s], model.limit_k3[s], model.limit_k4[s], model.limit_lower[s],
                            model.limit_upper[s], q[c], &d);
    K(c, c) += d;
  }
}

void add_contact_force_derivative(const Model& model, const Data& data, const std::vector<ContactPlane>& planes,
                                  const std::vector<ContactPoint>& contacts, const VecX& friction_per_normal, MatX& K,
                                  DerivativeWorkspace& ws, const std::vector<int>* cols, const std::vector<char>* mask) {
  const auto all = std::views::iota(0, model.nv);
  // visits the requested columns (all by default)
  const auto each_col = [&](auto&& f) {
    if (cols)
      for (int k : *cols) f(k);
    else
      for (int k : all) f(k);
  };
  const Vec3 ez = Vec3::UnitZ();
  for (size_t j = 0; j < contacts.size(); ++j) {
    const ContactPoint& cp = contacts[j];
    const ContactPlane& pl = planes[static_cast<size_t>(cp.plane)];
    const auto si = static_cast<size_t>(cp.sphere);
    const int body = model.contact_body[si];
    const Vec3 c = point_position(data, body, model.contact_p_B[si]);
    const double rs = model.contact_radius[si];
    point_jacobian_world(model, data, body, c, ws.JX);  // the sphere centre
    Mat3X& dp = ws.dX;
    Mat3X& dn = ws.dY;
    Vec3 n, p;
    double depth = 0.0, w = 1.0;
    // ws.dT1 row 0: d depth; row 1: d u (position along the plane's extent)
    Mat3X& dd = ws.dT1;
    if (pl.radius > 0.0) {  // sphere against a cylinder along e_z (a lumbar support)
      Vec3 d = c - pl.point;
      d.z() = 0.0;
      const double rho = d.norm();
      n = rho > 1e-12 ? Vec3(d / rho) : Vec3::UnitY();
      depth = rs + pl.radius - rho;
      p = Vec3(pl.point.x(), pl.point.y(), c.z()) + pl.radius * n;
      each_col([&](int k) {
        const Vec3 dc(ws.JX(0, k), ws.JX(1, k), 0.0);
        const double drho = n.dot(dc);
        dn.col(k) = rho > 1e-12 ? Vec3((dc - n * drho) / rho) : Vec3::Zero();
        dd(0, k) = -drho;
        dp.col(k) = pl.radius * dn.col(k) + Vec3(0.0, 0.0, ws.JX(2, k));
      });
    } else {
      n = pl.normal.normalized();
      const double dist = (c - pl.point).dot(n);
      depth = rs - dist;
      p = c - dist * n;
      each_col([&](int k) {
        dd(0, k) = -n.dot(ws.JX.col(k));
        dp.col(k) = ws.JX.col(k) - n * n.dot(ws.JX.col(k));
        dn.col(k).setZero();
      });
    }
    double dwdu = 0.0;
    if (pl.radius <= 0.0 && (pl.extent_min > -1e29 || pl.extent_max < 1e29)) {
      const Vec3 e = n.cross(ez).normalized();
      w = contact_extent_window(pl, (p - pl.point).dot(e), &dwdu);
      each_col([&](int k) { dd(1, k) = e.dot(dp.col(k)); });
    } else {
      dd.row(1).setZero();
    }
    double dfdd = 0.0;
    const double fn = contact_normal_force(depth, pl.stiffness, &dfdd);
    const double f = fn * w;
    const double s = static_cast<Eigen::Index>(j) < friction_per_normal.size() ? friction_per_normal[static_cast<Eigen::Index>(j)] : 0.0;
    const Vec3 t = n.cross(ez).normalized();
    const Vec3 F = f * n + s * f * t;
    each_col([&](int k) {
      const double df = dfdd * w * dd(0, k) + fn * dwdu * dd(1, k);
      const Vec3 dt = dn.col(k).cross(ez);  // |n x e_z| = 1 for n in the sagittal plane
      ws.dF.col(k) = n * df + f * dn.col(k) + s * (t * df + f * dt);
    });
    point_jacobian_world(model, data, body, p, ws.JY);  // projects the force applied at p
    if (cols) {
      add_point_force_derivative(model, data, body, p, dp, F, K, *cols, *mask);
      for (int i : *cols)
        for (int k : *cols) K(i, k) += ws.JY.col(i).dot(ws.dF.col(k));
    } else {
      add_point_force_derivative(model, data, body, p, dp, F, K);
      for (int i : all) {
        if (ws.JY.col(i).squaredNorm() == 0.0) continue;
        for (int k : all) K(i, k) += ws.JY.col(i).dot(ws.dF.col(k));
      }
    }
  }
}

bool has_ellipsoid_wraps(const Model& model) {
  for (const auto t : model.wrap_type)
    if (t == WrapType::Ellipsoid) return true;
  return false;
}

}  // namespace lumbosim
