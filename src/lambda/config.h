// The local Lambda emulator's configuration: functions.yaml.
//
//   account_concurrency: 1000
//   idle_timeout: 10m
//   functions:
//     - name: echo
//       command: ./build/examples/functions/cpp/echo
//       timeout: 3
//       memory: 128
//       reserved_concurrency: 1
//       environment: {GREETING: hello}
//
// The format, every key, its default and its limits are in docs/lambda.md
// ("functions.yaml"). Limits follow AWS Lambda's own (function names,
// Timeout, MemorySize, environment variables, 10 extensions). Parsing is
// pure: it never touches the file system, so a command whose executable
// does not exist is not a configuration error (the invocation that needs it
// fails instead; FindExecutable helps say why).
//
// Thread-safety: plain values and pure functions.
#ifndef FAULTLINE_LAMBDA_CONFIG_H_
#define FAULTLINE_LAMBDA_CONFIG_H_

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "faultline/status.h"

namespace faultline::lambda {

// Defaults and limits (AWS Lambda's where it has one).
inline constexpr int kDefaultAccountConcurrency = 1000;  // AWS's default quota
inline constexpr int kMaxAccountConcurrency = 100000;    // ours: a sanity bound
inline constexpr std::chrono::milliseconds kDefaultIdleTimeout{10 * 60 * 1000};
inline constexpr std::chrono::milliseconds kDefaultTimeout{3000};  // AWS: 3 s
inline constexpr std::chrono::milliseconds kMinTimeout{1000};      // AWS: 1 s
inline constexpr std::chrono::milliseconds kMaxTimeout{900000};    // AWS: 900 s
inline constexpr int kDefaultMemoryMb = 128;                       // AWS
inline constexpr int kMinMemoryMb = 128;                           // AWS
inline constexpr int kMaxMemoryMb = 10240;                         // AWS
inline constexpr std::size_t kMaxFunctionNameLength = 64;          // AWS
inline constexpr std::size_t kMaxHandlerLength = 128;              // AWS
inline constexpr std::size_t kMaxEnvironmentBytes = 4096;          // AWS: keys + values, 4 KB
inline constexpr std::size_t kMaxExtensions = 10;                  // AWS
inline constexpr std::string_view kDefaultRuntime = "provided.al2023";

// One function. Paths are absolute once parsed (resolved against the
// directory of functions.yaml), except a command[0] or exec_wrapper without
// a '/', which is looked up on PATH when it is started, as a shell would.
struct FunctionConfig {
  // [a-zA-Z0-9-_]{1,64}, unique within the emulator.
  std::string name;
  // The runtime's argv (the bootstrap). A string in the file becomes
  // {"/bin/sh", "-c", string}; a list is used as is. Never empty once parsed.
  std::vector<std::string> command;
  // Passed to the runtime as _HANDLER; may be empty. No whitespace, <= 128.
  std::string handler;
  // A Lambda runtime identifier such as "provided.al2023" or "python3.12"
  // ([a-z][a-z0-9.]*, <= 64): informational (GetFunctionConfiguration's
  // Runtime; on AWS, AWS_EXECUTION_ENV=AWS_Lambda_<runtime> on managed runtimes).
  std::string runtime = std::string(kDefaultRuntime);
  // Whole seconds in [1 s, 900 s], as AWS's Timeout.
  std::chrono::milliseconds timeout = kDefaultTimeout;
  // MemorySize in MB, [128, 10240]: reported (AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
  // REPORT lines), not enforced.
  int memory_mb = kDefaultMemoryMb;
  // ReservedConcurrentExecutions: nullopt means none (the function shares
  // the account's unreserved pool); 0 throttles every invocation, as on AWS.
  std::optional<int> reserved_concurrency;
  // Extra environment variables for the runtime and its extensions. Keys
  // match [a-zA-Z][a-zA-Z0-9_]+, keys + values <= 4 KB; the keys the
  // emulator sets itself (ReservedEnvironmentKeys) are refused.
  std::map<std::string, std::string> environment;
  // The runtime's and the extensions' working directory (absolute).
  std::string working_dir;
  // External extensions, each an argv like `command`, started in every
  // execution environment before the runtime (like /opt/extensions/*). <= 10.
  std::vector<std::vector<std::string>> extensions;
  // AWS_LAMBDA_EXEC_WRAPPER: when set, the runtime is started as
  // {exec_wrapper, command...} on managed runtimes; ignored, as AWS does, on
  // OS-only ones (provided.*, the default) (see LaunchArgv). Empty: none. The parser
  // also takes it from environment.AWS_LAMBDA_EXEC_WRAPPER (the AWS way),
  // moving it here, so `environment` never holds that key after parsing.
  std::string exec_wrapper;
  // DeadLetterConfig.TargetArn: where a failed Event invocation's event goes
  // once given up (an SQS/SNS ARN, a function's, or a file:// URL; see
  // async_policy.h). Empty: none.
  std::string dead_letter_target;

  bool operator==(const FunctionConfig&) const = default;
};

struct EmulatorConfig {
  // Concurrent executions across all functions; beyond it invocations are
  // throttled. Reserved concurrency comes out of this pool.
  int account_concurrency = kDefaultAccountConcurrency;
  // What PutFunctionConcurrency must leave unreserved; nullopt: AWS's rule,
  // 100 or the whole account when it is smaller (UnreservedMinimum).
  std::optional<int> unreserved_minimum;
  // An execution environment idle this long is shut down.
  std::chrono::milliseconds idle_timeout = kDefaultIdleTimeout;
  // Multiplies the platform's own delays and ages (asynchronous retries,
  // throttle backoff, MaximumEventAgeInSeconds): 1 is AWS's timing; an
  // experiment may take 0.001 (a one-minute retry after 60 ms). (0, 1].
  double time_scale = 1.0;
  // In file order; names are unique.
  std::vector<FunctionConfig> functions;

  bool operator==(const EmulatorConfig&) const = default;
};

// config.unreserved_minimum, or AWS's rule: min(100, account_concurrency).
int UnreservedMinimum(const EmulatorConfig& config);

// Parses functions.yaml text. `source` names the input in errors
// ("functions.yaml"); relative paths resolve against `base_dir` (made
// absolute against the current directory; empty means the current
// directory), and working_dir defaults to it. Errors look like
//   functions.yaml:7:14: functions[0].timeout: expected an integer number of
//   seconds in [1, 900], got 901
// and are kInvalidArgument; no yaml-cpp exception escapes.
Result<EmulatorConfig> ParseEmulatorConfig(std::string_view yaml, std::string_view source,
                                           const std::string& base_dir);

// Reads `path` and parses it with base_dir = the file's directory.
// kNotFound if there is no such file, kIoError if it cannot be read.
Result<EmulatorConfig> LoadEmulatorConfig(const std::string& path);

// Checks one function's values against the limits above (name, command,
// handler, runtime, timeout, memory, reserved concurrency <=
// account_concurrency, environment, extensions), e.g. before
// UpdateFunctionConfiguration or PutFunctionConcurrency applies a change.
// Messages name the functions.yaml key: "timeout: expected an integer number
// of seconds in [1, 900], got 901.5". kInvalidArgument on failure.
Status ValidateFunctionConfig(const FunctionConfig& function,
                              int account_concurrency = kDefaultAccountConcurrency);

// ValidateFunctionConfig for each function, plus what only the whole
// configuration can say: unique names, and the reserved concurrency of all
// functions together <= account_concurrency. ParseEmulatorConfig calls it.
Status ValidateEmulatorConfig(const EmulatorConfig& config);

// The environment variables the emulator sets itself, which `environment`
// may not set (AWS's reserved keys, minus the region, the credentials and TZ,
// which a local function may need to set: there is no execution role here).
const std::vector<std::string_view>& ReservedEnvironmentKeys();

// "" when `target` can be a dead-letter target (dead_letter, DeadLetterConfig),
// else what it should be.
std::string CheckDeadLetter(const std::string& target);

// Whether `runtime` is an OS-only runtime ("provided", "provided.al2",
// "provided.al2023"): the function brings its own runtime (bootstrap), and
// AWS ignores AWS_LAMBDA_EXEC_WRAPPER for it. The default runtime (an entry
// without `runtime:`) is provided.al2023, so it is OS-only too.
bool IsOsOnlyRuntime(std::string_view runtime);

// The argv that starts the runtime: {exec_wrapper, command...} when
// exec_wrapper is set and the runtime is a managed one (python3.13,
// nodejs22.x, java21, ...), else command: on OS-only runtimes the wrapper is
// ignored, as on AWS.
std::vector<std::string> LaunchArgv(const FunctionConfig& function);

// The file `program` names, as execvp would find it: a name with a '/' is
// taken as is (relative to the current directory), any other name is looked
// up in the ':'-separated `search_path` (an empty entry means "."). Returns
// the path of the first regular file the process may execute, or nullopt.
std::optional<std::string> FindExecutable(const std::string& program, std::string_view search_path);

}  // namespace faultline::lambda

#endif  // FAULTLINE_LAMBDA_CONFIG_H_
