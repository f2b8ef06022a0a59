#include "lumbosim/model/model.hpp"

#include <stdexcept>

namespace lumbosim {

int joint_type_dofs(JointType t) {
  switch (t) {
    case JointType::Weld: return 0;
    case JointType::Revolute: return 1;
    case JointType::Prismatic: return 1;
    case JointType::Planar: return 3;
    case JointType::Ball: return 3;
    case JointType::Free: return 6;
  }
  return 0;
}

const char* joint_type_name(JointType t) {
  switch (t) {
    case JointType::Weld: return "weld";
    case JointType::Revolute: return "revolute";
    case JointType::Prismatic: return "prismatic";
    case JointType::Planar: return "planar";
    case JointType::Ball: return "ball";
    case JointType::Free: return "free";
  }
  return "?";
}

double Model::param(std::string_view n) const {
  const int i = find_param(n);
  if (i < 0) throw std::out_of_range("unknown model parameter '" + std::string(n) + "'");
  return param_value[static_cast<size_t>(i)];
}

VecX Model::default_q() const {
  VecX q(nv);
  for (int i = 0; i < nv; ++i) q[i] = coord_default[static_cast<size_t>(i)];
  return q;
}

}  // namespace lumbosim
