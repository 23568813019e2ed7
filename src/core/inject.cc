#include "faultline/inject.h"

#include <string>

namespace faultline {

Status Apply(const Plan& plan, Clock& clock) {
  if (plan.delay().count() > 0) clock.SleepFor(plan.delay());
  switch (plan.action()) {
    case Action::kNone:
    case Action::kLatency:
      return Status();
    case Action::kError:
      return Status::Injected(plan.details().error.type, plan.details().error.message);
    case Action::kStatus:
      return Status::Injected("faultline.status", std::to_string(plan.details().response.code));
    case Action::kBody:
      return Status::Injected("faultline.body", plan.details().response.body);
    default:
      return Status::Injected("faultline." + std::string(ActionName(plan.action())),
                              "injected by rule " + plan.details().rule);
  }
}

}  // namespace faultline
