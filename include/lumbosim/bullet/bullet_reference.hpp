#pragma once
/// @file bullet_reference.hpp
/// An independent reference for lumbosim's dynamics: the same tree built as a Bullet
/// `btMultiBody` (Featherstone's articulated-body algorithm as implemented in Bullet Physics,
/// double precision). Used by tests and benchmarks only; nothing in the core depends on it.
#include <memory>

#include "lumbosim/model/model.hpp"

namespace lumbosim::bullet {

/// A btMultiBody mirror of a Model. Requirements: a single kinematic chain or tree with one
/// root mobilizer attached to ground, and every mobilizer carrying mass (no massless
/// intermediate frames: Bullet's links are rigid bodies). Throws std::invalid_argument otherwise.
class ReferenceMultiBody {
 public:
  explicit ReferenceMultiBody(const Model& model);
  ~ReferenceMultiBody();
  ReferenceMultiBody(const ReferenceMultiBody&) = delete;
  ReferenceMultiBody& operator=(const ReferenceMultiBody&) = delete;

  /// Joint accelerations for generalized forces tau at (q, qd), gravity included.
  VecX forward_dynamics(const VecX& q, const VecX& qd, const VecX& tau);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lumbosim::bullet
