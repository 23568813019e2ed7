// SHA-256, HMAC-SHA-256 and hex for SigV4, over OpenSSL 3.0.
//
// Internal to the aws module. libcrypto.so.3 is loaded (dlopen) at the first
// digest, so that faultline processes that never sign (the extension) do not
// carry it; a process that needs it and cannot load it stops with a message.
// The digest implementation is fetched from OpenSSL's default provider once
// per process, so each call is one digest pass with no lookups (SigV4
// verification sits on every request's path).
//
// Thread-safety: every function is safe to call from any thread.
#ifndef FAULTLINE_AWS_CRYPTO_H_
#define FAULTLINE_AWS_CRYPTO_H_

#include <array>
#include <string>
#include <string_view>

namespace faultline::aws::internal {

using Digest = std::array<unsigned char, 32>;

// SHA-256 of `data`.
Digest Sha256(std::string_view data);

// HMAC-SHA-256 of `data` under `key` (RFC 2104).
Digest HmacSha256(std::string_view key, std::string_view data);

// The 64 lower-case hex digits of `d`.
std::string Hex(const Digest& d);

// `d` viewed as bytes, to feed a digest into the next HMAC.
inline std::string_view AsBytes(const Digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

// True if `a` and `b` are equal, in time that depends only on their sizes
// (signatures are compared with this, not ==).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace faultline::aws::internal

#endif  // FAULTLINE_AWS_CRYPTO_H_
