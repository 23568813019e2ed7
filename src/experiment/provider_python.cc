// The python provider: one python3 worker (python_worker.py, built in)
// for every call, JSON lines over its stdin and stdout.
//
//   Call ─► Request: register an id, send the line ─► wait for the reply
//   reader thread: reply lines ─► the waiting call with that id
//                  end of file ─► every waiting call fails (worker gone)
//
// Locks: mu_ guards the worker's state and the waiting calls; write_mu_
// is held while a line is written (taken after mu_, never the other way),
// so that the worker's stdin is not closed or replaced under a writer.
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "experiment/provider_internal.h"
#include "lambda/process.h"

namespace faultline::experiment::provider_internal {

namespace {

constexpr const char* kWorkerScript =
#include "experiment/python_worker.inc"
    ;

int PidFd(pid_t pid) {
  const long fd = ::syscall(SYS_pidfd_open, pid, 0);
  return fd < 0 ? -1 : static_cast<int>(fd);
}

// Waits up to `ms` for the process behind `pidfd` to exit.
void AwaitExit(int pidfd, int ms) {
  if (pidfd < 0) return;
  pollfd p{pidfd, POLLIN, 0};
  while (::poll(&p, 1, ms) < 0 && errno == EINTR) {
  }
}

bool SendAll(int fd, const std::string& data) {
  for (std::size_t at = 0; at < data.size();) {
    const ssize_t n = ::send(fd, data.data() + at, data.size() - at, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    at += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

struct PythonWorker::State {
  State(std::string py, Cancel& c) : python(std::move(py)), cancel(c) {}

  struct Waiting {
    bool done = false;
    Result<json> reply = Status::Unavailable("no reply");
  };

  Result<json> Request(json req);
  Status StartLocked();
  void StopLocked();
  void ReadLoop(int fd);
  void Deliver(const std::string& line);
  void WorkerGone();

  const std::string python;
  Cancel& cancel;
  std::mutex mu;
  std::mutex write_mu;
  std::condition_variable cv;
  std::optional<lambda::Process> proc;
  int pidfd = -1;
  bool running = false;  // a worker is up and its reader reads
  std::thread reader;
  std::uint64_t next_id = 1;
  std::map<std::uint64_t, Waiting*> waiting;
};

Status PythonWorker::State::StartLocked() {
  if (reader.joinable()) reader.join();  // done: it has cleared `running`
  StopLocked();
  lambda::SpawnOptions options;
  options.argv = {python, "-c", kWorkerScript};
  options.inherit_env = true;
  options.stdin_stream = true;
  options.capture_stderr = false;      // tracebacks and print() reach the user
  options.kill_group_on_exit = false;  // what a function starts may outlive the worker
  Result<lambda::Process> p = lambda::Process::Spawn(options);
  if (!p.ok())
    return Status::Unavailable("cannot start the python worker: " + p.status().message());
  proc.emplace(std::move(*p));
  pidfd = PidFd(proc->pid());
  running = true;
  reader = std::thread(&State::ReadLoop, this, proc->stdout_fd());
  return Status::Ok();
}

// Reaps the previous worker (REQUIRES: its reader has ended).
void PythonWorker::State::StopLocked() {
  std::lock_guard write(write_mu);
  if (proc) {
    if (!proc->Reap()) {
      proc->Kill();
      proc->Wait();
    }
    proc.reset();
  }
  if (pidfd >= 0) ::close(pidfd);
  pidfd = -1;
}

Result<json> PythonWorker::State::Request(json req) {
  std::unique_lock lock(mu);
  if (cancel.interrupted()) return Status::Unavailable(std::string(kInterrupted));
  if (!running) {
    if (Status s = StartLocked(); !s.ok()) return s;
  }
  const std::uint64_t id = next_id++;
  req["id"] = id;
  Waiting slot;
  waiting[id] = &slot;
  {
    std::unique_lock write(write_mu);
    const int fd = proc->stdin_fd();
    lock.unlock();
    // A worker that is gone fails the send; its reader fails the slot.
    (void)SendAll(fd, req.dump() + "\n");
  }
  lock.lock();
  cv.wait(lock, [&] { return slot.done; });
  return std::move(slot.reply);
}

void PythonWorker::State::ReadLoop(int fd) {
  std::string buf;
  char chunk[65536];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf.append(chunk, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (std::size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
      Deliver(buf.substr(start, nl - start));
    }
    buf.erase(0, start);
    // The worker bounds its replies; past that the stream is not ours.
    if (buf.size() > Providers::kMaxPythonReplyBytes + (1u << 20)) break;
  }
  WorkerGone();
}

void PythonWorker::State::Deliver(const std::string& line) {
  json reply = json::parse(line, nullptr, false);
  if (!reply.is_object() || !reply.contains("id") || !reply["id"].is_number_unsigned()) return;
  std::lock_guard lock(mu);
  auto it = waiting.find(reply["id"].get<std::uint64_t>());
  if (it == waiting.end()) return;
  it->second->reply = std::move(reply);
  it->second->done = true;
  waiting.erase(it);
  cv.notify_all();
}

// The worker's stdout has ended: it has exited, or is about to.
void PythonWorker::State::WorkerGone() {
  AwaitExit(pidfd, 2000);
  std::lock_guard lock(mu);
  if (!proc->Reap()) {
    proc->Kill();
    proc->Wait();
  }
  const std::string why = cancel.interrupted() ? std::string(kInterrupted)
                                               : "the python worker exited (" + proc->Wait() + ")";
  for (auto& [id, slot] : waiting) {
    slot->reply = Status::Unavailable(why);
    slot->done = true;
  }
  waiting.clear();
  running = false;
  cv.notify_all();
}

PythonWorker::PythonWorker(std::string python, Cancel& cancel)
    : state_(std::make_unique<State>(std::move(python), cancel)) {}

PythonWorker::~PythonWorker() {
  State& s = *state_;
  int pidfd = -1;
  {
    std::lock_guard lock(s.mu);
    std::lock_guard write(s.write_mu);
    if (s.proc) s.proc->CloseStdin();  // the worker's cue to end
    pidfd = s.running ? s.pidfd : -1;
  }
  AwaitExit(pidfd, 2000);
  {
    std::lock_guard lock(s.mu);
    if (s.running && !s.proc->Reap()) s.proc->Kill();  // stuck: its reader then ends
  }
  if (s.reader.joinable()) s.reader.join();
  std::lock_guard lock(s.mu);
  s.StopLocked();
}

void PythonWorker::Interrupt() {
  std::lock_guard lock(state_->mu);
  if (state_->running) state_->proc->Kill();  // its reader fails what waits
}

ProviderResult PythonWorker::Call(const json& provider, const Context& ctx) {
  json req = json::object();
  req["op"] = "call";
  req["module"] = provider.value("module", json(""));
  req["func"] = provider.value("func", json(""));
  json arguments = provider.value("arguments", json::object());
  if (HasContext(ctx)) arguments = Substitute(arguments, ctx);
  req["arguments"] = std::move(arguments);
  req["configuration"] = ctx.configuration;
  req["secrets"] = ctx.secrets;
  if (provider.contains("secrets")) req["provider_secrets"] = provider["secrets"];
  Result<json> reply = state_->Request(std::move(req));
  if (!reply.ok()) return Failed(reply.status().message());
  if (reply->value("ok", false))
    return ProviderResult{true, reply->value("output", json()), "", {}};
  ProviderResult r = Failed(reply->value("error", std::string("the python function failed")));
  for (const json& line : reply->value("exception", json::array())) {
    if (line.is_string()) r.exception.push_back(line.get<std::string>());
  }
  return r;
}

std::string PythonWorker::Check(const std::string& module, const std::string& func,
                                const json* arguments) {
  json req = json::object();
  req["op"] = "check";
  req["module"] = module;
  req["func"] = func;
  if (arguments != nullptr) req["arguments"] = *arguments;
  Result<json> reply = state_->Request(std::move(req));
  if (!reply.ok()) return reply.status().message();
  if (reply->value("ok", false)) return "";
  return reply->value("error", std::string("the python function cannot be checked"));
}

}  // namespace faultline::experiment::provider_internal
