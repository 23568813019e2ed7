// The scheduler's admission policy, as pure functions.
#include "lambda/concurrency.h"

#include <gtest/gtest.h>

namespace faultline::lambda {
namespace {

TEST(Admit, AReservationBoundsTheFunctionWhateverIsWarm) {
  ConcurrencyView v{.busy = 0, .reserved = 0, .account_limit = 1000};
  EXPECT_EQ(Admit(v), Admission::kReservedLimit);  // 0 throttles every call
  v.reserved = 1;
  EXPECT_EQ(Admit(v), Admission::kAdmit);
  v.busy = 1;
  EXPECT_EQ(Admit(v), Admission::kReservedLimit);  // one at a time
  v.reserved = 3;
  EXPECT_EQ(Admit(v), Admission::kAdmit);
  v.busy = 3;
  EXPECT_EQ(Admit(v), Admission::kReservedLimit);
}

TEST(Admit, AReservedFunctionIgnoresTheUnreservedPool) {
  // The unreserved pool is full, but the function has its own.
  const ConcurrencyView v{
      .busy = 0, .reserved = 2, .account_limit = 10, .reserved_total = 2, .unreserved_busy = 8};
  EXPECT_EQ(Admit(v), Admission::kAdmit);
}

TEST(Admit, UnreservedFunctionsShareWhatTheReservationsLeave) {
  ConcurrencyView v{.busy = 0, .account_limit = 10, .reserved_total = 4, .unreserved_busy = 5};
  EXPECT_EQ(Admit(v), Admission::kAdmit);
  v.unreserved_busy = 6;
  EXPECT_EQ(Admit(v), Admission::kAccountLimit);
  v.reserved_total = 10;  // everything reserved by others
  v.unreserved_busy = 0;
  EXPECT_EQ(Admit(v), Admission::kAccountLimit);
}

TEST(Admit, ThrottleReasonsAreAws) {
  EXPECT_EQ(ThrottleReason(Admission::kReservedLimit),
            "ReservedFunctionConcurrentInvocationLimitExceeded");
  EXPECT_EQ(ThrottleReason(Admission::kAccountLimit), "ConcurrentInvocationLimitExceeded");
}

TEST(CheckReservation, KeepsTheUnreservedMinimum) {
  EXPECT_TRUE(CheckReservation(900, 0, 1000, 100).ok());
  EXPECT_TRUE(CheckReservation(0, 0, 1000, 100).ok());
  EXPECT_TRUE(CheckReservation(400, 500, 1000, 100).ok());
  const Status s = CheckReservation(901, 0, 1000, 100);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "Specified ReservedConcurrentExecutions for function decreases account's "
            "UnreservedConcurrentExecution below its minimum value of [100].");
  EXPECT_FALSE(CheckReservation(401, 500, 1000, 100).ok());
  // An account of 10 keeps all 10: only 0 can be reserved, as on AWS.
  EXPECT_TRUE(CheckReservation(0, 0, 10, 10).ok());
  EXPECT_NE(CheckReservation(1, 0, 10, 10).message().find("minimum value of [10]"),
            std::string::npos);
  EXPECT_NE(CheckReservation(-1, 0, 1000, 100).message().find("greater than or equal to 0"),
            std::string::npos);
}

}  // namespace
}  // namespace faultline::lambda
