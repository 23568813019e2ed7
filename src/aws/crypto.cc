#include "aws/crypto.h"

#include <dlfcn.h>
#include <openssl/evp.h>  // types and prototypes only: libcrypto is loaded on first use

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace faultline::aws::internal {
namespace {

constexpr std::size_t kBlock = 64;  // SHA-256's block size, for HMAC's pads

// libcrypto (OpenSSL 3) is opened with dlopen the first time a digest is
// needed, not linked: `faultline` is one program, and a linked libcrypto
// costs every process of it 1.45 MB of resident pages at start, the
// extension's (which never signs anything) included.
struct Libcrypto {
  decltype(&EVP_MD_fetch) md_fetch = nullptr;
  decltype(&EVP_sha256) sha256 = nullptr;
  decltype(&EVP_MD_CTX_new) ctx_new = nullptr;
  decltype(&EVP_MD_CTX_free) ctx_free = nullptr;
  decltype(&EVP_DigestInit_ex) init = nullptr;
  decltype(&EVP_DigestUpdate) update = nullptr;
  decltype(&EVP_DigestFinal_ex) final = nullptr;
  const EVP_MD* md = nullptr;
};

template <typename Fn>
void Bind(void* lib, const char* name, Fn& out) {
  void* sym = ::dlsym(lib, name);
  if (sym == nullptr) {
    std::fprintf(stderr, "faultline: libcrypto.so.3 has no %s: %s\n", name, ::dlerror());
    std::abort();
  }
  std::memcpy(&out, &sym, sizeof out);  // a data pointer to a function pointer, as POSIX allows
}

// Without OpenSSL 3 no signature can be checked or made: stop loudly rather
// than accept or refuse requests on a digest that was never computed.
const Libcrypto& Crypto() {
  static const Libcrypto lib = [] {
    void* h = ::dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      std::fprintf(stderr,
                   "faultline: cannot load libcrypto.so.3 (OpenSSL 3, Debian's libssl3), which "
                   "SigV4 needs: %s\n",
                   ::dlerror());
      std::abort();
    }
    Libcrypto c;
    Bind(h, "EVP_MD_fetch", c.md_fetch);
    Bind(h, "EVP_sha256", c.sha256);
    Bind(h, "EVP_MD_CTX_new", c.ctx_new);
    Bind(h, "EVP_MD_CTX_free", c.ctx_free);
    Bind(h, "EVP_DigestInit_ex", c.init);
    Bind(h, "EVP_DigestUpdate", c.update);
    Bind(h, "EVP_DigestFinal_ex", c.final);
    // Fetching "SHA256" once avoids OpenSSL 3's per-call implicit fetch (a
    // provider lookup under a lock), which costs more than hashing a short
    // string.
    EVP_MD* fetched = c.md_fetch(nullptr, "SHA256", nullptr);
    c.md = fetched != nullptr ? fetched : c.sha256();
    return c;  // the library stays open for the process's life
  }();
  return lib;
}

struct CtxFree {
  void operator()(EVP_MD_CTX* c) const { Crypto().ctx_free(c); }
};

// One context per thread, reset by each digest's init.
EVP_MD_CTX* ThreadCtx() {
  thread_local std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(Crypto().ctx_new());
  return ctx.get();
}

// Zeroes `p` in a way the compiler may not drop (the HMAC pads hold the key).
void Cleanse(unsigned char* p, std::size_t n) {
  volatile unsigned char* v = p;
  for (std::size_t i = 0; i < n; ++i) v[i] = 0;
}

Digest Sha256Of(std::string_view a, std::string_view b) {
  const Libcrypto& c = Crypto();
  EVP_MD_CTX* ctx = ThreadCtx();
  Digest out{};
  unsigned int n = 0;
  c.init(ctx, c.md, nullptr);
  c.update(ctx, a.data(), a.size());
  c.update(ctx, b.data(), b.size());
  c.final(ctx, out.data(), &n);
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
  Cleanse(ipad, kBlock);
  Cleanse(opad, kBlock);
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
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = static_cast<unsigned char>(
        diff | (static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i])));
  }
  // Read back through volatile so that the loop is not cut short.
  volatile unsigned char result = diff;
  return result == 0;
}

}  // namespace faultline::aws::internal
