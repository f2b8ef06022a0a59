#pragma once
/// @file model.hpp
/// The immutable, flat multibody model (MuJoCo-style structure of arrays).
///
/// Every joint is compiled into a chain of single-degree-of-freedom *mobilizers* (revolute or
/// prismatic about a fixed unit axis of the mobilizer frame); multi-DOF joints (planar, ball,
/// free) get massless intermediate frames, as in RBDL's emulated joints. Welded bodies are merged
/// into the mobilizer that carries them. Hence nq == nv == number of mobilizers, and the index of
/// a coordinate *is* the index of its mobilizer. Mobilizers are stored in topological order
/// (parent index < child index; -1 is ground).
///
/// A Model is built once by `compile()` and never changes: share it between threads; give each
/// thread its own `Data`.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lumbosim/core/spatial.hpp"
#include "lumbosim/model/spec.hpp"

namespace lumbosim {

enum class DofKind : std::uint8_t { Revolute, Prismatic };

/// Effective parameters of one muscle-tendon unit (after scaling, overrides, calibration).
struct MuscleParams {
  double max_isometric_force = 0.0;   ///< N
  double optimal_fiber_length = 0.0;  ///< m
  double tendon_slack_length = 0.0;   ///< m
  double pennation = 0.0;             ///< rad, at optimal fibre length
  double passive_strain = 0.6;        ///< e0
  double effort_weight = 1.0;         ///< w in the least-effort criterion
  double max_contraction_velocity = 0.0;  ///< m/s
  bool compliant_tendon = false;
  double activation_time = 0.015, deactivation_time = 0.060;  ///< s
};

struct Model {
  std::string name;
  std::string source_file;
  Vec3 gravity = Vec3(0.0, -9.81, 0.0);  ///< m/s^2, world frame
  int nv = 0;                            ///< number of coordinates (== nq == mobilizers)

  // ---- mobilizers (size nv) -------------------------------------------------------------
  std::vector<int> mob_parent;        ///< parent mobilizer, -1 for ground
  std::vector<SE3> mob_X_PJ;          ///< fixed placement of the joint frame in the parent mobilizer frame
  std::vector<Vec3> mob_axis;         ///< unit axis in the mobilizer frame
  std::vector<DofKind> mob_kind;      ///< revolute or prismatic
  std::vector<Inertia> mob_inertia;   ///< inertia carried by the mobilizer, in its frame
  std::vector<int> mob_joint;         ///< the user joint this mobilizer belongs to

  // ---- coordinates (size nv; index == mobilizer index). Internal units: rad or m. --------
  std::vector<std::string> coord_name;
  std::vector<double> coord_min, coord_max, coord_default;
  std::vector<std::uint8_t> coord_locked;

  // ---- bodies (index 0 is ground) ---------------------------------------------------------
  std::vector<std::string> body_name;
  std::vector<int> body_mob;          ///< mobilizer carrying the body, -1 if fixed to ground
  std::vector<SE3> body_X_MB;         ///< body frame in its mobilizer frame
  std::vector<Inertia> body_inertia;  ///< in the body frame
  std::vector<std::string> body_source;

  // ---- joints -------------------------------------------------------------------------------
  std::vector<std::string> joint_name;
  std::vector<JointType> joint_type;
  std::vector<int> joint_parent, joint_child;  ///< body indices
  std::vector<int> joint_coord_adr, joint_coord_num;

  // ---- landmarks ------------------------------------------------------------------------------
  std::vector<std::string> landmark_name;
  std::vector<int> landmark_body;
  std::vector<Vec3> landmark_p_B;     ///< position in the body frame, m
  std::vector<Vec3> landmark_dir_B;   ///< unit direction in the body frame (zero if none)

  // ---- named parameters (values after overrides) -------------------------------------------
  std::vector<std::string> param_name;
  std::vector<double> param_value;
  std::vector<std::string> param_unit;

  // ---- paths: muscles and ligaments share the geometry (origin, via points, wraps) ----------
  std::vector<std::string> path_name;
  std::vector<int> path_point_adr, path_point_num;   ///< into the path_point_* arrays
  std::vector<int> path_point_body;
  std::vector<Vec3> path_point_p_B;
  std::vector<int> path_point_wrap;  ///< wrap surface on the segment to the next point, -1 if none
  /// 1 where every point and wrap of the path is on a moving body: its length does not change
  /// under the mobilizers of mob_common, which move them all rigidly (zero moment arms there).
  std::vector<std::uint8_t> path_moves_whole;
  /// 1 for a mobilizer every moving body hangs from (the floating base's), else 0.
  std::vector<std::uint8_t> mob_common;

  // ---- wrap surfaces ---------------------------------------------------------------------------
  std::vector<std::string> wrap_name;
  std::vector<WrapType> wrap_type;
  std::vector<int> wrap_body;
  std::vector<SE3> wrap_X_BW;        ///< wrap frame in the body frame
  std::vector<Vec3> wrap_radii;      ///< cylinder: radius in x; ellipsoid: semi-axes
  std::vector<int> wrap_side;

  // ---- muscles ---------------------------------------------------------------------------------
  std::vector<std::string> muscle_name;
  std::vector<MuscleParams> muscle;
  std::vector<int> muscle_path;
  std::vector<double> muscle_base_tendon_slack;  ///< before group length scales
  std::vector<double> muscle_base_passive_strain;
  std::vector<std::string> group_name;
  std::vector<std::vector<int>> group_muscles;

  // ---- ligaments -------------------------------------------------------------------------------
  std::vector<std::string> ligament_name;
  std::vector<int> ligament_path;
  std::vector<double> ligament_stiffness, ligament_transition_strain, ligament_slack_length;

  // ---- intervertebral joints ---------------------------------------------------------------------
  std::vector<int> spinal_coord;
  std::vector<double> spinal_k0, spinal_bf, spinal_be;   ///< N m/rad, 1/rad, 1/rad
  std::vector<double> spinal_compression_stiffness;       ///< N/m
  std::vector<double> spinal_disc_area;                   ///< m^2
  std::vector<double> spinal_swelling_pressure;           ///< Pa, unloaded nucleus pressure

  // ---- coordinate limits -------------------------------------------------------------------------
  std::vector<int> limit_coord;
  std::vector<double> limit_lower, limit_upper, limit_k1, limit_k2, limit_k3, limit_k4;

  // ---- contact spheres -------------------------------------------------------------------------
  std::vector<std::string> contact_name;
  std::vector<int> contact_body;
  std::vector<Vec3> contact_p_B;
  std::vector<double> contact_radius;

  ClinicalSpec clinical;
  StabilitySpec stability;

  double total_mass = 0.0;  ///< kg

  int npath() const { return static_cast<int>(path_name.size()); }
  int nmuscle() const { return static_cast<int>(muscle_name.size()); }
  int nligament() const { return static_cast<int>(ligament_name.size()); }
  int find_muscle(std::string_view n) const { return find(muscle_name, n); }
  int find_group(std::string_view n) const { return find(group_name, n); }
  int find_wrap(std::string_view n) const { return find(wrap_name, n); }
  int find_contact(std::string_view n) const { return find(contact_name, n); }
  int find_ligament(std::string_view n) const { return find(ligament_name, n); }

  int nbody() const { return static_cast<int>(body_name.size()); }
  int njoint() const { return static_cast<int>(joint_name.size()); }
  int nlandmark() const { return static_cast<int>(landmark_name.size()); }

  /// Index lookups; -1 if the name is unknown.
  int find_body(std::string_view n) const { return find(body_name, n); }
  int find_coord(std::string_view n) const { return find(coord_name, n); }
  int find_joint(std::string_view n) const { return find(joint_name, n); }
  int find_landmark(std::string_view n) const { return find(landmark_name, n); }
  int find_param(std::string_view n) const { return find(param_name, n); }
  double param(std::string_view n) const;  ///< throws std::out_of_range if unknown

  bool coord_is_rotational(int i) const { return mob_kind[static_cast<size_t>(i)] == DofKind::Revolute; }
  /// True if mobilizer `mob` is `root` or lies below it in the tree.
  bool mob_in_subtree(int mob, int root) const {
    for (int j = mob; j >= 0; j = mob_parent[static_cast<size_t>(j)])
      if (j == root) return true;
    return false;
  }
  /// Default configuration (coordinate defaults, internal units).
  VecX default_q() const;

 private:
  static int find(const std::vector<std::string>& v, std::string_view n) {
    for (size_t i = 0; i < v.size(); ++i)
      if (v[i] == n) return static_cast<int>(i);
    return -1;
  }
};

}  // namespace lumbosim
