// The C ABI (include/faultline/faultline.h) over faultline::Engine.
//
// Every extern "C" function is noexcept in effect: its body runs inside
// try/catch, so no C++ exception reaches a C caller (or a Python, Node or
// Java runtime, which would abort). Messages go into the caller's buffer
// without allocating, so that reporting std::bad_alloc cannot itself throw.
#include <array>
#include <cstring>
#include <exception>
#include <iterator>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "faultline/engine.h"
#include "faultline/faultline.h"
#include "faultline/rules.h"
#include "faultline/status.h"
#include "nlohmann/json.hpp"

struct faultline_engine {
  explicit faultline_engine(faultline::EngineOptions options) : engine(std::move(options)) {}
  faultline::Engine engine;
};

struct faultline_plan {
  faultline::Plan plan;
};

struct faultline_counters {
  std::vector<faultline::RuleCounters> rules;
  std::string json;
};

namespace {

using faultline::Action;
using faultline::Status;

// The C enums promise to mirror the C++ ones; keep them honest.
static_assert(FAULTLINE_ACTION_NONE == static_cast<int>(Action::kNone));
static_assert(FAULTLINE_ACTION_LATENCY == static_cast<int>(Action::kLatency));
static_assert(FAULTLINE_ACTION_ERROR == static_cast<int>(Action::kError));
static_assert(FAULTLINE_ACTION_STATUS == static_cast<int>(Action::kStatus));
static_assert(FAULTLINE_ACTION_BODY == static_cast<int>(Action::kBody));
static_assert(FAULTLINE_ACTION_TIMEOUT == static_cast<int>(Action::kTimeout));
static_assert(FAULTLINE_ACTION_DROP == static_cast<int>(Action::kDrop));
static_assert(FAULTLINE_ACTION_RESET == static_cast<int>(Action::kReset));
static_assert(FAULTLINE_ACTION_THROTTLE == static_cast<int>(Action::kThrottle));
static_assert(FAULTLINE_ACTION_DISKSPACE == static_cast<int>(Action::kDiskSpace));
static_assert(FAULTLINE_ACTION_DENYLIST == static_cast<int>(Action::kDenylist));
static_assert(FAULTLINE_FORMAT_AUTO == static_cast<int>(faultline::Format::kAuto));
static_assert(FAULTLINE_FORMAT_YAML == static_cast<int>(faultline::Format::kYaml));
static_assert(FAULTLINE_FORMAT_JSON == static_cast<int>(faultline::Format::kJson));

constexpr size_t kNotFound = static_cast<size_t>(-1);

// Appends `piece` to the message in err[0, *used), keeping room for the NUL
// and never cutting a UTF-8 sequence in two. Returns false when it had to
// cut, so that the caller appends nothing after the cut.
bool AppendError(char* err, size_t errlen, size_t* used, std::string_view piece) {
  size_t room = errlen - 1 - *used;
  size_t n = piece.size();
  bool whole = n <= room;
  if (!whole) {
    n = room;
    while (n > 0 && (static_cast<unsigned char>(piece[n]) & 0xC0) == 0x80) --n;
  }
  if (n > 0) {  // piece.data() may be null when n == 0
    std::memcpy(err + *used, piece.data(), n);
    *used += n;
    err[*used] = '\0';
  }
  return whole;
}

void SetError(char* err, size_t errlen, std::string_view a, std::string_view b = {}) {
  if (err == nullptr || errlen == 0) return;
  size_t used = 0;
  err[0] = '\0';
  if (AppendError(err, errlen, &used, a)) AppendError(err, errlen, &used, b);
}

void ClearError(char* err, size_t errlen) {
  if (err != nullptr && errlen > 0) err[0] = '\0';
}

int Fail(int code, char* err, size_t errlen, std::string_view a, std::string_view b = {}) {
  SetError(err, errlen, a, b);
  return code;
}

int CodeOf(const Status& s) {
  switch (s.code()) {
    case Status::Code::kOk:
      return FAULTLINE_OK;
    case Status::Code::kInvalidArgument:
      return FAULTLINE_EINVAL;
    case Status::Code::kNotFound:
      return FAULTLINE_ENOENT;
    case Status::Code::kIoError:
      return FAULTLINE_EIO;
    case Status::Code::kUnavailable:
      return FAULTLINE_EUNAVAIL;
    case Status::Code::kInjected:
    case Status::Code::kInternal:
      break;
  }
  return FAULTLINE_EINTERNAL;
}

int Report(const Status& s, char* err, size_t errlen) {
  if (s.ok()) {
    ClearError(err, errlen);
    return FAULTLINE_OK;
  }
  return Fail(CodeOf(s), err, errlen, s.message());
}

// The catch clauses every entry point shares; call from inside a catch block.
int ReportCurrentException(char* err, size_t errlen) noexcept {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    return Fail(FAULTLINE_ENOMEM, err, errlen, "faultline: out of memory");
  } catch (const std::exception& e) {
    return Fail(FAULTLINE_EINTERNAL, err, errlen, "faultline: internal error: ", e.what());
  } catch (...) {
    return Fail(FAULTLINE_EINTERNAL, err, errlen, "faultline: internal error: unknown exception");
  }
}

// Runs `fn` (returning a Status) and turns its outcome, or any exception,
// into a status code and message.
template <typename F>
int Guard(char* err, size_t errlen, F&& fn) noexcept {
  try {
    return Report(std::forward<F>(fn)(), err, errlen);
  } catch (...) {
    return ReportCurrentException(err, errlen);
  }
}

int NullArgument(char* err, size_t errlen, std::string_view function, std::string_view what) {
  SetError(err, errlen, function, what);
  return FAULTLINE_EINVAL;
}

// The plan's details, or nullptr when there are none.
const faultline::Plan::Details* DetailsOf(const faultline_plan* plan) {
  if (plan == nullptr || plan->plan.empty()) return nullptr;
  return &plan->plan.details();
}

const faultline::Plan::Details* DetailsFor(const faultline_plan* plan, Action a1,
                                           Action a2 = Action::kNone) {
  const faultline::Plan::Details* d = DetailsOf(plan);
  if (d == nullptr) return nullptr;
  Action a = plan->plan.action();
  return (a == a1 || (a2 != Action::kNone && a == a2)) ? d : nullptr;
}

const std::pair<const std::string, std::string>* HeaderAt(const faultline_plan* plan,
                                                          size_t index) {
  const faultline::Plan::Details* d = DetailsFor(plan, Action::kStatus);
  if (d == nullptr || index >= d->response.headers.size()) return nullptr;
  return &*std::next(d->response.headers.begin(), static_cast<std::ptrdiff_t>(index));
}

const faultline::RuleCounters* CounterAt(const faultline_counters* c, size_t index) {
  if (c == nullptr || index >= c->rules.size()) return nullptr;
  return &c->rules[index];
}

std::string CountersJson(const std::vector<faultline::RuleCounters>& rules) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const faultline::RuleCounters& r : rules) {
    list.push_back({{"name", r.name},
                    {"matched", r.matched},
                    {"injected", r.injected},
                    {"skipped", r.skipped}});
  }
  nlohmann::ordered_json doc = {{"rules", std::move(list)}};
  // Rule names come from user files: replace invalid UTF-8 rather than throw.
  return doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

// faultline::ActionName as a NUL-terminated string of static storage.
const char* ActionNameZ(Action a) {
  static const std::array<std::string, FAULTLINE_ACTION_DENYLIST + 1> kNames = [] {
    std::array<std::string, FAULTLINE_ACTION_DENYLIST + 1> names;
    for (size_t i = 0; i < names.size(); ++i) {
      names[i] = std::string(faultline::ActionName(static_cast<Action>(i)));
    }
    return names;
  }();
  return kNames[static_cast<size_t>(a)].c_str();
}

// Decides with tags; kept out of line so that the common tag-less call does
// not pay for the array.
[[gnu::noinline]] faultline::Plan DecideWithTags(faultline::Engine& engine, std::string_view point,
                                                 const char* const* keys, const char* const* values,
                                                 size_t count) {
  constexpr size_t kInline = 16;
  std::array<faultline::Tag, kInline> inline_tags;
  std::vector<faultline::Tag> heap_tags;
  faultline::Tag* tags = inline_tags.data();
  if (count > kInline) {
    heap_tags.resize(count);
    tags = heap_tags.data();
  }
  for (size_t i = 0; i < count; ++i) tags[i] = faultline::Tag{keys[i], values[i]};
  return engine.Decide(point, std::span<const faultline::Tag>(tags, count));
}

}  // namespace

extern "C" {

const char* faultline_version(void) { return FAULTLINE_VERSION_STRING; }

const char* faultline_strerror(int status) {
  switch (status) {
    case FAULTLINE_OK:
      return "ok";
    case FAULTLINE_EINVAL:
      return "invalid argument";
    case FAULTLINE_ENOENT:
      return "not found";
    case FAULTLINE_EIO:
      return "I/O error";
    case FAULTLINE_ERANGE:
      return "out of range";
    case FAULTLINE_ENOMEM:
      return "out of memory";
    case FAULTLINE_EUNAVAIL:
      return "unavailable";
    case FAULTLINE_EINTERNAL:
      return "internal error";
    default:
      return "unknown status";
  }
}

const char* faultline_action_name(faultline_action action) {
  int a = static_cast<int>(action);
  if (a < FAULTLINE_ACTION_NONE || a > FAULTLINE_ACTION_DENYLIST) return "";
  try {
    return ActionNameZ(static_cast<Action>(a));
  } catch (...) {
    return "";
  }
}

faultline_engine* faultline_engine_new(const faultline_engine_options* options, char* err,
                                       size_t errlen) {
  try {
    faultline::EngineOptions opts;
    if (options != nullptr) {
      opts.seed = options->seed;
      opts.dry_run = options->dry_run != 0;
      if (options->log_fn != nullptr) {
        faultline_log_fn fn = options->log_fn;
        void* user = options->log_user;
        opts.log_sink = [fn, user](std::string_view line) {
          std::string copy(line);  // the C side wants a NUL-terminated line
          fn(user, copy.c_str(), copy.size());
        };
      }
    }
    auto engine = std::make_unique<faultline_engine>(std::move(opts));
    ClearError(err, errlen);
    return engine.release();
  } catch (...) {
    ReportCurrentException(err, errlen);
    return nullptr;
  }
}

void faultline_engine_free(faultline_engine* engine) { delete engine; }

int faultline_engine_load_rules(faultline_engine* engine, const char* text, size_t len,
                                const char* source, faultline_format format, char* err,
                                size_t errlen) {
  static constexpr std::string_view kFn = "faultline_engine_load_rules: ";
  if (engine == nullptr) return NullArgument(err, errlen, kFn, "engine is NULL");
  if (text == nullptr && len != 0) return NullArgument(err, errlen, kFn, "text is NULL");
  int f = static_cast<int>(format);
  if (f < FAULTLINE_FORMAT_AUTO || f > FAULTLINE_FORMAT_JSON) {
    return Fail(FAULTLINE_EINVAL, err, errlen, kFn, "format is not a faultline_format");
  }
  return Guard(err, errlen, [&]() -> Status {
    std::string_view body = text == nullptr ? std::string_view() : std::string_view(text, len);
    std::string_view name = source == nullptr ? std::string_view("<rules>") : source;
    faultline::Result<faultline::RuleSet> rules =
        faultline::ParseRules(body, name, static_cast<faultline::Format>(f));
    if (!rules.ok()) return rules.status();
    return engine->engine.Load(*rules);
  });
}

int faultline_engine_load_rule_file(faultline_engine* engine, const char* path, char* err,
                                    size_t errlen) {
  static constexpr std::string_view kFn = "faultline_engine_load_rule_file: ";
  if (engine == nullptr) return NullArgument(err, errlen, kFn, "engine is NULL");
  if (path == nullptr) return NullArgument(err, errlen, kFn, "path is NULL");
  return Guard(err, errlen, [&]() -> Status {
    faultline::Result<faultline::RuleSet> rules = faultline::LoadRuleFile(path);
    if (!rules.ok()) return rules.status();
    return engine->engine.Load(*rules);
  });
}

int faultline_engine_clear(faultline_engine* engine, char* err, size_t errlen) {
  if (engine == nullptr) {
    return NullArgument(err, errlen, "faultline_engine_clear: ", "engine is NULL");
  }
  return Guard(err, errlen, [&] {
    engine->engine.Clear();
    return Status();
  });
}

int faultline_engine_set_enabled(faultline_engine* engine, int enabled, char* err, size_t errlen) {
  if (engine == nullptr) {
    return NullArgument(err, errlen, "faultline_engine_set_enabled: ", "engine is NULL");
  }
  return Guard(err, errlen, [&] {
    engine->engine.SetEnabled(enabled != 0);
    return Status();
  });
}

int faultline_engine_enabled(const faultline_engine* engine) {
  return engine != nullptr && engine->engine.enabled() ? 1 : 0;
}

uint64_t faultline_engine_seed(const faultline_engine* engine) {
  return engine == nullptr ? 0 : engine->engine.seed();
}

faultline_plan* faultline_plan_new(void) { return new (std::nothrow) faultline_plan(); }

void faultline_plan_free(faultline_plan* plan) { delete plan; }

void faultline_plan_reset(faultline_plan* plan) {
  if (plan != nullptr) plan->plan = faultline::Plan();
}

int faultline_engine_decide(faultline_engine* engine, const char* point,
                            const char* const* tag_keys, const char* const* tag_values,
                            size_t tag_count, faultline_plan* plan, char* err, size_t errlen) {
  static constexpr std::string_view kFn = "faultline_engine_decide: ";
  if (plan == nullptr) return NullArgument(err, errlen, kFn, "plan is NULL");
  std::string_view bad;
  if (engine == nullptr) {
    bad = "engine is NULL";
  } else if (point == nullptr) {
    bad = "point is NULL";
  } else if (tag_count != 0 && (tag_keys == nullptr || tag_values == nullptr)) {
    bad = "tag_count > 0 but tag_keys or tag_values is NULL";
  } else {
    for (size_t i = 0; i < tag_count && bad.empty(); ++i) {
      if (tag_keys[i] == nullptr || tag_values[i] == nullptr) bad = "a tag key or value is NULL";
    }
  }
  if (!bad.empty()) {
    plan->plan = faultline::Plan();
    return NullArgument(err, errlen, kFn, bad);
  }
  try {
    if (tag_count == 0) {
      plan->plan = engine->engine.Decide(point);
    } else {
      plan->plan = DecideWithTags(engine->engine, point, tag_keys, tag_values, tag_count);
    }
    ClearError(err, errlen);
    return FAULTLINE_OK;
  } catch (...) {
    plan->plan = faultline::Plan();
    return ReportCurrentException(err, errlen);
  }
}

int faultline_plan_empty(const faultline_plan* plan) {
  return plan == nullptr || plan->plan.empty() ? 1 : 0;
}

faultline_action faultline_plan_action(const faultline_plan* plan) {
  if (plan == nullptr) return FAULTLINE_ACTION_NONE;
  return static_cast<faultline_action>(plan->plan.action());
}

int64_t faultline_plan_delay_ns(const faultline_plan* plan) {
  return plan == nullptr ? 0 : static_cast<int64_t>(plan->plan.delay().count());
}

const char* faultline_plan_rule(const faultline_plan* plan) {
  const faultline::Plan::Details* d = DetailsOf(plan);
  return d == nullptr ? "" : d->rule.c_str();
}

const char* faultline_plan_error_type(const faultline_plan* plan) {
  const faultline::Plan::Details* d = DetailsFor(plan, Action::kError);
  return d == nullptr ? "" : d->error.type.c_str();
}

const char* faultline_plan_error_message(const faultline_plan* plan) {
  const faultline::Plan::Details* d = DetailsFor(plan, Action::kError);
  return d == nullptr ? "" : d->error.message.c_str();
}

int faultline_plan_status_code(const faultline_plan* plan) {
  const faultline::Plan::Details* d = DetailsFor(plan, Action::kStatus);
  return d == nullptr ? 0 : d->response.code;
}

const char* faultline_plan_body(const faultline_plan* plan) {
  const faultline::Plan::Details* d = DetailsFor(plan, Action::kStatus, Action::kBody);
  return d == nullptr ? "" : d->response.body.c_str();
}

size_t faultline_plan_body_len(const faultline_plan* plan) {
  const faultline::Plan::Details* d = DetailsFor(plan, Action::kStatus, Action::kBody);
  return d == nullptr ? 0 : d->response.body.size();
}

const char* faultline_plan_content_type(const faultline_plan* plan) {
  const faultline::Plan::Details* d = DetailsFor(plan, Action::kStatus);
  return d == nullptr ? "" : d->response.content_type.c_str();
}

size_t faultline_plan_header_count(const faultline_plan* plan) {
  const faultline::Plan::Details* d = DetailsFor(plan, Action::kStatus);
  return d == nullptr ? 0 : d->response.headers.size();
}

const char* faultline_plan_header_name(const faultline_plan* plan, size_t index) {
  const auto* h = HeaderAt(plan, index);
  return h == nullptr ? "" : h->first.c_str();
}

const char* faultline_plan_header_value(const faultline_plan* plan, size_t index) {
  const auto* h = HeaderAt(plan, index);
  return h == nullptr ? "" : h->second.c_str();
}

double faultline_plan_timeout_buffer_ms(const faultline_plan* plan) {
  const faultline::Plan::Details* d = DetailsFor(plan, Action::kTimeout);
  return d == nullptr ? 0 : d->timeout_buffer_ms;
}

uint64_t faultline_plan_diskspace_mb(const faultline_plan* plan) {
  const faultline::Plan::Details* d = DetailsFor(plan, Action::kDiskSpace);
  return d == nullptr ? 0 : d->diskspace_mb;
}

size_t faultline_plan_denylist_count(const faultline_plan* plan) {
  const faultline::Plan::Details* d = DetailsFor(plan, Action::kDenylist);
  return d == nullptr ? 0 : d->denylist.size();
}

const char* faultline_plan_denylist_at(const faultline_plan* plan, size_t index) {
  const faultline::Plan::Details* d = DetailsFor(plan, Action::kDenylist);
  if (d == nullptr || index >= d->denylist.size()) return "";
  return d->denylist[index].c_str();
}

faultline_counters* faultline_engine_counters(const faultline_engine* engine, char* err,
                                              size_t errlen) {
  if (engine == nullptr) {
    NullArgument(err, errlen, "faultline_engine_counters: ", "engine is NULL");
    return nullptr;
  }
  try {
    auto counters = std::make_unique<faultline_counters>();
    counters->rules = engine->engine.Counters();
    counters->json = CountersJson(counters->rules);
    ClearError(err, errlen);
    return counters.release();
  } catch (...) {
    ReportCurrentException(err, errlen);
    return nullptr;
  }
}

void faultline_counters_free(faultline_counters* counters) { delete counters; }

size_t faultline_counters_count(const faultline_counters* counters) {
  return counters == nullptr ? 0 : counters->rules.size();
}

const char* faultline_counters_name(const faultline_counters* counters, size_t index) {
  const faultline::RuleCounters* c = CounterAt(counters, index);
  return c == nullptr ? "" : c->name.c_str();
}

uint64_t faultline_counters_matched(const faultline_counters* counters, size_t index) {
  const faultline::RuleCounters* c = CounterAt(counters, index);
  return c == nullptr ? 0 : c->matched;
}

uint64_t faultline_counters_injected(const faultline_counters* counters, size_t index) {
  const faultline::RuleCounters* c = CounterAt(counters, index);
  return c == nullptr ? 0 : c->injected;
}

uint64_t faultline_counters_skipped(const faultline_counters* counters, size_t index) {
  const faultline::RuleCounters* c = CounterAt(counters, index);
  return c == nullptr ? 0 : c->skipped;
}

size_t faultline_counters_find(const faultline_counters* counters, const char* name) {
  if (counters == nullptr || name == nullptr) return kNotFound;
  for (size_t i = 0; i < counters->rules.size(); ++i) {
    if (counters->rules[i].name == name) return i;
  }
  return kNotFound;
}

const char* faultline_counters_json(const faultline_counters* counters) {
  return counters == nullptr ? "" : counters->json.c_str();
}

}  // extern "C"
