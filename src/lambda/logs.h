// The platform's log lines, as Lambda writes them to CloudWatch Logs: pure
// formatting, tested on its own (logs.cc writes them as invocations end).
//
//   START RequestId: <id> Version: $LATEST
//   END RequestId: <id>
//   REPORT RequestId: <id>\tDuration: 12.34 ms\tBilled Duration: 309 ms\t
//     Memory Size: 128 MB\tMax Memory Used: 45 MB\tInit Duration: 295.33 ms\t
//     [Status: timeout | Status: error\tError Type: Runtime.ExitError]
//
// Thread-safety: pure functions.
#ifndef FAULTLINE_LAMBDA_LOGS_H_
#define FAULTLINE_LAMBDA_LOGS_H_

#include <optional>
#include <string>

namespace faultline::lambda {

struct ReportFields {
  std::string request_id;
  double duration_ms = 0;
  int memory_size_mb = 128;
  int max_memory_used_mb = 0;
  std::optional<double> init_ms;  // a cold start's first REPORT
  // "" (it ended normally, a function error included), "timeout" or "error"
  // (the platform failed it: a crash, an init error).
  std::string status;
  std::string error_type;  // with status "error"
};

// The REPORT line. Billed Duration is AWS's since August 2025: the init
// phase is billed too, ceil(Duration + Init Duration) in whole ms.
std::string FormatReport(const ReportFields& f);

}  // namespace faultline::lambda

#endif  // FAULTLINE_LAMBDA_LOGS_H_
