#include "lumbosim/model/samples.hpp"

#include <cmath>
#include <string>

namespace lumbosim::samples {
namespace {

CoordSpec coord(const std::string& name, double lo, double hi, const Vec3* axis = nullptr) {
  CoordSpec c;
  c.name = name;
  c.min = lo;
  c.max = hi;
  if (axis) c.axis = *axis;
  return c;
}

BodySpec rod(const std::string& name, double m, double l) {
  BodySpec b;
  b.name = name;
  b.mass_kg = m;
  b.com = Vec3(0.0, -0.5 * l, 0.0);
  const double I = m * l * l / 12.0;
  const double Iaxial = 1e-6 * m * l * l;  // thin rod, small but positive axial inertia
  Eigen::Matrix<double, 6, 1> in;
  in << I, Iaxial, I, 0.0, 0.0, 0.0;
  b.inertia = in;
  return b;
}

}  // namespace

ModelSpec pendulum(double m, double l) {
  ModelSpec s;
  s.name = "pendulum";
  s.file = "<samples::pendulum>";
  BodySpec b;
  b.name = "bob";
  b.mass_kg = m;
  b.com = Vec3(0.0, -l, 0.0);
  const double r = 1e-4;  // tiny solid-sphere radius
  b.gyration_radii = Vec3::Constant(r * std::sqrt(0.4));
  s.bodies.push_back(b);
  JointSpec j;
  j.name = "hinge";
  j.type = JointType::Revolute;
  j.parent = "ground";
  j.child = "bob";
  j.coordinates.push_back(coord("theta", -360.0, 360.0));
  s.joints.push_back(j);
  return s;
}

ModelSpec double_pendulum(double m1, double l1, double m2, double l2) {
  ModelSpec s;
  s.name = "double_pendulum";
  s.file = "<samples::double_pendulum>";
  s.bodies.push_back(rod("link1", m1, l1));
  s.bodies.push_back(rod("link2", m2, l2));
  JointSpec j1;
  j1.name = "hinge1";
  j1.type = JointType::Revolute;
  j1.parent = "ground";
  j1.child = "link1";
  j1.coordinates.push_back(coord("q1", -360.0, 360.0));
  JointSpec j2 = j1;
  j2.name = "hinge2";
  j2.parent = "link1";
  j2.child = "link2";
  j2.in_parent.position = Vec3(0.0, -l1, 0.0);
  j2.coordinates[0] = coord("q2", -360.0, 360.0);
  s.joints = {j1, j2};
  return s;
}

ModelSpec chain(int n, bool floating) {
  ModelSpec s;
  s.name = floating ? "floating_chain" : "fixed_chain";
  s.file = "<samples::chain>";
  std::string parent = "ground";
  for (int i = 0; i < n; ++i) {
    const std::string name = "link" + std::to_string(i);
    BodySpec b;
    b.name = name;
    b.mass_kg = 1.0 + 0.3 * i;
    b.com = Vec3(0.02 * i, -0.15, 0.01 * (i % 3));
    Eigen::Matrix<double, 6, 1> in;
    in << 0.02 + 0.002 * i, 0.015 + 0.001 * i, 0.018, 0.001, -0.0005, 0.0008;
    b.inertia = in;
    s.bodies.push_back(b);
    JointSpec j;
    j.name = "joint" + std::to_string(i);
    j.parent = parent;
    j.child = name;
    j.in_parent.position = i == 0 ? Vec3::Zero() : Vec3(0.01, -0.3, 0.02);
    j.in_parent.orientation_deg = Vec3(5.0 * i, -3.0 * i, 10.0);
    j.in_child.position = Vec3(0.0, 0.01 * i, 0.0);
    if (i == 0 && floating) {
      j.type = JointType::Free;
      for (const char* c : {"tx", "ty", "tz", "rz", "rx", "ry"}) j.coordinates.push_back(coord(name + "_" + c, -1e3, 1e3));
    } else if (i % 4 == 1) {
      j.type = JointType::Ball;
      for (const char* c : {"flex", "lat", "rot"}) j.coordinates.push_back(coord(name + "_" + c, -180.0, 180.0));
    } else if (i % 4 == 3) {
      j.type = JointType::Prismatic;
      const Vec3 axis = Vec3(0.3, 1.0, -0.2);
      j.coordinates.push_back(coord(name + "_slide", -1.0, 1.0, &axis));
    } else {
      j.type = JointType::Revolute;
      const Vec3 axis = Vec3(0.2 * i, 0.5, 1.0);
      j.coordinates.push_back(coord(name + "_angle", -180.0, 180.0, &axis));
    }
    s.joints.push_back(j);
    parent = name;
  }
  return s;
}

}  // namespace lumbosim::samples
