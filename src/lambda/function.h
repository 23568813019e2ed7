// Function: one function of the emulator: its configuration, its execution
// environments, its queue of accepted Event invocations, and its metrics.
// Internal to the emulator.
//
// Thread-safety: the emulator's io thread only.
#ifndef FAULTLINE_LAMBDA_FUNCTION_H_
#define FAULTLINE_LAMBDA_FUNCTION_H_

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "http/server.h"
#include "lambda/async_policy.h"
#include "lambda/config.h"
#include "lambda/environment.h"
#include "lambda/function_urls.h"
#include "lambda/invocation.h"
#include "lambda/versions.h"

namespace faultline::lambda {

// How many durations the metrics keep for their percentiles.
inline constexpr std::size_t kDurationSamples = 10000;

struct Metrics {
  std::uint64_t invocations = 0, errors = 0, throttles = 0, cold_starts = 0, timeouts = 0;
  // Asynchronous invocation: accepted, given up (no destination took it),
  // and deliveries that failed (AWS's AsyncEventsReceived,
  // AsyncEventsDropped, DestinationDeliveryFailures, DeadLetterErrors).
  std::uint64_t async_received = 0, async_dropped = 0, destination_failures = 0,
                dead_letter_errors = 0;
  int concurrent = 0, max_concurrent = 0;
  std::deque<double> durations;  // the latest kDurationSamples, in ms

  void AddDuration(double ms) {
    durations.push_back(ms);
    if (durations.size() > kDurationSamples) durations.pop_front();
  }
  double Percentile(double q) const {
    if (durations.empty()) return 0;
    std::vector<double> v(durations.begin(), durations.end());
    const auto k = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
    std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
    return v[k];
  }
};

// An Event invocation waiting to run (again): what it is made of, how old it
// is, when it may run next, and how it went so far (async_delivery.cc).
struct QueuedEvent {
  std::string request_id;  // the same for every attempt, as on AWS
  std::string payload, trace_id, client_context;
  std::string version;    // resolved when it was accepted
  std::string qualifier;  // as invoked ("" : the function); its config's key
  Steady::time_point accepted_at, not_before;
  int attempts = 0;   // runs so far
  int throttles = 0;  // throttled tries since the last run
  // Throttled, so waiting for capacity: tried again as soon as some frees
  // (an environment, a reservation), else after its backoff.
  bool waiting_for_capacity = false;
  std::string last_response;  // the last attempt's answer or error
};

// A function URL: its settings and its listener (url_server.cc).
struct FunctionUrl {
  std::string qualifier;  // empty: the function itself; else an alias
  UrlSettings settings;
  std::string url_id;  // 32 [a-z0-9], as AWS's
  std::string creation_time, last_modified;
  std::unique_ptr<http::Server> server;
  std::string address;  // http://127.0.0.1:<port>/
};

struct Function {
  FunctionConfig config;         // $LATEST's
  std::string arn;               // Arn(config.name), the name never changes
  std::uint64_t generation = 1;  // of $LATEST's configuration
  std::string last_modified;     // $LATEST's
  std::string description;       // $LATEST's Description
  std::string revision_id;       // $LATEST's, new on every change
  // Published versions by number (never reused), and aliases by name.
  std::map<int, Version> versions;
  int next_version = 1;
  std::map<std::string, Alias> aliases;
  std::vector<std::shared_ptr<Environment>> envs;
  std::deque<QueuedEvent> event_queue;  // accepted Event invocations, and retries
  // Put/UpdateFunctionEventInvokeConfig's, by qualifier ("$LATEST" for the
  // function itself).
  std::map<std::string, EventInvokeConfig> event_invoke_configs;
  Metrics metrics;
  int next_env_number = 1;
  // Function URLs by qualifier ("" for the function's own).
  std::map<std::string, std::shared_ptr<FunctionUrl>> urls;

  // The configuration `version` ("$LATEST" or a published one) runs with.
  // REQUIRES: the version exists.
  const FunctionConfig& ConfigOf(std::string_view version) const {
    if (version == kLatest) return config;
    return versions.at(std::stoi(std::string(version))).config;
  }
  int Busy() const {
    return static_cast<int>(std::count_if(envs.begin(), envs.end(),
                                          [](const auto& e) { return e->current != nullptr; }));
  }
};

}  // namespace faultline::lambda

#endif  // FAULTLINE_LAMBDA_FUNCTION_H_
