#pragma once
/// @file kinematics.hpp
/// Position-stage algorithms: body poses, points, Jacobians, centre of mass.
#include <Eigen/Core>

#include "lumbosim/data/data.hpp"
#include "lumbosim/model/model.hpp"

namespace lumbosim {

using ConstVecRef = Eigen::Ref<const VecX>;

/// Computes mobilizer and body poses: fills data.X_PM, data.X_WM, data.X_WB, data.S.
/// @param[in] q  coordinates (size model.nv; rad or m)
void forward_kinematics(const Model& model, Data& data, ConstVecRef q);

/// Moves prismatic coordinate j by dq from the pose of the last forward_kinematics: every frame
/// it carries translates by dq along its world axis, and no rotation is recomputed. Equal to
/// forward_kinematics at q + dq e_j up to rounding (the caller updates its q).
/// @pre forward_kinematics; coordinate j prismatic
void translate_prismatic(const Model& model, Data& data, int j, double dq);

/// Position of a body-fixed point in world, p_W = X_WB * p_B.  @pre forward_kinematics
Vec3 point_position(const Data& data, int body, const Vec3& p_B);

/// Translational Jacobian of a body-fixed point: dp_W/dt = J * qdot.
/// @param[out] J  3 x nv, written in full (columns of non-ancestors are zero).
/// @pre forward_kinematics
void point_jacobian(const Model& model, const Data& data, int body, const Vec3& p_B,
                    Eigen::Ref<Mat3X> J);

/// Spatial Jacobian of a body frame located at a body point, world-aligned: rows 0-2 angular
/// velocity, rows 3-5 velocity of the point.  @param[out] J 6 x nv.  @pre forward_kinematics
void frame_jacobian(const Model& model, const Data& data, int body, const Vec3& p_B,
                    Eigen::Ref<Mat6X> J);

/// Whole-model centre of mass; fills data.mass (kg) and data.com_W (m).  @pre forward_kinematics
Vec3 center_of_mass(const Model& model, Data& data);

/// Centre-of-mass Jacobian (3 x nv): d com_W/dt = Jcom * qdot.  @pre forward_kinematics
void com_jacobian(const Model& model, Data& data, Eigen::Ref<Mat3X> Jcom);

}  // namespace lumbosim
