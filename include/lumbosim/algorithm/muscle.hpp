#pragma once
/// @file muscle.hpp
/// Hill-type muscle-tendon mechanics on top of the path geometry (path.hpp) with the De Groote
/// et al. (2016) curves (muscle_curves.hpp). Fibres have constant thickness:
/// l_M sin(alpha) = l_opt sin(alpha_0). Tendon force = Fmax f_T(l_T / l_ts).
#include "lumbosim/model/model.hpp"

namespace lumbosim {

/// Fibre state of one muscle-tendon unit.
struct FiberState {
  double fiber_length = 0.0;       ///< m
  double cos_pennation = 1.0;
  double norm_fiber_length = 0.0;  ///< l_M / l_opt
  double norm_fiber_velocity = 0.0;  ///< v_M / v_max (lengthening positive)
  double f_active_length = 0.0;    ///< f_L
  double f_velocity = 1.0;         ///< f_V
  double f_passive = 0.0;          ///< f_PE
  double tendon_length = 0.0;      ///< m
};

/// Rigid tendon: fibre kinematics from the MTU length and lengthening speed (m, m/s).
FiberState rigid_tendon_state(const MuscleParams& p, double l_mt, double v_mt = 0.0);

/// MTU tension for activation a in [0, 1] at the given fibre state (rigid tendon):
///   F = Fmax (a f_L f_V + f_PE) cos(alpha).
double muscle_force(const MuscleParams& p, const FiberState& s, double a);

/// Active part per unit activation, Fmax f_L f_V cos(alpha) (N): F = a * this + passive.
double muscle_active_force_per_activation(const MuscleParams& p, const FiberState& s);
/// Passive part Fmax f_PE cos(alpha) (N).
double muscle_passive_force(const MuscleParams& p, const FiberState& s);

/// Compliant tendon, static equilibrium (f_V = 1): the fibre length at which the fibre force
/// along the tendon equals the tendon force, for MTU length l_mt and activation a. Solved by
/// safeguarded Newton-bisection on the fibre's projected length; residual below 1e-9 Fmax.
/// `x_guess` (> 0: a projected fibre length, e.g. the last solution) starts the Newton iterations
/// there instead of at the middle of the bracket (the same solution, fewer iterations).
FiberState compliant_tendon_equilibrium(const MuscleParams& p, double l_mt, double a, double x_guess = -1.0);

/// Compliant tendon, dynamics: the fibre lengthening speed (m/s) at state (l_mt, fibre length
/// l_m, activation a) that balances fibre and tendon along the tendon, with a parallel fibre
/// damper (Millard et al. 2013's damped equilibrium model, normalised damping beta = 0.1):
///   (a f_L f_V(v) + f_PE + beta v) cos(alpha) = f_T,   v = v_M / v_max in [-1, 1].
/// The left side increases with v, so the root is found by bisection and exists for every
/// activation, including a = 0 (where the undamped model is singular). Optionally returns the
/// tendon force (N).
double compliant_fiber_velocity(const MuscleParams& p, double l_mt, double l_m, double a, double damping = 0.1,
                                double* tendon_force = nullptr);

/// MTU tension of a muscle at rest (a = 0), rigid or compliant tendon per its parameters.
double passive_mtu_force(const MuscleParams& p, double l_mt);
/// passive_mtu_force and its derivative in l_mt (for a compliant tendon, implicit in the
/// tendon-fibre equilibrium).
double passive_mtu_force(const MuscleParams& p, double l_mt, double* dFdl);
/// The same with a warm start for a compliant tendon: *x_guess (the projected fibre length) is
/// used and then replaced by the solution.
double passive_mtu_force(const MuscleParams& p, double l_mt, double* dFdl, double* x_guess);
/// Rigid-tendon isometric active force per unit activation at MTU length l_mt (the force
/// muscle_active_force_per_activation gives for rigid_tendon_state(p, l_mt)), and its
/// derivative in l_mt.
double rigid_active_force(const MuscleParams& p, double l_mt, double* dFdl = nullptr);

/// First-order activation dynamics (De Groote 2016 eq. 1-2, smooth switch b = 10, as in OpenSim's DeGrooteFregly2016Muscle):
///   da/dt = [ f/(tau_a (0.5 + 1.5 a)) + (0.5 + 1.5 a)(1 - f)/tau_d ] (u - a),
///   f = 0.5 tanh(b (u - a)) + 0.5.
double activation_derivative(const MuscleParams& p, double excitation, double activation);

}  // namespace lumbosim
