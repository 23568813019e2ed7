// Async delivery: Event invocations, accepted at once (202) and queued; each
// runs when the function has capacity. A throttled event waits (backing off,
// and tried again as soon as capacity frees), a failed one is retried as
// AWS retries it (async_policy.h decides), and in the end the outcome goes
// to the destination configured for it (another function, or a JSON-lines
// sink file) and, for a failure, to the dead-letter target too.
//
//   accepted --> queue --Acquire--> Run --> success --> OnSuccess
//                  ^  |throttled      |failed
//                  +--+ backoff       +--> retry in 1, 2 min (scaled) --> queue
//                                     +--> given up --> OnFailure, dead-letter target
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lambda/ids.h"
#include "lambda/platform.h"

namespace faultline::lambda {

namespace asio = http::asio;

namespace {

std::chrono::milliseconds Age(const QueuedEvent& ev) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - ev.accepted_at);
}

// Appends `line` to a sink file: created 0600 (its directory 0700), never
// through a symbolic link.
Status AppendLine(const std::string& path, const std::string& line) {
  // Each missing directory on the way, 0700.
  for (std::size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    const std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Status::IoError(
          fmt::format("{}: cannot create the directory: {}", dir, std::strerror(errno)));
    }
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError(fmt::format("{}: {}", path, std::strerror(errno)));
  const std::string text = line + "\n";
  const ssize_t n = ::write(fd, text.data(), text.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) {
    return Status::IoError(fmt::format("{}: short write", path));
  }
  return Status::Ok();
}

}  // namespace

const EventInvokeConfig* Platform::EventConfigOf(const Function& fn, const QueuedEvent& ev) const {
  auto it =
      fn.event_invoke_configs.find(ev.qualifier.empty() ? std::string(kLatest) : ev.qualifier);
  return it == fn.event_invoke_configs.end() ? nullptr : &it->second;
}

void Platform::Enqueue(Function& fn, QueuedEvent ev) {
  ++fn.metrics.async_received;
  ev.accepted_at = ev.not_before = Steady::now();
  fn.event_queue.push_back(std::move(ev));
  DrainEvents(fn);
}

void Platform::CapacityFreed(Function& fn) {
  for (QueuedEvent& ev : fn.event_queue) {
    if (ev.waiting_for_capacity) ev.not_before = Steady::now();
  }
  DrainEvents(fn);
}

// Starts every queued event that may run now and that the function has
// capacity for; the others wait for their time, or for capacity.
void Platform::DrainEvents(Function& fn) {
  for (auto it = fn.event_queue.begin(); it != fn.event_queue.end() && !stopped && !cutting_off;) {
    const auto now = Steady::now();
    if (it->not_before > now) {
      ++it;
      continue;
    }
    const RetryPolicy policy = PolicyOf(EventConfigOf(fn, *it), options.config.time_scale);
    if (Age(*it) >
        std::chrono::duration_cast<std::chrono::milliseconds>(policy.max_age * policy.time_scale)) {
      GiveUp(fn, *it, Condition::kEventAgeExceeded, nullptr);
      it = fn.event_queue.erase(it);
      continue;
    }
    auto acquired = Acquire(fn, it->version);
    if (std::holds_alternative<Throttle>(acquired)) {
      ++fn.metrics.throttles;
      const Decision d = AfterThrottle(++it->throttles, Age(*it), policy);
      if (d.condition == Condition::kRetry) {
        it->waiting_for_capacity = true;
        it->not_before = now + d.delay;
        ++it;
      } else {
        GiveUp(fn, *it, d.condition, nullptr);
        it = fn.event_queue.erase(it);
      }
      continue;
    }
    QueuedEvent ev = std::move(*it);
    it = fn.event_queue.erase(it);
    StartEvent(fn, std::move(ev), std::move(acquired));
  }
}

void Platform::StartEvent(Function& fn, QueuedEvent ev,
                          std::variant<std::shared_ptr<Environment>, Throttle, Status> acquired) {
  ev.throttles = 0;
  ev.waiting_for_capacity = false;
  auto inv = NewInvocation(
      fn,
      InvocationInput{.payload = ev.payload,
                      .trace_id = ev.trace_id,
                      .client_context = ev.client_context,
                      .version = ev.version,
                      .invoked_arn = ev.qualifier.empty() ? fn.arn : fn.arn + ":" + ev.qualifier,
                      .request_id = ev.request_id},
      io.get_executor());
  if (auto* status = std::get_if<Status>(&acquired)) {
    FailToStart(fn, *inv, *status);
    EventDone(fn, std::move(ev), *inv);
    return;
  }
  auto env = std::get<std::shared_ptr<Environment>>(acquired);
  Assign(fn, env, inv);
  asio::co_spawn(
      io, RunEvent(fn, env, inv, std::move(ev)),
      [weak = weak_from_this(), name = fn.config.name](std::exception_ptr e) {
        auto self = weak.lock();
        if (e && self && self->options.log) {
          self->options.log(fmt::format("[{}] internal error in an Event invocation", name));
        }
      });
}

Task<void> Platform::RunEvent(Function& fn, std::shared_ptr<Environment> env,
                              std::shared_ptr<Invocation> inv, QueuedEvent ev) {
  co_await Run(fn, env, inv);
  EventDone(fn, std::move(ev), *inv);
}

// One attempt ended: the destination for a success, a retry later, or the
// failure's destinations once AWS would give up.
void Platform::EventDone(Function& fn, QueuedEvent ev, const Invocation& inv) {
  ++ev.attempts;
  ev.last_response = inv.body;
  if (inv.outcome == Invocation::Outcome::kSuccess) {
    GiveUp(fn, ev, Condition::kSuccess, &inv);
    return;
  }
  const RetryPolicy policy = PolicyOf(EventConfigOf(fn, ev), options.config.time_scale);
  const Decision d = AfterFailure(ev.attempts, Age(ev), policy);
  if (d.condition == Condition::kRetry || stopped) {
    ev.not_before = Steady::now() + d.delay;
    fn.event_queue.push_back(std::move(ev));  // reported at shutdown if it never runs
    return;
  }
  GiveUp(fn, ev, d.condition, &inv);
}

// The end of an event: its record to OnSuccess / OnFailure, and a failed
// one's event to the dead-letter target. `last` is the last attempt's
// invocation (none when it aged out before any).
void Platform::GiveUp(Function& fn, const QueuedEvent& ev, Condition condition,
                      const Invocation* last) {
  const EventInvokeConfig* config = EventConfigOf(fn, ev);
  const std::string destination = !config                            ? ""
                                  : condition == Condition::kSuccess ? config->on_success
                                                                     : config->on_failure;
  bool delivered = false;
  if (!destination.empty()) {
    const RecordFields fields{
        .request_id = ev.request_id,
        .function_arn = fn.arn + ":" + (ev.qualifier.empty() ? std::string(kLatest) : ev.qualifier),
        .condition = condition,
        .approximate_invoke_count = ev.attempts,
        .request_payload = ev.payload,
        .invoked = last != nullptr,
        .executed_version = ev.version,
        .function_error = last && last->outcome != Invocation::Outcome::kSuccess,
        .response_payload = last ? last->body : "",
        .timestamp = IsoNow()};
    delivered = Deliver(fn, destination, DestinationRecord(fields).dump());
    if (!delivered) ++fn.metrics.destination_failures;
  }
  if (condition == Condition::kSuccess) return;
  const std::string& dlq = fn.ConfigOf(ev.version).dead_letter_target;
  if (!dlq.empty()) {
    const json message{{"body", ev.payload},
                       {"messageAttributes",
                        {{"RequestID", ev.request_id},
                         {"ErrorCode", "200"},
                         {"ErrorMessage", ev.last_response.substr(0, 1024)}}}};
    if (Deliver(fn, dlq, message.dump())) {
      delivered = true;
    } else {
      ++fn.metrics.dead_letter_errors;
    }
  }
  if (!delivered) {
    ++fn.metrics.async_dropped;
    Log(fn,
        fmt::format("RequestId: {} the Event invocation was given up ({}, {} attempt{}) and "
                    "no destination took it",
                    ev.request_id, ConditionName(condition), ev.attempts,
                    ev.attempts == 1 ? "" : "s"),
        nullptr);
  }
}

// To another function (an Event invocation of it, the record its payload)
// or to a sink file (a line). Returns whether it was delivered.
bool Platform::Deliver(Function& fn, const std::string& destination, const std::string& body) {
  const std::optional<Target> target = TargetOf(destination, options.sinks_dir);
  Status s = Status::InvalidArgument("not a destination this emulator can deliver to");
  if (target && std::holds_alternative<FunctionTarget>(*target)) {
    auto it = functions.find(std::get<FunctionTarget>(*target).name);
    if (it != functions.end()) {
      Enqueue(*it->second, QueuedEvent{.request_id = NewRequestId(rng),
                                       .payload = body,
                                       .trace_id = NewTraceId(rng),
                                       .version = std::string(kLatest)});
      return true;
    }
    s = Status::NotFound("no such function");
  } else if (target) {
    s = AppendLine(std::get<SinkTarget>(*target).path, body);
  }
  if (!s.ok()) {
    Log(fn, fmt::format("delivery to {} failed: {}", destination, s.message()), nullptr);
  }
  return s.ok();
}

}  // namespace faultline::lambda
