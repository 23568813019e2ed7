// Platform: the emulator's state and the entry points of its rooms, each
// room a file named after the part of Lambda it plays:
//
//   emulator.cc          Start / Stop: the Invoke API listener, the tick
//   auth.cc              SigV4 on every request (the emulator's credentials)
//   invoke_api.cc        Invoke, InvokeWithResponseStream
//   management_api.cc    functions, configuration, concurrency, account settings
//   metrics.cc           /metrics (Prometheus) and /metrics.json
//   url_api.cc           Create/Get/Update/Delete/ListFunctionUrlConfig(s)
//   versions_api.cc      PublishVersion, aliases; the qualifier of every call
//   url_server.cc        function URLs served (function_urls.h converts)
//   scheduler.cc         admission (concurrency.h decides), warm or cold,
//                        an invocation's run until its outcome
//   async_delivery.cc    the Event queue: retries, destinations, dead letters
//   event_invoke_api.cc  Put/Get/Update/DeleteFunctionEventInvokeConfig
//   environment_pool.cc  starting, stopping, killing and reaping environments
//   runtime_api.cc       the Runtime API 2018-06-01 of each environment
//   extensions_api.cc    the Extensions API 2020-01-01 of each environment
//   logs.cc              function output, START / END / REPORT, Tail
//   shutdown.cc          a graceful stop: what runs finishes, what cannot is reported
//
// Internal to the emulator: Emulator (emulator.h) is the public face.
//
// Thread-safety: everything on the io_context's thread.
#ifndef FAULTLINE_LAMBDA_PLATFORM_H_
#define FAULTLINE_LAMBDA_PLATFORM_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "faultline/random.h"
#include "faultline/status.h"
#include "http/asio.h"
#include "http/server.h"
#include "lambda/api_common.h"
#include "lambda/emulator.h"
#include "lambda/environment.h"
#include "lambda/function.h"
#include "lambda/invocation.h"

namespace faultline::lambda {

// How often the pool looks at processes, idle environments and deadlines.
inline constexpr auto kTick = std::chrono::milliseconds(50);
// Stop() of the whole emulator gives extensions at most this for SHUTDOWN.
inline constexpr auto kStopBudget = std::chrono::milliseconds(500);
// The largest request body the Invoke and management APIs read: a 6 MB
// payload and room for AWS's own check to answer (ReadInvokeRequest).
inline constexpr std::size_t kMaxApiBody = kMaxPayload + 1024 * 1024;
// The context of a Status for an external extension that cannot be started.
inline constexpr std::string_view kExtensionLaunch = "extension";

class Platform : public std::enable_shared_from_this<Platform> {
 public:
  Platform(http::asio::io_context& io_context, EmulatorOptions opts)
      : io(io_context),
        options(std::move(opts)),
        tick(io_context),
        rng(RandomSeed()),
        seed(options.seed != 0 ? options.seed : RandomSeed()),
        routing(Random::ForStream(seed, 1)) {}

  http::asio::io_context& io;
  EmulatorOptions options;
  std::unique_ptr<http::Server> api;
  std::map<std::string, std::unique_ptr<Function>> functions;
  http::asio::steady_timer tick;
  Random rng;  // request ids, trace ids: need not replay
  // Decisions an experiment may want replayed (a weighted alias's version),
  // from `seed`.
  std::uint64_t seed;
  Random routing;
  bool stopped = false;
  bool cutting_off = false;  // Shutdown's end: no Event invocation starts any more

  std::string Arn(const std::string& name) const;
  Status Listen();

  // ---- authentication (auth.cc) ------------------------------------------
  // AWS's 403 for a request to the Invoke or management API that is not
  // signed with the emulator's credentials (when it has any); nullopt:
  // let it through. RefuseUnsigned checks any request (function URLs of
  // AuthType AWS_IAM), Refuse leaves the read-only /metrics open.
  std::optional<Response> Refuse(const Request& req) const;
  std::optional<Response> RefuseUnsigned(const Request& req) const;

  // ---- logs (logs.cc) -------------------------------------------------
  // A line of `fn`'s log (and of inv's Tail when it keeps one).
  void Log(const Function& fn, std::string_view line, Invocation* inv);
  void ReadPipes(const std::shared_ptr<Environment>& env, Process& process);
  Task<void> ReadPipe(std::shared_ptr<Environment> env, std::shared_ptr<OutputPipe> pipe);
  void DrainPipes(Environment& env);
  void OnOutput(Environment& env, std::string& partial, std::string_view chunk, bool flush);
  void WriteReport(Environment& env, const Environment::Report& report);
  void FlushReport(Environment& env);
  void PostFlushReport(const std::shared_ptr<Environment>& env);

  // ---- the environment pool (environment_pool.cc) ----------------------
  Result<std::shared_ptr<Environment>> StartEnvironment(Function& fn, const std::string& version);
  Result<std::unique_ptr<http::Server>> ListenRuntimeApi(const std::shared_ptr<Environment>& env);
  SpawnOptions RuntimeSpawnOptions(const Environment& env);
  Status StartRuntime(const std::shared_ptr<Environment>& env);
  void StopEnvironment(const std::shared_ptr<Environment>& env, std::string_view why,
                       std::optional<std::chrono::milliseconds> budget = std::nullopt);
  void ArmShutdownTimer(const std::shared_ptr<Environment>& env, Steady::time_point at);
  void KillEnvironment(const std::shared_ptr<Environment>& env);
  void ReapExtensions(const std::shared_ptr<Environment>& env);
  void EnvironmentDied(const std::shared_ptr<Environment>& env, const std::string& reason);
  void Release(const std::shared_ptr<Environment>& env);
  void Tick();
  void TickFunction(Function& fn);
  // After Stop(): lets extensions handle SHUTDOWN, then kills what is left.
  void Drain();
  // A graceful stop (shutdown.cc): see Emulator::Shutdown.
  Task<void> Shutdown(std::chrono::milliseconds grace,
                      std::function<void(Emulator::ShutdownReport)> done);
  bool WorkLeft() const;
  void CutOff(const std::shared_ptr<Environment>& env);
  void StopAll();

  // ---- the scheduler (scheduler.cc) ------------------------------------
  struct Throttle {
    std::string reason;
  };
  // Admission first (concurrency.h), then a warm idle environment or a cold one.
  std::variant<std::shared_ptr<Environment>, Throttle, Status> Acquire(Function& fn,
                                                                       const std::string& version);
  void Assign(Function& fn, const std::shared_ptr<Environment>& env,
              std::shared_ptr<Invocation> inv);
  // Forwards inv->pending to a streaming caller.
  using Flush = std::function<Task<void>()>;
  Task<void> Run(Function& fn, std::shared_ptr<Environment> env, std::shared_ptr<Invocation> inv,
                 Flush flush = {});
  void Finish(const std::shared_ptr<Environment>& env, Invocation::Outcome outcome,
              bool defer_report = false);
  void MaybeComplete(const std::shared_ptr<Environment>& env);
  void Complete(const std::shared_ptr<Environment>& env, bool defer_report = false);

  // ---- async delivery (async_delivery.cc) -----------------------------
  // An accepted Event invocation: queued, started when it may run.
  void Enqueue(Function& fn, QueuedEvent ev);
  // Capacity freed (an environment, a reservation): throttled events may
  // run at once.
  void CapacityFreed(Function& fn);
  void DrainEvents(Function& fn);
  const EventInvokeConfig* EventConfigOf(const Function& fn, const QueuedEvent& ev) const;
  void StartEvent(Function& fn, QueuedEvent ev,
                  std::variant<std::shared_ptr<Environment>, Throttle, Status> acquired);
  Task<void> RunEvent(Function& fn, std::shared_ptr<Environment> env,
                      std::shared_ptr<Invocation> inv, QueuedEvent ev);
  void EventDone(Function& fn, QueuedEvent ev, const Invocation& inv);
  void GiveUp(Function& fn, const QueuedEvent& ev, Condition condition, const Invocation* last);
  bool Deliver(Function& fn, const std::string& destination, const std::string& body);

  // ---- the Runtime API (runtime_api.cc) ---------------------------------
  Task<Response> HandleRuntime(std::shared_ptr<Environment> env, Request& req);
  Task<Response> NextInvocation(std::shared_ptr<Environment> env, Request& req);
  Response InitError(const std::shared_ptr<Environment>& env, Request& req);
  Task<Response> AnswerInvocation(std::shared_ptr<Environment> env, Request& req,
                                  std::string_view id, bool error);
  Task<bool> StreamedResponse(std::shared_ptr<Environment> env, http::Exchange& ex);
  std::variant<std::shared_ptr<Invocation>, Response> StreamTarget(
      const Environment& env, const bhttp::request<bhttp::empty_body>& head) const;
  void EndStream(const std::shared_ptr<Environment>& env, Invocation& inv,
                 const bhttp::fields& whole);

  // ---- the Extensions API (extensions_api.cc) ---------------------------
  Task<Response> HandleExtension(std::shared_ptr<Environment> env, Request& req,
                                 std::string_view what);
  Response RegisterExtension(const std::shared_ptr<Environment>& env, const Request& req);
  Task<Response> NextEvent(std::shared_ptr<Environment> env, Extension& ext, Request& req);
  Response ExtensionInitError(const std::shared_ptr<Environment>& env, Extension& ext,
                              const Request& req, const std::string& type);
  void MaybeInitDone(Environment& env);

  // ---- the Invoke API (invoke_api.cc) -----------------------------------
  // An invocation begun: `env` runs it, or is null when none could start
  // (inv then has its error outcome already).
  struct Begun {
    std::shared_ptr<Invocation> inv;
    std::shared_ptr<Environment> env;
  };
  struct InvokeRequest {
    std::string type;            // RequestResponse, Event or DryRun
    std::string client_context;  // decoded
  };
  std::variant<Response, InvokeRequest> ReadInvokeRequest(const Request& req, bool to_caller);
  Task<std::variant<Response, Begun>> BeginInvoke(Function& fn, Request& req, bool to_caller);
  // The version a request's qualifier (in its function name or ?Qualifier=)
  // runs, or AWS's answer: 404 for one that does not exist, never $LATEST.
  std::variant<Response, Resolved> ResolveQualifier(const Request& req, const Function& fn);
  // What an invocation is made of, wherever it comes from (the Invoke API,
  // a function URL).
  struct InvocationInput {
    std::string payload;
    std::string trace_id;  // empty: a new one
    std::string client_context;
    bool tail = false;
    bool to_caller = false;           // streamed bytes to inv->pending, for the caller
    std::string version = "$LATEST";  // Resolve's
    std::string invoked_arn;          // empty: the function's
    std::string request_id;           // empty: a new one (a retry keeps its own)
  };
  std::shared_ptr<Invocation> NewInvocation(const Function& fn, const InvocationInput& input,
                                            http::asio::any_io_executor ex);
  std::variant<Throttle, Begun> StartInvocation(Function& fn, const InvocationInput& input,
                                                http::asio::any_io_executor ex);
  void FailToStart(Function& fn, Invocation& inv, const Status& why);
  Task<Response> Invoke(Function& fn, Request& req);
  Task<std::variant<Request, bool>> ReadStreamRequest(http::Exchange& ex);
  Task<bool> InvokeWithResponseStream(http::Exchange& ex);
  // Sets x-amzn-RequestId (a new id) unless the answer has one: every
  // answer of the Invoke and management APIs carries one, as on AWS.
  Response WithRequestId(Response res);

  // ---- function URLs (url_server.cc, url_api.cc) -----------------------
  Result<std::shared_ptr<FunctionUrl>> OpenUrl(Function& fn, const std::string& qualifier,
                                               UrlSettings settings);
  Task<std::variant<Request, bool>> ReadUrlRequest(http::Exchange& ex);
  Task<bool> ServeUrl(Function& fn, std::shared_ptr<FunctionUrl> url, http::Exchange& ex);
  std::variant<Throttle, Begun> StartUrlInvocation(Function& fn, const UrlRequest& req,
                                                   UrlContext ctx, InvocationInput input);
  Task<bool> StreamUrlAnswer(Function& fn, std::shared_ptr<Invocation> inv,
                             std::shared_ptr<Environment> env, const Request& req,
                             http::Exchange& ex);
  // Create/Get/Update/Delete/ListFunctionUrlConfig(s).
  Response HandleUrlApi(const Request& req, Function& fn, std::string_view rest);
  Response CreateUrl(const Request& req, Function& fn, const std::string& qualifier);
  json UrlConfigJson(const Function& fn, const FunctionUrl& url, bool created) const;

  // ---- the management API (management_api.cc) ---------------------------
  Task<Response> HandleApi(Request& req);
  Response FunctionOperation(const Request& req, Function& fn, std::string_view version,
                             const PathParts& tail);
  Response GetFunction(const Request& req, const Function& fn);
  // Versions and aliases (versions_api.cc).
  Response PublishVersion(const Request& req, Function& fn);
  Response ListVersions(const Request& req, const Function& fn) const;
  Response HandleAliasApi(const Request& req, Function& fn, const PathParts& tail);
  Response CreateAlias(const Request& req, Function& fn);
  // Put/Update/Get/Delete/ListFunctionEventInvokeConfig(s) (event_invoke_api.cc).
  Response HandleEventInvokeApi(const Request& req, Function& fn, const PathParts& tail);
  Response ListFunctions(const Request& req) const;
  Response FunctionConfiguration(const Request& req, const Function& fn, bhttp::status status);
  // FunctionConfiguration of `version`, its FunctionArn qualified by
  // `arn_qualifier` (a version's or an alias's name; empty: none).
  json ConfigurationJson(const Function& fn, std::string_view version = kLatest,
                         std::string_view arn_qualifier = "") const;
  // As ResolveQualifier, for reading a configuration: an alias gives its
  // own version, without a routing draw.
  std::variant<Response, Resolved> ConfigQualifier(const Request& req, const Function& fn);
  // AWS's 400 for a qualified function name where only the function will do.
  std::optional<Response> RefuseQualified(const Request& req) const;
  // AWS's 412 when the body's RevisionId is not `current`.
  std::optional<Response> CheckRevision(const Request& req, const json& body,
                                        const std::string& current) const;
  Response UpdateConfiguration(const Request& req, Function& fn);
  Response PutConcurrency(const Request& req, Function& fn);
  Response AccountSettings(const Request& req) const;

  // ---- metrics (metrics.cc) ----------------------------------------------
  Response MetricsText(const Request& req) const;
  Response MetricsJson(const Request& req) const;

 private:
  std::string log_line_;  // Log's one buffer for every line
};

}  // namespace faultline::lambda

#endif  // FAULTLINE_LAMBDA_PLATFORM_H_
