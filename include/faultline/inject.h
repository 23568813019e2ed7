// In-process injection: carry out a Plan inside C++ code.
//
//   Status s = faultline::Inject(engine, "redis.get", {{"db", "redis"}});
//   if (!s.ok()) return s;          // an injected error, as an error value
//
//   FAULTLINE_INJECT(engine, "redis.get");   // the same, in one line
//
//   Faulty<SessionCache> cache(real_cache, engine, "session-cache");
//   Result<std::string> v = cache.Call("get", [&](SessionCache& c) { return c.Get(k); });
//
// Latency waits on the engine's Clock (a FakeClock in tests). Every other
// action becomes Status::Injected(type, message): kError with the rule's
// type and message; the others with type "faultline.<action>" (kStatus's
// message is the status code, kBody's the body), for code that wants to act
// on them.
//
// Thread-safety: as Engine.
#ifndef FAULTLINE_INJECT_H_
#define FAULTLINE_INJECT_H_

#include <array>
#include <cstring>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "faultline/engine.h"
#include "faultline/status.h"

namespace faultline {

// Waits plan.delay() on `clock`, then returns OK or the injected error.
Status Apply(const Plan& plan, Clock& clock);

inline Status Inject(Engine& engine, std::string_view point, std::span<const Tag> tags = {}) {
  Plan plan = engine.Decide(point, tags);
  if (plan.empty()) [[likely]] {
    return Status();
  }
  return Apply(plan, *engine.clock());
}
inline Status Inject(Engine& engine, std::string_view point, std::initializer_list<Tag> tags) {
  return Inject(engine, point, std::span<const Tag>(tags.begin(), tags.size()));
}

// An injection point in one line: returns the injected error from the
// enclosing function (whose return type is Status or Result<T>).
#define FAULTLINE_INJECT(engine, point)                                               \
  do {                                                                                \
    ::faultline::Status faultline_injected_ = ::faultline::Inject((engine), (point)); \
    if (!faultline_injected_.ok()) return faultline_injected_;                        \
  } while (0)

namespace internal {
template <typename T>
struct IsResult : std::false_type {};
template <typename T>
struct IsResult<Result<T>> : std::true_type {};
}  // namespace internal

// Makes a client object's calls injection points named "<prefix>.<op>",
// tagged with `tags`. Does not own the client or the engine.
template <typename Client>
class Faulty {
 public:
  Faulty(Client& client, Engine& engine, std::string prefix,
         const std::map<std::string, std::string>& tags = {})
      : client_(client), engine_(engine), prefix_(std::move(prefix)) {
    for (const auto& [k, v] : tags) tag_storage_.emplace_back(k, v);
    for (const auto& [k, v] : tag_storage_) tags_.push_back(Tag{k, v});
  }
  // tags_ points into tag_storage_: neither copied nor moved.
  Faulty(const Faulty&) = delete;
  Faulty& operator=(const Faulty&) = delete;

  // Runs fn(client) as injection point "<prefix>.<op>": the plan's latency
  // first, then either the injected error or the call. Returns Result<R> for
  // a call returning R, Status for void, and R itself when R is a Status or
  // a Result.
  template <typename F>
  auto Call(std::string_view op, F&& fn) {
    using R = std::invoke_result_t<F, Client&>;
    Status injected = Inject(engine_, PointName(op), tags_);
    if constexpr (std::is_void_v<R>) {
      if (!injected.ok()) return injected;
      std::forward<F>(fn)(client_);
      return Status();
    } else if constexpr (std::is_same_v<R, Status> || internal::IsResult<R>::value) {
      if (!injected.ok()) return R(std::move(injected));
      return std::forward<F>(fn)(client_);
    } else {
      if (!injected.ok()) return Result<R>(std::move(injected));
      return Result<R>(std::forward<F>(fn)(client_));
    }
  }

  Client& client() { return client_; }

 private:
  std::string_view PointName(std::string_view op) {
    name_.assign(prefix_).append(".").append(op);
    return name_;
  }

  Client& client_;
  Engine& engine_;
  std::string prefix_;
  std::vector<std::pair<std::string, std::string>> tag_storage_;
  std::vector<Tag> tags_;
  // Scratch for the point name. One Faulty per thread, or guard it.
  std::string name_;
};

}  // namespace faultline

#endif  // FAULTLINE_INJECT_H_
