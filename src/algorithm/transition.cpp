/// @file transition.cpp
/// Transitions between predicted postures in forward dynamics (transition.hpp).
#include "lumbosim/algorithm/transition.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "lumbosim/algorithm/kinematics.hpp"
#include "lumbosim/data/data.hpp"

namespace lumbosim {

std::optional<int> coordinate_outside(const PostureSolver& solver, const VecX& q, double tolerance) {
  const VecX back = solver.full_q(solver.x_of(q));
  for (Eigen::Index c = 0; c < q.size(); ++c)
    if (!(std::abs(back[c] - q[c]) <= tolerance)) return static_cast<int>(c);
  return std::nullopt;
}

const char* transition_status_name(const TransitionResult& t) {
  return !t.forward.finite ? "diverged" : t.settled ? "settled" : "not_settled";
}

TransitionResult simulate_transition(PostureSolver& solver, const PostureResult& from, const PostureResult& to,
                                     const TransitionSettings& st) {
  const Model& model = solver.model();
  if (from.q.size() != model.nv || to.q.size() != model.nv)
    throw std::invalid_argument("simulate_transition: the postures must hold every coordinate");
  if (from.status != SolveStatus::Converged || to.status != SolveStatus::Converged)
    throw std::invalid_argument("simulate_transition: both postures must be converged predictions");
  if (const auto c = coordinate_outside(solver, from.q, 1e-6))
    throw std::invalid_argument("simulate_transition: the start posture's " + model.coord_name[static_cast<size_t>(*c)] +
                                " is prescribed differently in the end posture");
  if (const auto c = coordinate_outside(solver, to.q, 1e-6))
    throw std::invalid_argument("simulate_transition: the end posture's " + model.coord_name[static_cast<size_t>(*c)] +
                                " is not one of this solver's configurations");
  auto finite_ge0 = [](double v) { return v >= 0.0 && std::isfinite(v); };
  if (!finite_ge0(st.start)) throw std::invalid_argument("TransitionSettings::start must be a finite number >= 0");
  if (!(st.move > 0.0) || !std::isfinite(st.move)) throw std::invalid_argument("TransitionSettings::move must be a finite number > 0");
  if (!(st.knot_interval > 0.0) || !std::isfinite(st.knot_interval))
    throw std::invalid_argument("TransitionSettings::knot_interval must be a finite number > 0");
  if (!(st.forward.duration >= st.start + st.move))
    throw std::invalid_argument("TransitionSettings: the run (forward.duration) must last at least start + move");

  // minimum-jerk reference from the start to the end prediction (the cubic Hermite segments of
  // MotionReference follow it closely at this knot spacing)
  MotionReference ref;
  const int nk = std::max(2, static_cast<int>(std::ceil(st.move / st.knot_interval)));
  for (int k = 0; k <= nk; ++k) {
    const double s = static_cast<double>(k) / nk, mj = s * s * s * (10.0 - 15.0 * s + 6.0 * s * s);
    ref.t.push_back(st.start + st.move * s);
    ref.q.push_back(from.q + mj * (to.q - from.q));
  }
  TransitionResult out;
  out.forward = solver.simulate(from.q, from.activations, from.activations, st.forward, ref);
  const ForwardResult& f = out.forward;
  out.duration = f.steps * st.forward.dt;

  const AlignmentLandmarks lm = AlignmentLandmarks::resolve(model);
  Data data(model);
  out.alignment.reserve(f.q_samples.size());
  for (const VecX& q : f.q_samples) {
    forward_kinematics(model, data, q);
    out.alignment.push_back(compute_alignment(model, data, lm));
  }
  if (!f.finite) return out;
  for (int c = 0; c < model.nv; ++c) {
    const double d = std::abs(f.q[c] - to.q[c]);
    if (model.coord_is_rotational(c)) {
      if (d > out.max_angle_deviation || out.worst_angle_coordinate < 0) out.max_angle_deviation = d, out.worst_angle_coordinate = c;
    } else if (d > out.max_translation_deviation || out.worst_translation_coordinate < 0) {
      out.max_translation_deviation = d, out.worst_translation_coordinate = c;
    }
  }
  out.max_speed = f.qdot_free.size() ? f.qdot_free.cwiseAbs().maxCoeff() : 0.0;
  out.settled = out.max_angle_deviation <= st.settle_angle && out.max_translation_deviation <= st.settle_translation &&
                out.max_speed <= st.settle_speed;
  return out;
}

}  // namespace lumbosim
