// The extension's defences, in-process: the control endpoint's token, the
// bound on its bodies, ttls armed on arrival, the files it writes (never
// through a planted link, never in a directory others control), and
// close-on-exec on every descriptor it opens.
#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "extension/extension.h"
#include "extension/run_dir.h"
#include "http/client.h"

namespace faultline::extension {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
namespace bhttp = http::bhttp;
namespace fs = std::filesystem;

std::string Read(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode;
}

class ExtensionSecurityTest : public ::testing::Test {
 protected:
  ExtensionSecurityTest() {
    char tmpl[] = "/tmp/faultline_ext_sec_test.XXXXXX";
    EXPECT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    config_.runtime_api = "127.0.0.1:1";  // never called: nothing registers
    config_.proxy_port = 0;
    config_.control_port = 0;
    config_.run_dir = dir_;
    config_.emf_namespace = "";
  }
  ~ExtensionSecurityTest() override {
    ext_.reset();
    fs::remove_all(dir_);
  }

  void StartExtension() {
    auto started = Extension::Start(config_, [this](std::string_view line) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.emplace_back(line);
    });
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    ext_ = std::move(*started);
  }

  bool Logged(std::string_view text) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& l : lines_) {
      if (l.find(text) != std::string::npos) return true;
    }
    return false;
  }
  std::string LogText() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    for (const std::string& l : lines_) out += l + "\n";
    return out;
  }

  // A control request, with `authorization` as the header (none if empty).
  http::Response Call(bhttp::verb verb, const std::string& target, const std::string& authorization,
                      std::string body = "") {
    http::Url url{"127.0.0.1", *ext_->control_port(), target};
    http::Request req(verb, target, 11);
    if (!authorization.empty()) req.set(bhttp::field::authorization, authorization);
    req.body() = std::move(body);
    req.prepare_payload();
    auto res = http::FetchSync(url, std::move(req), 10s);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return res.ok() ? std::move(*res) : http::Response();
  }
  http::Response Authed(bhttp::verb verb, const std::string& target, std::string body = "") {
    return Call(verb, target, "Bearer " + ext_->control_token(), std::move(body));
  }

  std::string dir_;
  ExtensionConfig config_;
  std::unique_ptr<Extension> ext_;
  std::mutex mu_;
  std::vector<std::string> lines_;
};

constexpr const char* kRule = "faults: [{name: boom, target: function, action: error}]";

TEST_F(ExtensionSecurityTest, TheTokenIsNewAtEachStartAndOnlyThisUserCanReadIt) {
  StartExtension();
  const std::string token = ext_->control_token();
  EXPECT_EQ(token.size(), 64u);
  const std::string file = PortFilePath(config_, "token");
  EXPECT_EQ(Read(file), token + "\n");
  EXPECT_TRUE(S_ISREG(ModeOf(file)));
  EXPECT_EQ(ModeOf(file) & 07777, 0600u);
  // Found from the control port file, as `faultline faults` finds it.
  EXPECT_EQ(FindTokenFile(dir_, *ext_->control_port()), file);
  ext_->Stop();
  EXPECT_FALSE(fs::exists(file));  // removed with the port files
  ext_.reset();
  StartExtension();
  EXPECT_NE(ext_->control_token(), token);
}

TEST_F(ExtensionSecurityTest, RequestsWithoutTheTokenAreRefusedAndChangeNothing) {
  StartExtension();
  ASSERT_EQ(Authed(bhttp::verb::put, "/rules", kRule).result(), bhttp::status::ok);
  const std::string wrong(64, 'a');
  for (const std::string& auth :
       {std::string(), "Bearer " + wrong, "Bearer " + ext_->control_token().substr(0, 63),
        "Basic " + ext_->control_token(), ext_->control_token()}) {
    for (auto verb : {bhttp::verb::get, bhttp::verb::put, bhttp::verb::delete_}) {
      http::Response res = Call(verb, "/rules", auth, verb == bhttp::verb::put ? "faults: []" : "");
      EXPECT_EQ(res.result(), bhttp::status::unauthorized) << auth;
      EXPECT_EQ(res[bhttp::field::www_authenticate], "Bearer realm=\"faultline\"");
      const json body = json::parse(res.body(), nullptr, false);
      ASSERT_TRUE(body.is_object()) << res.body();
      EXPECT_NE(body["message"].get<std::string>().find(PortFilePath(config_, "token")),
                std::string::npos)
          << body;
      EXPECT_EQ(res.body().find(ext_->control_token()), std::string::npos);
    }
    EXPECT_EQ(Call(bhttp::verb::get, "/counters", auth).result(), bhttp::status::unauthorized);
  }
  ASSERT_EQ(ext_->engine().Rules().rules.size(), 1u);  // nothing changed
  EXPECT_EQ(ext_->engine().Rules().rules[0].name, "boom");
  EXPECT_EQ(Authed(bhttp::verb::delete_, "/rules").result(), bhttp::status::ok);
  EXPECT_TRUE(ext_->engine().Rules().rules.empty());
}

TEST_F(ExtensionSecurityTest, BodiesOverOneMibAreRefused) {
  StartExtension();
  ASSERT_EQ(Authed(bhttp::verb::put, "/rules", kRule).result(), bhttp::status::ok);
  std::string big = "# " + std::string(1024 * 1024, 'x') + "\nfaults: []\n";
  http::Response res = Authed(bhttp::verb::put, "/rules", big);
  EXPECT_EQ(res.result(), bhttp::status::payload_too_large) << res.body();
  EXPECT_NE(res.body().find("over the limit of 1048576 bytes (1 MiB)"), std::string::npos)
      << res.body();
  EXPECT_EQ(ext_->engine().Rules().rules.size(), 1u);
  // Just under the limit is read.
  std::string fits = "# " + std::string(1024 * 1024 - 64, 'x') + "\nfaults: []\n";
  EXPECT_EQ(Authed(bhttp::verb::put, "/rules", fits).result(), bhttp::status::ok);
  EXPECT_TRUE(ext_->engine().Rules().rules.empty());
}

// Through the control endpoint a ttl counts from the PUT: GET /rules says
// when; rules that arrive already expired are refused, naming why.
TEST_F(ExtensionSecurityTest, PutArmsTtlsAndRefusesRulesAlreadyExpired) {
  StartExtension();
  const TimeNs before = SystemClock::Default()->Now();
  ASSERT_EQ(Authed(bhttp::verb::put, "/rules",
                   "faults: [{name: brief, target: function, action: error, ttl: 1h}]")
                .result(),
            bhttp::status::ok);
  const RuleSet rules = ext_->engine().Rules();
  ASSERT_EQ(rules.rules.size(), 1u);
  ASSERT_TRUE(rules.rules[0].armed_at.has_value());
  EXPECT_GE(*rules.rules[0].armed_at, before);
  EXPECT_NE(Authed(bhttp::verb::get, "/rules").body().find("armed_at: \""), std::string::npos);
  const json counters = json::parse(Authed(bhttp::verb::get, "/counters").body());
  EXPECT_EQ(counters["rules"][0]["expired"], false);
  EXPECT_TRUE(counters["rules"][0].contains("expires_at"));

  http::Response old = Authed(bhttp::verb::put, "/rules",
                              "faults: [{name: old, action: error, ttl: 2s,"
                              " armed_at: 2024-01-01T00:00:00Z}]");
  EXPECT_EQ(old.result(), bhttp::status::bad_request);
  EXPECT_EQ(json::parse(old.body())["message"],
            "PUT /rules: rule \"old\": expired at 2024-01-01T00:00:02Z (ttl 2s from "
            "2024-01-01T00:00:00Z)");
  http::Response past = Authed(bhttp::verb::put, "/rules",
                               "faults: [{name: past, action: error,"
                               " expires_at: 2024-01-01T00:00:00Z}]");
  EXPECT_EQ(past.result(), bhttp::status::bad_request);
  EXPECT_EQ(json::parse(past.body())["message"],
            "PUT /rules: rule \"past\": expired at 2024-01-01T00:00:00Z (expires_at)");
  ASSERT_EQ(ext_->engine().Rules().rules.size(), 1u);  // the first rules stay
  EXPECT_EQ(ext_->engine().Rules().rules[0].name, "brief");
}

// A rule file written long ago: its ttl is spent when the extension starts,
// it is listed as expired and not applied.
TEST_F(ExtensionSecurityTest, AnOldRuleFilesTtlIsSpentAtStart) {
  const std::string rules = dir_ + "/faults.yaml";
  std::ofstream(rules) << "faults: [{name: brief, target: function, action: error, ttl: 2s}]\n";
  const timespec written = {::time(nullptr) - 60, 0};
  const timespec times[2] = {written, written};
  ASSERT_EQ(::utimensat(AT_FDCWD, rules.c_str(), times, 0), 0);
  config_.rules_file = rules;
  StartExtension();
  ASSERT_EQ(ext_->engine().Rules().rules.size(), 1u);
  EXPECT_TRUE(Logged("rule \"brief\" of " + rules + ": expired at ")) << LogText();
  const std::string listed = Authed(bhttp::verb::get, "/rules").body();
  EXPECT_NE(listed.find("    # expired at "), std::string::npos) << listed;
  EXPECT_NE(listed.find("(ttl 2s from "), std::string::npos) << listed;
}

// A link planted where a port or token file goes is replaced: what it
// points at is untouched.
TEST_F(ExtensionSecurityTest, LinksPlantedAtItsFilesAreNotFollowed) {
  const std::string outside = dir_ + "-outside";
  ASSERT_EQ(::mkdir(outside.c_str(), 0700), 0);
  std::map<std::string, std::string> targets;
  for (const char* what : {"proxy", "control", "token"}) {
    const std::string target = fmt::format("{}/{}", outside, what);
    std::ofstream(target) << "untouched " << what;
    ASSERT_EQ(::symlink(target.c_str(), PortFilePath(config_, what).c_str()), 0);
    targets[what] = target;
  }
  StartExtension();
  for (const auto& [what, target] : targets) {
    EXPECT_EQ(Read(target), "untouched " + what);
    const std::string file = PortFilePath(config_, what);
    EXPECT_TRUE(S_ISREG(ModeOf(file))) << file;
    EXPECT_EQ(ModeOf(file) & 07777, 0600u) << file;
  }
  EXPECT_EQ(Read(PortFilePath(config_, "proxy")),
            fmt::format("127.0.0.1:{}\n", ext_->proxy_port()));
  ext_.reset();
  fs::remove_all(outside);
}

TEST_F(ExtensionSecurityTest, ARunDirectoryOthersCanWriteToIsRefusedAndItFailsOpen) {
  ASSERT_EQ(::chmod(dir_.c_str(), 0777), 0);
  StartExtension();
  EXPECT_TRUE(
      Logged(fmt::format("run directory {}: refused: group or others can write to it "
                         "(mode 0777, no sticky bit); no port or token file is written, so "
                         "the wrapper starts the runtime unproxied",
                         dir_)))
      << LogText();
  EXPECT_FALSE(ext_->control_port().has_value());  // no token to give: no endpoint
  EXPECT_TRUE(ext_->control_token().empty());
  EXPECT_TRUE(fs::is_empty(dir_));
  EXPECT_NE(ext_->proxy_port(), 0);  // the proxy itself still serves
}

TEST_F(ExtensionSecurityTest, ARunDirectoryOfAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a directory to another user";
  const passwd* nobody = ::getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  ASSERT_EQ(::chown(dir_.c_str(), nobody->pw_uid, nobody->pw_gid), 0);
  StartExtension();
  EXPECT_TRUE(
      Logged(fmt::format("run directory {}: refused: it is owned by uid {}, not by this "
                         "user (uid 0)",
                         dir_, nobody->pw_uid)))
      << LogText();
  EXPECT_FALSE(ext_->control_port().has_value());
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(ExtensionSecurityTest, ALinkAsTheRunDirectoryIsRefused) {
  const std::string link = dir_ + "/link";
  ASSERT_EQ(::symlink(dir_.c_str(), link.c_str()), 0);
  config_.run_dir = link;
  StartExtension();
  EXPECT_TRUE(Logged("run directory " + link + ": refused: it is a symbolic link")) << LogText();
  EXPECT_FALSE(ext_->control_port().has_value());
}

// --- close-on-exec ----------------------------------------------------------

std::set<int> OpenFds() {
  std::set<int> out;
  for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
    out.insert(std::atoi(e.path().filename().c_str()));
  }
  return out;
}

// The local and peer ports of a TCP socket (0 when not a socket / none).
std::pair<int, int> Ports(int fd) {
  sockaddr_in local{}, peer{};
  socklen_t n = sizeof(local);
  int lp =
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &n) == 0 && local.sin_family == AF_INET
          ? ntohs(local.sin_port)
          : 0;
  n = sizeof(peer);
  int pp =
      ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &n) == 0 ? ntohs(peer.sin_port) : 0;
  return {lp, pp};
}

// A Runtime API stand-in that answers every request "200 {}" on one
// kept-alive connection at a time; its own descriptors are close-on-exec.
class TinyUpstream {
 public:
  TinyUpstream() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    socklen_t n = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &n);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TinyUpstream() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    if (conn_ >= 0) ::shutdown(conn_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }

 private:
  void Serve() {
    while (!stop_) {
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      conn_ = c;
      char buf[4096];
      std::string got;
      for (;;) {
        const ssize_t n = ::recv(c, buf, sizeof(buf), 0);
        if (n <= 0) break;
        got.append(buf, static_cast<std::size_t>(n));
        while (got.find("\r\n\r\n") != std::string::npos) {  // requests without bodies
          got.erase(0, got.find("\r\n\r\n") + 4);
          const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
          ::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
        }
      }
      conn_ = -1;
      ::close(c);
    }
  }
  int fd_ = -1;
  std::atomic<int> conn_{-1};
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Every descriptor the extension opened (its run directory, its rule file
// read, its Runtime API connection, its own sockets) is close-on-exec, so a
// process it (or the process hosting it) starts inherits none.
TEST_F(ExtensionSecurityTest, EveryDescriptorItOpensIsCloseOnExec) {
  TinyUpstream upstream;
  const std::set<int> before = OpenFds();
  config_.runtime_api = fmt::format("127.0.0.1:{}", upstream.port());
  const std::string rules = dir_ + "/faults.yaml";
  std::ofstream(rules) << "faults: []\n";
  config_.rules_file = rules;
  config_.watch_interval = 5ms;
  StartExtension();
  // Through the proxy to the upstream: a connection it keeps for reuse.
  http::Request req(bhttp::verb::get, "/2018-06-01/ping", 11);
  auto res = http::FetchSync(http::Url{"127.0.0.1", ext_->proxy_port(), "/2018-06-01/ping"},
                             std::move(req), 10s);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->body(), "{}");
  EXPECT_EQ(Authed(bhttp::verb::get, "/rules").result(), bhttp::status::ok);
  std::ofstream(rules) << "faults: [{name: x, action: drop}]\n";  // the watcher reads it
  for (int i = 0; i < 2000 && ext_->engine().Rules().rules.empty(); ++i) {
    std::this_thread::sleep_for(1ms);
  }

  std::vector<std::string> inheritable;
  int upstream_sockets = 0, run_dir_fds = 0;
  for (int fd : OpenFds()) {
    if (before.count(fd) > 0) continue;
    std::error_code ec;
    const std::string what = fs::read_symlink(fmt::format("/proc/self/fd/{}", fd), ec).string();
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0) continue;  // closed meanwhile (the directory iterator's own)
    const auto [local, peer] = Ports(fd);
    upstream_sockets += peer == upstream.port() ? 1 : 0;
    run_dir_fds += what == dir_ ? 1 : 0;
    if ((flags & FD_CLOEXEC) != 0) continue;
    inheritable.push_back(fmt::format("fd {} ({}, ports {}/{})", fd, what, local, peer));
  }
  EXPECT_EQ(upstream_sockets, 1) << "the proxy keeps its Runtime API connection";
  EXPECT_EQ(run_dir_fds, 1) << "the extension holds its run directory open";
  EXPECT_TRUE(inheritable.empty())
      << "not close-on-exec: " << ::testing::PrintToString(inheritable);
}

}  // namespace
}  // namespace faultline::extension
