#pragma once
/// @file derivatives.hpp
/// Analytic derivatives in q of the generalized forces the posture solver balances:
///
///   K = d/dq [ sum_paths R_p^T T_p(l_p) + tau_joints(q) + sum_contacts J_c^T F_c(q) + tau_g(q) ]
///
/// (tau_g the generalized force of gravity, -generalized_gravity). Built from one block: the
/// derivative of J_p(q)^T f for a force f held fixed at a point p moving as dp/dq,
///
///   d(J_pj^T f)/dq_k = f . (ds_j/dq_k x (p - o_j) + s_j x (dp/dq_k - do_j/dq_k))    (revolute j)
///
/// with s_j, o_j the axis and origin of mobilizer j in world, which rotate with every revolute
/// ancestor k (ds_j = s_k x s_j, do_j = s_k x (o_j - o_k)) and translate with every prismatic
/// one. A path adds, per straight segment X -> Y (unit u, length L, tension T), the turning of u,
/// (J_X - J_Y)^T T (I - u u^T) (dY - dX) / L, with the tangent points of a cylinder wrap sliding
/// on the cylinder (wrap_cylinder_derivatives), and the change of its tension, -T'(l) R R^T.
/// Ellipsoid wraps are not covered (has_ellipsoid_wraps): callers fall back to differences.
/// Every function adds into K (nv x nv) and leaves `data` unchanged.
#include <vector>

#include "lumbosim/algorithm/contact.hpp"
#include "lumbosim/algorithm/kinematics.hpp"
#include "lumbosim/data/data.hpp"
#include "lumbosim/model/model.hpp"

namespace lumbosim {

/// Scratch for the derivative functions, sized once for a model (no allocation per call).
struct DerivativeWorkspace {
  explicit DerivativeWorkspace(const Model& model);
  Mat3X JX, JY, dX, dY, JA, JB, JT1, JT2, JAw, JBw, dT1, dT2, dF;
  /// Per path: the coordinates it spans (ancestors of some of its bodies but not of all). A
  /// path's forces are self-equilibrated, so only these rows and columns of K can be non-zero.
  std::vector<std::vector<int>> span;
  std::vector<std::vector<char>> span_mask;
};

/// Jacobian (3 x nv) of the point at world position p_W taken as fixed to `body`.
void point_jacobian_world(const Model& model, const Data& data, int body, const Vec3& p_W, Mat3X& J);

/// K(j, k) += f . d J_pj / d q_k: the force f fixed, the point p_W (on `body`, which carries the
/// force) moving as dp (3 x nv; the body's point Jacobian for a point fixed to it).
void add_point_force_derivative(const Model& model, const Data& data, int body, const Vec3& p_W, const Mat3X& dp,
                                const Vec3& f, MatX& K);
/// The same restricted to the coordinates in `cols` (rows and columns; `mask` flags them): for
/// a force of a self-equilibrated system (a path) whose other entries sum to zero.
void add_point_force_derivative(const Model& model, const Data& data, int body, const Vec3& p_W, const Mat3X& dp,
                                const Vec3& f, MatX& K, const std::vector<int>& cols, const std::vector<char>& mask);

/// K += d tau_g / dq, tau_g = sum_b J_com_b^T m_b g (@pre forward_kinematics).
void add_gravity_derivative(const Model& model, const Data& data, MatX& K, DerivativeWorkspace& ws);

/// K += d (R_p^T T) / dq for path p carrying tension T with dT/dl = dTdl (@pre compute_path at
/// this configuration, so its wrap state is current). @pre no ellipsoid wrap on the path.
void add_path_force_derivative(const Model& model, const Data& data, int path, double T, double dTdl, MatX& K,
                               DerivativeWorkspace& ws);

/// K += d (R^T T) / dq of every ligament (tension and its stiffness from ligament_tension).
/// @pre compute_paths at this configuration.
void add_ligament_derivatives(const Model& model, const Data& data, MatX& K, DerivativeWorkspace& ws);

/// K += d/dq of the intervertebral joints' and coordinate limits' own passive moments.
void add_joint_passive_derivative(const Model& model, ConstVecRef q, MatX& K);

/// K += d/dq of the analytic contact forces: each contact's normal force (contact_normal_force
/// times the plane's extent window) and a tangential force of `friction_per_normal[j]` times its
/// normal force (the friction as a fraction of the normal force, e.g. mu (a+ - a-)), at the
/// point AnalyticContactDetector places. @pre contacts from AnalyticContactDetector at this q.
/// With `cols` and `mask` (the coordinates they flag), only those rows and columns of K.
void add_contact_force_derivative(const Model& model, const Data& data, const std::vector<ContactPlane>& planes,
                                  const std::vector<ContactPoint>& contacts, const VecX& friction_per_normal, MatX& K,
                                  DerivativeWorkspace& ws, const std::vector<int>* cols = nullptr,
                                  const std::vector<char>* mask = nullptr);

/// Whether any path of the model wraps over an ellipsoid (not covered analytically).
bool has_ellipsoid_wraps(const Model& model);

}  // namespace lumbosim
