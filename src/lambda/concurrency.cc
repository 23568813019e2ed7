#include "lambda/concurrency.h"

#include <fmt/format.h>

namespace faultline::lambda {

Admission Admit(const ConcurrencyView& view) {
  if (view.reserved) {
    return view.busy < *view.reserved ? Admission::kAdmit : Admission::kReservedLimit;
  }
  const int unreserved = view.account_limit - view.reserved_total;
  return view.unreserved_busy < unreserved ? Admission::kAdmit : Admission::kAccountLimit;
}

std::string_view ThrottleReason(Admission a) {
  return a == Admission::kReservedLimit ? "ReservedFunctionConcurrentInvocationLimitExceeded"
                                        : "ConcurrentInvocationLimitExceeded";
}

Status CheckReservation(long requested, int reserved_by_others, int account_limit,
                        int unreserved_minimum) {
  if (requested < 0) {
    return Status::InvalidArgument(fmt::format(
        "1 validation error detected: Value '{}' at 'reservedConcurrentExecutions' failed to "
        "satisfy constraint: Member must have value greater than or equal to 0",
        requested));
  }
  if (account_limit - reserved_by_others - requested < unreserved_minimum) {
    return Status::InvalidArgument(
        fmt::format("Specified ReservedConcurrentExecutions for function decreases account's "
                    "UnreservedConcurrentExecution below its minimum value of [{}].",
                    unreserved_minimum));
  }
  return Status::Ok();
}

}  // namespace faultline::lambda
