#pragma once
/// @file dynamics.hpp
/// Rigid-body dynamics in 6D spatial algebra (Featherstone 2008): equations of motion
///   M(q) qdd + h(q, qd) = tau,   h = C(q, qd) qd + g(q),
/// with g(q) the generalized gravity force that actuators must supply to hold the pose.
#include "lumbosim/algorithm/kinematics.hpp"

namespace lumbosim {

/// Recursive Newton-Euler inverse dynamics: data.tau = M qdd + h(q, qd).
/// Runs forward_kinematics itself. Optional external spatial forces per body (world frame,
/// about the world origin, [moment; force]) are *applied* to the bodies (they reduce tau).
const VecX& rnea(const Model& model, Data& data, ConstVecRef q, ConstVecRef qd, ConstVecRef qdd);
const VecX& rnea(const Model& model, Data& data, ConstVecRef q, ConstVecRef qd, ConstVecRef qdd,
                 const std::vector<Vec6>& f_ext_W);

/// Generalized gravity g(q) (= rnea(q, 0, 0)); written to data.tau.
const VecX& generalized_gravity(const Model& model, Data& data, ConstVecRef q);

/// Composite-rigid-body algorithm: joint-space inertia matrix into data.M (full, symmetric).
const MatX& crba(const Model& model, Data& data, ConstVecRef q);

/// Articulated-body algorithm: data.qdd = M^-1 (tau - h(q, qd)).
const VecX& aba(const Model& model, Data& data, ConstVecRef q, ConstVecRef qd, ConstVecRef tau);

/// Kinetic energy 0.5 qd^T M qd (J). Runs crba.
double kinetic_energy(const Model& model, Data& data, ConstVecRef q, ConstVecRef qd);
/// Gravitational potential energy -m g . com (J). Runs forward_kinematics.
double potential_energy(const Model& model, Data& data, ConstVecRef q);

}  // namespace lumbosim
