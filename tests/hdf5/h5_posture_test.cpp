// HDF5 results: layout, units, values, and no partial file on failure.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <filesystem>
#include <numbers>

#include "lumbosim/hdf5/h5_posture.hpp"
#include "lumbosim/io/yaml_model.hpp"
#include "lumbosim/io/yaml_postures.hpp"
#include "lumbosim/model/compile.hpp"

using namespace lumbosim;

namespace {
std::string read_unit(hid_t d) {
  const hid_t a = H5Aopen(d, "unit", H5P_DEFAULT);
  const hid_t t = H5Aget_type(a);
  std::string s(H5Tget_size(t), '\0');
  H5Aread(a, t, s.data());
  H5Tclose(t);
  H5Aclose(a);
  return s.c_str();
}
}  // namespace

TEST(Hdf5Posture, WritesNamedQuantitiesWithUnits) {
  const Model m = compile(io::load_model_spec(std::string(LUMBOSIM_SOURCE_DIR) + "/models/lumbopelvic.yaml"));
  const auto postures = io::load_postures(std::string(LUMBOSIM_SOURCE_DIR) + "/models/postures.yaml");
  PostureSolver solver(m, postures.front());  // standing
  const PostureResult r = solver.solve();
  const auto path = (std::filesystem::temp_directory_path() / "lumbosim_h5_test.h5").string();
  std::filesystem::remove(path);
  h5::write_posture(path, m, postures.front().name, r);
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  // compression per level equals the result, in N
  const hid_t d = H5Dopen2(f, "/loads/compression", H5P_DEFAULT);
  ASSERT_GE(d, 0);
  std::vector<double> comp(r.loads.size());
  H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, comp.data());
  for (size_t k = 0; k < comp.size(); ++k) EXPECT_DOUBLE_EQ(comp[k], r.loads[k].compression);
  EXPECT_EQ(read_unit(d), "N");
  H5Dclose(d);
  const hid_t lt = H5Dopen2(f, "/alignment/lumbar_lordosis", H5P_DEFAULT);
  double ll = 0;
  H5Dread(lt, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &ll);
  EXPECT_NEAR(ll, r.alignment.lumbar_lordosis * 180.0 / std::numbers::pi, 1e-12);
  EXPECT_EQ(read_unit(lt), "deg");
  H5Dclose(lt);
  for (const char* name : {"/muscles/force", "/muscles/names", "/muscles/passive_force", "/ligaments/force", "/ligaments/names",
                           "/contacts/normal_force", "/contacts/friction_force", "/coordinates/value", "/coordinates/held",
                           "/coordinates/held_force", "/loads/idp",
                           "/solver/equilibrium_residual", "/solver/external_moment_residual"})
    EXPECT_GT(H5Lexists(f, name, H5P_DEFAULT), 0) << name;
  H5Fclose(f);
  std::filesystem::remove(path);
}

TEST(Hdf5Posture, RecordsTheEnvironmentAsSolved) {
  // the posture's surfaces after --set-style overrides, so that a result file says which chair
  // it was computed on
  const Model m = compile(io::load_model_spec(std::string(LUMBOSIM_SOURCE_DIR) + "/models/lumbopelvic.yaml"));
  const auto postures = io::load_postures(std::string(LUMBOSIM_SOURCE_DIR) + "/models/postures.yaml");
  PostureSpec p;
  for (const auto& q : postures)
    if (q.name == "sitting_relaxed") p = q;
  ASSERT_EQ(p.name, "sitting_relaxed");
  apply_posture_overrides(p, {Override{"seat.height", 0.48, SourceLoc{"test", 0, 0}}, Override{"seat.rotate_deg", 4, SourceLoc{"test", 0, 0}}});
  const PostureResult r = PostureSolver(m, p).solve();
  const auto path = (std::filesystem::temp_directory_path() / "lumbosim_h5_env_test.h5").string();
  std::filesystem::remove(path);
  h5::write_posture(path, m, p, r);
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  auto read = [&](const char* name, std::string* unit) {
    const hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    EXPECT_GE(d, 0) << name;
    std::vector<double> v(p.contacts.size());
    H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
    if (unit) *unit = read_unit(d);
    H5Dclose(d);
    return v;
  };
  std::string unit;
  ASSERT_EQ(p.contacts[0].name, "seat");
  EXPECT_DOUBLE_EQ(read("/environment/point_y", &unit)[0], 0.48);
  EXPECT_EQ(unit, "m");
  EXPECT_NEAR(read("/environment/tangent_angle", &unit)[0], 4.0, 1e-9);
  EXPECT_EQ(unit, "deg");
  EXPECT_TRUE(std::isinf(read("/environment/extent_max", nullptr)[0]));  // the default seat is unbounded
  EXPECT_GT(H5Lexists(f, "/environment/surfaces", H5P_DEFAULT), 0);
  H5Fclose(f);
  std::filesystem::remove(path);
}

TEST(Hdf5Posture, FailureLeavesNoFile) {
  const Model m = compile(io::load_model_spec(std::string(LUMBOSIM_SOURCE_DIR) + "/models/lumbopelvic.yaml"));
  PostureResult r;
  r.q = m.default_q();
  const std::string path = "/nonexistent_dir_lumbosim/out.h5";
  EXPECT_THROW(h5::write_posture(path, m, "standing", r), std::runtime_error);
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(Hdf5Transition, WritesTheSamplesWithUnits) {
  // A transition's file: one row per sample, units on every dataset, the values the run holds.
  const Model m = compile(io::load_model_spec(std::string(LUMBOSIM_SOURCE_DIR) + "/models/lumbopelvic.yaml"));
  const auto postures = io::load_postures(std::string(LUMBOSIM_SOURCE_DIR) + "/models/postures.yaml");
  auto find = [&](const std::string& n) {
    for (const auto& p : postures)
      if (p.name == n) return p;
    throw std::runtime_error(n);
  };
  const PostureSpec to = find("sitting_relaxed");
  const PostureResult start = PostureSolver(m, find("sitting_upright")).solve();
  PostureSolver solver(m, to);
  const PostureResult end = solver.solve();
  TransitionSettings ts;
  ts.forward.duration = 3.0;
  ts.forward.record_interval = 0.5;
  const TransitionResult t = simulate_transition(solver, start, end, ts);
  ASSERT_EQ(t.forward.time.size(), 6u);
  const auto path = (std::filesystem::temp_directory_path() / "lumbosim_h5_transition_test.h5").string();
  std::filesystem::remove(path);
  h5::write_transition(path, m, to, "sitting_upright", end, t);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  const hid_t d = H5Dopen2(f, "/coordinates/value", H5P_DEFAULT);
  ASSERT_GE(d, 0);
  const hid_t space = H5Dget_space(d);
  hsize_t dims[2] = {0, 0};
  ASSERT_EQ(H5Sget_simple_extent_ndims(space), 2);
  H5Sget_simple_extent_dims(space, dims, nullptr);
  EXPECT_EQ(dims[0], 6u);
  EXPECT_EQ(dims[1], static_cast<hsize_t>(m.nv));
  std::vector<double> v(dims[0] * dims[1]);
  H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  const int tilt = m.find_coord("pelvis_tilt");
  EXPECT_NEAR(v[5 * dims[1] + static_cast<size_t>(tilt)], t.forward.q_samples[5][tilt] * 180.0 / std::numbers::pi, 1e-12);
  EXPECT_EQ(read_unit(d), "deg or m (see units); one row per sample");
  H5Sclose(space);
  H5Dclose(d);
  const hid_t s = H5Dopen2(f, "/surfaces/normal_force", H5P_DEFAULT);
  EXPECT_EQ(read_unit(s), "N; one row per sample");
  std::vector<double> force(6 * to.contacts.size());
  H5Dread(s, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, force.data());
  EXPECT_DOUBLE_EQ(force[0], t.forward.surface_force_samples[0][0]);  // the seat at t = 0
  H5Dclose(s);
  for (const char* name : {"/time", "/alignment/pelvic_tilt", "/alignment/segment_angles", "/coordinates/predicted", "/result/duration",
                           "/coordinates/names", "/result/settled", "/result/max_angle_deviation", "/environment/surfaces"})
    EXPECT_GT(H5Lexists(f, name, H5P_DEFAULT), 0) << name;
  H5Fclose(f);
  std::filesystem::remove(path);
}

