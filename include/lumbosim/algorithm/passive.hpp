#pragma once
/// @file passive.hpp
/// Passive tissues as generalized forces: intervertebral joint moments (disc, facets),
/// ligaments (tension-only cables on paths), coordinate limits (joint capsules) and passive
/// muscle-tendon tension. All analytic and differentiable in q (C1).
#include "lumbosim/algorithm/path.hpp"

namespace lumbosim {

/// Passive moment of an intervertebral joint at flexion angle th (rad), N m, acting on the
/// flexion coordinate (negative in flexion: it resists):
///   th >= 0: -(k0/bf)(exp(bf th) - 1);   th < 0: (k0/be)(exp(-be th) - 1).
double spinal_passive_moment(double k0, double bf, double be, double th, double* dMdth = nullptr);

/// Ligament tension (N) at length l (m): strain e = l/l0 - 1; 0 for e <= 0;
/// 0.25 k e^2 / (e_t/2) for 0 < e < e_t; k (e - e_t/2) above (Remus et al. 2021).
double ligament_tension(double k, double e_t, double l0, double l, double* dTdl = nullptr);

/// Coordinate-limit moment k1 exp(k2 (q - upper)) + k3 exp(k4 (q - lower)) (N m).
double coordinate_limit_moment(double k1, double k2, double k3, double k4, double lower, double upper, double q,
                               double* dMdq = nullptr);

/// Evaluates every passive element at q and sums their generalized forces into
/// data.tau_passive (and per element into data.muscle_passive_force, ligament_force,
/// spinal_moment, limit_moment). Runs forward_kinematics and compute_paths.
const VecX& passive_forces(const Model& model, Data& data, ConstVecRef q);

/// The joints' own passive moments (intervertebral joints, capsules: functions of q alone),
/// stored in data and added to tau. Part of passive_forces.
void add_joint_passive_moments(const Model& model, Data& data, ConstVecRef q, VecX& tau);

}  // namespace lumbosim
