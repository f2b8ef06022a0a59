// lumbosim benchmarks on the default model (docs/performance.md).
//   build/default/bench/bench_lumbosim [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include "lumbosim/algorithm/dynamics.hpp"
#include "lumbosim/algorithm/passive.hpp"
#include "lumbosim/algorithm/path.hpp"
#include "lumbosim/algorithm/posture.hpp"
#include "lumbosim/io/yaml_model.hpp"
#include "lumbosim/io/yaml_postures.hpp"
#include "lumbosim/model/compile.hpp"

using namespace lumbosim;

namespace {
const Model& model() {
  static const Model m = compile(io::load_model_spec(std::string(LUMBOSIM_SOURCE_DIR) + "/models/lumbopelvic.yaml"));
  return m;
}
const PostureSpec& posture(const std::string& name) {
  static const auto all = io::load_postures(std::string(LUMBOSIM_SOURCE_DIR) + "/models/postures.yaml");
  for (const auto& p : all)
    if (p.name == name) return p;
  throw std::runtime_error(name);
}
}  // namespace

static void BM_Rnea(benchmark::State& state) {
  const Model& m = model();
  Data d(m);
  const VecX q = m.default_q(), v = VecX::Constant(m.nv, 0.1), a = VecX::Constant(m.nv, 0.2);
  for (auto _ : state) benchmark::DoNotOptimize(rnea(m, d, q, v, a).data());
}
BENCHMARK(BM_Rnea);

static void BM_Crba(benchmark::State& state) {
  const Model& m = model();
  Data d(m);
  const VecX q = m.default_q();
  for (auto _ : state) benchmark::DoNotOptimize(crba(m, d, q).data());
}
BENCHMARK(BM_Crba);

static void BM_Aba(benchmark::State& state) {
  const Model& m = model();
  Data d(m);
  const VecX q = m.default_q(), v = VecX::Constant(m.nv, 0.1), tau = VecX::Constant(m.nv, 1.0);
  for (auto _ : state) benchmark::DoNotOptimize(aba(m, d, q, v, tau).data());
}
BENCHMARK(BM_Aba);

static void BM_PathsAndPassiveForces(benchmark::State& state) {
  const Model& m = model();
  Data d(m);
  const VecX q = m.default_q();
  for (auto _ : state) benchmark::DoNotOptimize(passive_forces(m, d, q).data());
  state.counters["paths"] = m.npath();
}
BENCHMARK(BM_PathsAndPassiveForces);

// One geodesic wrap over an ellipsoid (3D, not in a symmetry plane).
static void BM_EllipsoidWrap(benchmark::State& state) {
  const Vec3 P(-0.08, 0.012, 0.02), S(0.07, -0.02, -0.011), R(0.03, 0.04, 0.05);
  for (auto _ : state) benchmark::DoNotOptimize(wrap_ellipsoid(P, S, R, 0).length);
}
BENCHMARK(BM_EllipsoidWrap);

// Static optimisation of the full model (all muscles and friction columns, the standing
// posture's equilibrium rows), warm-started as in a sweep over neighbouring cases: the problems
// at the predicted standing postures of seven people of 72 to 78 kg, in turn.
static void BM_StaticOptimisation(benchmark::State& state) {
  std::vector<MatX> As(7);
  std::vector<VecX> bs(7);
  for (int k = 0; k < 7; ++k) {
    const Model m = compile(io::load_model_spec(std::string(LUMBOSIM_SOURCE_DIR) + "/models/lumbopelvic.yaml"),
                            {Override{"mass", 72.0 + k, SourceLoc{"bench", 0, 0}}});
    PostureSolver solver(m, posture("standing"));
    const PostureResult r = solver.solve();
    solver.equations(solver.x_of(r.q), As[static_cast<size_t>(k)], bs[static_cast<size_t>(k)]);
  }
  const MatX& A = As[3];
  StaticOptimizer qp(static_cast<int>(A.rows()), static_cast<int>(A.cols()));
  const VecX w = VecX::Ones(A.cols());
  qp.solve(A, bs[3], w);
  int k = 0;
  double worst_reserve = 0.0;
  for (auto _ : state) {
    const auto c = static_cast<size_t>(k++ % 7);
    benchmark::DoNotOptimize(qp.solve(As[c], bs[c], w));
    worst_reserve = std::max(worst_reserve, qp.reserves().cwiseAbs().maxCoeff());
  }
  state.counters["muscles"] = static_cast<double>(A.cols());
  state.counters["equations"] = static_cast<double>(A.rows());
  state.counters["reserve_max_Nm"] = worst_reserve;
}
BENCHMARK(BM_StaticOptimisation);

// One predicted sitting posture, from the default start (multi-start included).
static void BM_PredictedSittingPosture(benchmark::State& state) {
  const Model& m = model();
  PostureSolver solver(m, posture("sitting_upright"));
  for (auto _ : state) benchmark::DoNotOptimize(solver.solve().q.data());
}
BENCHMARK(BM_PredictedSittingPosture)->Unit(benchmark::kMillisecond);

// Relaxed sitting: no targets, found as a passive equilibrium by Newton (the fast path).
static void BM_PredictedRelaxedSitting(benchmark::State& state) {
  const Model& m = model();
  PostureSolver solver(m, posture("sitting_relaxed"));
  for (auto _ : state) benchmark::DoNotOptimize(solver.solve().q.data());
}
BENCHMARK(BM_PredictedRelaxedSitting)->Unit(benchmark::kMillisecond);

// Standing from scratch, with the spinal stability constraint (7 cutting-plane rounds) and
// without it (plain least effort): the cost of the stability step.
static void BM_PredictedStanding(benchmark::State& state) {
  static const Model plain = compile(io::load_model_spec(std::string(LUMBOSIM_SOURCE_DIR) + "/models/lumbopelvic.yaml"),
                                     {Override{"stability.enabled", 0.0, SourceLoc{"bench", 0, 0}}});
  PostureSolver solver(state.range(0) ? model() : plain, posture("standing"));
  int rounds = 0;
  for (auto _ : state) {
    const PostureResult r = solver.solve();
    rounds = r.stability_iterations;
    benchmark::DoNotOptimize(r.q.data());
  }
  state.counters["stability_rounds"] = rounds;
}
BENCHMARK(BM_PredictedStanding)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

// A sweep step: upright sitting of a person 1 kg heavier, started from the neighbour's posture
// (the warm start a parameter sweep uses).
static void BM_PredictedSittingPostureWarmStart(benchmark::State& state) {
  const Model& m = model();
  const VecX q0 = PostureSolver(m, posture("sitting_upright")).solve().q;
  const Model heavier = compile(io::load_model_spec(std::string(LUMBOSIM_SOURCE_DIR) + "/models/lumbopelvic.yaml"),
                                {Override{"mass", 76.0, SourceLoc{"bench", 0, 0}}});
  PostureSolver solver(heavier, posture("sitting_upright"));
  int iterations = 0;
  for (auto _ : state) {
    const PostureResult r = solver.solve({}, &q0);
    iterations = r.iterations;
    benchmark::DoNotOptimize(r.q.data());
  }
  state.counters["sqp_iterations"] = iterations;
}
BENCHMARK(BM_PredictedSittingPostureWarmStart)->Unit(benchmark::kMillisecond);

// The SQP's linearisation of the equilibrium in the free variables at the upright-sitting
// solution: analytic (algorithm/derivatives.hpp) against forward differences (one evaluation of
// the base point plus one per free variable, recomputing only the moved paths).
static void BM_EquilibriumJacobianAnalytic(benchmark::State& state) {
  const Model& m = model();
  PostureSolver solver(m, posture("sitting_upright"));
  const VecX x = solver.x_of(solver.solve().q);
  MatX A, J;
  VecX b;
  solver.equations(x, A, b);
  const VecX a = VecX::Constant(A.cols(), 0.05);
  for (auto _ : state) {
    solver.analytic_jacobian(a, J);
    benchmark::DoNotOptimize(J.data());
  }
}
BENCHMARK(BM_EquilibriumJacobianAnalytic)->Unit(benchmark::kMicrosecond);
static void BM_EquilibriumJacobianDifferences(benchmark::State& state) {
  const Model& m = model();
  PostureSolver solver(m, posture("sitting_upright"));
  const VecX x = solver.x_of(solver.solve().q);
  MatX A, Am, J(solver.nrows(), solver.nfree());
  VecX b, bm, xp = x;
  solver.equations(x, A, b);
  const VecX a = VecX::Constant(A.cols(), 0.05);
  for (auto _ : state) {
    solver.linearize_at(x, A, b);
    const VecX r0 = A * a - b;
    for (int j = 0; j < solver.nfree(); ++j) {
      xp = x;
      xp[j] += 1e-6;
      solver.equations_moved(xp, j, Am, bm);
      J.col(j) = (Am * a - bm - r0) / 1e-6;
    }
    benchmark::DoNotOptimize(J.data());
  }
}
BENCHMARK(BM_EquilibriumJacobianDifferences)->Unit(benchmark::kMicrosecond);

// Forward dynamics: one simulated second of upright sitting under computed muscle control.
// Implicit: the legs free on their contacts, linearly implicit Euler at 5 ms (Jacobians every 5
// steps). Semi-implicit: its stable 0.2 ms step, the legs held.
static void forward_dynamics_second(benchmark::State& state, Integrator integ) {
  const Model& m = model();
  PostureSolver solver(m, posture("sitting_upright"));
  const PostureResult r = solver.solve();
  ForwardSettings fs;
  fs.integrator = integ;
  if (integ == Integrator::LinearlyImplicitEuler) {
    fs.hold_legs = false;
    fs.dt = 5e-3;
    fs.jacobian_interval = 5;
  }
  fs.duration = 1.0;
  for (auto _ : state) benchmark::DoNotOptimize(solver.simulate(r.q, r.activations, r.activations, fs, &r.q).q.data());
}
static void BM_ForwardDynamicsImplicitSecond(benchmark::State& state) {
  forward_dynamics_second(state, Integrator::LinearlyImplicitEuler);
}
BENCHMARK(BM_ForwardDynamicsImplicitSecond)->Unit(benchmark::kMillisecond);
static void BM_ForwardDynamicsSemiImplicitSecond(benchmark::State& state) {
  forward_dynamics_second(state, Integrator::SemiImplicitEuler);
}
BENCHMARK(BM_ForwardDynamicsSemiImplicitSecond)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
