// Logs: the functions' stdout and stderr, line by line, and the platform's
// START / END / REPORT lines, to EmulatorOptions::log and to the Tail of
// invocations that asked for it.
#include "lambda/logs.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>

#include "lambda/ids.h"
#include "lambda/platform.h"

namespace faultline::lambda {

namespace asio = http::asio;

void Platform::Log(const Function& fn, std::string_view line, Invocation* inv) {
  if (inv != nullptr && inv->tail) {
    inv->log.append(line).append("\n");
  }
  if (options.log) {
    // One buffer for every line: no allocation once it is large enough.
    log_line_.assign("[").append(fn.config.name).append("] ").append(line);
    options.log(log_line_);
  }
}

void Platform::ReadPipes(const std::shared_ptr<Environment>& env, Process& process) {
  for (const int fd : {process.stdout_fd(), process.stderr_fd()}) {
    auto pipe = std::make_shared<OutputPipe>(io, fd);
    boost::system::error_code ec;
    pipe->descriptor.non_blocking(true, ec);  // DrainPipes reads without waiting
    env->pipes.push_back(pipe);
    ++env->open_pipes;
    asio::co_spawn(io, ReadPipe(env, std::move(pipe)), [](std::exception_ptr) {});
  }
  process.ReleasePipes();
}

Task<void> Platform::ReadPipe(std::shared_ptr<Environment> env, std::shared_ptr<OutputPipe> pipe) {
  char buf[4096];
  for (;;) {
    boost::system::error_code ec;
    const std::size_t n = co_await pipe->descriptor.async_read_some(
        asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    if (n > 0) OnOutput(*env, pipe->partial, std::string_view(buf, n), false);
    if (ec) break;
  }
  OnOutput(*env, pipe->partial, {}, true);
  boost::system::error_code ignored;
  pipe->descriptor.close(ignored);
  --env->open_pipes;
}

// Whatever the environment's processes wrote before now is in their pipes
// (a write to a pipe is complete when it returns): read it all without
// waiting, so that a runtime's last lines before its answer are logged
// before END and REPORT and are in the invocation's Tail.
void Platform::DrainPipes(Environment& env) {
  char buf[4096];
  for (const auto& pipe : env.pipes) {
    if (!pipe->descriptor.is_open()) continue;
    for (int i = 0; i < 256; ++i) {  // at most 1 MiB at a time
      const ssize_t n = ::read(pipe->descriptor.native_handle(), buf, sizeof buf);
      if (n <= 0) break;  // EAGAIN: drained; 0 or an error: ReadPipe sees it too
      OnOutput(env, pipe->partial, std::string_view(buf, static_cast<std::size_t>(n)), false);
    }
    // The writer has answered: a last line without a newline is a line.
    OnOutput(env, pipe->partial, {}, true);
  }
}

void Platform::OnOutput(Environment& env, std::string& partial, std::string_view chunk,
                        bool flush) {
  partial.append(chunk);
  std::size_t start = 0;
  for (std::size_t nl; (nl = partial.find('\n', start)) != std::string::npos; start = nl + 1) {
    Log(*env.fn, std::string_view(partial).substr(start, nl - start), env.current.get());
  }
  partial.erase(0, start);
  if (flush && !partial.empty()) {
    Log(*env.fn, partial, env.current.get());
    partial.clear();
  }
}

std::string FormatReport(const ReportFields& f) {
  const double billed = f.duration_ms + f.init_ms.value_or(0);
  std::string line = fmt::format(
      "REPORT RequestId: {}\tDuration: {:.2f} ms\tBilled Duration: {} ms\tMemory Size: {} "
      "MB\tMax Memory Used: {} MB\t",
      f.request_id, f.duration_ms, static_cast<long>(std::ceil(billed)), f.memory_size_mb,
      f.max_memory_used_mb);
  if (f.init_ms) line += fmt::format("Init Duration: {:.2f} ms\t", *f.init_ms);
  // A line that ends normally keeps its trailing tab; one with a Status
  // has none after it, as AWS writes them.
  if (f.status == "timeout") line += "Status: timeout";
  if (f.status == "error") line += "Status: error\tError Type: " + f.error_type;
  return line;
}

// Max Memory Used is the runtime's peak RSS so far (VmHWM, which only
// grows; after a crash, the exited process's own peak), read when the lines
// are written: after the invocation, before the next one starts.
void Platform::WriteReport(Environment& env, const Environment::Report& report) {
  const Invocation& inv = *report.inv;
  const ReportFields fields{.request_id = inv.id,
                            .duration_ms = inv.duration_ms,
                            .memory_size_mb = report.memory_size_mb,
                            .max_memory_used_mb = env.process ? env.process->PeakMemoryMb() : 0,
                            .init_ms = report.init_ms,
                            .status = inv.report_status,
                            .error_type = inv.error_type};
  Log(*env.fn, "END RequestId: " + inv.id, report.inv.get());
  Log(*env.fn, FormatReport(fields), report.inv.get());
}

void Platform::FlushReport(Environment& env) {
  if (!env.unreported) return;
  const Environment::Report report = std::move(*env.unreported);
  env.unreported.reset();
  WriteReport(env, report);
}

void Platform::PostFlushReport(const std::shared_ptr<Environment>& env) {
  asio::post(io, [weak = weak_from_this(), weak_env = std::weak_ptr(env)] {
    auto self = weak.lock();
    auto e = weak_env.lock();
    if (self && e) self->FlushReport(*e);
  });
}

}  // namespace faultline::lambda
