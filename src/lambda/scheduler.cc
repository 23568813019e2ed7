// The scheduler: admission (concurrency.h decides), then a warm idle
// environment or a cold start; an invocation's run until its outcome (the
// runtime's answer, a timeout, a crash) and its completion (END and REPORT,
// the environment free again).
#include <fmt/format.h>

#include "lambda/concurrency.h"
#include "lambda/ids.h"
#include "lambda/platform.h"

namespace faultline::lambda {

namespace asio = http::asio;

namespace {

ConcurrencyView ViewOf(const std::map<std::string, std::unique_ptr<Function>>& functions,
                       const Function& fn, int account_limit) {
  ConcurrencyView view;
  view.busy = fn.Busy();
  view.reserved = fn.config.reserved_concurrency;
  view.account_limit = account_limit;
  for (const auto& [name, other] : functions) {
    if (other->config.reserved_concurrency) {
      view.reserved_total += *other->config.reserved_concurrency;
    } else {
      view.unreserved_busy += other->Busy();
    }
  }
  return view;
}

}  // namespace

std::variant<std::shared_ptr<Environment>, Platform::Throttle, Status> Platform::Acquire(
    Function& fn, const std::string& version) {
  const Admission admission = Admit(ViewOf(functions, fn, options.config.account_concurrency));
  if (admission != Admission::kAdmit) return Throttle{std::string(ThrottleReason(admission))};
  for (auto& env : fn.envs) {
    if (env->state == Environment::State::kIdle && !env->current && env->version == version &&
        (version != kLatest || env->generation == fn.generation)) {
      return env;
    }
  }
  auto env = StartEnvironment(fn, version);
  if (!env.ok()) return env.status();
  return std::move(*env);
}

// Runs `inv` on `env` until it has an outcome or its time is up.
// Makes `inv` env's invocation at once, so that the next Acquire sees env
// busy: Run (which may start later, when co_spawn'ed) only waits.
void Platform::Assign(Function& fn, const std::shared_ptr<Environment>& env,
                      std::shared_ptr<Invocation> inv) {
  ++fn.metrics.invocations;
  ++fn.metrics.concurrent;
  fn.metrics.max_concurrent = std::max(fn.metrics.max_concurrent, fn.metrics.concurrent);
  env->current = std::move(inv);
  env->state = env->init_ms ? Environment::State::kBusy : Environment::State::kStarting;
  for (http::Event* w : env->next_waiters) w->Poke();
}

// REQUIRES: Assign(fn, env, inv) was called.
Task<void> Platform::Run(Function& fn, std::shared_ptr<Environment> env,
                         std::shared_ptr<Invocation> inv, Flush flush) {
  const auto init_deadline = Steady::now() + options.init_timeout;
  const std::chrono::milliseconds timeout = env->config->timeout;
  while (inv->outcome == Invocation::Outcome::kPending) {
    // Streamed bytes first. No suspension between this check and the wait
    // below, so a Poke for new bytes cannot fall between them.
    if (flush && !inv->pending.empty()) {
      co_await flush();
      continue;
    }
    const auto now = Steady::now();
    const auto deadline = inv->delivered ? inv->deadline : init_deadline;
    if (now >= deadline) break;
    // Delivery does not wake this coroutine (one wake-up less per
    // invocation): until then it looks again every `timeout`, as the
    // deadline of a delivered invocation (delivery + timeout) is no earlier
    // than that. UpdateConfiguration pokes it when the timeout changes.
    co_await inv->done.Wait(inv->delivered ? deadline
                                           : std::min(deadline, now + env->config->timeout));
  }
  if (inv->outcome != Invocation::Outcome::kPending || env->current != inv) co_return;
  FlushReport(*env);
  // Out of time: stop the environment, answer as AWS does.
  const std::chrono::milliseconds allowed =
      inv->delivered ? timeout
                     : std::chrono::duration_cast<std::chrono::milliseconds>(options.init_timeout);
  const std::string message = fmt::format("RequestId: {} Error: Task timed out after {} seconds",
                                          inv->id, Seconds(allowed));
  inv->body = PlatformError("Sandbox.Timedout", message);
  inv->error_type = "Sandbox.Timedout";
  if (!inv->delivered) {
    Log(fn,
        fmt::format("INIT_REPORT Init Duration: {:.2f} ms\tPhase: init\tStatus: timeout",
                    MsSince(env->started_at)),
        inv.get());
  }
  Log(fn, fmt::format("{} {} Task timed out after {} seconds", IsoNow(), inv->id, Seconds(allowed)),
      inv.get());
  Finish(env, Invocation::Outcome::kTimeout);
  StopEnvironment(env, "timeout");
}

// Records the outcome of env's current invocation and wakes the caller.
// The invocation is complete (END, REPORT, the environment free again) at
// once, or, as on AWS, once every extension has called event/next after its
// INVOKE event (see MaybeComplete).
void Platform::Finish(const std::shared_ptr<Environment>& env, Invocation::Outcome outcome,
                      bool defer_report) {
  std::shared_ptr<Invocation> inv = env->current;
  if (!inv || inv->outcome != Invocation::Outcome::kPending) return;
  DrainPipes(*env);  // every line written before the answer, before END
  inv->outcome = outcome;
  if (outcome == Invocation::Outcome::kTimeout) inv->report_status = "timeout";
  if (outcome == Invocation::Outcome::kExited) inv->report_status = "error";
  env->answered.push_back(inv->id);
  if (env->answered.size() > kAnsweredIds) env->answered.pop_front();
  Function& fn = *env->fn;
  inv->duration_ms = inv->delivered ? MsSince(inv->delivered_at) : 0;
  if (outcome != Invocation::Outcome::kSuccess) ++fn.metrics.errors;
  if (outcome == Invocation::Outcome::kTimeout) ++fn.metrics.timeouts;
  fn.metrics.AddDuration(inv->duration_ms);
  const bool answered =
      outcome == Invocation::Outcome::kSuccess || outcome == Invocation::Outcome::kFunctionError;
  if (answered && env->Alive() && env->ExtensionsBusy()) {
    inv->done.Set();  // the caller has its answer; the environment is not free yet
    return;
  }
  Complete(env, defer_report);
}

void Platform::MaybeComplete(const std::shared_ptr<Environment>& env) {
  if (env->current && env->current->outcome != Invocation::Outcome::kPending &&
      !env->ExtensionsBusy()) {
    Complete(env);
  }
}

// Writes END and REPORT for env's finished invocation, wakes the caller (if
// not yet) and frees the environment. With `defer_report` (a runtime's
// answer, on the hot path), END and REPORT wait in env->unreported until
// the caller has its answer and the runtime its 202 (HandleRuntime posts
// FlushReport), unless the caller asked for the log tail, which must hold
// them. Nothing else about the environment is logged before they are.
void Platform::Complete(const std::shared_ptr<Environment>& env, bool defer_report) {
  FlushReport(*env);
  std::shared_ptr<Invocation> inv = env->current;
  Environment::Report report{inv, env->config->memory_mb, std::nullopt};
  if (env->report_init && env->init_ms) {
    report.init_ms = env->init_ms;
    env->report_init = false;
  }
  if (defer_report && !inv->tail) {
    env->unreported = std::move(report);
  } else {
    WriteReport(*env, report);
  }
  inv->done.Set();
  Release(env);
}

}  // namespace faultline::lambda
