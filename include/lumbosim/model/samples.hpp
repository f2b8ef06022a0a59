#pragma once
/// @file samples.hpp
/// Small reference models built in code, for tests and benchmarks (cf. Drake's
/// multibody/benchmarks): their dynamics have closed-form answers.
#include "lumbosim/model/spec.hpp"

namespace lumbosim::samples {

/// Planar pendulum: a point-like bob of mass `m` (kg) on a massless rod of length `l` (m),
/// hinged at the world origin about +Z, hanging along -Y at q = 0. The bob has a tiny
/// isotropic inertia so that the body is physical.
ModelSpec pendulum(double m = 1.0, double l = 1.0);

/// Planar double pendulum of two uniform rods (mass m1, m2; length l1, l2) about +Z.
ModelSpec double_pendulum(double m1 = 1.0, double l1 = 1.0, double m2 = 1.0, double l2 = 1.0);

/// A spatial chain of `n` links with mixed joint types (revolute about varied axes, ball,
/// prismatic) and non-trivial inertias on a free-floating base when `floating` is true.
ModelSpec chain(int n, bool floating);

}  // namespace lumbosim::samples
