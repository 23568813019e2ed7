#include "experiment/report.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>

#include "experiment/report_internal.h"

namespace faultline::experiment {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// "2026-12-02T16:00:00.000000+00:00" plus `s` seconds (s < 3600).
std::string At(double s) {
  const long long us = std::llround(s * 1e6);
  return fmt::format("2026-12-02T16:{:02}:{:02}.{:06}+00:00", us / 60'000'000, us / 1'000'000 % 60,
                     us % 1'000'000);
}

json Entry(const std::string& type, const std::string& name, double start, double end, json output,
           std::optional<bool> met = std::nullopt) {
  json e = {{"activity",
             {{"type", type},
              {"name", name},
              {"provider", {{"type", "process"}, {"path", "test"}, {"arguments", "-f up"}}}}},
            {"output", std::move(output)},
            {"start", At(start)},
            {"status", "succeeded"},
            {"end", At(end)},
            {"duration", end - start}};
  if (met) e["tolerance_met"] = *met;
  return e;
}

json State(bool met, json probes) {
  return {{"steady_state_met", met}, {"probes", std::move(probes)}};
}

json ProcessOut(int status, const std::string& stdout_text = "") {
  return {{"status", status}, {"stdout", stdout_text}, {"stderr", ""}};
}

// A journal of a run that took `duration` seconds, with no activity yet.
json Journal(const std::string& status, bool deviated, double duration) {
  return {{"chaoslib-version", "1.44.0"},
          {"platform", "Linux-test"},
          {"node", "host"},
          {"experiment",
           {{"title", "The service survives"},
            {"description", "Takes it down, checks, brings it back."},
            {"method", json::array()}}},
          {"start", At(0)},
          {"status", status},
          {"deviated", deviated},
          {"steady_states", {{"before", nullptr}, {"after", nullptr}, {"during", json::array()}}},
          {"run", json::array()},
          {"rollbacks", json::array()},
          {"end", At(duration)},
          {"duration", duration},
          {"faultline", {{"seed", 42}}}};
}

// The journal of service-goes-down: up before, down after, a rollback.
json Deviated() {
  json j = Journal("completed", true, 3);
  j["experiment"]["steady-state-hypothesis"] = {{"title", "The service is up"}};
  j["experiment"]["rollbacks"] = json::array({{{"name", "start-the-service"}}});
  j["steady_states"]["before"] =
      State(true, {Entry("probe", "service-is-up", 0.01, 0.02, ProcessOut(0), true)});
  j["run"].push_back(Entry("action", "stop-the-service", 0.05, 0.06, ProcessOut(0)));
  j["steady_states"]["after"] =
      State(false, {Entry("probe", "service-is-up", 2.0, 2.01, ProcessOut(1), false)});
  j["rollbacks"].push_back(Entry("action", "start-the-service", 2.5, 2.51, ProcessOut(0)));
  return j;
}

std::string Render(const json& j, const ReportOptions& o = {}) {
  Result<std::string> html = RenderReport(j, o);
  EXPECT_TRUE(html.ok()) << html.status().ToString();
  return html.ok() ? *html : "";
}

std::size_t Count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

// The data-points of every polyline whose <title> is `line`.
std::vector<int> PointsOf(const std::string& html, const std::string& line) {
  std::vector<int> counts;
  const std::regex re(
      "<polyline class=\"series\" data-points=\"([0-9]+)\" points=\"([^\"]*)\"[^>]*>"
      "<title>" +
      line + "</title>");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), re); it != std::sregex_iterator();
       ++it) {
    const int n = std::stoi((*it)[1]);
    // The points attribute holds exactly that many "x,y" pairs.
    const std::string pts = (*it)[2];
    EXPECT_EQ(static_cast<int>(Count(pts, ",")), n);
    counts.push_back(n);
  }
  return counts;
}

TEST(ReportTimeTest, ReadsWhatPythonWrites) {
  EXPECT_EQ(ParseIsoTime("1970-01-01T00:00:00+00:00"), 0);
  EXPECT_EQ(ParseIsoTime("2026-12-02T16:36:22.593824+00:00"), 1796229382593824);
  EXPECT_EQ(ParseIsoTime("2026-12-02T16:36:22.593824Z"), 1796229382593824);
  EXPECT_EQ(ParseIsoTime("2000-02-29T23:59:59.5-01:30"), 951874199500000);
  EXPECT_EQ(ParseIsoTime("2026-12-02 16:36:22"), 1796229382000000);
  EXPECT_EQ(ParseIsoTime("2026-12-02T16:36:22.1234567+00:00"), 1796229382123456);
  for (const char* bad : {"", "yesterday", "2026-13-02T16:36:22", "2026-12-02T16:36",
                          "2026-12-02T16:36:22+0", "2026-12-02T16:36:22 junk"}) {
    EXPECT_EQ(ParseIsoTime(bad), std::nullopt) << bad;
  }
}

TEST(ReportEscapeTest, NothingOfTheInputIsMarkup) {
  EXPECT_EQ(Escape("</script><img src=x onerror=\"alert('x')\">&"),
            "&lt;/script&gt;&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;");
  EXPECT_EQ(Escape("caf\xC3\xA9 \xE2\x9C\x93"), "caf\xC3\xA9 \xE2\x9C\x93");
  // Invalid UTF-8, overlong forms, surrogates, C0 and C1 controls.
  EXPECT_EQ(Escape("a\xFF"
                   "b\xC0\xAF"
                   "c\xED\xA0\x80"
                   "d\x01"
                   "e\xC2\x85"),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD\xEF\xBF\xBD"
            "c\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
            "d\xEF\xBF\xBD"
            "e\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(Escape("tab\tline\n"), "tab\tline\n");
}

TEST(ReportTest, EveryStringOfTheJournalIsEscaped) {
  const std::string evil = "</script><img src=x onerror=alert(1)><svg onload=alert(2)>\"'";
  json j = Deviated();
  j["experiment"]["title"] = evil;
  j["experiment"]["description"] = evil;
  j["experiment"]["tags"] = json::array({evil});
  j["experiment"]["steady-state-hypothesis"]["title"] = evil;
  j["node"] = evil;
  j["faultline"] = {{"seed", evil}, {"reason", evil}};
  j["run"][0]["activity"]["name"] = evil;
  j["run"][0]["activity"]["provider"]["arguments"] = evil;
  j["run"][0]["output"] = {{"status", 0}, {"stdout", evil}, {evil, 1}};
  j["run"][0]["status"] = "failed";
  j["run"][0]["exception"] = json::array({evil + "\n", "ActivityFailed: " + evil + "\n"});
  j["rollbacks"][0]["activity"]["name"] = evil;
  j["status"] = evil;
  ReportOptions o;
  o.source = evil;
  const std::string html = Render(j, o);
  EXPECT_THAT(html, Not(HasSubstr("<img")));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("</script")));
  EXPECT_THAT(html, Not(HasSubstr("<svg onload")));
  EXPECT_THAT(html, HasSubstr("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"));
  // The page forbids scripts and fetches, whatever got through.
  EXPECT_THAT(html, HasSubstr("Content-Security-Policy\" content=\"default-src 'none'"));
}

TEST(ReportTest, TheVerdictComesFirst) {
  const std::string html = Render(Deviated());
  const std::size_t verdict = html.find("DEVIATED");
  ASSERT_NE(verdict, std::string::npos);
  EXPECT_LT(verdict, html.find("id=\"timeline\""));
  EXPECT_THAT(html, HasSubstr("1 \xE2\x80\x94 the run deviated"));
  EXPECT_THAT(html, HasSubstr("<dt>Seed</dt><dd>42</dd>"));
  EXPECT_THAT(html, HasSubstr("<dt>Duration</dt><dd>3 s</dd>"));
  EXPECT_THAT(html, HasSubstr("The service survives"));
  EXPECT_THAT(html, HasSubstr("The service is up \xE2\x80\x94 before: met, after: NOT met"));
  EXPECT_THAT(html, HasSubstr("<dt>Started</dt><dd>2026-12-02 16:00:00 UTC</dd>"));
}

TEST(ReportTest, ASteadyRunSaysExitZero) {
  json j = Deviated();
  j["deviated"] = false;
  j["steady_states"]["after"]["steady_state_met"] = true;
  j["steady_states"]["after"]["probes"][0]["tolerance_met"] = true;
  const std::string html = Render(j);
  EXPECT_THAT(html, HasSubstr(">COMPLETED<"));
  EXPECT_THAT(html, HasSubstr("the system withstood the experiment"));
  EXPECT_THAT(html, HasSubstr("0 \xE2\x80\x94 the run completed and the steady state held"));
}

TEST(ReportTest, ABeforeHypothesisNotMetSkipsTheMethod) {
  json j = Journal("completed", false, 0.1);
  j["experiment"]["steady-state-hypothesis"] = {{"title", "t"}};
  j["steady_states"]["before"] =
      State(false, {Entry("probe", "missing", 0.01, 0.02, ProcessOut(1), false)});
  const std::string html = Render(j);
  EXPECT_THAT(html, HasSubstr("the method was not run"));
  EXPECT_THAT(html, HasSubstr("0 \xE2\x80\x94 completed (the method was skipped)"));
  EXPECT_THAT(html, HasSubstr("tolerance not met"));
}

TEST(ReportTest, AJournalWithNoHypothesis) {
  json j = Journal("completed", false, 1);
  j["run"].push_back(Entry("action", "poke", 0.1, 0.2, ProcessOut(0)));
  const std::string html = Render(j);
  EXPECT_THAT(html, HasSubstr("has no steady-state hypothesis"));
  EXPECT_THAT(html, HasSubstr("No probe returned a number to plot."));
  EXPECT_THAT(html, HasSubstr("The experiment has no rollbacks."));
  EXPECT_EQ(Count(html, "class=\"bar\""), 1u);
  EXPECT_EQ(Count(html, "class=\"fault\""), 1u);
}

TEST(ReportTest, AnEmptyMethodAndNothingElse) {
  const std::string html = Render(Journal("completed", false, 0.01));
  EXPECT_THAT(html, HasSubstr("No activity ran."));
  EXPECT_THAT(html, HasSubstr("The journal records no activity."));
  EXPECT_EQ(Count(html, "class=\"fault\""), 0u);
}

TEST(ReportTest, AnAbortedRunWithNoEnd) {
  json j = Journal("aborted", false, 0);
  j.erase("end");
  j.erase("duration");
  j["faultline"]["reason"] = "configuration: no such variable ZONE";
  json entry = Entry("action", "cut-short", 0.5, 0.5, nullptr);
  entry.erase("end");
  entry.erase("status");
  j["run"].push_back(entry);
  const std::string html = Render(j);
  EXPECT_THAT(html, HasSubstr(">ABORTED<"));
  EXPECT_THAT(html, HasSubstr("The run aborted: configuration: no such variable ZONE."));
  EXPECT_THAT(html, HasSubstr("1 \xE2\x80\x94 the run aborted"));
  EXPECT_THAT(html, HasSubstr("<dt>Reason</dt>"));
  EXPECT_THAT(html, HasSubstr("no status"));
}

TEST(ReportTest, AFailedProbeIsNamedAndMarked) {
  json j = Journal("failed", false, 0.3);
  j["experiment"]["steady-state-hypothesis"] = {{"title", "t"}};
  json probe = Entry("probe", "slow-dependency", 0.0, 0.2, nullptr);
  probe["status"] = "failed";
  probe["exception"] = json::array(
      {"Traceback (most recent call last):\n", "  File \"x.py\", line 1\n",
       "chaoslib.exceptions.ActivityFailed: process activity took too long to complete\n"});
  j["steady_states"]["before"] = State(false, {probe});
  const std::string html = Render(j);
  EXPECT_THAT(html,
              HasSubstr("The run failed: the probe &#39;slow-dependency&#39; (before) failed: "
                        "ActivityFailed: process activity took too long to complete."));
  EXPECT_THAT(html, HasSubstr("class=\"row-bad\""));
  EXPECT_THAT(html, HasSubstr("fill=\"#cf222e\""));
  EXPECT_THAT(html, HasSubstr("Traceback (most recent call last)"));
}

TEST(ReportTest, RollbacksAreTabulatedOrExplained) {
  const std::string html = Render(Deviated());
  const std::string rollbacks = html.substr(html.find("id=\"rollbacks\""));
  EXPECT_THAT(rollbacks.substr(0, rollbacks.find("</section>")),
              HasSubstr("<strong>start-the-service</strong>"));
  json none = Deviated();
  none["rollbacks"] = json::array();
  EXPECT_THAT(Render(none), HasSubstr("declares 1 rollback, and none was played"));
}

TEST(ReportModelTest, FaultWindowsEndAtTheFirstRollbackOrTheMethodsEnd) {
  json j = Deviated();
  ReportModel m = BuildModel(j);
  ASSERT_EQ(m.faults.size(), 1u);
  EXPECT_NEAR(m.faults[0].start, 0.05, 1e-9);
  EXPECT_NEAR(m.faults[0].end, 2.5, 1e-9);  // the rollback's start

  j["rollbacks"] = json::array();
  m = BuildModel(j);
  EXPECT_NEAR(m.faults.at(0).end, 2.0, 1e-9);  // the after-hypothesis's start

  j["steady_states"]["after"] = nullptr;
  m = BuildModel(j);
  EXPECT_NEAR(m.faults.at(0).end, 3.0, 1e-9);  // the journal's end
  EXPECT_NEAR(m.span_end, 3.0, 1e-9);
}

TEST(ReportModelTest, WrongTypesAreTreatedAsAbsent) {
  json j = Deviated();
  j["run"][0]["start"] = 12;
  j["run"][0]["activity"] = "not an object";
  j["steady_states"]["during"] = json::array({nullptr, 3, {{"probes", "x"}}});
  j["rollbacks"] = {{"a", 1}};
  j["experiment"]["tags"] = "not a list";
  ReportModel m = BuildModel(j);
  EXPECT_EQ(m.runs.size(), 3u);
  EXPECT_EQ(m.runs[1].name, "(unnamed)");
  EXPECT_FALSE(m.runs[1].start.has_value());
  EXPECT_TRUE(RenderReport(j, {}).ok());
}

TEST(ReportModelTest, ErrorLineIsTheLastLineWithoutChaoslibsPrefix) {
  EXPECT_EQ(ErrorLine(json::array({"Traceback\n", "  x\n",
                                   "chaoslib.exceptions.ActivityFailed: took too long\n", "\n"})),
            "ActivityFailed: took too long");
  EXPECT_EQ(ErrorLine("boom\n  at here\n"), "at here");
  EXPECT_EQ(ErrorLine(json(3)), "");
}

TEST(ReportTest, NotAJournalIsRefused) {
  EXPECT_EQ(RenderReport(json::array(), {}).status().code(), Status::Code::kInvalidArgument);
  Result<std::string> r = RenderReport({{"title", "an experiment"}, {"method", json::array()}}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("not a journal"));
}

// A continuous run: `checks` during checks of a probe whose status is
// 0 or 1 (missed), between a before and an after check.
json Continuous(int checks) {
  json j = Deviated();
  for (int i = 0; i < checks; ++i) {
    const double t = 0.1 + i * 0.03;
    const bool up = i % 7 != 3;
    j["steady_states"]["during"].push_back(
        State(up, {Entry("probe", "service-is-up", t, t + 0.01, ProcessOut(up ? 0 : 1), up)}));
  }
  return j;
}

TEST(ReportChartTest, EveryCheckOfAProbeIsAPoint) {
  const std::string html = Render(Continuous(50));
  // before + 50 during + after, in one series.
  EXPECT_EQ(PointsOf(html, "status"), std::vector<int>{52});
  EXPECT_THAT(html, HasSubstr("service-is-up \xC2\xB7 status"));
  // Points that missed their tolerance are marked: the after check and every 7th.
  EXPECT_EQ(Count(html, "class=\"point bad\""), 1u + 7u);
  EXPECT_THAT(html, HasSubstr("50 checks"));
  // One bar per activity, the 50 checks on one row.
  EXPECT_EQ(Count(html, "class=\"bar\""), 1u + 1u + 50u + 1u + 1u);
  EXPECT_THAT(html, HasSubstr("It already deviated during the method (check 4, at +190 ms)."));
}

TEST(ReportChartTest, LongSeriesAreDownsampledToTheCap) {
  ReportOptions o;
  o.max_points = 40;
  const std::string html = Render(Continuous(500), o);
  EXPECT_EQ(PointsOf(html, "status"), std::vector<int>{40});
}

TEST(ReportChartTest, DownsampleKeepsEndsAndExtremes) {
  std::vector<Point> pts;
  pts.reserve(1000);
  for (int i = 0; i < 1000; ++i) pts.push_back(Point{i * 1.0, std::sin(i * 0.05), false, ""});
  pts[500].v = 9;   // a spike
  pts[700].v = -9;  // a dip
  const std::vector<Point> out = Downsample(pts, 100);
  ASSERT_EQ(out.size(), 100u);
  EXPECT_EQ(out.front().t, 0);
  EXPECT_EQ(out.back().t, 999);
  EXPECT_TRUE(std::is_sorted(out.begin(), out.end(),
                             [](const Point& a, const Point& b) { return a.t < b.t; }));
  EXPECT_TRUE(std::any_of(out.begin(), out.end(), [](const Point& p) { return p.v == 9; }));
  EXPECT_TRUE(std::any_of(out.begin(), out.end(), [](const Point& p) { return p.v == -9; }));
  EXPECT_EQ(Downsample(pts, 1000).size(), 1000u);
  EXPECT_EQ(Downsample(std::vector<Point>(3), 2).size(), 2u);
}

TEST(ReportChartTest, WhatChangedIsDrawnFirstWhatWasReadOnceIsTabulated) {
  json j = Journal("completed", false, 3);
  for (int i = 0; i < 3; ++i) {
    j["run"].push_back(Entry("probe", "flat", i, i + 0.1, ProcessOut(0)));
    j["run"].push_back(Entry("probe", "moving", i + 0.5, i + 0.6, ProcessOut(i)));
  }
  j["run"].push_back(Entry("probe", "once", 2.8, 2.9, ProcessOut(4)));
  const std::string html = Render(j);
  const std::size_t moving = html.find("aria-label=\"moving \xC2\xB7 status\"");
  const std::size_t flat = html.find("aria-label=\"flat \xC2\xB7 status\"");
  ASSERT_NE(moving, std::string::npos);
  ASSERT_NE(flat, std::string::npos);
  EXPECT_LT(moving, flat);
  EXPECT_EQ(html.find("aria-label=\"once"), std::string::npos);
  EXPECT_THAT(html, HasSubstr("<tr><td>once</td><td><code>status</code></td><td class=\"num\">4"));
}

TEST(ReportChartTest, TheFieldsOfOneObjectShareAChart) {
  json j = Journal("completed", false, 3);
  for (int i = 0; i < 3; ++i) {
    j["run"].push_back(Entry("probe", "api", i, i + 0.1,
                             {{"latency", {{"p50", i}, {"p99", 2 * i}}}, {"count", i}}));
  }
  const std::string html = Render(j);
  EXPECT_THAT(html, HasSubstr("aria-label=\"api \xC2\xB7 latency\""));
  EXPECT_THAT(html, HasSubstr("aria-label=\"api \xC2\xB7 count\""));
  EXPECT_EQ(PointsOf(html, "p50"), std::vector<int>{3});
  EXPECT_EQ(PointsOf(html, "p99"), std::vector<int>{3});
  EXPECT_EQ(Count(html, "<svg class=\"chart\""), 2u);
}

TEST(ReportSeriesTest, NumericFieldsOfOutputs) {
  json j = Journal("completed", false, 1);
  j["run"].push_back(Entry("probe", "count", 0.1, 0.2, ProcessOut(0, "42\n")));
  json body = {{"items", 3}, {"nested", {{"lag", 0.5}}}, {"list", {1}}};
  json http = {
      {"status", 200}, {"headers", {{"Content-Type", "application/json"}}}, {"body", body}};
  j["run"].push_back(Entry("probe", "api", 0.3, 0.4, http));
  j["run"].push_back(Entry("probe", "flag", 0.5, 0.6, true));
  const std::vector<Series> s = ProbeSeries(BuildModel(j), 6);
  std::vector<std::string> names;
  names.reserve(s.size());
  for (const Series& x : s) names.push_back(x.probe + ":" + x.field);
  EXPECT_EQ(names,
            (std::vector<std::string>{"count:status", "count:stdout", "api:status",
                                      "api:body.items", "api:body.nested.lag", "flag:value"}));
  EXPECT_EQ(s[1].points.at(0).v, 42);
  EXPECT_EQ(s[5].points.at(0).v, 1);
  EXPECT_EQ(ProbeSeries(BuildModel(j), 1).size(), 3u);
}

// What `faultline load --json` writes (src/load/report.cc ToJson), for
// `seconds` seconds, latency rising in the middle third.
json LoadResult(int seconds) {
  json series = json::array();
  for (int s = 0; s < seconds; ++s) {
    const bool slow = s >= seconds / 3 && s < 2 * seconds / 3;
    const double p50 = slow ? 250 : 2;
    series.push_back(
        {{"second", s},
         {"responses", 100},
         {"errors", slow ? 5 : 0},
         {"http_errors", 0},
         {"latency_ms",
          {{"count", 100}, {"p50", p50}, {"p90", p50 * 1.5}, {"p99", p50 * 2}, {"max", p50 * 3}}}});
  }
  return {{"version", 1},         {"url", "http://127.0.0.1:8080/"},
          {"elapsed_s", seconds}, {"requests", {{"total", 100 * seconds}, {"per_second", 100.0}}},
          {"error_rate", 0.0125}, {"latency_ms", {{"p50", 2.0}, {"p99", 480.5}}},
          {"series", series}};
}

TEST(ReportChartTest, ALoadProbeGetsLatencyCharts) {
  json j = Deviated();
  j["run"].push_back(Entry("probe", "load", 0.1, 30.1, ProcessOut(0, LoadResult(30).dump())));
  j["end"] = At(31);
  const std::string html = Render(j);
  EXPECT_THAT(html, HasSubstr("<section id=\"load\">"));
  EXPECT_EQ(PointsOf(html, "p50"), std::vector<int>{30});
  EXPECT_EQ(PointsOf(html, "p99"), std::vector<int>{30});
  EXPECT_EQ(PointsOf(html, "responses"), std::vector<int>{30});
  EXPECT_THAT(html, HasSubstr("at +15.6 s: p99 500 ms"));
  // The load result's summary figures are probe values too.
  // Read once: in the table of values that did not change.
  EXPECT_THAT(html, HasSubstr("<td><code>stdout.latency_ms.p99</code></td><td class=\"num\">480"));
  EXPECT_THAT(html, HasSubstr("load: 3000 requests, p50 2 ms, p99 480 ms, 1.25% failed"));

  ReportOptions o;
  o.max_points = 10;
  EXPECT_EQ(PointsOf(Render(j, o), "p50"), std::vector<int>{10});
}

TEST(ReportChartTest, ALoadResultAsTheOutputItself) {
  json j = Journal("completed", false, 12);
  j["steady_states"]["before"] = State(true, {Entry("probe", "load", 0, 5, LoadResult(5), true)});
  j["steady_states"]["after"] = State(true, {Entry("probe", "load", 6, 11, LoadResult(5), true)});
  const std::vector<LoadRun> runs = LoadRuns(BuildModel(j));
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].phase, Phase::kAfter);
  EXPECT_NEAR(runs[1].p50.at(0).t, 6.5, 1e-9);
  // One chart per probe, a line per run.
  EXPECT_EQ(PointsOf(Render(j), "p50"), (std::vector<int>{5, 5}));
}

TEST(ReportTest, TheOutputIsBoundedWhateverTheJournal) {
  json j = Journal("completed", false, 100);
  for (int i = 0; i < 3000; ++i) {
    j["run"].push_back(Entry("action", fmt::format("a{}", i), i * 0.03, i * 0.03 + 0.01,
                             ProcessOut(0, std::string(10'000, 'x'))));
  }
  ReportOptions o;
  o.max_timeline_rows = 50;
  o.max_table_rows = 100;
  o.max_output_chars = 200;
  const std::string html = Render(j, o);
  EXPECT_THAT(html, HasSubstr("and 2950 more activities, not drawn"));
  EXPECT_THAT(html, HasSubstr("and 2900 more activities, not shown"));
  EXPECT_LT(html.size(), 3u << 20);
}

class ReportFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/report_test";
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  std::string dir_;
};

TEST_F(ReportFileTest, ReadsAJournal) {
  const std::string path = dir_ + "/j.json";
  std::ofstream(path) << Deviated().dump(2);
  Result<json> j = ReadJournalFile(path);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_EQ((*j)["status"], "completed");
}

TEST_F(ReportFileTest, RefusesWhatIsNoJournal) {
  Result<json> missing = ReadJournalFile(dir_ + "/none.json");
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("none.json"));
  std::ofstream(dir_ + "/bad.json") << "{\"run\": [";
  EXPECT_THAT(ReadJournalFile(dir_ + "/bad.json").status().message(),
              HasSubstr("bad.json: not a journal: not valid JSON"));
  std::ofstream(dir_ + "/list.json") << "[1]";
  EXPECT_THAT(ReadJournalFile(dir_ + "/list.json").status().message(),
              HasSubstr("expected a JSON object"));
  EXPECT_EQ(ReadJournalFile(dir_).status().code(), Status::Code::kNotFound);
}

TEST_F(ReportFileTest, RefusesJournalsOver64MiB) {
  const std::string path = dir_ + "/huge.json";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  // Sparse: the size is checked before anything is read.
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(kMaxJournalBytes) + 1), 0);
  ::close(fd);
  Result<json> r = ReadJournalFile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("more than the 64 MiB a report reads"));
  EXPECT_THAT(r.status().message(), HasSubstr("huge.json"));

  std::ofstream(dir_ + "/small.json") << std::string(2000, ' ') << "{}";
  EXPECT_THAT(ReadJournalFile(dir_ + "/small.json", 1000).status().message(),
              HasSubstr("2002 bytes, more than the 1000 bytes"));
}

TEST_F(ReportFileTest, WritesWholeAndReadable) {
  const std::string path = dir_ + "/report.html";
  const mode_t old = ::umask(077);
  const Status s = WriteReport(path, "<!DOCTYPE html>\n");
  ::umask(old);
  ASSERT_TRUE(s.ok()) << s.ToString();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  std::ifstream in(path);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "<!DOCTYPE html>\n");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 1);

  const Status bad = WriteReport(dir_ + "/no/such/dir/r.html", "x");
  EXPECT_EQ(bad.code(), Status::Code::kIoError);
  EXPECT_THAT(bad.message(), HasSubstr("no/such/dir/r.html"));
}

}  // namespace
}  // namespace faultline::experiment
