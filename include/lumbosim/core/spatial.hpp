#pragma once
/// @file spatial.hpp
/// 6D spatial algebra (Featherstone, "Rigid Body Dynamics Algorithms", 2008, ch. 2) on Eigen
/// fixed-size types. Motion vectors are [angular; linear] = [w; v], force vectors are
/// [moment; force] = [n; f]. Frames follow the monogram notation of docs/conventions.md:
/// `X_AB` is the pose of frame B measured in frame A.
#include <Eigen/Core>
#include <Eigen/Geometry>

namespace lumbosim {

using Vec3 = Eigen::Vector3d;
using Mat3 = Eigen::Matrix3d;
using Vec6 = Eigen::Matrix<double, 6, 1>;
using Mat6 = Eigen::Matrix<double, 6, 6>;
using VecX = Eigen::VectorXd;
using MatX = Eigen::MatrixXd;
using Mat3X = Eigen::Matrix<double, 3, Eigen::Dynamic>;
using Mat6X = Eigen::Matrix<double, 6, Eigen::Dynamic>;
using MatXr = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;  ///< row-major: contiguous rows

/// Skew-symmetric cross-product matrix: skew(a) * b == a.cross(b).
inline Mat3 skew(const Vec3& a) {
  Mat3 S;
  S << 0.0, -a.z(), a.y(), a.z(), 0.0, -a.x(), -a.y(), a.x(), 0.0;
  return S;
}

/// Rigid transform X_AB: a point with coordinates p_B in B has coordinates R*p_B + p in A.
/// R is the orientation of B in A, p the position of B's origin in A.
struct SE3 {
  Mat3 R = Mat3::Identity();
  Vec3 p = Vec3::Zero();

  static SE3 identity() { return {}; }
  static SE3 rotation(const Vec3& unit_axis, double angle) {
    SE3 X;
    X.R = Eigen::AngleAxisd(angle, unit_axis).toRotationMatrix();
    return X;
  }
  static SE3 translation(const Vec3& t) {
    SE3 X;
    X.p = t;
    return X;
  }

  /// Composition: X_AC = X_AB * X_BC.
  SE3 operator*(const SE3& B) const {
    SE3 out;
    out.R.noalias() = R * B.R;
    out.p.noalias() = R * B.p;
    out.p += p;
    return out;
  }
  SE3 inverse() const {
    SE3 out;
    out.R = R.transpose();
    out.p.noalias() = -(out.R * p);
    return out;
  }
  /// Point map p_A = X_AB * p_B.
  Vec3 act_point(const Vec3& p_B) const { return R * p_B + p; }
  /// Inverse point map p_B = X_AB^-1 * p_A.
  Vec3 act_point_inv(const Vec3& p_A) const { return R.transpose() * (p_A - p); }

  /// Motion vector expressed in B -> same vector expressed in A.
  Vec6 act_motion(const Vec6& m_B) const {
    Vec6 out;
    out.head<3>().noalias() = R * m_B.head<3>();
    out.tail<3>().noalias() = R * m_B.tail<3>();
    out.tail<3>() += p.cross(out.head<3>());
    return out;
  }
  /// Motion vector expressed in A -> same vector expressed in B.
  Vec6 act_motion_inv(const Vec6& m_A) const {
    Vec6 out;
    out.head<3>().noalias() = R.transpose() * m_A.head<3>();
    const Vec3 v = m_A.tail<3>() - p.cross(m_A.head<3>());
    out.tail<3>().noalias() = R.transpose() * v;
    return out;
  }
  /// Force vector expressed in B -> same vector expressed in A.
  Vec6 act_force(const Vec6& f_B) const {
    Vec6 out;
    out.tail<3>().noalias() = R * f_B.tail<3>();
    out.head<3>().noalias() = R * f_B.head<3>();
    out.head<3>() += p.cross(out.tail<3>());
    return out;
  }
  /// Force vector expressed in A -> same vector expressed in B.
  Vec6 act_force_inv(const Vec6& f_A) const {
    Vec6 out;
    out.tail<3>().noalias() = R.transpose() * f_A.tail<3>();
    const Vec3 n = f_A.head<3>() - p.cross(f_A.tail<3>());
    out.head<3>().noalias() = R.transpose() * n;
    return out;
  }
  /// 6x6 force transform B->A (Featherstone X*). Its transpose maps motion A->B.
  Mat6 force_matrix() const {
    Mat6 X;
    X.topLeftCorner<3, 3>() = R;
    X.topRightCorner<3, 3>().noalias() = skew(p) * R;
    X.bottomLeftCorner<3, 3>().setZero();
    X.bottomRightCorner<3, 3>() = R;
    return X;
  }
};

/// Spatial cross product for motion vectors: crm(v) * m.
inline Vec6 cross_motion(const Vec6& v, const Vec6& m) {
  Vec6 out;
  out.head<3>() = v.head<3>().cross(m.head<3>());
  out.tail<3>() = v.head<3>().cross(m.tail<3>()) + v.tail<3>().cross(m.head<3>());
  return out;
}
/// Spatial cross product for force vectors: crf(v) * f = -crm(v)^T * f.
inline Vec6 cross_force(const Vec6& v, const Vec6& f) {
  Vec6 out;
  out.head<3>() = v.head<3>().cross(f.head<3>()) + v.tail<3>().cross(f.tail<3>());
  out.tail<3>() = v.head<3>().cross(f.tail<3>());
  return out;
}

/// Rigid-body inertia: mass m, centre of mass c (in the body frame), rotational inertia Ic about
/// the centre of mass (body-frame axes).
struct Inertia {
  double mass = 0.0;
  Vec3 com = Vec3::Zero();
  Mat3 I_com = Mat3::Zero();

  /// Momentum h = I * v about the frame origin.
  Vec6 apply(const Vec6& v) const {
    Vec6 h;
    const Vec3 lin = mass * (v.tail<3>() + v.head<3>().cross(com));
    h.tail<3>() = lin;
    h.head<3>() = I_com * v.head<3>() + com.cross(lin);
    return h;
  }
  /// 6x6 spatial inertia about the frame origin.
  Mat6 matrix() const {
    Mat6 M;
    const Mat3 C = skew(com);
    M.topLeftCorner<3, 3>() = I_com + mass * C * C.transpose();
    M.topRightCorner<3, 3>() = mass * C;
    M.bottomLeftCorner<3, 3>() = mass * C.transpose();
    M.bottomRightCorner<3, 3>() = mass * Mat3::Identity();
    return M;
  }
  /// Same inertia expressed in frame A, given X_AB (this inertia is in B).
  Inertia transformed(const SE3& X_AB) const {
    Inertia out;
    out.mass = mass;
    out.com = X_AB.act_point(com);
    out.I_com = X_AB.R * I_com * X_AB.R.transpose();
    return out;
  }
  /// Sum of two inertias expressed in the same frame (parallel-axis theorem).
  Inertia operator+(const Inertia& o) const {
    Inertia out;
    out.mass = mass + o.mass;
    if (out.mass <= 0.0) return out;
    out.com = (mass * com + o.mass * o.com) / out.mass;
    const auto shift = [&](const Inertia& in) {
      const Vec3 d = in.com - out.com;
      return Mat3(in.I_com + in.mass * (d.squaredNorm() * Mat3::Identity() - d * d.transpose()));
    };
    out.I_com = shift(*this) + shift(o);
    return out;
  }
};

}  // namespace lumbosim
