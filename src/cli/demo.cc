#include "cli/demo.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "cli/commands.h"
#include "faultline/engine.h"
#include "faultline/inject.h"
#include "faultline/random.h"
#include "faultline/rules.h"

namespace faultline::cli {
namespace {

// The rule files of examples/rules/ that the scenarios inject, built in at
// configure time (see CMakeLists.txt) so that the demo runs exactly the
// examples a user reads and checks.
struct ExampleRules {
  std::string_view name;  // "cache-fallback" for examples/rules/cache-fallback.yaml
  std::string_view yaml;
};
constexpr ExampleRules kExampleRules[] = {
#include "cli/example_rules.inc"
};

std::optional<std::string_view> ExampleYaml(std::string_view name) {
  for (const ExampleRules& rules : kExampleRules) {
    if (rules.name == name) return rules.yaml;
  }
  return std::nullopt;
}

// A stand-in for Redis, the session cache and a database table: a map that
// counts its reads.
class InMemoryStore {
 public:
  std::optional<std::string> Get(const std::string& key) {
    ++reads_;
    auto it = data_.find(key);
    if (it == data_.end()) return std::nullopt;
    return it->second;
  }
  void Put(const std::string& key, std::string value) { data_[key] = std::move(value); }
  int reads() const { return reads_; }

 private:
  std::map<std::string, std::string> data_;
  int reads_ = 0;
};

using FaultyStore = Faulty<InMemoryStore>;

// Width of the step labels ("no faults", "under faults") of a scenario's story.
constexpr int kLabelWidth = 15;

double Millis(TimeNs ns) { return static_cast<double>(ns) / 1e6; }

std::string Describe(const Status& s) {
  return s.type().empty() ? s.ToString() : fmt::format("{}: {}", s.type(), s.message());
}

}  // namespace

// One scenario's run: its engine, its output, and the steps every scenario
// takes (arm rules, report what fired, give the verdict).
class Stage {
 public:
  Stage(const Scenario& scenario, const DemoOptions& options, std::ostream& out)
      : scenario_(scenario),
        out_(out),
        engine_(EngineOptions{
            .clock = options.clock != nullptr ? options.clock : SystemClock::Default(),
            .seed = options.seed,
            .log_sink = LogSink(options.verbose),
            .dry_run = false}) {}

  Engine& engine() { return engine_; }
  Clock& clock() { return *engine_.clock(); }

  // "   label        text": one step of the story.
  void Say(std::string_view label, std::string_view text) {
    fmt::print(out_, "   {:<{}}{}\n", label, kLabelWidth, text);
  }

  // Loads examples/rules/<name>.yaml into the engine, printing the rules.
  // False (and a line saying why) when they do not load.
  bool Arm(std::string_view name) {
    std::string source = fmt::format("examples/rules/{}.yaml", name);
    std::optional<std::string_view> yaml = ExampleYaml(name);
    Result<RuleSet> rules = yaml ? ParseRules(*yaml, source)
                                 : Result<RuleSet>(Status::NotFound(source + ": not built in"));
    Status loaded = rules.ok() ? engine_.Load(*rules) : rules.status();
    if (!loaded.ok()) {
      Say("injecting", fmt::format("nothing: {}", loaded.ToString()));
      return false;
    }
    Say("injecting", source);
    PrintRules(*yaml);
    if (!engine_.enabled()) {
      Say("", "but FAULTLINE_DISABLE is set: the kill switch is off, nothing will be injected");
    }
    return true;
  }

  // Prints how often each rule fired, then removes the rules.
  void Disarm() {
    for (const RuleCounters& c : engine_.Counters()) {
      Say("injected",
          fmt::format("{} fired on {} of {} matching calls", c.name, c.injected, c.matched));
    }
    engine_.Clear();
  }

  // Prints "PASS <scenario>: <text>" or "FAIL ..."; returns `pass`.
  bool Verdict(bool pass, std::string_view text) {
    fmt::print(out_, "{} {}: {}\n\n", pass ? "PASS" : "FAIL", scenario_.name, text);
    return pass;
  }

 private:
  std::function<void(std::string_view)> LogSink(bool verbose) {
    if (!verbose) return {};
    // Scenarios inject on the calling thread only, so Say needs no lock.
    return [this](std::string_view line) { Say("log", line); };
  }

  // The rule file without its comment lines, indented under "injecting".
  void PrintRules(std::string_view yaml) {
    while (!yaml.empty()) {
      std::size_t end = std::min(yaml.find('\n'), yaml.size());
      std::string_view line = yaml.substr(0, end);
      yaml.remove_prefix(std::min(end + 1, yaml.size()));
      if (!line.empty() && line[0] != '#') Say("", fmt::format("  {}", line));
    }
  }

  const Scenario& scenario_;
  std::ostream& out_;
  Engine engine_;
};

namespace {

// --- Scenario 1: a cache without a fallback -------------------------------

constexpr int kUsers = 10;

std::string UserId(int i) { return fmt::format("user-{:02}", i); }

// The database read both versions fall back on.
Result<std::string> QueryUser(FaultyStore& db, const std::string& id) {
  auto row = db.Call("query", [&](InMemoryStore& d) { return d.Get(id); });
  if (!row.ok()) return row.status();
  if (!row->has_value()) return Status::NotFound("no user " + id);
  return **row;
}

// The function under test, naive: a Redis error fails the invocation.
Result<std::string> GetUserNaive(FaultyStore& redis, FaultyStore& db, const std::string& id) {
  auto cached = redis.Call("get", [&](InMemoryStore& r) { return r.Get("user:" + id); });
  if (!cached.ok()) return cached.status();
  if (cached->has_value()) return **cached;
  Result<std::string> user = QueryUser(db, id);
  if (!user.ok()) return user;
  Status stored = redis.Call("set", [&](InMemoryStore& r) { r.Put("user:" + id, *user); });
  if (!stored.ok()) return stored;
  return user;
}

// Fixed: the cache only saves time, so its errors count as misses.
Result<std::string> GetUserFixed(FaultyStore& redis, FaultyStore& db, const std::string& id) {
  auto cached = redis.Call("get", [&](InMemoryStore& r) { return r.Get("user:" + id); });
  if (cached.ok() && cached->has_value()) return **cached;
  Result<std::string> user = QueryUser(db, id);
  // A refill that fails costs a later miss, not this answer.
  if (user.ok()) (void)redis.Call("set", [&](InMemoryStore& r) { r.Put("user:" + id, *user); });
  return user;
}

using GetUserFn = Result<std::string> (*)(FaultyStore&, FaultyStore&, const std::string&);

// One version of the function with its own Redis, over a shared database.
struct UserService {
  GetUserFn get_user;
  InMemoryStore redis_store;
  InMemoryStore& db_store;

  struct Tally {
    int answered = 0;
    int db_reads = 0;
    Status first_error;
  };

  // Invokes the function once per user.
  Tally InvokeAll(Engine& engine) {
    FaultyStore redis(redis_store, engine, "redis", {{"db", "redis"}});
    FaultyStore db(db_store, engine, "postgres", {{"db", "postgres"}});
    Tally tally;
    int reads_before = db_store.reads();
    for (int i = 1; i <= kUsers; ++i) {
      Result<std::string> user = get_user(redis, db, UserId(i));
      if (user.ok()) {
        ++tally.answered;
      } else if (tally.first_error.ok()) {
        tally.first_error = user.status();
      }
    }
    tally.db_reads = db_store.reads() - reads_before;
    return tally;
  }
};

std::string Summarize(std::string_view version, const UserService::Tally& t) {
  std::string text = fmt::format("{} answered {}/{}", version, t.answered, kUsers);
  if (!t.first_error.ok()) text += fmt::format(" (first error: {})", Describe(t.first_error));
  return text;
}

bool CacheFallback(Stage& stage) {
  stage.Say("", "A function reads a user from Redis and, on a miss, from the database.");
  stage.Say("", "The naive version returns Redis's errors; the fixed one treats them as misses.");
  InMemoryStore db;
  for (int i = 1; i <= kUsers; ++i) db.Put(UserId(i), fmt::format("{{\"name\":\"user {}\"}}", i));
  UserService naive{GetUserNaive, {}, db};
  UserService fixed{GetUserFixed, {}, db};

  UserService::Tally naive_steady = naive.InvokeAll(stage.engine());
  UserService::Tally fixed_steady = fixed.InvokeAll(stage.engine());
  stage.Say("no faults", fmt::format("{}; {}", Summarize("naive", naive_steady),
                                     Summarize("fixed", fixed_steady)));
  if (!stage.Arm("cache-fallback")) return stage.Verdict(false, "the rules did not load");
  UserService::Tally naive_faulty = naive.InvokeAll(stage.engine());
  UserService::Tally fixed_faulty = fixed.InvokeAll(stage.engine());
  stage.Say("under faults", Summarize("naive", naive_faulty));
  stage.Say("", Summarize("fixed", fixed_faulty) +
                    fmt::format(", {} from the database", fixed_faulty.db_reads));
  stage.Disarm();

  bool steady = naive_steady.answered == kUsers && fixed_steady.answered == kUsers;
  bool pass = steady && naive_faulty.answered == 0 && fixed_faulty.answered == kUsers;
  return stage.Verdict(
      pass, fmt::format("naive version failed {}/{} invocations under injected Redis errors; "
                        "fixed version answered {}/{}{}",
                        kUsers - naive_faulty.answered, kUsers, fixed_faulty.answered, kUsers,
                        steady ? "" : " (but the steady state did not hold)"));
}

// --- Scenario 3: non-transactional writes ---------------------------------

constexpr int kGrants = 10;

// The two tables of a game: who owns an item, and what a player holds.
struct GameTables {
  InMemoryStore items;      // item -> owner
  InMemoryStore inventory;  // "player/item" -> "1"

  // The probe: items whose owner's inventory does not list them.
  int Inconsistent(const std::vector<std::string>& granted_items) {
    int bad = 0;
    for (const std::string& item : granted_items) {
      std::optional<std::string> owner = items.Get(item);
      if (owner && !inventory.Get(*owner + "/" + item)) ++bad;
    }
    return bad;
  }
};

// Gives `item` to `player`, naive: two writes, one after the other.
Status GrantNaive(Engine& engine, GameTables& t, const std::string& player,
                  const std::string& item) {
  FaultyStore items(t.items, engine, "dynamodb", {{"table", "items"}});
  FaultyStore inventory(t.inventory, engine, "dynamodb", {{"table", "inventory"}});
  Status s = items.Call("put_item", [&](InMemoryStore& tbl) { tbl.Put(item, player); });
  if (!s.ok()) return s;
  return inventory.Call("put_item", [&](InMemoryStore& tbl) { tbl.Put(player + "/" + item, "1"); });
}

// Fixed: both writes in one transaction, as DynamoDB's TransactWriteItems
// does them: each put is an injection point "dynamodb.put_item" tagged with
// its table, and one failed put cancels them all.
Status GrantFixed(Engine& engine, GameTables& t, const std::string& player,
                  const std::string& item) {
  for (std::string_view table : {"items", "inventory"}) {
    Status s = Inject(engine, "dynamodb.put_item", {{"table", table}});
    if (!s.ok()) return s.WithContext("transaction cancelled");
  }
  t.items.Put(item, player);
  t.inventory.Put(player + "/" + item, "1");
  return Status();
}

using GrantFn = Status (*)(Engine&, GameTables&, const std::string&, const std::string&);

struct GrantTally {
  int succeeded = 0;
  int inconsistent = 0;
};

// Grants kGrants new items on fresh tables, then probes them.
GrantTally GrantAll(Engine& engine, GrantFn grant, std::string_view round) {
  GameTables tables;
  std::vector<std::string> granted;
  GrantTally tally;
  for (int i = 1; i <= kGrants; ++i) {
    std::string item = fmt::format("{}-sword-{:02}", round, i);
    if (grant(engine, tables, "player-1", item).ok()) ++tally.succeeded;
    granted.push_back(item);
  }
  tally.inconsistent = tables.Inconsistent(granted);
  return tally;
}

std::string Summarize(std::string_view version, const GrantTally& t) {
  return fmt::format("{}: {}/{} grants succeeded, {} items inconsistent", version, t.succeeded,
                     kGrants, t.inconsistent);
}

bool InconsistentWrites(Stage& stage) {
  stage.Say("", "Giving a player an item writes the item's owner, then the player's inventory.");
  stage.Say("", "The naive version writes one after the other; the fixed one, in one transaction.");
  GrantTally naive_steady = GrantAll(stage.engine(), GrantNaive, "steady");
  GrantTally fixed_steady = GrantAll(stage.engine(), GrantFixed, "steady");
  stage.Say("no faults", Summarize("naive", naive_steady));
  stage.Say("", Summarize("fixed", fixed_steady));
  if (!stage.Arm("inconsistent-writes")) return stage.Verdict(false, "the rules did not load");
  GrantTally naive_faulty = GrantAll(stage.engine(), GrantNaive, "faulty");
  GrantTally fixed_faulty = GrantAll(stage.engine(), GrantFixed, "faulty");
  stage.Say("under faults", Summarize("naive", naive_faulty));
  stage.Say("", Summarize("fixed", fixed_faulty));
  stage.Disarm();

  bool steady = naive_steady.succeeded == kGrants && fixed_steady.succeeded == kGrants &&
                naive_steady.inconsistent == 0 && fixed_steady.inconsistent == 0;
  bool pass = steady && naive_faulty.inconsistent == kGrants && fixed_faulty.inconsistent == 0 &&
              fixed_faulty.succeeded == 0;
  return stage.Verdict(
      pass, fmt::format("naive version left {}/{} items owned but missing from the inventory "
                        "when the inventory write failed; fixed version (one transaction) left "
                        "{}/{}{}",
                        naive_faulty.inconsistent, kGrants, fixed_faulty.inconsistent, kGrants,
                        steady ? "" : " (but the steady state did not hold)"));
}

// --- Scenario 6: session cache latency ------------------------------------

constexpr int kLatencyRequests = 5;  // at ~200 ms each: the demo's slow part
constexpr int kFlakyRequests = 6;
constexpr double kInjectedMs = 100;  // examples/rules/session-latency.yaml
constexpr int kCacheCallsPerRequest = 2;

// A web endpoint: reads the session (which holds the user's
// recommendations) and writes it back. A failed read costs the page its
// recommendations, not its answer.
bool RenderPage(FaultyStore& sessions, const std::string& user) {
  auto session = sessions.Call("get", [&](InMemoryStore& c) { return c.Get("session:" + user); });
  bool recommendations = session.ok() && session->has_value();
  std::string updated = recommendations ? **session : "recommendations=";
  // Losing a last-seen update is harmless: it does not fail the page.
  (void)sessions.Call("set", [&](InMemoryStore& c) { c.Put("session:" + user, updated); });
  return recommendations;
}

struct Served {
  double mean_ms = 0;
  std::vector<int> without_recommendations;  // 1-based request numbers
};

Served Serve(Stage& stage, InMemoryStore& store, int requests) {
  FaultyStore sessions(store, stage.engine(), "session-cache");
  Served served;
  TimeNs start = stage.clock().Now();
  for (int i = 1; i <= requests; ++i) {
    if (!RenderPage(sessions, "alice")) served.without_recommendations.push_back(i);
  }
  served.mean_ms = Millis(stage.clock().Now() - start) / requests;
  return served;
}

// Whether exactly every other request lost its recommendations.
bool EveryOther(const std::vector<int>& missing, int requests) {
  if (static_cast<int>(missing.size()) != requests / 2) return false;
  for (std::size_t i = 1; i < missing.size(); ++i) {
    if (missing[i] - missing[i - 1] != 2) return false;
  }
  return true;
}

bool SessionLatency(Stage& stage) {
  stage.Say("", "A page reads the session (with its recommendations) from a session cache");
  stage.Say("", "and writes it back: two cache calls per request.");
  InMemoryStore store;
  store.Put("session:alice", "recommendations=book-1,book-2");

  Served steady = Serve(stage, store, kLatencyRequests);
  stage.Say("no faults", fmt::format("{} requests, mean {:.1f} ms, recommendations on {}/{}",
                                     kLatencyRequests, steady.mean_ms,
                                     kLatencyRequests - std::ssize(steady.without_recommendations),
                                     kLatencyRequests));
  if (!stage.Arm("session-latency")) return stage.Verdict(false, "the rules did not load");
  Served slow = Serve(stage, store, kLatencyRequests);
  double added_ms = slow.mean_ms - steady.mean_ms;
  stage.Say(
      "under faults",
      fmt::format("{} requests, mean {:.1f} ms: {:+.1f} ms per request (expected {} calls "
                  "x {} ms)",
                  kLatencyRequests, slow.mean_ms, added_ms, kCacheCallsPerRequest, kInjectedMs));
  stage.Disarm();

  if (!stage.Arm("session-flaky-reads")) return stage.Verdict(false, "the rules did not load");
  Served flaky = Serve(stage, store, kFlakyRequests);
  stage.Say(
      "under faults",
      fmt::format("{}/{} pages answered; recommendations missing on requests {}", kFlakyRequests,
                  kFlakyRequests, fmt::join(flaky.without_recommendations, ", ")));
  stage.Disarm();

  // Sleeping never ends early; allow the scheduler some lateness.
  double expected_ms = kCacheCallsPerRequest * kInjectedMs;
  bool latency_ok = added_ms >= expected_ms * 0.95 && added_ms <= expected_ms * 1.5;
  bool pass = steady.without_recommendations.empty() && latency_ok &&
              EveryOther(flaky.without_recommendations, kFlakyRequests);
  return stage.Verdict(
      pass, fmt::format("{} ms per cache call added {:.1f} ms per request ({} calls); failing "
                        "every other cache read dropped recommendations on {}/{} requests while "
                        "{}/{} pages answered",
                        kInjectedMs, added_ms, kCacheCallsPerRequest,
                        flaky.without_recommendations.size(), kFlakyRequests, kFlakyRequests,
                        kFlakyRequests));
}

constexpr std::array kScenarios = {
    Scenario{"cache-fallback", 1, "a cache without a fallback: Redis fails, the database answers",
             CacheFallback},
    Scenario{"inconsistent-writes", 3,
             "non-transactional writes: the second write fails, a probe finds the damage",
             InconsistentWrites},
    Scenario{"session-latency", 6,
             "session cache latency: +100 ms per cache call, then every other read fails",
             SessionLatency},
};

std::vector<std::string_view> ScenarioNames() {
  std::vector<std::string_view> names;
  names.reserve(kScenarios.size());
  for (const Scenario& s : kScenarios) names.push_back(s.name);
  return names;
}

const Scenario* FindScenario(std::string_view name) {
  for (const Scenario& s : kScenarios) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

void PrintScenarioList(std::ostream& out) {
  for (const Scenario& s : kScenarios) {
    fmt::print(out, "{:<20} DESIGN.md scenario {}: {}\n", s.name, s.design_number, s.title);
  }
}

// The scenarios named on the command line (all when none is), or nullopt
// after saying which name is unknown.
std::optional<std::vector<const Scenario*>> Select(const std::vector<std::string>& names,
                                                   std::ostream& err) {
  std::vector<const Scenario*> selected;
  for (const std::string& name : names) {
    if (const Scenario* s = FindScenario(name)) {
      selected.push_back(s);
      continue;
    }
    std::vector<std::string_view> known = ScenarioNames();
    fmt::print(err, "faultline demo: no scenario '{}'.", name);
    if (auto guess = Suggest(name, known)) fmt::print(err, " Did you mean '{}'?", *guess);
    fmt::print(err, " The scenarios are: {}.\n", fmt::join(known, ", "));
    return std::nullopt;
  }
  if (selected.empty()) {
    for (const Scenario& s : kScenarios) selected.push_back(&s);
  }
  return selected;
}

constexpr std::string_view kDemoHelp =
    "Run DESIGN.md's seed scenarios as chaos experiments and print, for each, the rules it\n"
    "injected, what happened, and a verdict line (PASS or FAIL <name>: ...). Each scenario\n"
    "measures a steady state, injects the rules of examples/rules/, measures again and\n"
    "checks the prediction: a naive function breaks where its fixed version holds, a\n"
    "latency shows up where it should, a page degrades instead of failing.\n\n"
    "For now the scenarios run in-process, against the real fault engine, with in-memory\n"
    "stand-ins for Redis, the session cache and DynamoDB; once the local Lambda emulator\n"
    "lands they will run as real functions. Exit status: 0 when every verdict matched the\n"
    "expectation, 1 when one did not, 2 for an unknown scenario.\n";

constexpr std::string_view kDemoExamples =
    "Examples:\n"
    "  faultline demo                     run every scenario (about 1 s)\n"
    "  faultline demo cache-fallback      run one\n"
    "  faultline demo --list              list the scenarios\n"
    "  faultline demo --seed 42 -v        replay with a seed, print every injection";

}  // namespace

std::span<const Scenario> Scenarios() { return kScenarios; }

bool RunScenario(const Scenario& scenario, const DemoOptions& options, std::ostream& out) {
  fmt::print(out, "== {} (DESIGN.md scenario {}): {}\n", scenario.name, scenario.design_number,
             scenario.title);
  Stage stage(scenario, options, out);
  return scenario.run(stage);
}

int RunDemo(const Context& ctx) {
  CLI::App app{std::string(kDemoHelp), "faultline demo"};
  std::vector<std::string> names;
  bool list = false;
  std::uint64_t seed = 0;
  bool verbose = false;
  app.add_option("NAME", names, "scenarios to run (default: all); see --list");
  app.add_flag("--list", list, "list the scenarios and exit");
  app.add_option("--seed", seed, "seed of every random decision (default: a random one, printed)");
  app.add_flag("-v,--verbose", verbose, "print each injection's JSON log line");
  app.footer(std::string(kDemoExamples));
  if (auto code = ParseFlags(app, ctx)) return *code;

  if (list) {
    PrintScenarioList(ctx.out);
    return kExitOk;
  }
  std::optional<std::vector<const Scenario*>> selected = Select(names, ctx.err);
  if (!selected) return kExitUsage;

  DemoOptions options{
      .clock = nullptr, .seed = seed != 0 ? seed : RandomSeed(), .verbose = verbose};
  fmt::print(ctx.out,
             "faultline demo: runs in-process until the local Lambda emulator lands: the\n"
             "functions and the services they call are stand-ins inside this program; the\n"
             "faults are real rules, decided by the real engine.\n"
             "Seed {} (replay: --seed {}).\n\n",
             options.seed, options.seed);
  int matched = 0;
  for (const Scenario* s : *selected) matched += RunScenario(*s, options, ctx.out) ? 1 : 0;
  fmt::print(ctx.out, "{}/{} verdicts as expected\n", matched, selected->size());
  return matched == static_cast<int>(selected->size()) ? kExitOk : kExitFailure;
}

}  // namespace faultline::cli
