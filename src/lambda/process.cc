#include "lambda/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::lambda {

namespace {
void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

std::string Describe(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    if (sig == SIGKILL) return "signal: killed";
    const char* name = ::sigdescr_np(sig);
    return std::string("signal: ") + (name != nullptr ? name : std::to_string(sig));
  }
  return "unknown status " + std::to_string(status);
}
}  // namespace

namespace {

// posix_spawn's file actions and attributes for a runtime: stdout and
// stderr to the pipes' write ends (stderr left as ours when err_w is -1),
// stdin from `in_r` or /dev/null (-1), nothing else open, in
// `working_dir`, default signals unblocked, a process group of its own.
class SpawnSetup {
 public:
  SpawnSetup(int in_r, int out_w, int err_w, const std::string& working_dir) {
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out_w, 1);
    if (err_w >= 0) posix_spawn_file_actions_adddup2(&actions, err_w, 2);
    if (in_r >= 0) {
      posix_spawn_file_actions_adddup2(&actions, in_r, 0);
    } else {
      posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    }
    // Nothing else of ours reaches the child: not the emulator's listeners,
    // not another environment's Runtime API, not a caller's connection,
    // even where a library opened a descriptor without O_CLOEXEC.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    if (!working_dir.empty()) posix_spawn_file_actions_addchdir_np(&actions, working_dir.c_str());
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    sigset_t all;
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);  // a group of its own
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
};

// Pointers into `strings`, null-terminated, as exec wants them.
std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// posix_spawn of `program`; a name without '/' is looked up in the child's
// PATH (posix_spawnp would use ours), as a shell would. errno-style result.
int SpawnProgram(pid_t& pid, const std::string& program, const SpawnSetup& setup,
                 const std::map<std::string, std::string>& env, char* const argv[],
                 char* const envp[]) {
  if (program.find('/') != std::string::npos) {
    return ::posix_spawn(&pid, program.c_str(), &setup.actions, &setup.attr, argv, envp);
  }
  auto it = env.find("PATH");
  const std::string path = it != env.end() ? it->second : "/usr/local/bin:/usr/bin:/bin";
  std::string_view rest = path;
  for (;;) {
    const std::size_t colon = rest.find(':');
    const std::string dir(rest.substr(0, colon));
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) {
      return ::posix_spawn(&pid, candidate.c_str(), &setup.actions, &setup.attr, argv, envp);
    }
    if (colon == std::string_view::npos) return ENOENT;
    rest.remove_prefix(colon + 1);
  }
}

}  // namespace

namespace {

// The descriptors of one spawn: pipes for stdout and (when captured)
// stderr, a socket pair for stdin (when asked). All close-on-exec; the
// child's ends are closed once it is started.
struct ChildFds {
  int out[2] = {-1, -1};
  int err[2] = {-1, -1};
  int in[2] = {-1, -1};  // in[0] ours, in[1] the child's

  ~ChildFds() {
    for (int* pair : {out, err, in}) {
      CloseFd(pair[0]);
      CloseFd(pair[1]);
    }
  }
  Status Open(const SpawnOptions& options) {
    if (::pipe2(out, O_CLOEXEC) != 0) return Status::IoError(std::strerror(errno));
    if (options.capture_stderr && ::pipe2(err, O_CLOEXEC) != 0) {
      return Status::IoError(std::strerror(errno));
    }
    if (options.stdin_stream && ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0) {
      return Status::IoError(std::strerror(errno));
    }
    return Status::Ok();
  }
  void CloseChildEnds() {
    CloseFd(out[1]);
    CloseFd(err[1]);
    CloseFd(in[1]);
  }
};

// The child's environment: `options.env`, over ours when it inherits.
std::map<std::string, std::string> ChildEnv(const SpawnOptions& options) {
  if (!options.inherit_env) return options.env;
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const std::size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  for (const auto& [k, v] : options.env) env[k] = v;
  return env;
}

}  // namespace

Result<Process> Process::Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return Status::InvalidArgument("no command to run");
  ChildFds fds;
  if (Status s = fds.Open(options); !s.ok()) return s;
  const std::map<std::string, std::string> env = ChildEnv(options);
  std::vector<std::string> args = options.argv;
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  const std::vector<char*> argv = CStrings(args);
  const std::vector<char*> envp = CStrings(env_strings);
  pid_t pid = -1;
  int rc;
  {
    const SpawnSetup setup(fds.in[1], fds.out[1], fds.err[1], options.working_dir);
    rc = SpawnProgram(pid, options.argv[0], setup, env, argv.data(), envp.data());
  }
  fds.CloseChildEnds();
  if (rc != 0) {
    return Status::NotFound("cannot run \"" + options.argv[0] + "\": " + std::strerror(rc));
  }
  Process p;
  p.pid_ = pid;
  p.kill_group_on_exit_ = options.kill_group_on_exit;
  std::swap(p.out_fd_, fds.out[0]);
  std::swap(p.err_fd_, fds.err[0]);
  std::swap(p.in_fd_, fds.in[0]);
  return p;
}

Process::Process(Process&& other) noexcept
    : pid_(other.pid_),
      out_fd_(other.out_fd_),
      err_fd_(other.err_fd_),
      in_fd_(other.in_fd_),
      status_fd_(other.status_fd_),
      exited_peak_kb_(other.exited_peak_kb_),
      kill_group_on_exit_(other.kill_group_on_exit_),
      returncode_(other.returncode_),
      exit_(std::move(other.exit_)) {
  other.pid_ = -1;
  other.out_fd_ = other.err_fd_ = other.in_fd_ = other.status_fd_ = -1;
}

Process::~Process() {
  if (pid_ > 0 && !exit_) {
    Kill();
    Wait();
  }
  CloseFd(out_fd_);
  CloseFd(err_fd_);
  CloseFd(in_fd_);
  CloseFd(status_fd_);
}

void Process::CloseStdin() { CloseFd(in_fd_); }

void Process::Reaped(int status, long peak_kb) {
  exit_ = Describe(status);
  exited_peak_kb_ = peak_kb;
  if (WIFEXITED(status)) returncode_ = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) returncode_ = -WTERMSIG(status);
  if (kill_group_on_exit_) ::kill(-pid_, SIGKILL);  // whatever it started goes with it
}

void Process::Kill() {
  if (pid_ > 0 && !exit_) ::kill(-pid_, SIGKILL);
}

std::optional<std::string> Process::Reap() {
  if (exit_ || pid_ <= 0) return exit_;
  int status = 0;
  struct rusage usage {};
  const pid_t r = ::wait4(pid_, &status, WNOHANG, &usage);
  if (r == pid_) {
    Reaped(status, usage.ru_maxrss);
  } else if (r < 0 && errno == ECHILD) {
    exit_ = "exited (status unknown)";
  }
  return exit_;
}

std::string Process::Wait() {
  if (!exit_ && pid_ > 0) {
    int status = 0;
    struct rusage usage {};
    pid_t r;
    do {
      r = ::wait4(pid_, &status, 0, &usage);
    } while (r < 0 && errno == EINTR);
    if (r == pid_) {
      Reaped(status, usage.ru_maxrss);
    } else {
      exit_ = "exited (status unknown)";
      if (kill_group_on_exit_) ::kill(-pid_, SIGKILL);
    }
  }
  return exit_.value_or("not started");
}

namespace {

// VmHWM of a /proc/<pid>/status read through `fd` (from offset 0, which
// makes the kernel format the file afresh), in MiB rounded up; 0 if absent.
int ReadPeakMemoryMb(int fd) {
  // The file is about 1.4 KB; VmHWM is in its first half.
  char buf[4096];
  ssize_t n;
  do {
    n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return 0;
  buf[n] = '\0';
  constexpr std::string_view kKey = "\nVmHWM:";
  const char* at = static_cast<const char*>(::memmem(buf, n, kKey.data(), kKey.size()));
  if (at == nullptr) return 0;
  const long kb = std::strtol(at + kKey.size(), nullptr, 10);
  return static_cast<int>((kb + 1023) / 1024);
}

int OpenStatus(pid_t pid) {
  return ::open(("/proc/" + std::to_string(pid) + "/status").c_str(), O_RDONLY | O_CLOEXEC);
}

}  // namespace

int Process::PeakMemoryMb() {
  if (exit_) return static_cast<int>((exited_peak_kb_ + 1023) / 1024);  // wait4's ru_maxrss
  if (pid_ <= 0) return 0;
  if (status_fd_ < 0) status_fd_ = OpenStatus(pid_);
  return status_fd_ < 0 ? 0 : ReadPeakMemoryMb(status_fd_);
}

int KillTagged(std::string_view variable, std::string_view value) {
  const std::string tag = std::string(variable) + "=" + std::string(value);
  const pid_t self = ::getpid();
  const uid_t uid = ::getuid();
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return 0;
  int killed = 0;
  while (const dirent* e = ::readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 1 || pid == self) continue;
    const std::string dir = std::string("/proc/") + e->d_name;
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 || st.st_uid != uid) continue;
    const int fd = ::open((dir + "/environ").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    std::string env;
    char buf[8192];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0 && env.size() < (1 << 20);) {
      env.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    // Each variable is NUL-terminated: match a whole one.
    for (std::size_t at = 0; at < env.size(); at = env.find('\0', at) + 1) {
      if (env.compare(at, tag.size() + 1, tag + '\0') == 0 ||
          (env.compare(at, tag.size(), tag) == 0 && at + tag.size() == env.size())) {
        if (::kill(static_cast<pid_t>(pid), SIGKILL) == 0) ++killed;
        break;
      }
      if (env.find('\0', at) == std::string::npos) break;
    }
  }
  ::closedir(proc);
  return killed;
}

int PeakMemoryMb(pid_t pid) {
  const int fd = OpenStatus(pid);
  if (fd < 0) return 0;
  const int mb = ReadPeakMemoryMb(fd);
  ::close(fd);
  return mb;
}

}  // namespace faultline::lambda
