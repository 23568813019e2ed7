#include "faultline/watch.h"

#include "core/text.h"

namespace faultline {

RuleFileWatcher::RuleFileWatcher(WatchOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<RuleFileWatcher>> RuleFileWatcher::Start(WatchOptions options) {
  if (options.engine == nullptr) return Status::InvalidArgument("RuleFileWatcher: no engine");
  std::unique_ptr<RuleFileWatcher> w(new RuleFileWatcher(std::move(options)));
  Result<std::string> text = internal::ReadWholeFile(w->options_.path);
  if (!text.ok()) return text.status();
  Result<RuleSet> rules = ParseRules(*text, w->options_.path, FormatOfPath(w->options_.path));
  if (!rules.ok()) return rules.status();
  if (Status s = w->options_.engine->Load(*rules); !s.ok()) return s.WithContext(w->options_.path);
  w->applied_ = std::move(*text);
  w->reloads_ = 1;
  if (w->options_.interval.count() > 0) w->thread_ = std::thread([p = w.get()] { p->Run(); });
  return w;
}

RuleFileWatcher::~RuleFileWatcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int RuleFileWatcher::reloads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reloads_;
}

Status RuleFileWatcher::CheckNow() {
  std::lock_guard<std::mutex> lock(mu_);
  Result<std::string> text = internal::ReadWholeFile(options_.path);
  if (!text.ok()) {
    std::string message = text.status().message() + " (the previous rules stay active)";
    Status s = text.status().code() == Status::Code::kNotFound ? Status::NotFound(message)
                                                               : Status::IoError(message);
    if (!missing_reported_ && options_.on_event) options_.on_event(s);
    missing_reported_ = true;
    return s;
  }
  missing_reported_ = false;
  if (*text == applied_) return Status();
  Result<RuleSet> rules = ParseRules(*text, options_.path, FormatOfPath(options_.path));
  Status s = rules.ok() ? options_.engine->Load(*rules).WithContext(options_.path) : rules.status();
  if (!s.ok()) {
    s = Status::InvalidArgument(s.message() + " (rejected; the previous rules stay active)");
    if (*text != rejected_ && options_.on_event) options_.on_event(s);
    rejected_ = std::move(*text);
    return s;
  }
  applied_ = std::move(*text);
  rejected_.clear();
  ++reloads_;
  if (options_.on_event) {
    options_.on_event(Status());
  }
  return Status();
}

void RuleFileWatcher::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, options_.interval, [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    (void)CheckNow();
    lock.lock();
  }
}

}  // namespace faultline
