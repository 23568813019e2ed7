// One include for Boost.Asio and Boost.Beast, in the order Boost 1.74 needs
// (<utility> first: its awaitable.hpp uses std::exchange without including
// it), and the names the rest of faultline uses for them.
#ifndef FAULTLINE_HTTP_ASIO_H_
#define FAULTLINE_HTTP_ASIO_H_

#include <utility>
// Boost after <utility>.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace faultline::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;

using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

template <typename T>
using Task = asio::awaitable<T>;

// A one-shot event for coroutines on one executor: Wait() suspends until
// Set() (or returns at once if already set). Boost 1.74 has no channels; a
// steady_timer that never expires, cancelled by Set(), does the job.
// Thread-safety: use from the executor's thread only.
class Event {
 public:
  explicit Event(asio::any_io_executor ex) : timer_(ex, asio::steady_timer::time_point::max()) {}
  // Wakes a waiter without setting the event, so it can look again (for
  // example at a deadline that changed).
  void Poke() { timer_.cancel(); }
  void Set() {
    set_ = true;
    timer_.cancel();
  }
  bool is_set() const { return set_; }
  // Waits until Set(). Returns true when set, false if `deadline` passed first.
  Task<bool> Wait(asio::steady_timer::time_point deadline = asio::steady_timer::time_point::max()) {
    if (set_) co_return true;
    timer_.expires_at(deadline);
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return set_;
  }

 private:
  asio::steady_timer timer_;
  bool set_ = false;
};

}  // namespace faultline::http

#endif  // FAULTLINE_HTTP_ASIO_H_
