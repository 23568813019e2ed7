// echo: answers every invocation with its payload, unchanged.
//
// The smallest function on faultline's runtime client; the benchmarks use it
// to measure what the emulator adds to an invocation.
#include "faultline/lambda_runtime.h"

using faultline::lambda::InvocationRequest;
using faultline::lambda::InvocationResponse;

int main() {
  faultline::lambda::RunHandler(
      [](const InvocationRequest& req) { return InvocationResponse::Success(req.payload); });
}
