#include "lumbosim/algorithm/kinematics.hpp"

#include <cassert>

namespace lumbosim {

void forward_kinematics(const Model& model, Data& data, ConstVecRef q) {
  assert(q.size() == model.nv);
  for (int i = 0; i < model.nv; ++i) {
    const auto k = static_cast<size_t>(i);
    const Vec3& axis = model.mob_axis[k];
    SE3 XJ;
    if (model.mob_kind[k] == DofKind::Revolute) {
      XJ.R = Eigen::AngleAxisd(q[i], axis).toRotationMatrix();
      data.S[k] << axis, Vec3::Zero();
    } else {
      XJ.p = axis * q[i];
      data.S[k] << Vec3::Zero(), axis;
    }
    data.X_PM[k] = model.mob_X_PJ[k] * XJ;
    const int p = model.mob_parent[k];
    data.X_WM[k] = p < 0 ? data.X_PM[k] : data.X_WM[static_cast<size_t>(p)] * data.X_PM[k];
    data.axis_W[k].noalias() = data.X_WM[k].R * axis;
  }
  for (int b = 0; b < model.nbody(); ++b) {
    const auto k = static_cast<size_t>(b);
    const int m = model.body_mob[k];
    data.X_WB[k] = m < 0 ? model.body_X_MB[k] : data.X_WM[static_cast<size_t>(m)] * model.body_X_MB[k];
  }
}

void translate_prismatic(const Model& model, Data& data, int j, double dq) {
  assert(model.mob_kind[static_cast<size_t>(j)] == DofKind::Prismatic);
  const auto kj = static_cast<size_t>(j);
  data.X_PM[kj].p.noalias() += (model.mob_X_PJ[kj].R * model.mob_axis[kj]) * dq;
  const Vec3 d = data.axis_W[kj] * dq;
  auto carried = [&](int k) {  // mobilizer k is j or one of its descendants
    for (; k >= 0; k = model.mob_parent[static_cast<size_t>(k)])
      if (k == j) return true;
    return false;
  };
  for (int k = 0; k < model.nv; ++k)
    if (carried(k)) data.X_WM[static_cast<size_t>(k)].p += d;
  for (int b = 0; b < model.nbody(); ++b) {
    const int m = model.body_mob[static_cast<size_t>(b)];
    if (m >= 0 && carried(m)) data.X_WB[static_cast<size_t>(b)].p += d;
  }
}

Vec3 point_position(const Data& data, int body, const Vec3& p_B) {
  return data.X_WB[static_cast<size_t>(body)].act_point(p_B);
}

namespace {
/// Calls f(column, axis_W, r) for every ancestor mobilizer of `body`, r = p_W - origin.
template <class F>
void for_each_ancestor(const Model& model, const Data& data, int body, const Vec3& p_W, F&& f) {
  for (int j = model.body_mob[static_cast<size_t>(body)]; j >= 0; j = model.mob_parent[static_cast<size_t>(j)]) {
    const auto k = static_cast<size_t>(j);
    const SE3& X = data.X_WM[k];
    f(j, model.mob_kind[k], data.axis_W[k], Vec3(p_W - X.p));
  }
}
}  // namespace

void point_jacobian(const Model& model, const Data& data, int body, const Vec3& p_B,
                    Eigen::Ref<Mat3X> J) {
  assert(J.cols() == model.nv);
  J.setZero();
  for_each_ancestor(model, data, body, point_position(data, body, p_B),
                    [&](int j, DofKind kind, const Vec3& axis, const Vec3& r) {
                      J.col(j) = kind == DofKind::Revolute ? Vec3(axis.cross(r)) : axis;
                    });
}

void frame_jacobian(const Model& model, const Data& data, int body, const Vec3& p_B,
                    Eigen::Ref<Mat6X> J) {
  assert(J.cols() == model.nv);
  J.setZero();
  for_each_ancestor(model, data, body, point_position(data, body, p_B),
                    [&](int j, DofKind kind, const Vec3& axis, const Vec3& r) {
                      const bool rev = kind == DofKind::Revolute;
                      J.col(j).head<3>() = rev ? axis : Vec3::Zero();
                      J.col(j).tail<3>() = rev ? Vec3(axis.cross(r)) : axis;
                    });
}

Vec3 center_of_mass(const Model& model, Data& data) {
  double m = 0.0;
  Vec3 mc = Vec3::Zero();
  for (int b = 0; b < model.nbody(); ++b) {
    const auto k = static_cast<size_t>(b);
    const Inertia& I = model.body_inertia[k];
    m += I.mass;
    mc += I.mass * data.X_WB[k].act_point(I.com);
  }
  data.mass = m;
  data.com_W = m > 0.0 ? Vec3(mc / m) : Vec3::Zero();
  return data.com_W;
}

void com_jacobian(const Model& model, Data& data, Eigen::Ref<Mat3X> Jcom) {
  assert(Jcom.cols() == model.nv);
  // Column j: sum over the subtree mass of mobilizer j of (axis x (c_sub - o_j)) for revolute
  // and axis * m_sub for prismatic, divided by the total mass. Subtree sums via a backward pass.
  const auto nv = static_cast<size_t>(model.nv);
  // Use data.pa as scratch: [m*c_W (3); m (1); unused].
  for (size_t i = 0; i < nv; ++i) {
    const Inertia& I = model.mob_inertia[i];
    data.pa[i].head<3>() = I.mass * data.X_WM[i].act_point(I.com);
    data.pa[i][3] = I.mass;
  }
  for (int i = model.nv - 1; i >= 0; --i) {
    const int p = model.mob_parent[static_cast<size_t>(i)];
    if (p >= 0) data.pa[static_cast<size_t>(p)].head<4>() += data.pa[static_cast<size_t>(i)].head<4>();
  }
  center_of_mass(model, data);
  const double M = data.mass;
  for (size_t j = 0; j < nv; ++j) {
    const SE3& X = data.X_WM[j];
    const Vec3& axis_W = data.axis_W[j];
    const double ms = data.pa[j][3];
    if (model.mob_kind[j] == DofKind::Revolute)
      Jcom.col(static_cast<Eigen::Index>(j)) = axis_W.cross(Vec3(data.pa[j].head<3>()) - ms * X.p) / M;
    else
      Jcom.col(static_cast<Eigen::Index>(j)) = axis_W * ms / M;
  }
}

}  // namespace lumbosim
