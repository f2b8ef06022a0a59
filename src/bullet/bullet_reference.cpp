#include "lumbosim/bullet/bullet_reference.hpp"

#include <BulletDynamics/Featherstone/btMultiBody.h>
#include <LinearMath/btQuaternion.h>

#include <Eigen/Eigenvalues>
#include <stdexcept>

namespace lumbosim::bullet {
namespace {

btVector3 bt(const Vec3& v) { return btVector3(v.x(), v.y(), v.z()); }
btQuaternion bt_quat(const Mat3& R) {
  const Eigen::Quaterniond q(R);
  return btQuaternion(q.x(), q.y(), q.z(), q.w());
}

}  // namespace

struct ReferenceMultiBody::Impl {
  const Model* model = nullptr;
  std::unique_ptr<btMultiBody> mb;
  std::vector<Mat3> V;      // principal axes of each mobilizer's inertia (link frame in mob frame)
  std::vector<Vec3> com;    // mobilizer COM in the mobilizer frame
  btAlignedObjectArray<btScalar> scratch_r;
  btAlignedObjectArray<btVector3> scratch_v;
  btAlignedObjectArray<btMatrix3x3> scratch_m;
};

ReferenceMultiBody::ReferenceMultiBody(const Model& model) : impl_(std::make_unique<Impl>()) {
  auto& I = *impl_;
  I.model = &model;
  const int n = model.nv;
  int roots = 0;
  for (int i = 0; i < n; ++i) {
    if (model.mob_parent[static_cast<size_t>(i)] < 0) ++roots;
    if (!(model.mob_inertia[static_cast<size_t>(i)].mass > 0.0))
      throw std::invalid_argument("Bullet reference: mobilizer '" + model.coord_name[static_cast<size_t>(i)] +
                                  "' carries no mass (multi-DOF joints are not mirrored)");
  }
  if (roots < 1) throw std::invalid_argument("Bullet reference: no mobilizer attached to ground");
  // Base: the ground (fixed). Bullet places link frames at each link's COM, with axes along the
  // principal axes of inertia, so each mobilizer frame M is mapped to a link frame L = (V, c).
  I.mb = std::make_unique<btMultiBody>(n, 1.0, btVector3(1, 1, 1), /*fixedBase=*/true, /*canSleep=*/false);
  I.mb->setBasePos(btVector3(0, 0, 0));
  I.mb->setWorldToBaseRot(btQuaternion::getIdentity());
  I.mb->setLinearDamping(0.0);
  I.mb->setAngularDamping(0.0);
  I.mb->setUseGyroTerm(true);
  I.mb->setMaxCoordinateVelocity(1e30);
  I.V.resize(static_cast<size_t>(n));
  I.com.resize(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const auto k = static_cast<size_t>(i);
    const Inertia& in = model.mob_inertia[k];
    Eigen::SelfAdjointEigenSolver<Mat3> es(in.I_com);
    Mat3 V = es.eigenvectors();
    if (V.determinant() < 0) V.col(2) *= -1.0;
    I.V[k] = V;
    I.com[k] = in.com;
  }
  for (int i = 0; i < n; ++i) {
    const auto k = static_cast<size_t>(i);
    const Inertia& in = model.mob_inertia[k];
    const int p = model.mob_parent[k];
    const SE3& X = model.mob_X_PJ[k];
    const Mat3 Vp = p < 0 ? Mat3::Identity() : I.V[static_cast<size_t>(p)];
    const Vec3 cp = p < 0 ? Vec3::Zero() : I.com[static_cast<size_t>(p)];
    const Mat3 R_LpLi = Vp.transpose() * X.R * I.V[k];          // link i orientation in link p
    const btQuaternion rotParentToThis = bt_quat(R_LpLi.transpose());
    const Vec3 axis_L = I.V[k].transpose() * model.mob_axis[k];
    const Vec3 parentComToPivot = Vp.transpose() * (X.p - cp);
    const Vec3 pivotToCom = I.V[k].transpose() * I.com[k];
    const Vec3 Idiag = (I.V[k].transpose() * in.I_com * I.V[k]).diagonal();
    if (model.mob_kind[k] == DofKind::Revolute)
      I.mb->setupRevolute(i, in.mass, bt(Idiag), p, rotParentToThis, bt(axis_L), bt(parentComToPivot), bt(pivotToCom),
                          true);
    else
      I.mb->setupPrismatic(i, in.mass, bt(Idiag), p, rotParentToThis, bt(axis_L), bt(parentComToPivot),
                           bt(pivotToCom), true);
  }
  I.mb->finalizeMultiDof();
}

ReferenceMultiBody::~ReferenceMultiBody() = default;

VecX ReferenceMultiBody::forward_dynamics(const VecX& q, const VecX& qd, const VecX& tau) {
  auto& I = *impl_;
  const Model& model = *I.model;
  const int n = model.nv;
  for (int i = 0; i < n; ++i) {
    I.mb->setJointPos(i, q[i]);
    I.mb->setJointVel(i, qd[i]);
  }
  // World-frame link orientations are needed to apply gravity at each COM.
  btAlignedObjectArray<btQuaternion> world_to_local;
  btAlignedObjectArray<btVector3> local_origin;
  I.mb->forwardKinematics(world_to_local, local_origin);
  I.mb->clearForcesAndTorques();
  for (int i = 0; i < n; ++i) {
    I.mb->addLinkForce(i, bt(model.gravity * model.mob_inertia[static_cast<size_t>(i)].mass));
    I.mb->addJointTorque(i, tau[i]);
  }
  // One velocity update with dt = 1 adds exactly the accelerations to the velocities.
  VecX v0(n);
  for (int i = 0; i < n; ++i) v0[i] = I.mb->getJointVel(i);
  I.mb->computeAccelerationsArticulatedBodyAlgorithmMultiDof(1.0, I.scratch_r, I.scratch_v, I.scratch_m, false, false, false);
  VecX qdd(n);
  for (int i = 0; i < n; ++i) qdd[i] = I.mb->getJointVel(i) - v0[i];
  return qdd;
}

}  // namespace lumbosim::bullet
