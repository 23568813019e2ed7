// Providers: the dispatch on provider.type, and the interrupt state every
// provider watches (provider_internal.h).
#include "experiment/provider.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <utility>

#include "experiment/provider_internal.h"

namespace faultline::experiment {

namespace provider_internal {

Cancel::Cancel() : wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

Cancel::~Cancel() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

std::uint64_t Cancel::AddHook(std::function<void()> hook) {
  std::lock_guard lock(mu_);
  if (interrupted_) return 0;
  const std::uint64_t id = next_++;
  hooks_.emplace(id, std::move(hook));
  return id;
}

void Cancel::RemoveHook(std::uint64_t id) {
  std::lock_guard lock(mu_);
  hooks_.erase(id);
}

void Cancel::Interrupt() {
  std::lock_guard lock(mu_);
  if (interrupted_.exchange(true)) return;
  // Never read: the counter only makes the descriptor readable for good.
  const std::uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!::write(wake_fd_, &one, sizeof one);
  // Under the lock: a hook's owner that has removed it may free its state.
  for (auto& [id, hook] : hooks_) hook();
  hooks_.clear();
}

ProviderResult Failed(std::string error) {
  ProviderResult r;
  r.ok = false;
  r.error = std::move(error);
  return r;
}

bool HasContext(const Context& ctx) { return !ctx.configuration.empty() || !ctx.secrets.empty(); }

}  // namespace provider_internal

using provider_internal::Failed;

struct Providers::Impl {
  explicit Impl(Options o) : options(std::move(o)), python(options.python, cancel) {}

  Options options;
  provider_internal::Cancel cancel;
  provider_internal::PythonWorker python;
};

Providers::Providers(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Providers::~Providers() = default;

ProviderResult Providers::Run(const json& activity, const Context& ctx) {
  if (impl_->cancel.interrupted()) return Failed(std::string(provider_internal::kInterrupted));
  if (!activity.is_object() || !activity.contains("provider") ||
      !activity["provider"].is_object()) {
    return Failed("an activity requires a provider");
  }
  const json& provider = activity["provider"];
  const json type = provider.value("type", json(nullptr));
  const std::string name = type.is_string() ? type.get<std::string>() : "";
  if (name == "process") return provider_internal::RunProcess(provider, ctx, impl_->cancel);
  if (name == "http") return provider_internal::RunHttp(provider, ctx, impl_->cancel);
  if (name == "python") return impl_->python.Call(provider, ctx);
  if (name == "faultline") {
    if (!impl_->options.faultline) return Failed("the faultline provider is not available here");
    return impl_->options.faultline(Substitute(provider, ctx), ctx);
  }
  return Failed("unknown provider type '" + (type.is_string() ? name : type.dump()) + "'");
}

std::string Providers::CheckPython(const std::string& module, const std::string& func) {
  return impl_->python.Check(module, func, nullptr);
}

std::string Providers::CheckPython(const std::string& module, const std::string& func,
                                   const json& arguments) {
  return impl_->python.Check(module, func, &arguments);
}

void Providers::Interrupt() {
  impl_->cancel.Interrupt();
  impl_->python.Interrupt();
}

}  // namespace faultline::experiment
