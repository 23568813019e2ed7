// faultline_sigv4_check: verifies the SigV4 signature of one request file
// (request_file.h's form) and prints the decision. The helper of
// interop_test.py, which has botocore sign requests; not a user command.
//
//   faultline_sigv4_check --access-key-id ID --secret KEY [--session-token T]
//       [--service lambda] [--region R] [--now YYYYMMDDTHHMMSSZ] FILE
//
// Prints "accepted ID" and exits 0, or "refused STATUS TYPE: MESSAGE" and
// exits 1; 2 for a usage error or an unreadable file.
#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "aws/request_file.h"
#include "aws/sigv4.h"
#include "core/text.h"

namespace {

struct Args {
  faultline::aws::Credentials creds;
  std::string service = "lambda";
  std::string region;
  std::string now;
  std::string file;
};

bool ParseArgs(int argc, char** argv, Args& args) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    std::string* target = nullptr;
    if (a == "--access-key-id") target = &args.creds.access_key_id;
    if (a == "--secret") target = &args.creds.secret_access_key;
    if (a == "--session-token") target = &args.creds.session_token;
    if (a == "--service") target = &args.service;
    if (a == "--region") target = &args.region;
    if (a == "--now") target = &args.now;
    if (target != nullptr) {
      if (++i == argc) return false;
      *target = argv[i];
    } else if (a.empty() || a[0] == '-' || !args.file.empty()) {
      return false;
    } else {
      args.file = std::string(a);
    }
  }
  return !args.file.empty() && !args.creds.access_key_id.empty();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace faultline;  // NOLINT(google-build-using-namespace): a small main
  Args args;
  if (!ParseArgs(argc, argv, args)) {
    std::fprintf(stderr,
                 "usage: faultline_sigv4_check --access-key-id ID --secret KEY "
                 "[--session-token T] [--service S] [--region R] [--now YYYYMMDDTHHMMSSZ] FILE\n");
    return 2;
  }
  Result<std::string> text = internal::ReadWholeFile(args.file);
  Result<aws::RequestFile> req =
      text.ok() ? aws::ParseRequestFile(*text, args.file) : Result<aws::RequestFile>(text.status());
  if (!req.ok()) {
    std::fprintf(stderr, "faultline_sigv4_check: %s\n", req.status().ToString().c_str());
    return 2;
  }
  FakeClock fake(0);
  Clock* clock = SystemClock::Default();
  if (!args.now.empty()) {
    const std::optional<TimeNs> now = aws::ParseAmzDate(args.now);
    if (!now) {
      std::fprintf(stderr, "faultline_sigv4_check: --now: expected YYYYMMDDTHHMMSSZ\n");
      return 2;
    }
    fake.Set(*now);
    clock = &fake;
  }
  std::vector<aws::Header> storage;
  const aws::VerifyResult r = aws::Verify(
      req->View(storage),
      [&](std::string_view id) { return id == args.creds.access_key_id ? &args.creds : nullptr; },
      {.service = args.service, .region = args.region, .clock = clock});
  if (r.ok()) {
    std::printf("accepted %s\n", r.access_key_id.c_str());
    return 0;
  }
  std::printf("refused %d %s: %s\n", r.http_status, r.error_type.c_str(), r.message.c_str());
  if (!r.canonical_request.empty()) {
    std::printf("--- canonical request\n%s\n--- string to sign\n%s\n", r.canonical_request.c_str(),
                r.string_to_sign.c_str());
  }
  return 1;
}
