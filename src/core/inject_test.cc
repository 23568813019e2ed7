#include "faultline/inject.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

namespace faultline {
namespace {

using std::chrono::milliseconds;

Rule MakeRule(std::string name, std::string target, Action action) {
  Rule r;
  r.name = std::move(name);
  r.target = std::move(target);
  r.action = action;
  return r;
}

class InjectTest : public ::testing::Test {
 protected:
  InjectTest() : engine_(EngineOptions{.clock = &clock_, .seed = 3}) {}
  FakeClock clock_;
  Engine engine_;
};

TEST_F(InjectTest, NothingArmedIsOkAndDoesNotSleep) {
  EXPECT_TRUE(Inject(engine_, "redis.get").ok());
  EXPECT_TRUE(clock_.sleeps().empty());
}

TEST_F(InjectTest, LatencySleepsOnTheEngineClock) {
  Rule r = MakeRule("slow", "redis.get", Action::kLatency);
  r.latency.ms = 100;
  ASSERT_TRUE(engine_.Load({{r}}).ok());
  const TimeNs before = clock_.Now();
  EXPECT_TRUE(Inject(engine_, "redis.get").ok());
  EXPECT_EQ(clock_.sleeps(), (std::vector<std::chrono::nanoseconds>{milliseconds(100)}));
  EXPECT_EQ(clock_.Now() - before, 100'000'000);
}

TEST_F(InjectTest, ErrorBecomesAnInjectedStatus) {
  Rule r = MakeRule("down", "redis.*", Action::kError);
  r.error = {"ConnectionRefused", "Connection refused"};
  ASSERT_TRUE(engine_.Load({{r}}).ok());
  Status s = Inject(engine_, "redis.get", {{"db", "redis"}});
  EXPECT_TRUE(s.IsInjected());
  EXPECT_EQ(s.type(), "ConnectionRefused");
  EXPECT_EQ(s.message(), "Connection refused");
}

TEST_F(InjectTest, LatencyThenErrorDoesBoth) {
  Rule l = MakeRule("slow", "p", Action::kLatency);
  l.latency.ms = 30;
  Rule e = MakeRule("fail", "p", Action::kError);
  ASSERT_TRUE(engine_.Load({{l, e}}).ok());
  Status s = Inject(engine_, "p");
  EXPECT_TRUE(s.IsInjected());
  EXPECT_EQ(clock_.total_slept(), milliseconds(30));
}

TEST_F(InjectTest, StatusActionIsReportedAsInjected) {
  Rule r = MakeRule("s", "p", Action::kStatus);
  r.response.code = 503;
  ASSERT_TRUE(engine_.Load({{r}}).ok());
  Status s = Inject(engine_, "p");
  EXPECT_EQ(s.type(), "faultline.status");
  EXPECT_EQ(s.message(), "503");
}

Status GuardedStatus(Engine& engine, bool* ran) {
  FAULTLINE_INJECT(engine, "guarded");
  *ran = true;
  return Status();
}

Result<int> GuardedResult(Engine& engine) {
  FAULTLINE_INJECT(engine, "guarded");
  return 7;
}

TEST_F(InjectTest, OneLineInjectionPointReturnsTheError) {
  bool ran = false;
  EXPECT_TRUE(GuardedStatus(engine_, &ran).ok());
  EXPECT_TRUE(ran);
  EXPECT_EQ(*GuardedResult(engine_), 7);

  ASSERT_TRUE(engine_.Load({{MakeRule("g", "guarded", Action::kError)}}).ok());
  ran = false;
  EXPECT_TRUE(GuardedStatus(engine_, &ran).IsInjected());
  EXPECT_FALSE(ran);
  Result<int> r = GuardedResult(engine_);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInjected());
}

// DESIGN.md scenario 6: a web endpoint reads and writes a session cache,
// twice per request, and shows recommendations from the session.
class SessionCache {
 public:
  std::optional<std::string> Get(const std::string& key) {
    ++calls;
    auto it = data_.find(key);
    if (it == data_.end()) return std::nullopt;
    return it->second;
  }
  void Set(const std::string& key, std::string value) {
    ++calls;
    data_[key] = std::move(value);
  }
  int calls = 0;

 private:
  std::map<std::string, std::string> data_;
};

struct Page {
  int status = 200;
  bool recommendations = false;
};

// The endpoint degrades gracefully: a failed cache read means no
// recommendations, not a failed page.
Page HandleRequest(Faulty<SessionCache>& cache) {
  Page page;
  Result<std::optional<std::string>> session =
      cache.Call("get", [](SessionCache& c) { return c.Get("session:42"); });
  page.recommendations = session.ok() && session->has_value();
  Status saved = cache.Call("set", [](SessionCache& c) { c.Set("session:42", "viewed:shoes"); });
  (void)saved;  // losing a session write is tolerated
  return page;
}

TEST_F(InjectTest, SessionCacheLatencyAddsTwiceTheDelayPerRequest) {
  SessionCache real;
  Faulty<SessionCache> cache(real, engine_, "session-cache", {{"tier", "cache"}});
  HandleRequest(cache);  // warm the session

  Rule slow = MakeRule("slow-cache", "session-cache.*", Action::kLatency);
  slow.latency.ms = 100;
  slow.tags = {{"tier", "cache"}};
  ASSERT_TRUE(engine_.Load({{slow}}).ok());
  for (int i = 0; i < 5; ++i) {
    const TimeNs start = clock_.Now();
    Page page = HandleRequest(cache);
    EXPECT_EQ(clock_.Now() - start, 200'000'000) << "request " << i;
    EXPECT_TRUE(page.recommendations);
  }
  EXPECT_EQ(real.calls, 12);
}

TEST_F(InjectTest, FailingEveryOtherCacheReadDropsRecommendationsEveryOtherRequest) {
  SessionCache real;
  Faulty<SessionCache> cache(real, engine_, "session-cache");
  HandleRequest(cache);

  Rule flaky = MakeRule("flaky-read", "session-cache.get", Action::kError);
  flaky.every = 2;
  flaky.error = {"ConnectionReset", "connection reset by peer"};
  ASSERT_TRUE(engine_.Load({{flaky}}).ok());
  std::vector<bool> shown;
  for (int i = 0; i < 6; ++i) {
    Page page = HandleRequest(cache);
    EXPECT_EQ(page.status, 200);
    shown.push_back(page.recommendations);
  }
  EXPECT_EQ(shown, (std::vector<bool>{true, false, true, false, true, false}));
  EXPECT_EQ(real.calls, 2 + 6 + 3);  // failed reads never reached the cache
}

TEST_F(InjectTest, FaultyPassesResultsThrough) {
  struct Adder {
    int Add(int a, int b) { return a + b; }
    Result<int> Checked(int a) { return a > 0 ? Result<int>(a) : Status::InvalidArgument("neg"); }
  } adder;
  Faulty<Adder> f(adder, engine_, "adder");
  Result<int> sum = f.Call("add", [](Adder& a) { return a.Add(2, 3); });
  EXPECT_EQ(*sum, 5);
  Result<int> checked = f.Call("checked", [](Adder& a) { return a.Checked(-1); });
  EXPECT_EQ(checked.status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace faultline
