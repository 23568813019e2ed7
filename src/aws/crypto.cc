#include "aws/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>
#include <memory>

namespace faultline::aws::internal {
namespace {

constexpr std::size_t kBlock = 64;  // SHA-256's block size, for HMAC's pads

// Fetching "SHA256" once avoids OpenSSL 3's per-call implicit fetch (a
// provider lookup under a lock), which costs more than hashing a short string.
const EVP_MD* Sha256Md() {
  static const EVP_MD* const md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched != nullptr ? fetched : EVP_sha256();
  }();
  return md;
}

struct CtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// One context per thread, reset by each EVP_DigestInit_ex.
EVP_MD_CTX* ThreadCtx() {
  thread_local std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  return ctx.get();
}

Digest Sha256Of(std::string_view a, std::string_view b) {
  EVP_MD_CTX* ctx = ThreadCtx();
  Digest out{};
  unsigned int n = 0;
  EVP_DigestInit_ex(ctx, Sha256Md(), nullptr);
  EVP_DigestUpdate(ctx, a.data(), a.size());
  EVP_DigestUpdate(ctx, b.data(), b.size());
  EVP_DigestFinal_ex(ctx, out.data(), &n);
  return out;
}

}  // namespace

Digest Sha256(std::string_view data) { return Sha256Of(data, {}); }

// HMAC written out over the digest (RFC 2104) rather than through OpenSSL's
// EVP_MAC, which allocates and fetches a context per call.
Digest HmacSha256(std::string_view key, std::string_view data) {
  Digest hashed_key;
  if (key.size() > kBlock) {
    hashed_key = Sha256(key);
    key = AsBytes(hashed_key);
  }
  unsigned char ipad[kBlock];
  unsigned char opad[kBlock];
  std::memset(ipad, 0x36, kBlock);
  std::memset(opad, 0x5c, kBlock);
  for (std::size_t i = 0; i < key.size(); ++i) {
    ipad[i] ^= static_cast<unsigned char>(key[i]);
    opad[i] ^= static_cast<unsigned char>(key[i]);
  }
  auto view = [](const unsigned char* p) {
    return std::string_view(reinterpret_cast<const char*>(p), kBlock);
  };
  const Digest inner = Sha256Of(view(ipad), data);
  const Digest outer = Sha256Of(view(opad), AsBytes(inner));
  OPENSSL_cleanse(ipad, kBlock);
  OPENSSL_cleanse(opad, kBlock);
  return outer;
}

std::string Hex(const Digest& d) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(d.size() * 2, '0');
  for (std::size_t i = 0; i < d.size(); ++i) {
    out[2 * i] = kDigits[d[i] >> 4];
    out[2 * i + 1] = kDigits[d[i] & 0xF];
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace faultline::aws::internal
