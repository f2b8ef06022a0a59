// The hot algorithms must not touch the heap once Data exists (cf. Drake's LimitMalloc).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "lumbosim/algorithm/dynamics.hpp"
#include "lumbosim/algorithm/posture.hpp"
#include "lumbosim/algorithm/static_opt.hpp"
#include "lumbosim/io/yaml_model.hpp"
#include "lumbosim/io/yaml_postures.hpp"
#include "lumbosim/model/compile.hpp"
#include "lumbosim/model/samples.hpp"

namespace {
std::atomic<long> g_allocs{0};
}
void* operator new(std::size_t n) {
  ++g_allocs;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using namespace lumbosim;

TEST(NoAlloc, DynamicsAndKinematicsDoNotAllocate) {
  const Model model = compile(samples::chain(10, true));
  Data data(model);
  const VecX q = VecX::Random(model.nv), qd = VecX::Random(model.nv), tau = VecX::Random(model.nv);
  Mat3X J(3, model.nv);
  Mat6X J6(6, model.nv);
  const long before = g_allocs.load();
  forward_kinematics(model, data, q);
  point_jacobian(model, data, 3, Vec3(0.1, 0.2, 0.3), J);
  frame_jacobian(model, data, 3, Vec3(0.1, 0.2, 0.3), J6);
  com_jacobian(model, data, J);
  rnea(model, data, q, qd, tau);
  generalized_gravity(model, data, q);
  crba(model, data, q);
  aba(model, data, q, qd, tau);
  EXPECT_EQ(g_allocs.load() - before, 0);
}

TEST(NoAlloc, StaticOptimisationDoesNotAllocate) {
  const int m = 8, n = 120;
  const MatX A = MatX::Random(m, n) * 40.0;
  const VecX b = A * VecX::Constant(n, 0.1), w = VecX::Ones(n);
  StaticOptimizer qp(m, n);
  qp.solve(A, b, w);  // first call may touch lazily sized internals of Eigen's LLT
  qp.reset_warm_start();
  const long before = g_allocs.load();
  qp.solve(A, b, w);
  EXPECT_EQ(g_allocs.load() - before, 0);
}

TEST(NoAlloc, PostureEquilibriumResidualDoesNotAllocate) {
  // The residual the posture solver evaluates in its inner loop: gravity, every path and passive
  // tissue, contact, and the muscle matrix, on the full default model in sitting.
  const Model m = compile(io::load_model_spec(std::string(LUMBOSIM_SOURCE_DIR) + "/models/lumbopelvic.yaml"));
  const auto postures = io::load_postures(std::string(LUMBOSIM_SOURCE_DIR) + "/models/postures.yaml");
  const PostureSpec* sit = nullptr;
  for (const auto& p : postures)
    if (p.name == "sitting_relaxed") sit = &p;
  ASSERT_NE(sit, nullptr);
  PostureSolver solver(m, *sit);
  VecX x = VecX::Zero(solver.nfree());
  x[0] = 0.5;  // pelvis_ty near the seat
  MatX A;
  VecX b;
  solver.equations(x, A, b);  // sizes the outputs
  const long before = g_allocs.load();
  solver.equations(x, A, b);
  EXPECT_EQ(g_allocs.load() - before, 0);
}
