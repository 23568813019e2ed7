// Identifiers and times as Lambda writes them: request ids (UUIDs), X-Ray
// trace ids, epoch milliseconds, the ISO 8601 times of log lines. Internal
// to the emulator.
//
// Thread-safety: pure functions (the Random is the caller's).
#ifndef FAULTLINE_LAMBDA_IDS_H_
#define FAULTLINE_LAMBDA_IDS_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "faultline/random.h"

namespace faultline::lambda {

// A version 4 UUID: xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx (y in 8..b).
std::string NewRequestId(Random& rng);
// An X-Ray trace header: Root=1-{8 hex: epoch seconds}-{24 hex};Parent={16 hex};Sampled=0
std::string NewTraceId(Random& rng);

// "2026/11/25/[$LATEST]0123456789abcdef0123456789abcdef": a log stream
// name, as Lambda names each execution environment's (UTC date, version,
// 32 hex digits).
std::string LogStreamName(std::string_view version, Random& rng);

// A caller's X-Amzn-Trace-Id, with what it lacks (Parent, Sampled) filled
// in as Lambda does; a new trace id when it has no Root.
std::string TraceIdFrom(std::string_view given, Random& rng);

// The wall time in milliseconds since the epoch.
std::int64_t EpochMs();
// Milliseconds from `t` until now, on the steady clock.
double MsSince(std::chrono::steady_clock::time_point t);
// "3.00": seconds with two decimals, as "Task timed out after 3.00 seconds".
std::string Seconds(std::chrono::milliseconds d);
// "2026-11-25T03:40:29.544Z", as Lambda's log lines write the time.
std::string IsoNow();
// "2026-11-25T03:40:29.544+0000", as FunctionConfiguration's LastModified.
std::string LastModifiedNow();

}  // namespace faultline::lambda

#endif  // FAULTLINE_LAMBDA_IDS_H_
