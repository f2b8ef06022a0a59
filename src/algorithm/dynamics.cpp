#include "lumbosim/algorithm/dynamics.hpp"

#include <cassert>

namespace lumbosim {
namespace {

Vec6 gravity_acceleration(const Model& model) {
  // The base is given an upward acceleration of -g (Featherstone's trick): gravity then enters
  // every body through the kinematic recursion.
  Vec6 a0;
  a0 << Vec3::Zero(), -model.gravity;
  return a0;
}

void rnea_impl(const Model& model, Data& data, ConstVecRef q, ConstVecRef qd, ConstVecRef qdd,
               const std::vector<Vec6>* f_ext_W) {
  assert(q.size() == model.nv && qd.size() == model.nv && qdd.size() == model.nv);
  forward_kinematics(model, data, q);
  const Vec6 a0 = gravity_acceleration(model);
  for (int i = 0; i < model.nv; ++i) {
    const auto k = static_cast<size_t>(i);
    const int p = model.mob_parent[k];
    const SE3& X = data.X_PM[k];
    const Vec6& S = data.S[k];
    const Vec6 vJ = S * qd[i];
    if (p < 0) {
      data.v[k] = vJ;
      data.a[k] = X.act_motion_inv(a0) + S * qdd[i];
    } else {
      const auto pk = static_cast<size_t>(p);
      data.v[k] = X.act_motion_inv(data.v[pk]) + vJ;
      data.a[k] = X.act_motion_inv(data.a[pk]) + S * qdd[i] + cross_motion(data.v[k], vJ);
    }
    const Inertia& I = model.mob_inertia[k];
    data.f[k] = I.apply(data.a[k]) + cross_force(data.v[k], I.apply(data.v[k]));
  }
  if (f_ext_W) {
    for (int b = 0; b < model.nbody(); ++b) {
      const int m = model.body_mob[static_cast<size_t>(b)];
      if (m < 0) continue;
      const auto mk = static_cast<size_t>(m);
      data.f[mk] -= data.X_WM[mk].act_force_inv((*f_ext_W)[static_cast<size_t>(b)]);
    }
  }
  for (int i = model.nv - 1; i >= 0; --i) {
    const auto k = static_cast<size_t>(i);
    data.tau[i] = data.S[k].dot(data.f[k]);
    const int p = model.mob_parent[k];
    if (p >= 0) data.f[static_cast<size_t>(p)] += data.X_PM[k].act_force(data.f[k]);
  }
}

}  // namespace

const VecX& rnea(const Model& model, Data& data, ConstVecRef q, ConstVecRef qd, ConstVecRef qdd) {
  rnea_impl(model, data, q, qd, qdd, nullptr);
  return data.tau;
}

const VecX& rnea(const Model& model, Data& data, ConstVecRef q, ConstVecRef qd, ConstVecRef qdd,
                 const std::vector<Vec6>& f_ext_W) {
  assert(static_cast<int>(f_ext_W.size()) == model.nbody());
  rnea_impl(model, data, q, qd, qdd, &f_ext_W);
  return data.tau;
}

const VecX& generalized_gravity(const Model& model, Data& data, ConstVecRef q) {
  // qd = qdd = 0: reuse data.qdd as a zero vector without allocating.
  data.u.setZero();
  rnea_impl(model, data, q, data.u, data.u, nullptr);
  return data.tau;
}

const MatX& crba(const Model& model, Data& data, ConstVecRef q) {
  forward_kinematics(model, data, q);
  const auto nv = static_cast<size_t>(model.nv);
  for (size_t i = 0; i < nv; ++i) data.Ia[i] = model.mob_inertia[i].matrix();
  for (int i = model.nv - 1; i >= 0; --i) {
    const auto k = static_cast<size_t>(i);
    const int p = model.mob_parent[k];
    if (p >= 0) {
      const Mat6 Xf = data.X_PM[k].force_matrix();
      data.Ia[static_cast<size_t>(p)].noalias() += Xf * data.Ia[k] * Xf.transpose();
    }
  }
  data.M.setZero();  // entries between different branches stay zero
  for (int i = 0; i < model.nv; ++i) {
    const auto k = static_cast<size_t>(i);
    Vec6 F = data.Ia[k] * data.S[k];
    data.M(i, i) = data.S[k].dot(F);
    int j = i;
    while (model.mob_parent[static_cast<size_t>(j)] >= 0) {
      F = data.X_PM[static_cast<size_t>(j)].act_force(F);
      j = model.mob_parent[static_cast<size_t>(j)];
      data.M(i, j) = data.M(j, i) = data.S[static_cast<size_t>(j)].dot(F);
    }
  }
  return data.M;
}

const VecX& aba(const Model& model, Data& data, ConstVecRef q, ConstVecRef qd, ConstVecRef tau) {
  assert(q.size() == model.nv && qd.size() == model.nv && tau.size() == model.nv);
  forward_kinematics(model, data, q);
  const auto nv = static_cast<size_t>(model.nv);
  // Pass 1: velocities, velocity-product accelerations (stored in data.a), bias forces.
  for (int i = 0; i < model.nv; ++i) {
    const auto k = static_cast<size_t>(i);
    const int p = model.mob_parent[k];
    const Vec6 vJ = data.S[k] * qd[i];
    data.v[k] = p < 0 ? vJ : Vec6(data.X_PM[k].act_motion_inv(data.v[static_cast<size_t>(p)]) + vJ);
    data.a[k] = cross_motion(data.v[k], vJ);  // c_i
    const Inertia& I = model.mob_inertia[k];
    data.Ia[k] = I.matrix();
    data.pa[k] = cross_force(data.v[k], I.apply(data.v[k]));
  }
  // Pass 2: articulated inertias.
  for (int i = model.nv - 1; i >= 0; --i) {
    const auto k = static_cast<size_t>(i);
    const Vec6& S = data.S[k];
    data.U[k].noalias() = data.Ia[k] * S;
    data.D[i] = S.dot(data.U[k]);
    data.u[i] = tau[i] - S.dot(data.pa[k]);
    const int p = model.mob_parent[k];
    if (p >= 0) {
      const auto pk = static_cast<size_t>(p);
      Mat6 Ia = data.Ia[k];
      Ia.noalias() -= data.U[k] * data.U[k].transpose() / data.D[i];
      Vec6 pa = data.pa[k];
      pa.noalias() += Ia * data.a[k];
      pa += data.U[k] * (data.u[i] / data.D[i]);
      const Mat6 Xf = data.X_PM[k].force_matrix();
      data.Ia[pk].noalias() += Xf * Ia * Xf.transpose();
      data.pa[pk] += data.X_PM[k].act_force(pa);
    }
  }
  // Pass 3: accelerations.
  const Vec6 a0 = gravity_acceleration(model);
  for (size_t k = 0; k < nv; ++k) {
    const int i = static_cast<int>(k);
    const int p = model.mob_parent[k];
    const Vec6 ap = p < 0 ? a0 : data.a[static_cast<size_t>(p)];
    const Vec6 a_prime = data.X_PM[k].act_motion_inv(ap) + data.a[k];
    data.qdd[i] = (data.u[i] - data.U[k].dot(a_prime)) / data.D[i];
    data.a[k] = a_prime + data.S[k] * data.qdd[i];
  }
  return data.qdd;
}

double kinetic_energy(const Model& model, Data& data, ConstVecRef q, ConstVecRef qd) {
  crba(model, data, q);
  return 0.5 * qd.dot(data.M * qd);
}

double potential_energy(const Model& model, Data& data, ConstVecRef q) {
  forward_kinematics(model, data, q);
  const Vec3 c = center_of_mass(model, data);
  return -data.mass * model.gravity.dot(c);
}

}  // namespace lumbosim
