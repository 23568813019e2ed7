// Process: a child process in a process group of its own, with its stdout
// and stderr captured through pipes.
//
// posix_spawn (not fork) so that spawning from a threaded program is safe;
// the child gets only stdin (/dev/null, or a stream socket when asked),
// stdout and stderr (a pipe, or the caller's when asked): every other
// descriptor is closed in it, close-on-exec or not;
// the group lets Kill() stop the runtime and everything it started
// (extensions, shells). Reap() must be called until it says the child is
// gone, or the child stays a zombie; the emulator does it on a timer.
//
// Thread-safety: none; one owner.
#ifndef FAULTLINE_LAMBDA_PROCESS_H_
#define FAULTLINE_LAMBDA_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "faultline/status.h"

namespace faultline::lambda {

struct SpawnOptions {
  std::vector<std::string> argv;           // argv[0] is looked up in PATH
  std::map<std::string, std::string> env;  // the whole environment
  std::string working_dir;                 // empty: the caller's
  // The caller's environment as well, `env` adding to it and overriding
  // it (argv[0] is then looked up in the caller's PATH, or env's).
  bool inherit_env = false;
  // stdin from a Unix stream socket whose other end is stdin_fd(), instead
  // of /dev/null: a socket, not a pipe, so that the caller can write with
  // send(MSG_NOSIGNAL) and get EPIPE, not SIGPIPE, once the child is gone.
  bool stdin_stream = false;
  // false: the child writes to the caller's stderr (stderr_fd() is -1).
  bool capture_stderr = true;
  // Whether Reap() and Wait() SIGKILL the child's process group once the
  // child itself has exited (what it started in the background goes with
  // it). false: they outlive it, as with a shell's `cmd &`; Kill() and the
  // destructor of a running child still stop the whole group.
  bool kill_group_on_exit = true;
};

class Process {
 public:
  // Starts the process. Fails (starting nothing) when argv[0] cannot be
  // executed; the message names the program and the reason.
  static Result<Process> Spawn(const SpawnOptions& options);

  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) = delete;
  ~Process();  // kills and reaps a child still running; closes the pipes

  pid_t pid() const { return pid_; }
  // Read ends of the child's stdout and stderr; -1 once released (or not
  // captured).
  int stdout_fd() const { return out_fd_; }
  int stderr_fd() const { return err_fd_; }
  // Our end of the child's stdin (SpawnOptions::stdin_stream), -1 without.
  int stdin_fd() const { return in_fd_; }
  // Hands the pipe descriptors to the caller (who then closes them).
  void ReleasePipes() { out_fd_ = err_fd_ = in_fd_ = -1; }
  // Closes our end of the child's stdin: it reads end-of-file.
  void CloseStdin();

  // SIGKILL to the whole process group. Safe to call more than once.
  void Kill();
  // Without blocking: the exit description once the child is gone
  // ("exit status 3", "signal: killed"), nullopt while it runs.
  std::optional<std::string> Reap();
  // Blocks until the child is gone (after Kill, at once). Returns Reap()'s
  // description.
  std::string Wait();
  bool exited() const { return exit_.has_value(); }
  const std::optional<std::string>& exit_description() const { return exit_; }
  // Once reaped: the exit code, or minus the signal that ended it (as
  // Python's returncode); nullopt before, or when the status is unknown.
  std::optional<int> returncode() const { return returncode_; }

  // The child's peak resident memory (VmHWM) in MiB, rounded up; once it
  // has exited (and been reaped), its peak as wait4 reported it; 0 when
  // unknown. Reads /proc/<pid>/status through a
  // descriptor opened on the first call and kept: each call is one pread,
  // not an open, a read and a close (the emulator asks after every
  // invocation). The descriptor stays bound to this process, so a reused
  // pid cannot be misread.
  int PeakMemoryMb();

 private:
  Process() = default;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  int in_fd_ = -1;
  int status_fd_ = -1;       // /proc/<pid>/status, opened by PeakMemoryMb
  long exited_peak_kb_ = 0;  // ru_maxrss, once reaped
  bool kill_group_on_exit_ = true;
  std::optional<int> returncode_;
  std::optional<std::string> exit_;
  // Records a reaped child's wait status.
  void Reaped(int status, long peak_kb);
};

// The peak resident memory (VmHWM) of `pid` in MiB, or 0 when unknown.
int PeakMemoryMb(pid_t pid);

// SIGKILLs every process of this user whose environment holds
// `variable`=`value` (read from /proc/<pid>/environ: the environment it was
// started with), this process excepted. An execution environment's
// processes carry such a tag, so that what a function started in a session
// or process group of its own (setsid, a double fork) goes with its
// environment. Returns how many were killed.
int KillTagged(std::string_view variable, std::string_view value);

}  // namespace faultline::lambda

#endif  // FAULTLINE_LAMBDA_PROCESS_H_
