// Stopping: gracefully (Shutdown: no new work, the running work finishes
// within a grace period, what cannot is answered or reported), or at once
// (StopAll: every invocation in flight fails, every environment stops).
#include <fmt/format.h>

#include "lambda/platform.h"

namespace faultline::lambda {

namespace asio = http::asio;

// Invocations running, or Event invocations that may run now.
bool Platform::WorkLeft() const {
  const auto now = Steady::now();
  for (const auto& [name, fn] : functions) {
    if (fn->Busy() > 0) return true;
    for (const QueuedEvent& ev : fn->event_queue) {
      if (ev.not_before <= now && !ev.waiting_for_capacity) return true;
    }
  }
  return false;
}

Task<void> Platform::Shutdown(std::chrono::milliseconds grace,
                              std::function<void(Emulator::ShutdownReport)> done) {
  if (stopped) co_return;
  api->StopAccepting();
  for (auto& [name, fn] : functions) {
    for (auto& [q, url] : fn->urls) url->server->StopAccepting();
  }
  const auto deadline = Steady::now() + grace;
  asio::steady_timer wait(io);
  while (WorkLeft() && Steady::now() < deadline && !stopped) {
    wait.expires_after(
        std::min<Steady::duration>(std::chrono::milliseconds(20), deadline - Steady::now()));
    boost::system::error_code ec;
    co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  Emulator::ShutdownReport report;
  cutting_off = true;
  // Out of time: what still runs is answered now, in AWS's shape, and its
  // caller given a moment to read the answer before connections close.
  for (auto& [name, fn] : functions) {
    report.cut_off += fn->Busy();
    for (auto& env : std::vector(fn->envs)) CutOff(env);
  }
  if (report.cut_off > 0) {
    wait.expires_after(std::chrono::milliseconds(100));
    boost::system::error_code ec;
    co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  for (auto& [name, fn] : functions) {
    std::vector<std::string> ids;
    for (const QueuedEvent& ev : fn->event_queue) {
      report.events_not_run.emplace_back(name, ev.request_id);
      ids.push_back(ev.request_id);
    }
    if (ids.empty()) continue;
    Log(*fn,
        fmt::format("shutdown: {} accepted Event invocation{} not run: {}", ids.size(),
                    ids.size() == 1 ? " was" : "s were", fmt::join(ids, ", ")),
        nullptr);
  }
  StopAll();
  if (done) done(std::move(report));
}

// Fails env's invocation, if it still runs: the emulator is going away.
void Platform::CutOff(const std::shared_ptr<Environment>& env) {
  if (!env->current || env->current->outcome != Invocation::Outcome::kPending) return;
  env->current->body =
      PlatformError("Runtime.ExitError",
                    "RequestId: " + env->current->id + " Error: the emulator is shutting down");
  env->current->error_type = "Runtime.ExitError";
  Finish(env, Invocation::Outcome::kExited);
}

void Platform::StopAll() {
  if (stopped) return;
  stopped = true;
  tick.cancel();
  api->Stop();
  for (auto& [name, fn] : functions) {
    for (auto& [q, url] : fn->urls) url->server->Stop();
    for (auto& env : fn->envs) {
      CutOff(env);
      // SHUTDOWN to the extensions, with a shorter budget; KillEnvironment
      // reaps every process (no zombie is left) when it ends.
      StopEnvironment(env, "shutdown", kStopBudget);
      if (env->draining && env->shutdown_timer &&
          env->shutdown_timer->expiry() > Steady::now() + kStopBudget) {
        ArmShutdownTimer(env, Steady::now() + kStopBudget);
      }
      if (env->killed) {
        if (env->process) env->process->Wait();
        for (Process& p : env->extension_processes) p.Wait();
      }
    }
    std::erase_if(fn->envs, [](const auto& env) { return env->killed && env->open_pipes == 0; });
  }
}

}  // namespace faultline::lambda
