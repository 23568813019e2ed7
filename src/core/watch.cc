#include "faultline/watch.h"

#include "core/text.h"

namespace faultline {

RuleFileWatcher::RuleFileWatcher(WatchOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<RuleFileWatcher>> RuleFileWatcher::Start(WatchOptions options) {
  if (options.engine == nullptr) return Status::InvalidArgument("RuleFileWatcher: no engine");
  std::unique_ptr<RuleFileWatcher> w(new RuleFileWatcher(std::move(options)));
  Result<internal::FileText> file = internal::ReadFileText(w->options_.path);
  if (!file.ok()) return file.status();
  Result<RuleSet> rules = ParseRuleFile(file->text, w->options_.path);
  if (!rules.ok()) return rules.status();
  ArmRules(&*rules, file->mtime_ns);
  if (Status s = w->options_.engine->Load(*rules); !s.ok()) return s.WithContext(w->options_.path);
  w->applied_ = std::move(file->text);
  w->applied_mtime_ = file->mtime_ns;
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
  Result<internal::FileText> file = internal::ReadFileText(options_.path);
  if (!file.ok()) {
    const Status& why = file.status();
    std::string message = why.message() + " (the previous rules stay active)";
    Status s = why.code() == Status::Code::kNotFound          ? Status::NotFound(message)
               : why.code() == Status::Code::kInvalidArgument ? Status::InvalidArgument(message)
                                                              : Status::IoError(message);
    if (!missing_reported_ && options_.on_event) options_.on_event(s);
    missing_reported_ = true;
    return s;
  }
  missing_reported_ = false;
  // Rewritten with the same text is re-armed too: its ttls count again.
  if (file->text == applied_ && file->mtime_ns == applied_mtime_) return Status();
  Result<RuleSet> rules = ParseRuleFile(file->text, options_.path);
  if (rules.ok()) ArmRules(&*rules, file->mtime_ns);
  Status s = rules.ok() ? options_.engine->Load(*rules).WithContext(options_.path) : rules.status();
  if (!s.ok()) {
    s = Status::InvalidArgument(s.message() + " (rejected; the previous rules stay active)");
    if (file->text != rejected_ && options_.on_event) options_.on_event(s);  // once per text
    rejected_ = std::move(file->text);
    return s;
  }
  applied_ = std::move(file->text);
  applied_mtime_ = file->mtime_ns;
  rejected_.reset();
  ++reloads_;
  if (options_.on_event) options_.on_event(Status());
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
