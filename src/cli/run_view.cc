#include "cli/run_view.h"

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <pthread.h>

#include <cctype>
#include <chrono>
#include <csignal>

#include "experiment/journal.h"

namespace faultline::cli {
namespace {

namespace ex = faultline::experiment;

std::string Seconds(TimeNs d) { return fmt::format("{:.1f} s", static_cast<double>(d) / 1e9); }

// At most `width` columns (code points: UTF-8 continuation bytes take
// none), cut on a code point with "...".
std::string Clip(std::string s, std::size_t width) {
  auto starts = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; };
  std::size_t columns = 0;
  std::size_t cut = std::string::npos;  // where the first width - 3 columns end
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (!starts(s[i])) continue;
    if (columns == width - 3) cut = i;
    ++columns;
  }
  if (columns > width && width > 3 && cut != std::string::npos) s = s.substr(0, cut) + "...";
  return s;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string Arg(const ex::json& args, const char* key) {
  if (!args.is_object() || !args.contains(key)) return "";
  const ex::json& v = args[key];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace

void PrintLogLine(std::ostream& out, std::string_view text, Clock* clock) {
  const std::string now = ex::IsoTime(clock->Now());
  fmt::print(out, "[{} {}] {}\n", now.substr(0, 10), now.substr(11, 8), text);
}

std::vector<std::string> RenderLive(const LiveState& s, TimeNs now, std::size_t width) {
  std::vector<std::string> lines;
  lines.push_back(fmt::format("── {} · {}", s.title, Seconds(now - s.started)));
  std::string doing = s.phase.empty() ? "starting" : s.phase;
  if (!s.activity.empty()) {
    doing += fmt::format(" · {} {} · {}", s.activity_type, s.activity,
                         Seconds(now - s.activity_started));
  }
  lines.push_back(doing);
  if (s.checks > 0) {
    lines.push_back(fmt::format("hypothesis during the method: {} check{}, {} deviated · last: {}",
                                s.checks, s.checks == 1 ? "" : "s", s.deviations, s.last_check));
  }
  if (!s.in_force.empty()) {
    std::string what;
    for (const auto& [key, description] : s.in_force)
      what += (what.empty() ? "" : "; ") + description;
    lines.push_back("in force: " + what);
  }
  for (std::string& l : lines) l = Clip(std::move(l), width);
  return lines;
}

void TrackChange(const ex::json& activity, std::map<std::string, std::string>* in_force) {
  const ex::json p = activity.value("provider", ex::json::object());
  if (!p.is_object() || p.value("type", "") != "faultline") return;
  const std::string func = p.value("func", "");
  const ex::json args = p.value("arguments", ex::json::object());
  // Keyed by the arguments as written (the journal's activity is not
  // substituted): an arm and the clear of the same endpoint match.
  const std::string endpoint = "rules " + Arg(args, "endpoint");
  const std::string function = Arg(args, "function");
  const std::string name = activity.value("name", func);
  if (func == "arm") (*in_force)[endpoint] = name + " (faults armed)";
  if (func == "clear") in_force->erase(endpoint);
  if (func == "put-function-concurrency") {
    (*in_force)["concurrency " + function] =
        fmt::format("{} (reserved concurrency {})", name, Arg(args, "reserved"));
  }
  if (func == "delete-function-concurrency") in_force->erase("concurrency " + function);
  if (func == "update-function-configuration") {
    (*in_force)["configuration " + function] = name + " (configuration changed)";
  }
}

RunView::RunView(std::ostream& err, bool live, std::string title, Clock* clock)
    : err_(err), live_(live), clock_(clock), main_(std::this_thread::get_id()) {
  state_.title = std::move(title);
  state_.started = clock_->Now();
  if (live_) redraw_ = std::thread([this] { Loop(); });
}

RunView::~RunView() { Finish(); }

void RunView::Finish() {
  {
    std::lock_guard lock(mu_);
    if (done_) return;
    done_ = true;
    Erase();
    err_.flush();
  }
  cv_.notify_all();
  if (redraw_.joinable()) redraw_.join();
}

void RunView::Loop() {
  // The signals that interrupt a run are read by InterruptWatch's thread; a
  // thread that left them unblocked would have them delivered to it, and
  // their default action ends the process without rollbacks.
  sigset_t ending;
  sigemptyset(&ending);
  for (int sig : {SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGHUP, SIGQUIT}) sigaddset(&ending, sig);
  pthread_sigmask(SIG_BLOCK, &ending, nullptr);
  std::unique_lock lock(mu_);
  while (!done_) {
    Erase();
    Redraw();
    err_.flush();
    cv_.wait_for(lock, std::chrono::milliseconds(100));
  }
}

void RunView::Erase() {
  // Up to the block's first line, then clear to the end of the screen.
  if (drawn_ > 0) fmt::print(err_, "\r\x1b[{}A\x1b[J", drawn_);
  drawn_ = 0;
}

void RunView::Redraw() {
  if (!live_ || done_) return;
  for (const std::string& l : RenderLive(state_, clock_->Now(), 120)) {
    fmt::print(err_, "\x1b[2m{}\x1b[0m\n", l);
    ++drawn_;
  }
}

void RunView::Line(std::string_view text) {
  std::lock_guard lock(mu_);
  Erase();
  PrintLogLine(err_, text, clock_);
  Redraw();
  err_.flush();
}

void RunView::Phase(std::string_view name) {
  {
    std::lock_guard lock(mu_);
    state_.phase = std::string(name);
  }
  if (name == "before") Line("Steady state hypothesis (before the method)");
  if (name == "method") Line("Playing the experiment's method now...");
  if (name == "after") Line("Steady state hypothesis (after the method)");
  if (name == "rollbacks") Line("Let's rollback...");
}

void RunView::ActivityStarted(const ex::json& a) {
  const std::string type = a.value("type", "activity");
  if (std::this_thread::get_id() == main_) {
    std::lock_guard lock(mu_);
    state_.activity = a.value("name", "");
    state_.activity_type = type;
    state_.activity_started = clock_->Now();
  }
  Line(fmt::format("{}{}: {}{}", static_cast<char>(std::toupper(type.empty() ? 'a' : type[0])),
                   type.empty() ? "ctivity" : type.substr(1), a.value("name", ""),
                   a.value("background", false) == true ? " [in background]" : ""));
}

void RunView::ActivityEnded(const ex::json& run) {
  {
    std::lock_guard lock(mu_);
    if (std::this_thread::get_id() == main_) state_.activity.clear();
    if (run.value("status", "") == "succeeded") TrackChange(run["activity"], &state_.in_force);
  }
  if (run.value("status", "") == "failed") {
    const ex::json& e = run["exception"];
    Line(fmt::format("  => failed: {}", e.empty() ? "" : Trim(e.back().get<std::string>())));
  }
}

void RunView::HypothesisChecked(std::string_view when, const ex::json& state) {
  if (!state.is_object()) return;
  const bool met = state.value("steady_state_met", false) == true;
  const ex::json& probes = state["probes"];
  const std::string name =
      probes.empty() ? "" : probes.back()["activity"].value("name", std::string());
  if (when == "during") {
    std::lock_guard lock(mu_);
    ++state_.checks;
    if (!met) ++state_.deviations;
    state_.last_check = met ? "met" : fmt::format("not met ({})", name);
  }
  if (met) {
    Line(when == "during" ? "Steady state hypothesis is met (during the method)"
                          : "Steady state hypothesis is met!");
  } else {
    Line(fmt::format("Steady state probe '{}' is not in the given tolerance{}", name,
                     when == "during" ? " (during the method)" : ""));
  }
}

}  // namespace faultline::cli
