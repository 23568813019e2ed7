// The process provider: chaoslib/provider/process.py's
// run_process_activity, on lambda::Process.
//
//   path ─► which(expanduser(path)) ─┐
//   arguments ─► str: /bin/sh -c "<path> <arguments>"
//               list/mapping: argv, str()'d ─┴─► Spawn ─► Collect ─► {status, stdout, stderr}
//                                                  (stdout, stderr, exit, timeout, interrupt)
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "experiment/provider_internal.h"
#include "lambda/process.h"

namespace faultline::experiment::provider_internal {

namespace {

using Clock = std::chrono::steady_clock;

// os.path.expanduser: "~" and "~/x" from $HOME (or the password entry),
// "~user/x" from user's entry; anything else, or an unknown user, as is.
std::string ExpandUser(const std::string& path) {
  if (path.empty() || path[0] != '~') return path;
  std::size_t slash = path.find('/', 1);
  if (slash == std::string::npos) slash = path.size();
  std::string home;
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (slash == 1) {
    const char* env = std::getenv("HOME");
    if (env != nullptr) {
      home = env;
    } else if (::getpwuid_r(::getuid(), &pw, buf.data(), buf.size(), &found) == 0 && found) {
      home = found->pw_dir;
    } else {
      return path;
    }
  } else {
    const std::string user = path.substr(1, slash - 1);
    if (::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found) {
      return path;
    }
    home = found->pw_dir;
  }
  while (!home.empty() && home.back() == '/') home.pop_back();
  const std::string out = home + path.substr(slash);
  return out.empty() ? "/" : out;
}

// shutil's _access_check: exists, executable, not a directory.
bool Executable(const std::string& file) {
  struct stat st {};
  return ::stat(file.c_str(), &st) == 0 && !S_ISDIR(st.st_mode) &&
         ::access(file.c_str(), X_OK) == 0;
}

// shutil.which(cmd): a path with a directory is checked as it is; a name
// is looked for in PATH (unset: "/bin:/usr/bin"), each directory once.
std::optional<std::string> Which(const std::string& cmd) {
  if (cmd.find('/') != std::string::npos) {
    return Executable(cmd) ? std::optional<std::string>(cmd) : std::nullopt;
  }
  const char* env = std::getenv("PATH");
  const std::string path = env != nullptr ? env : "/bin:/usr/bin";
  if (path.empty()) return std::nullopt;
  std::set<std::string> seen;
  for (std::size_t at = 0;;) {
    const std::size_t colon = path.find(':', at);
    const std::string dir = path.substr(at, colon == std::string::npos ? colon : colon - at);
    if (seen.insert(dir).second) {
      std::string name = dir;  // os.path.join(dir, cmd)
      if (!name.empty() && name.back() != '/') name += '/';
      name += cmd;
      if (Executable(name)) return name;
    }
    if (colon == std::string::npos) return std::nullopt;
    at = colon + 1;
  }
}

// argv as subprocess.run gets it from chaoslib.
Result<std::vector<std::string>> BuildArgv(const std::string& exe, const json& arguments) {
  if (arguments.is_string()) {
    return std::vector<std::string>{"/bin/sh", "-c", exe + " " + arguments.get<std::string>()};
  }
  std::vector<json> items;
  if (arguments.is_object()) {
    for (const auto& [k, v] : arguments.items()) {
      items.emplace_back(k);
      items.push_back(v);
    }
  } else if (arguments.is_array()) {
    items.assign(arguments.begin(), arguments.end());
  } else if (!arguments.is_null()) {
    return Status::InvalidArgument("process arguments must be a string, a list or a mapping, got " +
                                   arguments.dump());
  }
  // A path without a directory (PATH held an empty entry) is relative to
  // the working directory, as for Python; spawning it needs the "./".
  std::vector<std::string> argv{exe.find('/') == std::string::npos ? "./" + exe : exe};
  for (const json& item : items) {
    if (item.is_null() || (item.is_string() && item.get_ref<const std::string&>().empty())) {
      continue;
    }
    argv.push_back(PyStr(item));
  }
  return argv;
}

// Up to kMaxCapturedBytes of one stream; the rest is read and dropped, so
// that the child never blocks on a full pipe.
struct Capture {
  int fd = -1;
  std::string data;

  // Reads what is there; false at end-of-file or an error.
  bool ReadSome() {
    std::array<char, 65536> buf;
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
    if (n <= 0) return false;
    const std::size_t room = Providers::kMaxCapturedBytes - data.size();
    data.append(buf.data(), std::min(room, static_cast<std::size_t>(n)));
    return true;
  }
};

enum class Ending { kExited, kTimedOut, kInterrupted };

int PidFd(pid_t pid) {
  const long fd = ::syscall(SYS_pidfd_open, pid, 0);
  return fd < 0 ? -1 : static_cast<int>(fd);
}

// Waits for the child to exit and close both pipes (as communicate does:
// a background child that keeps them open is waited for too), reading
// them meanwhile; stops at `deadline` or an interrupt.
Ending Collect(lambda::Process& p, Capture& out, Capture& err, int wake_fd,
               std::optional<Clock::time_point> deadline) {
  const int pidfd = PidFd(p.pid());
  bool open_out = true, open_err = true;
  Ending ending = Ending::kExited;
  while (open_out || open_err || !p.exited()) {
    // Without a pidfd (an old kernel) the exit is looked for every 20 ms.
    int wait_ms = pidfd >= 0 ? -1 : 20;
    if (deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now());
      if (left.count() <= 0) {
        ending = Ending::kTimedOut;
        break;
      }
      if (wait_ms < 0 || left.count() < wait_ms) wait_ms = static_cast<int>(left.count());
    }
    std::array<pollfd, 4> fds{};
    fds[0] = {wake_fd, POLLIN, 0};
    fds[1] = {open_out ? out.fd : -1, POLLIN, 0};
    fds[2] = {open_err ? err.fd : -1, POLLIN, 0};
    fds[3] = {p.exited() ? -1 : pidfd, POLLIN, 0};
    if (::poll(fds.data(), fds.size(), wait_ms) < 0 && errno != EINTR) break;
    if (fds[0].revents != 0) {
      ending = Ending::kInterrupted;
      break;
    }
    if (fds[1].revents != 0) open_out = out.ReadSome();
    if (fds[2].revents != 0) open_err = err.ReadSome();
    if (pidfd < 0 || fds[3].revents != 0) p.Reap();
  }
  if (pidfd >= 0) ::close(pidfd);
  return ending;
}

// The provider's timeout: a number of seconds; nullopt: none.
Result<std::optional<Clock::time_point>> Deadline(const json& provider) {
  const json timeout = provider.value("timeout", json(nullptr));
  if (timeout.is_null()) return std::optional<Clock::time_point>();
  if (!timeout.is_number() && !timeout.is_boolean()) {
    return Status::InvalidArgument("process timeout must be a number, got " + timeout.dump());
  }
  const double seconds =
      timeout.is_boolean() ? (timeout.get<bool>() ? 1 : 0) : timeout.get<double>();
  const auto span = std::chrono::duration<double>(std::max(0.0, std::min(seconds, 1e9)));
  return std::optional<Clock::time_point>(Clock::now() +
                                          std::chrono::duration_cast<Clock::duration>(span));
}

json Output(const lambda::Process& p, const Capture& out, const Capture& err) {
  json o = json::object();
  o["status"] = p.returncode().value_or(-1);
  o["stdout"] = DecodeUtf8(out.data);
  o["stderr"] = DecodeUtf8(err.data);
  return o;
}

}  // namespace

ProviderResult RunProcess(const json& provider, const Context& ctx, Cancel& cancel) {
  const json raw_path = provider.value("path", json(""));
  const std::string path = raw_path.is_string() ? raw_path.get<std::string>() : "";
  const std::optional<std::string> exe = Which(ExpandUser(path));
  if (!exe) return Failed("path '" + path + "' cannot be found");
  json arguments = provider.value("arguments", json::array());
  if (PythonTruthy(arguments) && HasContext(ctx)) arguments = Substitute(arguments, ctx);
  Result<std::vector<std::string>> argv = BuildArgv(*exe, arguments);
  if (!argv.ok()) return Failed(argv.status().message());
  Result<std::optional<Clock::time_point>> deadline = Deadline(provider);
  if (!deadline.ok()) return Failed(deadline.status().message());

  lambda::SpawnOptions options;
  options.argv = std::move(*argv);
  options.inherit_env = true;
  options.kill_group_on_exit = false;
  if (cancel.interrupted()) return Failed(std::string(kInterrupted));
  Result<lambda::Process> spawned = lambda::Process::Spawn(options);
  if (!spawned.ok()) return Failed(spawned.status().message());
  lambda::Process& p = *spawned;
  Capture out{p.stdout_fd(), {}};
  Capture err{p.stderr_fd(), {}};
  const Ending ending = Collect(p, out, err, cancel.wake_fd(), *deadline);
  if (ending == Ending::kExited) return ProviderResult{true, Output(p, out, err), "", {}};
  // The whole group, the child reaped or not: what it left holding our
  // pipes goes too.
  ::kill(-p.pid(), SIGKILL);
  p.Kill();
  p.Wait();
  return Failed(ending == Ending::kTimedOut ? "process activity took too long to complete"
                                            : std::string(kInterrupted));
}

}  // namespace faultline::experiment::provider_internal
