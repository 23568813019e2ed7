#include "faultline/engine.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "faultline/random.h"

namespace faultline {

namespace {

// Counters are split into shards, one cache line each, so two threads
// counting the same rule do not write the same line. A thread uses shard
// (its stream number % kShards).
constexpr std::uint32_t kShards = 8;
// Each thread remembers the engines it used last; more engines than this in
// one thread only cost a refresh.
constexpr std::size_t kCacheSlots = 4;
// A thread forgets which rules can match which point names beyond this many
// names (the memo is rebuilt as points are seen again).
constexpr std::size_t kMemoLimit = 4096;
constexpr TimeNs kNever = std::numeric_limits<TimeNs>::max();

std::atomic<std::uint64_t> g_next_generation{1};
std::atomic<std::uint64_t> g_next_engine_id{1};

struct alignas(64) CounterShard {
  std::atomic<std::uint64_t> matched{0};
  std::atomic<std::uint64_t> injected{0};
  std::atomic<std::uint64_t> skipped{0};
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

bool IsLiteral(std::string_view glob) {
  return glob.find_first_of("*?[\\") == std::string_view::npos;
}

bool TagsMatch(const std::map<std::string, std::string>& want, std::span<const Tag> have) {
  for (const auto& [key, value] : want) {
    bool found = false;
    for (const Tag& t : have) {
      if (t.key == key) {
        found = t.value == value || GlobMatch(value, t.value);
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

std::chrono::nanoseconds SampleDelay(const LatencySpec& l, Random& rng) {
  double ms = 0;
  switch (l.shape) {
    case LatencySpec::Shape::kFixed:
      ms = l.jitter_ms > 0 ? rng.Uniform(l.ms - l.jitter_ms, l.ms + l.jitter_ms) : l.ms;
      break;
    case LatencySpec::Shape::kUniform:
      ms = rng.Uniform(l.min_ms, l.max_ms);
      break;
    case LatencySpec::Shape::kNormal:
      ms = rng.Normal(l.mean_ms, l.stddev_ms);
      break;
  }
  return std::chrono::nanoseconds(std::llround(std::max(ms, 0.0) * 1e6));
}

// Whether `given` (to load) is the rule `loaded` already is. A ttl that
// `given` does not say the start of is the one that already counts.
bool SameDefinition(const Rule& loaded, const Rule& given) {
  if (given.armed_at || !given.ttl_ns) return loaded == given;
  Rule g = given;
  g.armed_at = loaded.armed_at;
  return loaded == g;
}

bool EnvDisabled() {
  const char* v = std::getenv("FAULTLINE_DISABLE");
  if (v == nullptr) return false;
  std::string_view s(v);
  return s == "1" || s == "true" || s == "yes" || s == "on";
}

}  // namespace

// What a rule carries from one snapshot to the next while its definition is
// unchanged: counters, every/skip/limit progress and its expiry.
struct RuleState {
  CounterShard shards[kShards];
  alignas(64) std::atomic<std::uint64_t> seen{0};  // matches, for every / skip
  std::atomic<std::uint64_t> fired{0};             // for limit
  TimeNs expires = kNever;
};

struct Engine::CompiledRule {
  Rule rule;
  std::shared_ptr<RuleState> state;
  bool global_progress = false;  // every, skip or limit: needs the shared counters
};

struct Engine::Snapshot {
  std::uint64_t generation = 0;
  std::vector<CompiledRule> rules;
  // Enabled rules by literal target, and enabled rules whose target is a glob.
  std::unordered_map<std::string, std::vector<std::uint32_t>, StringHash, std::equal_to<>> exact;
  std::vector<std::uint32_t> globs;
  bool any_expiry = false;
  bool any_enabled = false;

  // Indices of the enabled rules whose target matches `point`, in rule order.
  std::vector<std::uint32_t> CandidatesFor(std::string_view point) const {
    std::vector<std::uint32_t> out;
    if (auto it = exact.find(point); it != exact.end()) out = it->second;
    for (std::uint32_t i : globs) {
      if (GlobMatch(rules[i].rule.target, point)) out.push_back(i);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
};

// One thread's view of one engine.
struct Engine::ThreadCache {
  std::uint64_t engine_id = 0;
  std::uint64_t generation = 0;
  std::shared_ptr<const Snapshot> snapshot;
  std::uint32_t shard = 0;
  Random rng{0};
  std::unordered_map<std::string, std::vector<std::uint32_t>, StringHash, std::equal_to<>> memo;

  const std::vector<std::uint32_t>& Candidates(std::string_view point) {
    if (auto it = memo.find(point); it != memo.end()) return it->second;
    if (memo.size() >= kMemoLimit) memo.clear();
    return memo.emplace(std::string(point), snapshot->CandidatesFor(point)).first->second;
  }
};

Engine::Engine(EngineOptions options)
    : clock_(options.clock != nullptr ? options.clock : SystemClock::Default()),
      seed_(options.seed != 0 ? options.seed : RandomSeed()),
      log_sink_(std::move(options.log_sink)),
      dry_run_(options.dry_run),
      id_(g_next_engine_id.fetch_add(1)),
      current_(std::make_shared<Snapshot>()) {
  enabled_.store(!EnvDisabled(), std::memory_order_relaxed);
}

Engine::~Engine() = default;

Status Engine::Load(const RuleSet& rules) {
  if (Status s = ValidateRules(rules, "rules"); !s.ok()) return s;
  auto next = std::make_shared<Snapshot>();
  // Compile outside mu_, so that a reader refreshing its cached snapshot
  // never waits for a compile; write_mu_ keeps writers in order.
  std::lock_guard<std::mutex> writer(write_mu_);
  std::shared_ptr<const Snapshot> before;
  {
    std::lock_guard<std::mutex> lock(mu_);
    before = current_;
  }
  std::unordered_map<std::string_view, const CompiledRule*> previous;
  for (const CompiledRule& r : before->rules) previous.emplace(r.rule.name, &r);
  const TimeNs now = clock_->Now();
  next->rules.reserve(rules.rules.size());
  for (const Rule& given : rules.rules) {
    const auto index = static_cast<std::uint32_t>(next->rules.size());
    CompiledRule& cr = next->rules.emplace_back();
    cr.rule = given;
    const Rule& rule = cr.rule;
    auto it = previous.find(rule.name);
    if (it != previous.end() && SameDefinition(it->second->rule, given)) {
      cr.rule.armed_at = it->second->rule.armed_at;
      cr.state = it->second->state;
    } else {
      // Armed now unless the rule says when: Rules() then tells every
      // engine loaded from it the same time.
      if (rule.ttl_ns && !rule.armed_at) cr.rule.armed_at = now;
      cr.state = std::make_shared<RuleState>();
      cr.state->expires = ExpiryOf(rule, now).value_or(kNever);
    }
    cr.global_progress = rule.every > 1 || rule.skip > 0 || rule.limit > 0;
    if (!rule.enabled) continue;
    next->any_enabled = true;
    next->any_expiry |= cr.state->expires != kNever;
    if (IsLiteral(rule.target)) {
      next->exact[rule.target].push_back(index);
    } else {
      next->globs.push_back(index);
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  Publish(std::move(next));
  return Status();
}

void Engine::Clear() {
  std::lock_guard<std::mutex> writer(write_mu_);
  std::lock_guard<std::mutex> lock(mu_);
  Publish(std::make_shared<Snapshot>());
}

void Engine::Publish(std::shared_ptr<Snapshot> next) {
  next->generation = g_next_generation.fetch_add(1);
  current_ = std::move(next);
  generation_.store(current_->generation, std::memory_order_release);
  armed_.store(enabled_.load(std::memory_order_relaxed) && current_->any_enabled,
               std::memory_order_relaxed);
}

void Engine::SetEnabled(bool enabled) {
  std::lock_guard<std::mutex> lock(mu_);
  enabled_.store(enabled, std::memory_order_relaxed);
  armed_.store(enabled && current_->any_enabled, std::memory_order_relaxed);
}

Engine::ThreadCache& Engine::CacheForThisThread() {
  thread_local ThreadCache caches[kCacheSlots];
  thread_local std::size_t next_evict = 0;
  ThreadCache* cache = nullptr;
  for (ThreadCache& c : caches) {
    if (c.engine_id == id_) {
      cache = &c;
      break;
    }
  }
  if (cache == nullptr) {
    cache = &caches[next_evict++ % kCacheSlots];
    const std::uint32_t stream = next_stream_.fetch_add(1, std::memory_order_relaxed);
    *cache = ThreadCache();
    cache->engine_id = id_;
    cache->shard = stream % kShards;
    cache->rng = Random::ForStream(seed_, stream);
  }
  if (cache->generation != generation_.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> lock(mu_);
    cache->snapshot = current_;
    cache->generation = current_->generation;
    cache->memo.clear();
  }
  return *cache;
}

namespace {
bool Fires(const Rule& rule, RuleState& state, bool global_progress, TimeNs now, Random& rng) {
  if (now >= state.expires) return false;
  if (global_progress) {
    const std::uint64_t n = state.seen.fetch_add(1, std::memory_order_relaxed) + 1;
    if (n <= rule.skip) return false;
    if (rule.every > 1 && (n - rule.skip) % rule.every != 0) return false;
  }
  if (rule.probability < 1.0 && !(rng.NextDouble() < rule.probability)) return false;
  if (rule.limit > 0 && state.fired.fetch_add(1, std::memory_order_relaxed) >= rule.limit) {
    return false;
  }
  return true;
}
}  // namespace

Plan Engine::DecideArmed(std::string_view point, std::span<const Tag> tags) {
  ThreadCache& cache = CacheForThisThread();
  const std::vector<std::uint32_t>& candidates = cache.Candidates(point);
  if (candidates.empty()) return Plan();
  const Snapshot& snap = *cache.snapshot;
  const TimeNs now = snap.any_expiry ? clock_->Now() : 0;
  Plan plan;
  for (std::uint32_t i : candidates) {
    const CompiledRule& r = snap.rules[i];
    if (!TagsMatch(r.rule.tags, tags)) continue;
    CounterShard& counters = r.state->shards[cache.shard];
    counters.matched.fetch_add(1, std::memory_order_relaxed);
    if (!Fires(r.rule, *r.state, r.global_progress, now, cache.rng)) {
      counters.skipped.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    counters.injected.fetch_add(1, std::memory_order_relaxed);
    if (!plan.details_) {
      plan.details_ = std::make_unique<Plan::Details>();
      plan.details_->rule = r.rule.name;
    }
    if (r.rule.action == Action::kLatency) {
      const std::chrono::nanoseconds d = SampleDelay(r.rule.latency, cache.rng);
      plan.delay_ += d;
      if (r.rule.phase == Phase::kAfter) plan.details_->delay_after += d;
      plan.action_ = Action::kLatency;
      if (log_sink_) Log(r, point, d);
      continue;
    }
    Plan::Details& details = *plan.details_;
    details.rule = r.rule.name;
    details.phase = r.rule.phase;
    switch (r.rule.action) {
      case Action::kError:
        details.error = r.rule.error;
        break;
      case Action::kStatus:
      case Action::kBody:
        details.response = r.rule.response;
        break;
      case Action::kTimeout:
        details.timeout_buffer_ms = r.rule.timeout_buffer_ms;
        break;
      case Action::kDiskSpace:
        details.diskspace_mb = r.rule.diskspace_mb;
        break;
      case Action::kDenylist:
        details.denylist = r.rule.denylist;
        break;
      default:
        break;
    }
    plan.action_ = r.rule.action;
    if (log_sink_) Log(r, point, std::chrono::nanoseconds(0));
    break;
  }
  if (dry_run_) return Plan();
  return plan;
}

void Engine::Log(const CompiledRule& r, std::string_view point, std::chrono::nanoseconds delay) {
  nlohmann::json line = {
      {"time", FormatTimestamp(clock_->Now())}, {"rule", r.rule.name}, {"point", point},
      {"action", ActionName(r.rule.action)},    {"seed", seed_},
  };
  switch (r.rule.action) {
    case Action::kLatency:
      line["delay_ms"] = static_cast<double>(delay.count()) / 1e6;
      break;
    case Action::kError:
      line["error_type"] = r.rule.error.type;
      line["error_message"] = r.rule.error.message;
      break;
    case Action::kStatus:
      line["status_code"] = r.rule.response.code;
      break;
    case Action::kBody:
      line["body_bytes"] = r.rule.response.body.size();
      break;
    case Action::kDiskSpace:
      line["diskspace_mb"] = r.rule.diskspace_mb;
      break;
    default:
      break;
  }
  if (dry_run_) line["dry_run"] = true;
  log_sink_(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::vector<RuleCounters> Engine::Counters() const {
  std::shared_ptr<const Snapshot> snap;
  {
    std::lock_guard<std::mutex> lock(mu_);
    snap = current_;
  }
  std::vector<RuleCounters> out;
  out.reserve(snap->rules.size());
  for (const CompiledRule& r : snap->rules) {
    RuleCounters c{r.rule.name};
    for (const CounterShard& s : r.state->shards) {
      c.matched += s.matched.load(std::memory_order_relaxed);
      c.injected += s.injected.load(std::memory_order_relaxed);
      c.skipped += s.skipped.load(std::memory_order_relaxed);
    }
    out.push_back(std::move(c));
  }
  return out;
}

RuleSet Engine::Rules() const {
  std::lock_guard<std::mutex> lock(mu_);
  RuleSet out;
  for (const CompiledRule& r : current_->rules) out.rules.push_back(r.rule);
  return out;
}

}  // namespace faultline
