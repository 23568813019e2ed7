// Journal: the record of a run, in chaostoolkit-lib's journal format (so
// that `chaos report` and every tool that reads journals read ours), plus a
// "faultline" object (version, seed).
//
//   {"chaoslib-version", "platform", "node", "experiment", "start", "status",
//    "deviated", "steady_states": {"before", "after", "during": []},
//    "run": [], "rollbacks": [], "end", "duration", "faultline": {...}}
//
// Thread-safety: the functions keep no state; a Journal is guarded by the
// runner that writes it.
#ifndef FAULTLINE_EXPERIMENT_JOURNAL_H_
#define FAULTLINE_EXPERIMENT_JOURNAL_H_

#include <cstdint>
#include <string>

#include "experiment/json.h"
#include "faultline/clock.h"
#include "faultline/status.h"

namespace faultline::experiment {

// The chaostoolkit-lib release whose semantics the runner follows, written
// as the journal's "chaoslib-version".
inline constexpr const char* kChaoslibVersion = "1.44.0";

// "2026-12-02T16:11:00.123456+00:00": Python's datetime.isoformat() of a UTC
// time (microseconds always written, as datetime.now(timezone.utc) has them).
std::string IsoTime(TimeNs t);

// What Python's platform.platform() says here ("Linux-6.1.0-18-amd64-x86_64-with-glibc2.36").
std::string PlatformName();
// The host name (platform.node()).
std::string NodeName();

// A journal for `experiment` (as loaded, with "dry" set) started at `start`:
// status null, not deviated, no steady states, no runs yet.
json NewJournal(const json& experiment, TimeNs start);

// Writes `journal` to `path` as chaos does (indent 2, UTF-8 kept), whole
// (ReplaceFile), mode 0644. IoError naming the path. `faultline report`
// reads it back with ReadJournalFile (report.h).
Status WriteJournal(const std::string& path, const json& journal);

}  // namespace faultline::experiment

#endif  // FAULTLINE_EXPERIMENT_JOURNAL_H_
