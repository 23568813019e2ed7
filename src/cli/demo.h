// `faultline demo`: the seed scenarios of DESIGN.md, run as experiments.
//
// Until the local Lambda emulator lands, each scenario runs in-process: its
// functions, and the Redis, session cache and DynamoDB tables they call, are
// small C++ stand-ins in demo.cc; the faults are real rules (the files under
// examples/rules/, built in) decided by the real Engine and carried out by
// faultline::Inject and Faulty. Each scenario measures a steady state,
// injects, measures again, and prints a verdict line:
//
//   PASS cache-fallback: naive version failed 10/10 invocations ...
//
// Thread-safety: a scenario runs on the calling thread; run one at a time.
#ifndef FAULTLINE_CLI_DEMO_H_
#define FAULTLINE_CLI_DEMO_H_

#include <cstdint>
#include <ostream>
#include <span>
#include <string_view>

#include "faultline/clock.h"

namespace faultline::cli {

struct DemoOptions {
  // Time for injected latency and for measuring it. Not owned.
  // nullptr: SystemClock::Default() (the demo really waits).
  Clock* clock = nullptr;
  // Seed of every engine's random decisions. REQUIRES: chosen by the caller
  // (RunDemo picks one when the user gave none, and prints it).
  std::uint64_t seed = 1;
  // Print each injection's JSON log line as it happens.
  bool verbose = false;
};

class Stage;

struct Scenario {
  std::string_view name;   // "cache-fallback"
  int design_number;       // its number among DESIGN.md's seed scenarios
  std::string_view title;  // one line, for --list
  // Runs the experiment, printing through `stage`; returns whether every
  // verdict matched the expectation.
  bool (*run)(Stage& stage);
};

// Every scenario, in the order `faultline demo` runs them.
std::span<const Scenario> Scenarios();

// Runs `scenario`, printing what it injected, what happened and a
// "PASS <name>: ..." or "FAIL <name>: ..." line on `out`. Returns whether the
// verdict matched the expectation.
bool RunScenario(const Scenario& scenario, const DemoOptions& options, std::ostream& out);

}  // namespace faultline::cli

#endif  // FAULTLINE_CLI_DEMO_H_
