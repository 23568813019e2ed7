// RunView: how `faultline run` shows a run while it goes.
//
//   plain (a pipe, a file, --no-tty): one line per event on stderr, as chaos
//     logs them ("[2026-12-02 17:40:02] Action: reserve-a-concurrency-of-1");
//   live (stderr is a terminal): the same lines, and under them a block
//     redrawn every 100 ms — the phase and the activity running with its
//     time, the checks of the hypothesis during the method and the last
//     one's verdict, the changes the faultline provider has in force, the
//     elapsed time:
//
//       ── Reserved concurrency 1 under load throttles the function · 4.2 s
//       method · action reserve-a-concurrency-of-1 · 0.3 s
//       hypothesis during the method: 7 checks, 1 deviated · last: not met (no-throttles)
//       in force: reserve-a-concurrency-of-1 (reserved concurrency 1)
//
// Thread-safety: the observer's calls come from the runner's threads (the
// method's, background activities', the continuous hypothesis's); one
// mutex guards the state and the stream.
#ifndef FAULTLINE_CLI_RUN_VIEW_H_
#define FAULTLINE_CLI_RUN_VIEW_H_

#include <condition_variable>
#include <map>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "experiment/json.h"
#include "experiment/runner.h"
#include "faultline/clock.h"

namespace faultline::cli {

// "[2026-12-02 17:40:02] text": one log line, as RunView writes them.
void PrintLogLine(std::ostream& out, std::string_view text, Clock* clock);

// What the live block shows.
struct LiveState {
  std::string title;
  TimeNs started = 0;
  std::string phase;          // "before", "method", "after", "rollbacks"
  std::string activity;       // the main thread's activity, "" between two
  std::string activity_type;  // "action", "probe"
  TimeNs activity_started = 0;
  int checks = 0;      // hypothesis checks during the method
  int deviations = 0;  // of which not met
  std::string last_check;
  std::map<std::string, std::string> in_force;  // what -> description
};

// The block's lines for `s` at `now`, each at most `width` columns.
std::vector<std::string> RenderLive(const LiveState& s, TimeNs now, std::size_t width);

// What a faultline provider activity that succeeded leaves in force: sets
// or erases an entry of *in_force (arm/clear on an endpoint, a function's
// concurrency or configuration).
void TrackChange(const experiment::json& activity, std::map<std::string, std::string>* in_force);

class RunView final : public experiment::RunObserver {
 public:
  // `live`: draw the block (stderr is a terminal and --no-tty was not
  // given). The thread that constructs it is the run's main thread.
  RunView(std::ostream& err, bool live, std::string title, Clock* clock);
  ~RunView() override;  // erases the block
  RunView(const RunView&) = delete;
  RunView& operator=(const RunView&) = delete;

  void Phase(std::string_view name) override;
  void ActivityStarted(const experiment::json& activity) override;
  void ActivityEnded(const experiment::json& run) override;
  void HypothesisChecked(std::string_view when, const experiment::json& state) override;
  void Message(std::string_view line) override { Line(line); }

  // One log line, above the block.
  void Line(std::string_view text);
  // Erases the block and stops redrawing it (the verdict comes after).
  void Finish();

 private:
  void Redraw();  // REQUIRES: mu_ held
  void Erase();   // REQUIRES: mu_ held
  void Loop();

  std::ostream& err_;
  const bool live_;
  Clock* clock_;
  const std::thread::id main_;
  std::mutex mu_;
  std::condition_variable cv_;
  LiveState state_;
  std::size_t drawn_ = 0;  // lines of the block on screen
  bool done_ = false;
  std::thread redraw_;
};

}  // namespace faultline::cli

#endif  // FAULTLINE_CLI_RUN_VIEW_H_
