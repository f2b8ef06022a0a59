#include "lumbosim/algorithm/contact.hpp"

#include <algorithm>
#include <cmath>

#include "lumbosim/algorithm/kinematics.hpp"

namespace lumbosim {

void AnalyticContactDetector::detect(const Model& model, const Data& data, const std::vector<ContactPlane>& planes,
                                     std::vector<ContactPoint>& out) {
  out.clear();
  for (size_t k = 0; k < planes.size(); ++k) {
    const ContactPlane& pl = planes[k];
    const Vec3 n = pl.normal.normalized();
    for (int s : pl.spheres) {
      const auto i = static_cast<size_t>(s);
      const Vec3 c = point_position(data, model.contact_body[i], model.contact_p_B[i]);
      ContactPoint cp;
      cp.plane = static_cast<int>(k);
      cp.sphere = s;
      if (pl.radius > 0.0) {
        sphere_cylinder_contact(pl, c, model.contact_radius[i], cp);
      } else {
        const double dist = (c - pl.point).dot(n);
        cp.depth = model.contact_radius[i] - dist;
        cp.n_W = n;
        cp.p_W = c - dist * n;  // the sphere centre projected onto the plane
      }
      out.push_back(cp);
    }
  }
}

double contact_normal_force(double d, double k, double* dfdd) {
  constexpr double eps = 5e-4;
  const double r = std::sqrt(d * d + eps * eps);
  const double ds = 0.5 * (d + r);
  if (dfdd) *dfdd = k * 1.5 * std::sqrt(ds) * 0.5 * (1.0 + d / r);
  return k * ds * std::sqrt(ds);
}

void add_point_force(const Model& model, const Data& data, int body, const Vec3& p_W, const Vec3& f, VecX& tau) {
  // tau += J(p)^T f, walking the ancestors of the body (the force acts at the contact point,
  // which moves with the body for the virtual-work projection).
  for (int j = model.body_mob[static_cast<size_t>(body)]; j >= 0; j = model.mob_parent[static_cast<size_t>(j)]) {
    const auto k = static_cast<size_t>(j);
    const Vec3& axis = data.axis_W[k];
    tau[j] += model.mob_kind[k] == DofKind::Revolute ? axis.cross(p_W - data.X_WM[k].p).dot(f) : axis.dot(f);
  }
}

Vec3 point_velocity(const Model& model, const Data& data, int body, const Vec3& p_W, const VecX& qd) {
  Vec3 v = Vec3::Zero();
  for (int j = model.body_mob[static_cast<size_t>(body)]; j >= 0; j = model.mob_parent[static_cast<size_t>(j)]) {
    const auto k = static_cast<size_t>(j);
    const Vec3& axis = data.axis_W[k];
    v += qd[j] * (model.mob_kind[k] == DofKind::Revolute ? Vec3(axis.cross(p_W - data.X_WM[k].p)) : axis);
  }
  return v;
}

void sphere_cylinder_contact(const ContactPlane& pl, const Vec3& c, double rs, ContactPoint& cp) {
  Vec3 d = c - pl.point;  // radial geometry in the sagittal plane
  d.z() = 0.0;
  const double r = d.norm();
  cp.n_W = r > 1e-12 ? Vec3(d / r) : Vec3::UnitY();
  cp.depth = rs + pl.radius - r;
  cp.p_W = Vec3(pl.point.x(), pl.point.y(), c.z()) + pl.radius * cp.n_W;
}

double regularized_friction(double fn, double mu, double v_t, double v_s) { return -mu * fn * std::tanh(v_t / v_s); }

double contact_extent_window(const ContactPlane& pl, double u, double* dwdu) {
  auto smooth = [](double x, double* d) {  // C1 step from 0 (x <= 0) to 1 (x >= 1)
    x = std::clamp(x, 0.0, 1.0);
    *d = 6.0 * x * (1.0 - x);
    return x * x * (3.0 - 2.0 * x);
  };
  const double e = ContactPlane::kEdge;
  double d1 = 0.0, d2 = 0.0;
  const double w1 = smooth((u - pl.extent_min) / e + 0.5, &d1), w2 = smooth((pl.extent_max - u) / e + 0.5, &d2);
  if (dwdu) *dwdu = (d1 * w2 - w1 * d2) / e;
  return w1 * w2;
}

void contact_generalized_forces(const Model& model, const Data& data, const std::vector<ContactPlane>& planes,
                                std::vector<ContactPoint>& contacts, VecX& tau) {
  for (auto& c : contacts) {
    const ContactPlane& pl = planes[static_cast<size_t>(c.plane)];
    c.force = contact_normal_force(c.depth, pl.stiffness);
    c.t_W = c.n_W.cross(Vec3::UnitZ()).normalized();
    if (pl.radius <= 0.0 && (pl.extent_min > -1e29 || pl.extent_max < 1e29))
      c.force *= contact_extent_window(pl, (c.p_W - pl.point).dot(pl.normal.normalized().cross(Vec3::UnitZ()).normalized()));
    c.friction = 0.0;
    add_point_force(model, data, model.contact_body[static_cast<size_t>(c.sphere)], c.p_W, c.force * c.n_W, tau);
  }
}

}  // namespace lumbosim
