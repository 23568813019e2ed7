// Microbenchmarks of the fault engine's hot path: Engine::Decide at an
// injection point, with no rules, with rules that do not match, with a rule
// that matches and fires, from one and two threads, and through the C ABI.
//
// Run a release build only (see bench/README.md and docs/performance.md):
//
//   cmake --preset release
//   cmake --build --preset release --target faultline_bench
//   build/release/bench/faultline_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one command line)
//
// The setup is meant to be honest rather than flattering:
// - Rule sets look like a real service's: a mix of literal point names
//   ("svc17.get"), globs ("svc18.*", "dynamodb.table19.*") and tagged rules,
//   half latency and half error, none of which matches the point under test
//   ("redis.get"), except where a benchmark adds a matching rule — and that
//   rule is always the LAST in file order, so an engine that scans rules in
//   order pays for every one of them.
// - The point name is the same on every call, as it is at a real call site
//   (a string literal). The engine memoises per thread which rules can match
//   a point name, so these figures are the steady state of a hot call site;
//   the one-off cost of a new name or a new rule set is BM_Load and
//   BM_PointManyNames.
// - "Matching" means the rule fires (probability 1) and Decide returns a
//   non-empty Plan with its details (rule name, error type and message), so
//   the cost of building the plan is included. Latency is decided, never
//   slept: Decide only decides.
#include <benchmark/benchmark.h>

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "faultline/engine.h"
#include "faultline/faultline.h"
#include "faultline/rules.h"

namespace faultline {
namespace {

constexpr std::string_view kPoint = "redis.get";
constexpr std::uint64_t kSeed = 20251125;

EngineOptions Options() {
  EngineOptions options;
  options.seed = kSeed;
  return options;
}

// Rule i of a service's rule set; never matches kPoint nor "db.query".
Rule FillerRule(int i) {
  Rule r;
  r.name = "rule-" + std::to_string(i);
  switch (i % 4) {
    case 0:
      r.target = "svc" + std::to_string(i) + ".get";
      break;
    case 1:
      r.target = "svc" + std::to_string(i) + ".*";
      break;
    case 2:
      r.target = "http:upstream-" + std::to_string(i);
      r.tags = {{"region", "eu-west-1"}};
      break;
    default:
      r.target = "dynamodb.table" + std::to_string(i) + ".*";
      break;
  }
  if (i % 2 == 0) {
    r.action = Action::kLatency;
    r.latency.ms = 100;
  } else {
    r.action = Action::kError;
  }
  r.probability = 0.5;
  return r;
}

// `filler` non-matching rules, then `last` if it has a name.
RuleSet MakeRules(int filler, const Rule* last = nullptr) {
  RuleSet set;
  set.rules.reserve(static_cast<size_t>(filler) + 1);
  for (int i = 0; i < filler; ++i) set.rules.push_back(FillerRule(i));
  if (last != nullptr) set.rules.push_back(*last);
  return set;
}

// The rule that fires at kPoint: an error, with probability 1.
Rule MatchingErrorRule(std::string target = std::string(kPoint)) {
  Rule r;
  r.name = "redis-down";
  r.target = std::move(target);
  r.action = Action::kError;
  r.error = ErrorSpec{"Function.RedisDown", "connection refused"};
  r.probability = 1.0;
  return r;
}

std::unique_ptr<Engine> MakeEngine(benchmark::State& state, const RuleSet& rules) {
  auto engine = std::make_unique<Engine>(Options());
  if (!rules.rules.empty()) {
    Status s = engine->Load(rules);
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  }
  return engine;
}

// One Decide per iteration; the plan is kept so the compiler cannot drop it.
void DecideLoop(benchmark::State& state, Engine& engine, std::string_view point,
                std::span<const Tag> tags = {}) {
  for (auto _ : state) {
    Plan plan = engine.Decide(point, tags);
    benchmark::DoNotOptimize(plan);
  }
  state.SetItemsProcessed(state.iterations());
}

// No rule loaded: the cost every injection point pays in production.
void BM_PointDisabled(benchmark::State& state) {
  auto engine = MakeEngine(state, RuleSet{});
  DecideLoop(state, *engine, kPoint);
}
BENCHMARK(BM_PointDisabled);

// 100 rules loaded, then the kill switch turned off.
void BM_PointKillSwitch(benchmark::State& state) {
  auto engine = MakeEngine(state, MakeRules(100));
  engine->SetEnabled(false);
  DecideLoop(state, *engine, kPoint);
}
BENCHMARK(BM_PointKillSwitch);

// 100 rules loaded, none matching the point: the cost of a point while an
// experiment targets other dependencies.
void BM_PointArmedNoMatch(benchmark::State& state) {
  auto engine = MakeEngine(state, MakeRules(100));
  DecideLoop(state, *engine, kPoint);
}
BENCHMARK(BM_PointArmedNoMatch);

// N rules, the last (in file order) a literal "redis.get" error rule with
// probability 1: every call returns an error plan.
void BM_PointMatch(benchmark::State& state) {
  Rule last = MatchingErrorRule();
  auto engine = MakeEngine(state, MakeRules(static_cast<int>(state.range(0)) - 1, &last));
  DecideLoop(state, *engine, kPoint);
}
BENCHMARK(BM_PointMatch)->Arg(1)->Arg(100)->Arg(10000);

// As BM_PointMatch/100 with probability 0: the rule matches and is counted
// as skipped, so no plan is built. The difference to BM_PointMatch/100 is
// the cost of building a Plan.
void BM_PointMatchNotFired(benchmark::State& state) {
  Rule last = MatchingErrorRule();
  last.probability = 0;
  auto engine = MakeEngine(state, MakeRules(99, &last));
  DecideLoop(state, *engine, kPoint);
}
BENCHMARK(BM_PointMatchNotFired);

// As BM_PointMatch/100 with a latency rule (100 ms +- 20 ms, decided only).
void BM_PointMatchLatency(benchmark::State& state) {
  Rule last = MatchingErrorRule();
  last.action = Action::kLatency;
  last.latency.ms = 100;
  last.latency.jitter_ms = 20;
  auto engine = MakeEngine(state, MakeRules(99, &last));
  DecideLoop(state, *engine, kPoint);
}
BENCHMARK(BM_PointMatchLatency);

// As BM_PointMatch/100 with a glob target, "redis.*".
void BM_PointMatchGlob(benchmark::State& state) {
  Rule last = MatchingErrorRule("redis.*");
  auto engine = MakeEngine(state, MakeRules(99, &last));
  DecideLoop(state, *engine, kPoint);
}
BENCHMARK(BM_PointMatchGlob);

// As BM_PointMatch/100 with two tags on the rule and three on the call.
void BM_PointMatchTags(benchmark::State& state) {
  Rule last = MatchingErrorRule("db.query");
  last.tags = {{"db", "users"}, {"region", "eu-west-1"}};
  auto engine = MakeEngine(state, MakeRules(99, &last));
  const Tag tags[] = {{"region", "eu-west-1"}, {"table", "accounts"}, {"db", "users"}};
  DecideLoop(state, *engine, "db.query", tags);
}
BENCHMARK(BM_PointMatchTags);

// 1024 distinct point names in turn, 100 rules, none matching: how the
// per-thread memo of point names holds up at a service with many call sites.
void BM_PointManyNames(benchmark::State& state) {
  auto engine = MakeEngine(state, MakeRules(100));
  std::vector<std::string> names;
  names.reserve(1024);
  for (int i = 0; i < 1024; ++i) names.push_back("dep" + std::to_string(i) + ".call");
  size_t i = 0;
  for (auto _ : state) {
    Plan plan = engine->Decide(names[i++ & 1023]);
    benchmark::DoNotOptimize(plan);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PointManyNames);

// One engine shared by the threads; built once (a function-local static is
// initialised thread-safely), kept for the process's life.
Engine& SharedHalfEngine() {
  static Engine* engine = [] {
    Rule last = MatchingErrorRule();
    last.probability = 0.5;  // no every / skip / limit: no shared counter
    auto* e = new Engine(Options());
    Status s = e->Load(MakeRules(99, &last));
    if (!s.ok()) e->Clear();  // reported below as a plan that never fires
    return e;
  }();
  return *engine;
}

// Each thread decides on the last of 100 rules, which fires with probability
// 0.5. With UseRealTime, "Time" is wall time per decision over all threads:
// perfect scaling halves it from threads:1 to threads:2; items_per_second is
// the total throughput.
void BM_PointMatchTwoThreads(benchmark::State& state) {
  Engine& engine = SharedHalfEngine();
  if (engine.Rules().rules.empty()) state.SkipWithError("the rules did not load");
  DecideLoop(state, engine, kPoint);
}
BENCHMARK(BM_PointMatchTwoThreads)->Threads(1)->Threads(2)->UseRealTime();

// Engine::Load of N rules (validate, compile, publish), the cost of a rule
// change; the first Decide after it also refreshes the thread's cache.
void BM_Load(benchmark::State& state) {
  RuleSet rules = MakeRules(static_cast<int>(state.range(0)));
  Engine engine(Options());
  for (auto _ : state) {
    Status s = engine.Load(rules);
    benchmark::DoNotOptimize(s);
    Plan plan = engine.Decide(kPoint);
    benchmark::DoNotOptimize(plan);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Load)->Arg(100)->Arg(10000)->Unit(benchmark::kMicrosecond);

// The C ABI: faultline_engine_decide into a reused faultline_plan.
void CApiLoop(benchmark::State& state, bool with_rules) {
  faultline_engine_options opts{};
  opts.seed = kSeed;
  char err[256];
  faultline_engine* engine = faultline_engine_new(&opts, err, sizeof err);
  faultline_plan* plan = faultline_plan_new();
  if (with_rules) {
    Rule last = MatchingErrorRule();
    std::string yaml = ToYaml(MakeRules(99, &last));
    if (faultline_engine_load_rules(engine, yaml.data(), yaml.size(), "bench",
                                    FAULTLINE_FORMAT_YAML, err, sizeof err) != FAULTLINE_OK) {
      state.SkipWithError(err);
    }
  }
  for (auto _ : state) {
    int rc =
        faultline_engine_decide(engine, "redis.get", nullptr, nullptr, 0, plan, err, sizeof err);
    benchmark::DoNotOptimize(rc);
    benchmark::DoNotOptimize(plan);
  }
  state.SetItemsProcessed(state.iterations());
  faultline_plan_free(plan);
  faultline_engine_free(engine);
}

void BM_CApiDecideDisabled(benchmark::State& state) { CApiLoop(state, false); }
BENCHMARK(BM_CApiDecideDisabled);

void BM_CApiDecideMatch(benchmark::State& state) { CApiLoop(state, true); }
BENCHMARK(BM_CApiDecideMatch);

}  // namespace
}  // namespace faultline

BENCHMARK_MAIN();
