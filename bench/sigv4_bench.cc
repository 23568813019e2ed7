// Microbenchmarks of SigV4 (src/aws/sigv4.h): Verify is on the path of
// every Invoke and management request the local emulator receives, so its
// cost per request is the figure that matters; Sign is here for the clients.
//
//   cmake --preset release
//   cmake --build --preset release --target faultline_sigv4_bench
//   build/release/bench/faultline_sigv4_bench
//
// The request is what boto3 sends for lambda.invoke (headers and path as
// captured in src/aws/interop_test.py), with bodies of 0 B, 1 KiB and
// 256 KiB: past a few KiB the body's SHA-256 dominates.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "aws/sigv4.h"

namespace faultline::aws {
namespace {

constexpr TimeNs kNow = 1'440'938'160'000'000'000;  // 20150830T123600Z

struct Fixture {
  explicit Fixture(std::size_t body_size) : body(body_size, 'x') {
    headers = {
        {"Host", "127.0.0.1:9001"},
        {"X-Amz-Invocation-Type", "RequestResponse"},
        {"User-Agent", "Boto3/1.44.8 md/Botocore#1.44.8 ua/2.1 os/linux#6.1 lang/python#3.11"},
        {"Content-Length", std::to_string(body_size)},
        {"amz-sdk-invocation-id", "6f0f0e4c-3a43-4c1e-9d1e-0b3b8b2f2a11"},
        {"amz-sdk-request", "attempt=1"}};
    std::vector<Header> views;
    Result<SignedRequest> s =
        Sign(View(views), creds, {.region = "us-east-1", .service = "lambda"}, kNow);
    for (const auto& h : s->headers) headers.push_back(h);
  }
  RequestView View(std::vector<Header>& storage) const {
    storage.clear();
    for (const auto& [n, v] : headers) storage.push_back({n, v});
    return {.method = "POST",
            .target = "/2015-03-31/functions/echo/invocations?Qualifier=%24LATEST",
            .headers = storage,
            .body = body};
  }

  Credentials creds{.access_key_id = "AKIAFAULTLINE0000001",
                    .secret_access_key = "fAuLtLiNeSeCrEt/0123456789+abcdefghijklm"};
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

void BM_Verify(benchmark::State& state) {
  const Fixture f(static_cast<std::size_t>(state.range(0)));
  FakeClock clock(kNow);
  std::vector<Header> storage;
  const RequestView view = f.View(storage);
  const CredentialLookup lookup = [&](std::string_view id) {
    return id == f.creds.access_key_id ? &f.creds : nullptr;
  };
  const VerifyOptions options{.service = "lambda", .clock = &clock};
  for (auto _ : state) {
    VerifyResult r = Verify(view, lookup, options);
    if (!r.ok()) state.SkipWithError(r.message.c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Verify)->Arg(0)->Arg(1024)->Arg(256 * 1024);

// A refused request (wrong signature) costs the same as an accepted one,
// plus the copies of the canonical strings into the result.
void BM_VerifyMismatch(benchmark::State& state) {
  Fixture f(1024);
  f.creds.secret_access_key = "another";
  FakeClock clock(kNow);
  std::vector<Header> storage;
  const RequestView view = f.View(storage);
  const CredentialLookup lookup = [&](std::string_view) { return &f.creds; };
  const VerifyOptions options{.service = "lambda", .clock = &clock};
  for (auto _ : state) benchmark::DoNotOptimize(Verify(view, lookup, options));
}
BENCHMARK(BM_VerifyMismatch);

void BM_Sign(benchmark::State& state) {
  const Fixture f(1024);
  std::vector<Header> storage;
  const RequestView view = f.View(storage);
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        Sign(view, f.creds, {.region = "us-east-1", .service = "lambda"}, kNow));
  }
}
BENCHMARK(BM_Sign);

}  // namespace
}  // namespace faultline::aws

BENCHMARK_MAIN();
