// The journal read into the report's model: activity runs with times
// relative to the run's start, and the fault windows of the method.
//
// A journal is user input and may be from a run cut short, an older
// chaoslib or a hand edit: every field is read with its type checked, and
// one of the wrong type is treated as absent, never as an error.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "experiment/report_internal.h"

namespace faultline::experiment {
namespace {

const json* Field(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::string Str(const json& j, const char* key) {
  const json* f = Field(j, key);
  return f != nullptr && f->is_string() ? f->get<std::string>() : std::string();
}

// Parses exactly `n` digits at s[*i], advancing *i.
std::optional<int> Digits(std::string_view s, std::size_t* i, int n) {
  if (*i + static_cast<std::size_t>(n) > s.size()) return std::nullopt;
  int v = 0;
  for (int k = 0; k < n; ++k) {
    const char c = s[(*i)++];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

bool Expect(std::string_view s, std::size_t* i, std::string_view chars) {
  if (*i >= s.size() || chars.find(s[*i]) == std::string_view::npos) return false;
  ++*i;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil).
std::int64_t DaysFromCivil(int y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + doe - 719468;
}

// The fraction after the seconds, as microseconds (more digits are cut).
std::int64_t Fraction(std::string_view s, std::size_t* i) {
  if (*i >= s.size() || s[*i] != '.') return 0;
  ++*i;
  std::int64_t us = 0;
  int n = 0;
  for (; *i < s.size() && std::isdigit(static_cast<unsigned char>(s[*i])) != 0; ++*i, ++n) {
    if (n < 6) us = us * 10 + (s[*i] - '0');
  }
  for (int k = n; k < 6; ++k) us *= 10;
  return us;
}

// The UTC offset at s[*i] in seconds ("Z", "+HH:MM", "-HHMM", none: UTC).
std::optional<int> Offset(std::string_view s, std::size_t* i) {
  if (*i == s.size()) return 0;
  if (s[*i] == 'Z' || s[*i] == 'z') {
    ++*i;
    return 0;
  }
  const int sign = s[*i] == '-' ? -1 : 1;
  if (!Expect(s, i, "+-")) return std::nullopt;
  auto hh = Digits(s, i, 2);
  if (*i < s.size() && s[*i] == ':') ++*i;
  auto mm = Digits(s, i, 2);
  if (!hh || !mm) return std::nullopt;
  return sign * (*hh * 3600 + *mm * 60);
}

std::string ArgumentsText(const json& args) {
  if (args.is_string()) return args.get<std::string>();
  if (!args.is_array()) return args.is_null() ? "" : args.dump();
  std::string out;
  for (const json& a : args) {
    if (!out.empty()) out += ' ';
    out += a.is_string() ? a.get<std::string>() : a.dump();
  }
  return out;
}

// "process: rm -f x", "http: GET url", "python: mod.func"; cut to a line.
std::string ProviderText(const json& activity) {
  const json* p = Field(activity, "provider");
  if (p == nullptr) return Str(activity, "ref").empty() ? "" : "ref: " + Str(activity, "ref");
  const std::string type = Str(*p, "type");
  std::string text;
  if (type == "process") {
    const json* args = Field(*p, "arguments");
    text = Str(*p, "path") + (args != nullptr ? " " + ArgumentsText(*args) : "");
  } else if (type == "http") {
    const std::string method = Str(*p, "method");
    text = (method.empty() ? "GET" : method) + " " + Str(*p, "url");
  } else if (type == "python") {
    text = Str(*p, "module") + "." + Str(*p, "func");
  }
  if (text.size() > 160) text = text.substr(0, 157) + "...";
  return type + (text.empty() ? "" : ": " + text);
}

Outcome OutcomeOf(const ActivityRun& r) {
  if (r.status == "failed") return Outcome::kFailed;
  if (r.status != "succeeded") return Outcome::kOther;
  return r.tolerance_met.has_value() && !*r.tolerance_met ? Outcome::kMissed : Outcome::kOk;
}

// An ActivityRun and its absolute times, before the origin is known.
struct RawRun {
  ActivityRun run;
  std::optional<std::int64_t> start_us, end_us;
};

RawRun ReadRun(const json& entry, Phase phase, int check) {
  RawRun raw;
  ActivityRun& r = raw.run;
  r.phase = phase;
  r.check = check;
  static const json kNone = json::object();
  const json* a = Field(entry, "activity");
  const json& activity = a != nullptr ? *a : kNone;
  r.name = Str(activity, "name");
  if (r.name.empty()) r.name = "(unnamed)";
  r.type = Str(activity, "type");
  r.provider = ProviderText(activity);
  const json* bg = Field(activity, "background");
  r.background = bg != nullptr && bg->is_boolean() && bg->get<bool>();
  raw.start_us = ParseIsoTime(Str(entry, "start"));
  raw.end_us = ParseIsoTime(Str(entry, "end"));
  r.status = Str(entry, "status");
  const json* met = Field(entry, "tolerance_met");
  if (met != nullptr && met->is_boolean()) r.tolerance_met = met->get<bool>();
  r.outcome = OutcomeOf(r);
  r.output = Field(entry, "output");
  r.exception = Field(entry, "exception");
  if (r.exception != nullptr) r.error = ErrorLine(*r.exception);
  return raw;
}

void ReadList(const json* list, Phase phase, int check, std::vector<RawRun>* out) {
  if (list == nullptr || !list->is_array()) return;
  for (const json& entry : *list) {
    if (entry.is_object()) out->push_back(ReadRun(entry, phase, check));
  }
}

void ReadState(const json* state, Phase phase, int check, std::vector<RawRun>* out) {
  if (state != nullptr) ReadList(Field(*state, "probes"), phase, check, out);
}

// Every run of the journal, in the order of the page: before, method,
// during, after, rollbacks.
std::vector<RawRun> ReadRuns(const json& journal, int* during_checks) {
  std::vector<RawRun> raws;
  const json* states = Field(journal, "steady_states");
  const json none;
  const json& ss = states != nullptr ? *states : none;
  ReadState(Field(ss, "before"), Phase::kBefore, 0, &raws);
  ReadList(Field(journal, "run"), Phase::kMethod, 0, &raws);
  const json* during = Field(ss, "during");
  *during_checks = 0;
  if (during != nullptr && during->is_array()) {
    for (const json& state : *during) {
      if (!state.is_object()) continue;
      ReadState(&state, Phase::kDuring, (*during_checks)++, &raws);
    }
  }
  // faultline's stop conditions: probe entries checked during the method.
  const json* fl = Field(journal, "faultline");
  const json* stops = fl != nullptr ? Field(*fl, "stop_conditions") : nullptr;
  if (stops != nullptr && stops->is_array() && !stops->empty()) {
    ReadList(stops, Phase::kDuring, (*during_checks)++, &raws);
  }
  ReadState(Field(ss, "after"), Phase::kAfter, 0, &raws);
  ReadList(Field(journal, "rollbacks"), Phase::kRollback, 0, &raws);
  return raws;
}

std::optional<std::int64_t> EarliestStart(const std::vector<RawRun>& raws, Phase phase) {
  std::optional<std::int64_t> t;
  for (const RawRun& r : raws) {
    if (r.run.phase == phase && r.start_us && (!t || *r.start_us < *t)) t = r.start_us;
  }
  return t;
}

// The end of the method: where the after-hypothesis started, else the end
// of the journal, else the last end of a method activity. Pauses after
// the last activity are in the method, and only these times include them.
std::optional<std::int64_t> MethodEnd(const std::vector<RawRun>& raws,
                                      std::optional<std::int64_t> journal_end) {
  if (auto after = EarliestStart(raws, Phase::kAfter)) return after;
  if (journal_end) return journal_end;
  std::optional<std::int64_t> t;
  for (const RawRun& r : raws) {
    if (r.run.phase == Phase::kMethod && r.end_us && (!t || *r.end_us > *t)) t = r.end_us;
  }
  return t;
}

double Rel(std::int64_t us, std::int64_t origin) { return static_cast<double>(us - origin) / 1e6; }

void AddFaults(const std::vector<RawRun>& raws, std::optional<std::int64_t> journal_end,
               ReportModel* m) {
  std::optional<std::int64_t> until = EarliestStart(raws, Phase::kRollback);
  if (!until) until = MethodEnd(raws, journal_end);
  for (const RawRun& r : raws) {
    if (r.run.phase != Phase::kMethod || r.run.type != "action" || !r.start_us) continue;
    std::int64_t end = until ? *until : r.end_us.value_or(*r.start_us);
    end = std::max({end, *r.start_us, r.end_us.value_or(*r.start_us)});
    m->faults.push_back({r.run.name, Rel(*r.start_us, m->origin_us), Rel(end, m->origin_us),
                         r.run.outcome == Outcome::kFailed});
  }
}

}  // namespace

std::optional<std::int64_t> ParseIsoTime(std::string_view s) {
  std::size_t i = 0;
  auto y = Digits(s, &i, 4);
  if (!y || !Expect(s, &i, "-")) return std::nullopt;
  auto mo = Digits(s, &i, 2);
  if (!mo || !Expect(s, &i, "-")) return std::nullopt;
  auto d = Digits(s, &i, 2);
  if (!d || !Expect(s, &i, "Tt ")) return std::nullopt;
  auto h = Digits(s, &i, 2);
  if (!h || !Expect(s, &i, ":")) return std::nullopt;
  auto mi = Digits(s, &i, 2);
  if (!mi || !Expect(s, &i, ":")) return std::nullopt;
  auto sec = Digits(s, &i, 2);
  if (!sec || *mo < 1 || *mo > 12 || *d < 1 || *d > 31 || *h > 23 || *mi > 59 || *sec > 60) {
    return std::nullopt;
  }
  const std::int64_t us = Fraction(s, &i);
  auto off = Offset(s, &i);
  if (!off || i != s.size()) return std::nullopt;
  const std::int64_t secs = DaysFromCivil(*y, *mo, *d) * 86400 + std::int64_t{*h} * 3600 +
                            std::int64_t{*mi} * 60 + *sec - *off;
  return secs * 1'000'000 + us;
}

std::string_view PhaseName(Phase p) {
  static constexpr std::array<std::string_view, 5> kNames = {"before", "method", "during", "after",
                                                             "rollback"};
  return kNames[static_cast<std::size_t>(p)];
}

std::string ErrorLine(const json& exception) {
  std::string text;
  if (exception.is_string()) text = exception.get<std::string>();
  if (exception.is_array()) {
    for (const json& line : exception) {
      if (line.is_string()) text += line.get<std::string>() + "\n";
    }
  }
  // The last non-blank line is the exception itself.
  std::string_view last;
  std::string_view rest = text;
  while (!rest.empty()) {
    const std::size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) last = line;
  }
  const std::size_t first = last.find_first_not_of(" \t");
  last = first == std::string_view::npos ? std::string_view() : last.substr(first);
  constexpr std::string_view kPrefix = "chaoslib.exceptions.";
  if (last.substr(0, kPrefix.size()) == kPrefix) last.remove_prefix(kPrefix.size());
  return std::string(last);
}

ReportModel BuildModel(const json& journal) {
  ReportModel m;
  std::vector<RawRun> raws = ReadRuns(journal, &m.during_checks);
  const std::optional<std::int64_t> start = ParseIsoTime(Str(journal, "start"));
  const std::optional<std::int64_t> end = ParseIsoTime(Str(journal, "end"));
  std::optional<std::int64_t> lo = start, hi = end;
  for (const RawRun& r : raws) {
    for (auto t : {r.start_us, r.end_us}) {
      if (!t) continue;
      if (!lo || *t < *lo) lo = t;
      if (!hi || *t > *hi) hi = t;
    }
  }
  m.has_times = lo.has_value();
  m.origin_us = lo.value_or(0);
  m.span_end = hi ? Rel(*hi, m.origin_us) : 0;
  for (RawRun& r : raws) {
    if (r.start_us) r.run.start = Rel(*r.start_us, m.origin_us);
    if (r.end_us) r.run.end = Rel(*r.end_us, m.origin_us);
    // An entry written when its activity started has no end yet.
    if (r.run.start && !r.run.end) r.run.end = r.run.start;
  }
  if (m.has_times) AddFaults(raws, end, &m);
  m.runs.reserve(raws.size());
  for (RawRun& r : raws) m.runs.push_back(std::move(r.run));
  return m;
}

}  // namespace faultline::experiment
