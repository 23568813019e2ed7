// fail: answers every invocation with a function error of type
// "Function.Boom" (the caller sees X-Amz-Function-Error: Unhandled and the
// error JSON). The environment stays up: only the invocation fails.
#include "faultline/lambda_runtime.h"

using faultline::lambda::InvocationRequest;
using faultline::lambda::InvocationResponse;

int main() {
  faultline::lambda::RunHandler([](const InvocationRequest& req) {
    return InvocationResponse::Failure("boom: request " + req.request_id + " failed on purpose",
                                       "Function.Boom");
  });
}
