// The http provider against a real loopback server (python3's
// http.server, started by the test on a free port). Expected values are
// what chaos (chaostoolkit-lib 1.44.0, requests 2.34) gave for the same
// activities against the same server.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>

#include "experiment/provider.h"
#include "experiment/provider_test_util.h"
#include "lambda/process.h"

namespace faultline::experiment {
namespace {

using testing::Activity;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::TempDir;

constexpr const char* kServer = R"py(
import http.server, json, sys, time
flaky = {"n": 0}
class H(http.server.BaseHTTPRequestHandler):
    def _send(self, code, ctype, body):
        self.send_response(code)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Multi", "a")
        self.send_header("x-multi", "b")
        self.end_headers()
        self.wfile.write(body)
    def handle_any(self):
        p = self.path.split("?")[0]
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n)
        if p == "/json": return self._send(200, "application/json", b'{"a": [1, 2.5, "\xc3\xa9"]}')
        if p == "/jsoncs": return self._send(200, "application/json; charset=utf-8", b'{"a": 1}')
        if p == "/text": return self._send(200, "text/plain", "caf\u00e9".encode())
        if p == "/textcs": return self._send(200, "text/plain; charset=utf-8", "caf\u00e9".encode())
        if p == "/badjson": return self._send(200, "application/json", b"{nope")
        if p == "/slow":
            time.sleep(3)
            return self._send(200, "text/plain", b"slow")
        if p == "/hold":
            open(self.path.split("?", 1)[1], "w").close()
            time.sleep(30)
        if p == "/503": return self._send(503, "text/plain", b"down")
        if p == "/flaky":
            flaky["n"] += 1
            if flaky["n"] % 2 == 1:
                self.close_connection = True
                return
        echo = {"method": self.command, "path": self.path, "headers": dict(self.headers),
                "body": data.decode("latin-1")}
        return self._send(200, "application/json", json.dumps(echo).encode())
    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
)py";

// A port nothing listens on (bound, then closed).
int ClosedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class HttpProvider : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    lambda::SpawnOptions options;
    options.argv = {"python3", "-c", kServer};
    options.inherit_env = true;
    Result<lambda::Process> p = lambda::Process::Spawn(options);
    ASSERT_TRUE(p.ok()) << p.status().message();
    server_ = new lambda::Process(std::move(*p));
    std::string line;
    pollfd pfd{server_->stdout_fd(), POLLIN, 0};
    while (line.find('\n') == std::string::npos && ::poll(&pfd, 1, 10000) > 0) {
      char buf[64];
      const ssize_t n = ::read(server_->stdout_fd(), buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    base_ = "http://127.0.0.1:" + std::to_string(std::atoi(line.c_str()));
  }
  static void TearDownTestSuite() {
    delete server_;  // kills and reaps it
    server_ = nullptr;
  }

  ProviderResult Get(const std::string& path, const std::string& extra = "") {
    return Run(R"({"type": "http", "url": ")" + base_ + path + "\"" + extra + "}");
  }
  ProviderResult Run(const std::string& provider, const Context& ctx = {}) {
    return providers_.Run(Activity(provider), ctx);
  }

  static inline lambda::Process* server_ = nullptr;
  static inline std::string base_;
  Providers providers_{Providers::Options{}};
};

TEST_F(HttpProvider, AJsonResponseIsDecoded) {
  const ProviderResult r = Get("/json");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output["status"], 200);
  EXPECT_EQ(r.output["body"], json::parse(R"({"a": [1, 2.5, "é"]})"));
  EXPECT_EQ(r.output["headers"]["Content-Type"], "application/json");
  EXPECT_EQ(r.output["headers"]["Content-Length"], "21");
  // Repeated fields are joined under the first one's spelling.
  EXPECT_EQ(r.output["headers"]["X-Multi"], "a, b");
  EXPECT_FALSE(r.output["headers"].contains("x-multi"));
}

TEST_F(HttpProvider, OnlyExactlyApplicationJsonIsDecoded) {
  const ProviderResult r = Get("/jsoncs");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output["body"], R"({"a": 1})");
}

TEST_F(HttpProvider, TextIsDecodedInTheCharsetRequestsPicks) {
  // No charset on text/*: ISO-8859-1, as requests has it.
  EXPECT_EQ(Get("/text").output["body"], "cafÃ©");
  EXPECT_EQ(Get("/textcs").output["body"], "café");
}

TEST_F(HttpProvider, ErrorStatusesAreNotFailures) {
  const ProviderResult r = Get("/503");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output["status"], 503);
  EXPECT_EQ(r.output["body"], "down");
}

TEST_F(HttpProvider, GetArgumentsAreTheQuery) {
  const ProviderResult r = Get(
      "/echo?z=0",
      R"(, "arguments": {"a": 1, "b": [1, "x y"], "c": null, "d": true, "e": 1.0, "f": "é&="})");
  ASSERT_TRUE(r.ok) << r.error;
  const json& echo = r.output["body"];
  EXPECT_EQ(echo["method"], "GET");
  EXPECT_EQ(echo["path"], "/echo?z=0&a=1&b=1&b=x+y&d=True&e=1.0&f=%C3%A9%26%3D");
  EXPECT_EQ(echo["body"], "");
  EXPECT_FALSE(echo["headers"].contains("Content-Length"));
  EXPECT_EQ(echo["headers"]["Accept"], "*/*");
}

TEST_F(HttpProvider, JsonBodyOnlyForExactlyContentTypeApplicationJson) {
  const std::string args = R"("arguments": {"a": 1, "b": [1, "x"], "c": null})";
  ProviderResult r =
      Run(R"({"type": "http", "url": ")" + base_ +
          R"(/echo", "method": "post", "headers": {"Content-Type": "application/json"}, )" + args +
          "}");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output["body"]["method"], "POST");
  EXPECT_EQ(r.output["body"]["body"], R"({"a": 1, "b": [1, "x"], "c": null})");

  r = Run(R"({"type": "http", "url": ")" + base_ +
          R"(/echo", "method": "POST", "headers": {"content-type": "application/json"}, )" + args +
          "}");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output["body"]["body"], "a=1&b=1&b=x");
  EXPECT_EQ(r.output["body"]["headers"]["content-type"], "application/json");
}

TEST_F(HttpProvider, OtherMethodsSendAForm) {
  const ProviderResult r =
      Run(R"({"type": "http", "method": "PUT", "url": ")" + base_ +
          R"(/echo", "arguments": {"a": 1, "b": [1, "x"], "c": null, "d": {"k": 1}}})");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output["body"]["body"], "a=1&b=1&b=x&d=k");
  EXPECT_EQ(r.output["body"]["headers"]["Content-Type"], "application/x-www-form-urlencoded");
  EXPECT_EQ(r.output["body"]["headers"]["Content-Length"], "15");

  const ProviderResult empty =
      Run(R"({"type": "http", "method": "POST", "url": ")" + base_ + R"(/echo"})");
  ASSERT_TRUE(empty.ok) << empty.error;
  EXPECT_EQ(empty.output["body"]["headers"]["Content-Length"], "0");
}

TEST_F(HttpProvider, UrlAndHeadersAreSubstituted) {
  Context ctx;
  ctx.configuration["base"] = base_;
  ctx.secrets["s"]["token"] = "t0k";
  const ProviderResult r = Run(
      R"({"type": "http", "url": "${base}/echo", "headers": {"Authorization": "Bearer ${token}"}})",
      ctx);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.output["body"]["headers"]["Authorization"], "Bearer t0k");
}

TEST_F(HttpProvider, PastTheReadTimeoutTheActivityFails) {
  ProviderResult r = Get("/slow", R"(, "timeout": 0.3)");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "activity took too long to complete");
  r = Get("/slow", R"(, "timeout": [5, 0.3])");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "activity took too long to complete");
}

TEST_F(HttpProvider, InterruptEndsARequestInFlight) {
  TempDir dir;
  const std::string marker = dir.File("holding");
  ProviderResult r;
  std::thread t([&] { r = Get("/hold?" + marker); });  // no timeout: it would wait 30 s
  ASSERT_TRUE(testing::Eventually([&] { return ::access(marker.c_str(), F_OK) == 0; }));
  providers_.Interrupt();
  t.join();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "interrupted");
  EXPECT_EQ(Get("/json").error, "interrupted");
}

TEST_F(HttpProvider, ARefusedConnectionFails) {
  const std::string url = "http://127.0.0.1:" + std::to_string(ClosedPort()) + "/x";
  const ProviderResult r = Run(R"({"type": "http", "url": ")" + url + "\"}");
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.error, StartsWith("failed to connect to " + url + ": "));
  EXPECT_THAT(r.error, HasSubstr("refused"));
}

TEST_F(HttpProvider, RetriesAConnectionThatFailed) {
  // /flaky drops every other request without an answer.
  ProviderResult first = Get("/flaky");
  ProviderResult second = Get("/flaky");
  EXPECT_NE(first.ok, second.ok) << "one of two tries without retries fails";
  EXPECT_THAT(first.ok ? second.error : first.error, StartsWith("failed to connect to "));
  for (int i = 0; i < 2; ++i) {
    const ProviderResult r = Get("/flaky", R"(, "max_retries": 1)");
    EXPECT_TRUE(r.ok) << r.error;
  }
}

TEST_F(HttpProvider, HttpsIsRefusedNamingTheUrl) {
  const ProviderResult r = Run(R"({"type": "http", "url": "https://127.0.0.1:1/x"})");
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.error, HasSubstr("https is not supported"));
  EXPECT_THAT(r.error, HasSubstr("https://127.0.0.1:1/x"));
}

TEST_F(HttpProvider, ABodyThatIsNotTheJsonItClaimsFails) {
  const ProviderResult r = Get("/badjson");
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.error, HasSubstr("not JSON"));
}

TEST_F(HttpProvider, AHeaderThatIsNotAStringFails) {
  const ProviderResult r = Get("/echo", R"(, "headers": {"X-N": 1})");
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.error, HasSubstr("must be of type str"));
}

}  // namespace
}  // namespace faultline::experiment
