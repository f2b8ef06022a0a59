// The hot algorithms must not touch the heap once Data exists (cf. Drake's LimitMalloc).
// Counting is by malloc interposition (glibc), so Eigen's allocations count too.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>

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
// Every heap allocation goes through malloc: operator new and Eigen's aligned allocator alike
// (glibc's malloc is 16-byte aligned, so Eigen calls it directly). The test executable
// interposes malloc, calloc and realloc and counts them, forwarding to glibc.
#if defined(__SANITIZE_ADDRESS__)
#define LUMBOSIM_COUNTS_ALLOCATIONS 0  // AddressSanitizer owns malloc: no interposition
#else
#define LUMBOSIM_COUNTS_ALLOCATIONS 1
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* malloc(std::size_t n) {
  ++g_allocs;
  return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t k) {
  ++g_allocs;
  return __libc_calloc(n, k);
}
void* realloc(void* p, std::size_t n) {
  ++g_allocs;
  return __libc_realloc(p, n);
}
}
#endif

using namespace lumbosim;

namespace {
const Model& default_model() {
  static const Model m = compile(io::load_model_spec(std::string(LUMBOSIM_SOURCE_DIR) + "/models/lumbopelvic.yaml"));
  return m;
}
const PostureSpec& default_posture(const std::string& name) {
  static const auto all = io::load_postures(std::string(LUMBOSIM_SOURCE_DIR) + "/models/postures.yaml");
  for (const auto& p : all)
    if (p.name == name) return p;
  throw std::runtime_error("no posture " + name);
}
}  // namespace

TEST(NoAlloc, DynamicsAndKinematicsDoNotAllocate) {
  if (!LUMBOSIM_COUNTS_ALLOCATIONS) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
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
  if (!LUMBOSIM_COUNTS_ALLOCATIONS) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
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
  if (!LUMBOSIM_COUNTS_ALLOCATIONS) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  // The residual the posture solver evaluates in its inner loop: gravity, every path and passive
  // tissue, contact, and the muscle matrix, on the full default model in sitting.
  const Model& m = default_model();
  PostureSolver solver(m, default_posture("sitting_relaxed"));
  VecX x = VecX::Zero(solver.nfree());
  x[0] = 0.5;  // pelvis_ty near the seat
  MatX A;
  VecX b;
  solver.equations(x, A, b);  // sizes the outputs
  const long before = g_allocs.load();
  solver.equations(x, A, b);
  EXPECT_EQ(g_allocs.load() - before, 0);
}

TEST(NoAlloc, SqpIterationsDoNotAllocate) {
  if (!LUMBOSIM_COUNTS_ALLOCATIONS) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  // A predicted posture with targets: the heap traffic of a solve does not grow with the number
  // of SQP iterations (workspaces are sized when the solver is built; only the result is new).
  const Model& m = default_model();
  PostureSolver solver(m, default_posture("sitting_upright"));
  const VecX q0 = m.default_q();
  PostureSettings few, many;
  few.max_iterations = 3;
  many.max_iterations = 9;
  (void)solver.solve(few, &q0);  // warm-up: lazily sized Eigen internals
  long before = g_allocs.load();
  const PostureResult r2 = solver.solve(few, &q0);
  const long a2 = g_allocs.load() - before;
  before = g_allocs.load();
  const PostureResult r12 = solver.solve(many, &q0);
  const long a12 = g_allocs.load() - before;
  // both stop at their iteration limit, so they take the same path after the loop
  ASSERT_EQ(r2.status, SolveStatus::MaxIterations);
  ASSERT_EQ(r12.status, SolveStatus::MaxIterations);
  ASSERT_EQ(r12.iterations - r2.iterations, 6);
  EXPECT_EQ(a12, a2) << "allocations grew with " << r12.iterations - r2.iterations << " more iterations";
}

/// Simulates 0.01 s and 0.04 s with the same settings (after a warm-up) and checks that the
/// heap traffic does not grow with the number of steps.
static void expect_steps_do_not_allocate(PostureSolver& solver, const VecX& q0, const VecX& a0, ForwardSettings fs,
                                  const std::string& what) {
  ForwardSettings longer = fs;
  fs.duration = 0.01;
  longer.duration = 0.04;
  (void)solver.simulate(q0, a0, a0, fs, &q0);  // warm-up
  long before = g_allocs.load();
  const ForwardResult f1 = solver.simulate(q0, a0, a0, fs, &q0);
  const long n1 = g_allocs.load() - before;
  before = g_allocs.load();
  const ForwardResult f4 = solver.simulate(q0, a0, a0, longer, &q0);
  const long n4 = g_allocs.load() - before;
  ASSERT_GT(f4.steps, 3 * f1.steps) << what;
  EXPECT_EQ(n4, n1) << what << ": allocations grew with " << f4.steps - f1.steps << " more steps";
}

TEST(NoAlloc, ForwardDynamicsStepsDoNotAllocate) {
  // Forward simulation with computed muscle control: the heap traffic does not grow with the
  // number of integration steps.
  if (!LUMBOSIM_COUNTS_ALLOCATIONS) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  const Model& m = default_model();
  PostureSolver solver(m, default_posture("sitting_upright"));
  const VecX q0 = m.default_q();
  const VecX a0 = VecX::Constant(m.nmuscle(), 0.02);
  for (const Integrator integ : {Integrator::SemiImplicitEuler, Integrator::LinearlyImplicitEuler}) {
    ForwardSettings fs;
    fs.integrator = integ;
    fs.hold_legs = integ == Integrator::SemiImplicitEuler;
    fs.plan_contacts = integ == Integrator::LinearlyImplicitEuler;  // both control paths
    expect_steps_do_not_allocate(solver, q0, a0, fs, "integrator " + std::to_string(static_cast<int>(integ)));
  }
  // planted feet and ischia (the weld's rows, its planned forces and a scheduled release), both
  // integrators, the legs free
  PostureSpec free_legs = default_posture("sitting_upright");
  free_legs.thigh_inclination_deg.reset();
  free_legs.targets.clear();
  free_legs.free = {"pelvis_tx", "pelvis_ty", "pelvis_tilt", "hip_flexion", "knee_flexion", "L5_S1_flexion"};
  PostureSolver planted(m, free_legs);
  const VecX qs = PostureSolver(m, default_posture("sitting_upright")).solve().q;
  for (const Integrator integ : {Integrator::SemiImplicitEuler, Integrator::LinearlyImplicitEuler}) {
    ForwardSettings fs;
    fs.integrator = integ;
    fs.hold_legs = false;
    fs.plant_feet = true;
    fs.plant_surfaces = {"floor", "seat"};
    fs.plant_releases = {{"seat", 0.005}};
    expect_steps_do_not_allocate(planted, qs, a0, fs, "planted, integrator " + std::to_string(static_cast<int>(integ)));
  }
}
