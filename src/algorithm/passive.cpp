#include "lumbosim/algorithm/passive.hpp"

#include <cmath>

#include "lumbosim/algorithm/muscle.hpp"

namespace lumbosim {

double spinal_passive_moment(double k0, double bf, double be, double th, double* dMdth) {
  if (th >= 0.0) {
    const double e = std::exp(bf * th);
    if (dMdth) *dMdth = -k0 * e;
    return -(k0 / bf) * (e - 1.0);
  }
  const double e = std::exp(-be * th);
  if (dMdth) *dMdth = -k0 * e;
  return (k0 / be) * (e - 1.0);
}

double ligament_tension(double k, double e_t, double l0, double l, double* dTdl) {
  const double e = l / l0 - 1.0;
  if (e <= 0.0) {
    if (dTdl) *dTdl = 0.0;
    return 0.0;
  }
  if (e < e_t) {
    if (dTdl) *dTdl = k * e / (e_t * l0);
    return 0.25 * k * e * e / (0.5 * e_t);
  }
  if (dTdl) *dTdl = k / l0;
  return k * (e - 0.5 * e_t);
}

double coordinate_limit_moment(double k1, double k2, double k3, double k4, double lower, double upper, double q,
                               double* dMdq) {
  const double a = k1 * std::exp(k2 * (q - upper)), b = k3 * std::exp(k4 * (q - lower));
  if (dMdq) *dMdq = k2 * a + k4 * b;
  return a + b;
}

const VecX& passive_forces(const Model& model, Data& data, ConstVecRef q) {
  forward_kinematics(model, data, q);
  compute_paths(model, data);
  data.tau_passive.setZero();
  for (int m = 0; m < model.nmuscle(); ++m) {
    const auto k = static_cast<size_t>(m);
    const int p = model.muscle_path[k];
    double dF = 0.0;
    const double F = passive_mtu_force(model.muscle[k], data.path_length[p], &dF, &data.muscle_fiber_guess[m]);
    data.muscle_passive_force[m] = F;
    data.muscle_passive_stiffness[m] = dF;
    data.tau_passive.noalias() += F * data.path_moment_arm.row(p).transpose();
  }
  for (int l = 0; l < model.nligament(); ++l) {
    const auto k = static_cast<size_t>(l);
    const int p = model.ligament_path[k];
    const double F = ligament_tension(model.ligament_stiffness[k], model.ligament_transition_strain[k],
                                      model.ligament_slack_length[k], data.path_length[p]);
    data.ligament_force[l] = F;
    data.tau_passive.noalias() += F * data.path_moment_arm.row(p).transpose();
  }
  add_joint_passive_moments(model, data, q, data.tau_passive);
  return data.tau_passive;
}

void add_joint_passive_moments(const Model& model, Data& data, ConstVecRef q, VecX& tau) {
  for (size_t s = 0; s < model.spinal_coord.size(); ++s) {
    const int c = model.spinal_coord[s];
    const double M = spinal_passive_moment(model.spinal_k0[s], model.spinal_bf[s], model.spinal_be[s], q[c]);
    data.spinal_moment[static_cast<Eigen::Index>(s)] = M;
    tau[c] += M;
  }
  for (size_t s = 0; s < model.limit_coord.size(); ++s) {
    const int c = model.limit_coord[s];
    const double M = coordinate_limit_moment(model.limit_k1[s], model.limit_k2[s], model.limit_k3[s], model.limit_k4[s],
                                             model.limit_lower[s], model.limit_upper[s], q[c]);
    data.limit_moment[static_cast<Eigen::Index>(s)] = M;
    tau[c] += M;
  }
}

}  // namespace lumbosim
