#include "aws/sigv4.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "aws/crypto.h"
#include "aws/sigv4_internal.h"

namespace faultline::aws {

using internal::AsBytes;
using internal::HmacSha256;

namespace {

constexpr std::int64_t kNsPerSecond = 1'000'000'000;
constexpr std::int64_t kSecondsPerDay = 86'400;

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

bool IsWhite(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX with two hex digits becomes the byte; anything else stays as it is
// (so a stray '%' is encoded as %25 again, as botocore would have sent it).
std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = HexValue(s[i + 1]);
      const int lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

// RFC 3986 section 5.2.4 "Remove Dot Segments", also dropping empty segments
// (AWS services collapse repeated slashes): botocore's remove_dot_segments.
std::string RemoveDotSegments(std::string_view path) {
  std::vector<std::string_view> kept;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view seg = path.substr(start, end - start);
    if (seg == "..") {
      if (!kept.empty()) kept.pop_back();
    } else if (!seg.empty() && seg != ".") {
      kept.push_back(seg);
    }
    start = end + 1;
  }
  std::string out = path.front() == '/' ? "/" : "";
  for (std::size_t i = 0; i < kept.size(); ++i) {
    if (i > 0) out += '/';
    out += kept[i];
  }
  if (path.back() == '/' && !kept.empty()) out += '/';
  return out;
}

// Howard Hinnant's civil-from-days and days-from-civil (proleptic Gregorian).
struct Civil {
  std::int64_t y;
  unsigned m, d;
};

Civil CivilFromDays(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

unsigned DaysInMonth(std::int64_t y, unsigned m) {
  static constexpr std::array<unsigned, 12> kDays = {31, 28, 31, 30, 31, 30,
                                                     31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// The digits s[pos, pos+n) as a number, or -1.
int Digits(std::string_view s, std::size_t pos, std::size_t n) {
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

// Headers that proxies add or change on the way (botocore's
// SIGNED_HEADERS_BLACKLIST), and the ones Sign itself sets.
bool NotSigned(std::string_view lower_name) {
  static constexpr std::array<std::string_view, 18> kSkip = {"authorization",
                                                             "baggage",
                                                             "connection",
                                                             "expect",
                                                             "keep-alive",
                                                             "proxy-authenticate",
                                                             "proxy-authorization",
                                                             "te",
                                                             "traceparent",
                                                             "tracestate",
                                                             "trailer",
                                                             "transfer-encoding",
                                                             "upgrade",
                                                             "user-agent",
                                                             "x-amzn-trace-id",
                                                             "x-amz-date",
                                                             "x-amz-security-token",
                                                             "x-amz-content-sha256"};
  return std::find(kSkip.begin(), kSkip.end(), lower_name) != kSkip.end();
}

}  // namespace

// ---------------------------------------------------------------------------
// Building blocks

std::string UriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() + s.size() / 2);
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string CanonicalUri(std::string_view path, bool s3_uri) {
  if (path.empty()) return "/";
  if (s3_uri) return std::string(path);
  return UriEncode(RemoveDotSegments(path), /*keep_slash=*/true);
}

std::string CanonicalQuery(std::string_view query, std::string_view skip_name) {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::size_t start = 0;
  while (start < query.size()) {
    std::size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view piece = query.substr(start, end - start);
    start = end + 1;
    if (piece.empty()) continue;
    const std::size_t eq = piece.find('=');
    std::string name = PercentDecode(piece.substr(0, eq));
    if (!skip_name.empty() && name == skip_name) continue;
    const std::string_view value = eq == std::string_view::npos ? "" : piece.substr(eq + 1);
    pairs.emplace_back(UriEncode(name, false), UriEncode(PercentDecode(value), false));
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [name, value] : pairs) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::string TrimAll(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (char c : value) {
    if (IsWhite(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

std::string SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                       std::string_view service) {
  std::string k_secret = "AWS4";
  k_secret += secret;
  const auto k_date = HmacSha256(k_secret, date);
  const auto k_region = HmacSha256(AsBytes(k_date), region);
  const auto k_service = HmacSha256(AsBytes(k_region), service);
  const auto k_signing = HmacSha256(AsBytes(k_service), "aws4_request");
  return std::string(AsBytes(k_signing));
}

std::string FormatAmzDate(TimeNs t) {
  std::int64_t secs = t / kNsPerSecond;
  if (t % kNsPerSecond < 0) --secs;
  std::int64_t days = secs / kSecondsPerDay;
  std::int64_t rem = secs % kSecondsPerDay;
  if (rem < 0) {
    rem += kSecondsPerDay;
    --days;
  }
  const Civil c = CivilFromDays(days);
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z", c.y, c.m, c.d, rem / 3600, rem / 60 % 60,
                     rem % 60);
}

std::optional<TimeNs> ParseAmzDate(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  const std::int64_t y = Digits(s, 0, 4), m = Digits(s, 4, 2), d = Digits(s, 6, 2);
  const std::int64_t hh = Digits(s, 9, 2), mm = Digits(s, 11, 2), ss = Digits(s, 13, 2);
  if (y < 0 || m < 1 || m > 12 || d < 1 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 ||
      ss > 59) {
    return std::nullopt;
  }
  if (static_cast<unsigned>(d) > DaysInMonth(y, static_cast<unsigned>(m))) return std::nullopt;
  const std::int64_t days = DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  return (days * kSecondsPerDay + hh * 3600 + mm * 60 + ss) * kNsPerSecond;
}

// ---------------------------------------------------------------------------
// Shared by Sign and Verify (sigv4_internal.h)

namespace internal {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::pair<std::string_view, std::string_view> SplitTarget(std::string_view target) {
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

const Header* FindHeader(std::span<const Header> headers, std::string_view name) {
  for (const Header& h : headers) {
    if (EqualsIgnoreCase(h.name, name)) return &h;
  }
  return nullptr;
}

std::string ToUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// "name:value1,value2\n" for every header named `name`; false if none is.
static bool AppendCanonicalHeader(std::string& out, std::span<const Header> headers,
                                  std::string_view name) {
  bool found = false;
  for (const Header& h : headers) {
    if (!EqualsIgnoreCase(h.name, name)) continue;
    if (!found) {
      for (char c : name) out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
      out += ':';
    } else {
      out += ',';
    }
    out += TrimAll(h.value);
    found = true;
  }
  if (found) out += '\n';
  return found;
}

std::string_view BuildCanonicalRequest(const RequestView& request,
                                       std::span<const std::string_view> names,
                                       std::string_view signed_headers,
                                       std::string_view payload_hash, bool s3_uri,
                                       std::string& out) {
  const auto [path, query] = SplitTarget(request.target);
  out.clear();
  out.reserve(256 + request.target.size() * 2 + signed_headers.size() * 4);
  out += ToUpper(request.method);
  out += '\n';
  out += CanonicalUri(path, s3_uri);
  out += '\n';
  out += CanonicalQuery(query);
  out += '\n';
  for (std::string_view name : names) {
    if (!AppendCanonicalHeader(out, request.headers, name)) return name;
  }
  out += '\n';
  out += signed_headers;
  out += '\n';
  out += payload_hash;
  return {};
}

std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request) {
  std::string sts;
  sts.reserve(kAlgorithm.size() + amz_date.size() + scope.size() + 67);
  sts += kAlgorithm;
  sts += '\n';
  sts += amz_date;
  sts += '\n';
  sts += scope;
  sts += '\n';
  sts += Hex(Sha256(canonical_request));
  return sts;
}

}  // namespace internal

// ---------------------------------------------------------------------------
// Signing

namespace {

// The headers to sign: the request's own (minus NotSigned), then the ones
// Sign adds; names lower-cased, sorted, unique.
std::vector<std::string> NamesToSign(std::span<const Header> all) {
  std::vector<std::string> names;
  for (const Header& h : all) names.push_back(internal::ToLower(h.name));
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

Status CheckSignInputs(const RequestView& request, const Credentials& credentials,
                       const SignOptions& options) {
  if (options.region.empty() || options.service.empty()) {
    return Status::InvalidArgument("SigV4 Sign: region and service are required");
  }
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return Status::InvalidArgument("SigV4 Sign: the credentials have no access key id or secret");
  }
  if (internal::FindHeader(request.headers, "host") == nullptr) {
    return Status::InvalidArgument(
        fmt::format("SigV4 Sign: {} {}: the request has no Host header, which SigV4 must sign",
                    request.method, request.target));
  }
  return Status::Ok();
}

// The headers to set, in the order SignedRequest::headers documents, but
// for Authorization.
std::vector<std::pair<std::string, std::string>> AddedHeaders(const Credentials& credentials,
                                                              std::string amz_date,
                                                              const std::string& payload_hash,
                                                              bool send_hash) {
  std::vector<std::pair<std::string, std::string>> added;
  added.emplace_back("X-Amz-Date", std::move(amz_date));
  if (!credentials.session_token.empty()) {
    added.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  if (send_hash) added.emplace_back("x-amz-content-sha256", payload_hash);
  return added;
}

}  // namespace

Result<SignedRequest> Sign(const RequestView& request, const Credentials& credentials,
                           const SignOptions& options, TimeNs now) {
  if (Status s = CheckSignInputs(request, credentials, options); !s.ok()) return s;
  SignedRequest out;
  const std::string amz_date = FormatAmzDate(now);
  const std::string payload_hash = options.unsigned_payload
                                       ? std::string(kUnsignedPayload)
                                       : internal::Hex(internal::Sha256(request.body));
  out.headers = AddedHeaders(credentials, amz_date, payload_hash,
                             options.add_content_sha256 || options.unsigned_payload);

  std::vector<Header> all;
  for (const Header& h : request.headers) {
    if (!NotSigned(internal::ToLower(h.name))) all.push_back(h);
  }
  for (const auto& [name, value] : out.headers) all.push_back({name, value});
  const std::vector<std::string> names = NamesToSign(all);
  const std::vector<std::string_view> views(names.begin(), names.end());
  std::string signed_headers;
  for (std::string_view name : views) {
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += name;
  }
  RequestView with_added = request;
  with_added.headers = all;
  internal::BuildCanonicalRequest(with_added, views, signed_headers, payload_hash, options.s3_uri,
                                  out.canonical_request);

  const std::string date = amz_date.substr(0, 8);
  const std::string scope =
      fmt::format("{}/{}/{}/aws4_request", date, options.region, options.service);
  out.string_to_sign = internal::StringToSign(amz_date, scope, out.canonical_request);
  const std::string key =
      SigningKey(credentials.secret_access_key, date, options.region, options.service);
  const std::string signature = internal::Hex(HmacSha256(key, out.string_to_sign));
  out.authorization = fmt::format("{} Credential={}/{}, SignedHeaders={}, Signature={}", kAlgorithm,
                                  credentials.access_key_id, scope, signed_headers, signature);
  out.headers.emplace_back("Authorization", out.authorization);
  return out;
}

}  // namespace faultline::aws
