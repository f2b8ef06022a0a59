#pragma once
/// @file alignment.hpp
/// Sagittal alignment measured from anatomical landmarks, as clinicians measure it on lateral
/// radiographs (docs/conventions.md). All angles in radians, sagittal plane (X anterior, Y up).
#include <array>

#include "lumbosim/data/data.hpp"
#include "lumbosim/model/model.hpp"

namespace lumbosim {

/// Landmark indices the alignment needs, resolved once per Model.
struct AlignmentLandmarks {
  int asis_r = -1, asis_l = -1, psis_r = -1, psis_l = -1, hip_r = -1, hip_l = -1, s1 = -1;
  std::array<int, 5> sup_endplate{-1, -1, -1, -1, -1};  ///< L5, L4, L3, L2, L1 superior endplates
  /// Looks up ASIS_r/l, PSIS_r/l, hip_center_r/l, S1_superior_endplate, L5..L1_superior_endplate.
  /// Throws std::invalid_argument naming the first missing landmark.
  static AlignmentLandmarks resolve(const Model& model);
};

struct Alignment {
  double pelvic_tilt = 0;       ///< ASIS-PSIS line vs horizontal, anterior (ASIS down) positive
  double sacral_slope = 0;      ///< S1 superior endplate vs horizontal
  double spinopelvic_pt = 0;    ///< hip axis -> S1 centre line vs vertical, S1 posterior positive
  double pelvic_incidence = 0;  ///< S1 endplate normal vs line S1 centre -> hip axis
  double lumbar_lordosis = 0;   ///< Cobb L1 superior to S1 superior endplate, lordosis positive
  /// Segmental Cobb angles (lordosis positive): L5-S1, L4-L5, L3-L4, L2-L3, L1-L2.
  std::array<double, 5> segment{};
};

/// Sagittal inclination of a direction: angle from +Y toward +X (anterior lean positive).
double sagittal_inclination(const Vec3& d_W);

/// @pre forward_kinematics(model, data, q)
Alignment compute_alignment(const Model& model, const Data& data, const AlignmentLandmarks& lm);

}  // namespace lumbosim
