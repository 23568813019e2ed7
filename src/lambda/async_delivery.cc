// Async delivery: Event invocations, accepted at once (202) and queued;
// each runs when the function has capacity (a throttled event waits in the
// queue, it is not lost).
#include <fmt/format.h>

#include "lambda/platform.h"

namespace faultline::lambda {

namespace asio = http::asio;

void Platform::DrainEvents(Function& fn) {
  while (!fn.event_queue.empty() && !stopped) {
    auto acquired = Acquire(fn, fn.event_queue.front()->version);
    if (std::holds_alternative<Throttle>(acquired)) return;  // retried on release / tick
    auto inv = fn.event_queue.front();
    fn.event_queue.pop_front();
    if (auto* status = std::get_if<Status>(&acquired)) {
      Log(fn, fmt::format("RequestId: {} Error: {}", inv->id, status->message()), nullptr);
      ++fn.metrics.invocations;
      ++fn.metrics.errors;
      continue;
    }
    auto env = std::get<std::shared_ptr<Environment>>(acquired);
    Assign(fn, env, inv);
    asio::co_spawn(
        io, Run(fn, env, inv),
        [weak = weak_from_this(), name = fn.config.name](std::exception_ptr e) {
          auto self = weak.lock();
          if (e && self && self->options.log) {
            self->options.log(fmt::format("[{}] internal error in an Event invocation", name));
          }
        });
  }
}

}  // namespace faultline::lambda
