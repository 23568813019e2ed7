// Concurrency: the scheduler's policy, as pure functions. Whether an
// invocation may start now (AWS's reserved and account concurrency), and
// whether a reservation may be made (AWS keeps a minimum unreserved).
//
//   Admit(view) -> kAdmit | kReservedLimit | kAccountLimit
//
// Decided before any environment is looked at: a warm idle environment
// does not let an invocation past a reservation (on AWS, reserved
// concurrency 1 means one invocation at a time, however many environments
// are warm). The scheduler (scheduler.cc) acts on the answer.
//
// Thread-safety: pure functions.
#ifndef FAULTLINE_LAMBDA_CONCURRENCY_H_
#define FAULTLINE_LAMBDA_CONCURRENCY_H_

#include <optional>
#include <string_view>

#include "faultline/status.h"

namespace faultline::lambda {

// What is running now, as the admission decision needs it.
struct ConcurrencyView {
  int busy = 0;                 // this function's invocations in flight
  std::optional<int> reserved;  // its ReservedConcurrentExecutions, if any
  int account_limit = 1000;     // the account's ConcurrentExecutions
  int reserved_total = 0;       // every function's reservation together
  int unreserved_busy = 0;      // invocations in flight in functions without one
};

enum class Admission { kAdmit, kReservedLimit, kAccountLimit };

// A function with a reservation runs at most `reserved` invocations at once
// (0: none); one without shares what the reservations leave of the account.
Admission Admit(const ConcurrencyView& view);

// The 429's Reason: ReservedFunctionConcurrentInvocationLimitExceeded or
// ConcurrentInvocationLimitExceeded. REQUIRES: a != kAdmit.
std::string_view ThrottleReason(Admission a);

// PutFunctionConcurrency's check: `requested` for one function, while the
// others reserve `reserved_by_others`. kInvalidArgument with AWS's message
// when it would leave less than `unreserved_minimum` unreserved.
Status CheckReservation(long requested, int reserved_by_others, int account_limit,
                        int unreserved_minimum);

}  // namespace faultline::lambda

#endif  // FAULTLINE_LAMBDA_CONCURRENCY_H_
