// InterruptWatch: the signals that end a command's work (SIGINT, SIGTERM,
// and for `faultline run` SIGUSR1/SIGUSR2, as chaos reads them), turned
// into a call on a thread of its own instead of a handler.
//
// While it lives the signals are blocked in the calling thread (threads it
// starts afterwards inherit the mask) and read from a signalfd by the
// watch's thread, which calls `on_signal(sig)` for each one. Signals still
// pending when it ends are discarded, so the program exits with its summary
// rather than dying of a late Ctrl-C.
//
// Thread-safety: construct and destroy on one thread; caught() from any.
#ifndef FAULTLINE_CLI_INTERRUPT_WATCH_H_
#define FAULTLINE_CLI_INTERRUPT_WATCH_H_

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <thread>

namespace faultline::cli {

class InterruptWatch {
 public:
  explicit InterruptWatch(std::function<void(int sig)> on_signal,
                          std::initializer_list<int> signals = {SIGINT, SIGTERM}) {
    sigemptyset(&signals_);
    for (int sig : signals) sigaddset(&signals_, sig);
    pthread_sigmask(SIG_BLOCK, &signals_, &old_mask_);
    signal_fd_ = signalfd(-1, &signals_, SFD_CLOEXEC | SFD_NONBLOCK);
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (signal_fd_ >= 0 && wake_fd_ >= 0) {
      thread_ = std::thread([this, on = std::move(on_signal)] { Watch(on); });
    }
  }
  ~InterruptWatch() {
    if (thread_.joinable()) {
      const std::uint64_t one = 1;
      (void)!write(wake_fd_, &one, sizeof one);
      thread_.join();
    }
    signalfd_siginfo info{};
    while (signal_fd_ >= 0 && read(signal_fd_, &info, sizeof info) > 0) {
    }
    if (signal_fd_ >= 0) close(signal_fd_);
    if (wake_fd_ >= 0) close(wake_fd_);
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  InterruptWatch(const InterruptWatch&) = delete;
  InterruptWatch& operator=(const InterruptWatch&) = delete;

  // The first signal caught, or 0.
  int caught() const { return caught_.load(); }

 private:
  void Watch(const std::function<void(int)>& on_signal) {
    pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    for (;;) {
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if ((fds[1].revents & POLLIN) != 0) return;
      signalfd_siginfo info{};
      if (read(signal_fd_, &info, sizeof info) == sizeof info) {
        const int sig = static_cast<int>(info.ssi_signo);
        int none = 0;
        caught_.compare_exchange_strong(none, sig);
        on_signal(sig);
      }
    }
  }

  sigset_t signals_{};
  sigset_t old_mask_{};
  int signal_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<int> caught_{0};
  std::thread thread_;
};

}  // namespace faultline::cli

#endif  // FAULTLINE_CLI_INTERRUPT_WATCH_H_
