#include "lumbosim/data/data.hpp"

namespace lumbosim {

Data::Data(const Model& model) {
  const auto nv = static_cast<size_t>(model.nv);
  X_PM.assign(nv, SE3{});
  X_WM.assign(nv, SE3{});
  axis_W.assign(nv, Vec3::Zero());
  X_WB.assign(static_cast<size_t>(model.nbody()), SE3{});
  S.assign(nv, Vec6::Zero());
  v.assign(nv, Vec6::Zero());
  a.assign(nv, Vec6::Zero());
  f.assign(nv, Vec6::Zero());
  tau = VecX::Zero(model.nv);
  qdd = VecX::Zero(model.nv);
  nle = VecX::Zero(model.nv);
  M = MatX::Zero(model.nv, model.nv);
  Ia.assign(nv, Mat6::Zero());
  pa.assign(nv, Vec6::Zero());
  U.assign(nv, Vec6::Zero());
  D = VecX::Zero(model.nv);
  u = VecX::Zero(model.nv);
  path_length = VecX::Zero(model.npath());
  path_speed = VecX::Zero(model.npath());
  path_moment_arm = MatXr::Zero(model.npath(), model.nv);
  muscle_passive_force = VecX::Zero(model.nmuscle());
  muscle_passive_stiffness = VecX::Zero(model.nmuscle());
  muscle_fiber_guess = VecX::Constant(model.nmuscle(), -1.0);
  ligament_force = VecX::Zero(model.nligament());
  spinal_moment = VecX::Zero(static_cast<Eigen::Index>(model.spinal_coord.size()));
  limit_moment = VecX::Zero(static_cast<Eigen::Index>(model.limit_coord.size()));
  tau_passive = VecX::Zero(model.nv);
  seg_wrapped.assign(model.path_point_body.size(), 0);
  eff_adr.assign(static_cast<size_t>(model.npath()), 0);
  eff_num.assign(static_cast<size_t>(model.npath()), 0);
  eff_body.assign(3 * model.path_point_body.size(), 0);
  eff_p_W.assign(3 * model.path_point_body.size(), Vec3::Zero());
  eff_pull_W.assign(3 * model.path_point_body.size(), Vec3::Zero());
  seg_T1_W.assign(model.path_point_body.size(), Vec3::Zero());
  seg_T2_W.assign(model.path_point_body.size(), Vec3::Zero());
}

}  // namespace lumbosim
