// Emulator: the public face of the local Lambda platform (platform.h has
// its rooms). Start builds the functions and listens; Stop and the
// destructor end every environment.
#include "lambda/emulator.h"

#include <fmt/format.h>

#include "lambda/ids.h"
#include "lambda/platform.h"

namespace faultline::lambda {

namespace asio = http::asio;

std::string Platform::Arn(const std::string& name) const {
  return fmt::format("arn:aws:lambda:{}:{}:function:{}", options.region, options.account_id, name);
}

Response Platform::WithRequestId(Response res) {
  if (res["x-amzn-RequestId"].empty()) res.set("x-amzn-RequestId", NewRequestId(rng));
  return res;
}

// The Invoke and management API listener. InvokeWithResponseStream answers
// as a stream: a stream handler; every other request is read whole.
Status Platform::Listen() {
  std::weak_ptr<Platform> weak = weak_from_this();
  auto streams = [](const bhttp::request_header<>& h) {
    const std::string_view target(h.target().data(), h.target().size());
    const PathParts p = SplitPath(target.substr(0, target.find('?')));
    return h.method() == bhttp::verb::post && p.size() == 4 && p[0] == "2021-11-15" &&
           p[1] == "functions" && p[3] == "response-streaming-invocations";
  };
  auto stream_handler = [weak](http::Exchange& ex) -> Task<bool> {
    auto self = weak.lock();
    if (!self) co_return false;
    co_return co_await self->InvokeWithResponseStream(ex);
  };
  auto too_large = [weak](const Request& req) {
    Response res = AwsError(req, bhttp::status::payload_too_large, "RequestEntityTooLargeException",
                            fmt::format("Request must be smaller than {} bytes", kMaxApiBody));
    if (auto self = weak.lock()) res = self->WithRequestId(std::move(res));
    return res;
  };
  auto handler = [weak](Request& req) -> Task<Response> {
    auto self = weak.lock();
    if (!self) co_return http::MakeResponse(req, bhttp::status::service_unavailable, "");
    if (auto refused = self->Refuse(req)) co_return self->WithRequestId(std::move(*refused));
    co_return self->WithRequestId(co_await self->HandleApi(req));
  };
  auto server = http::Server::Listen(io,
                                     http::ServerOptions{.host = options.host,
                                                         .port = options.port,
                                                         .body_limit = kMaxApiBody,
                                                         .too_large = too_large,
                                                         .streams = streams,
                                                         .stream_handler = stream_handler},
                                     handler);
  if (!server.ok()) return server.status();
  api = std::move(*server);
  return Status::Ok();
}

Result<std::unique_ptr<Emulator>> Emulator::Start(asio::io_context& io, EmulatorOptions options) {
  if (Status s = ValidateEmulatorConfig(options.config); !s.ok()) return s;
  auto impl = std::make_shared<Platform>(io, std::move(options));
  const std::string now = LastModifiedNow();
  for (const FunctionConfig& c : impl->options.config.functions) {
    auto fn = std::make_unique<Function>();
    fn->config = c;
    fn->arn = impl->Arn(c.name);
    fn->last_modified = now;
    fn->revision_id = NewRequestId(impl->rng);
    impl->functions.emplace(c.name, std::move(fn));
  }
  if (Status s = impl->Listen(); !s.ok()) return s;
  impl->Tick();
  return std::unique_ptr<Emulator>(new Emulator(std::move(impl)));
}

Emulator::~Emulator() {
  Stop();
  impl_->Drain();
}

// After Stop(): lets extensions handle SHUTDOWN (bounded by kStopBudget) when
// the io_context is not running on this thread (its run() has returned, as
// in `faultline lambda serve`); then kills and reaps whatever is left.
void Platform::Drain() {
  auto unfinished = [this] {
    for (auto& [name, fn] : functions) {
      for (auto& env : fn->envs) {
        if (!env->killed || env->open_pipes > 0) return true;
      }
    }
    return false;
  };
  const auto deadline = Steady::now() + kStopBudget + std::chrono::milliseconds(200);
  if (!io.get_executor().running_in_this_thread()) {
    if (io.stopped()) io.restart();
    while (unfinished() && Steady::now() < deadline) {
      io.run_one_until(std::min(deadline, Steady::now() + std::chrono::milliseconds(10)));
      for (auto& [name, fn] : functions) {
        for (auto& env : fn->envs) ReapExtensions(env);
      }
    }
  }
  for (auto& [name, fn] : functions) {
    for (auto& env : fn->envs) KillEnvironment(env);
    fn->envs.clear();
  }
}

std::uint16_t Emulator::port() const { return impl_->api->port(); }

std::uint64_t Emulator::seed() const { return impl_->seed; }

void Emulator::Stop() { impl_->StopAll(); }

void Emulator::Shutdown(std::chrono::milliseconds grace, std::function<void(ShutdownReport)> done) {
  asio::co_spawn(impl_->io, impl_->Shutdown(grace, std::move(done)), [](std::exception_ptr) {});
}

}  // namespace faultline::lambda
