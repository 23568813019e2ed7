// Python's text conversions, as chaoslib's providers apply them to values
// (str() on process arguments, urlencode and json.dumps in requests, bytes
// decoded with errors="replace"), so that a command line, a query string
// or a body is byte for byte what chaos would send.
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <system_error>

#include "experiment/provider_internal.h"

namespace faultline::experiment::provider_internal {

namespace {

// One code point decoded from valid UTF-8 at `s` (REQUIRES: valid).
char32_t CodePoint(std::string_view s, std::size_t& i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = b(i);
  if (b0 < 0x80) return s[i++];
  int len = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : 2;
  char32_t cp = b0 & (0x7F >> len);
  for (int k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (b(i + k) & 0x3F);
  i += len;
  return cp;
}

void AppendUtf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// How many bytes at `s` are one valid UTF-8 sequence (> 0), or, as a
// negative number, how many form the maximal ill-formed subpart that one
// U+FFFD replaces (Unicode's "best practice", which Python follows).
int Utf8Step(std::string_view s) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = b(0);
  if (b0 < 0x80) return 1;
  int len = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    lo = b0 == 0xE0 ? 0xA0 : 0x80;
    hi = b0 == 0xED ? 0x9F : 0xBF;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    lo = b0 == 0xF0 ? 0x90 : 0x80;
    hi = b0 == 0xF4 ? 0x8F : 0xBF;
  } else {
    return -1;
  }
  int k = 1;
  for (; k < len && static_cast<std::size_t>(k) < s.size(); ++k) {
    const unsigned char c = b(k);
    if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) return -k;
  }
  return k == len ? len : -k;
}

// Whether Python's str.isprintable() is false for this non-ASCII code
// point: the C1 controls, format characters and separators other than
// the space (the common ones; Python consults the whole Unicode database).
bool NonPrintable(char32_t cp) {
  return (cp >= 0x80 && cp <= 0xA0) || cp == 0xAD || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202F) ||
         (cp >= 0x205F && cp <= 0x2064) || cp == 0x3000 || cp == 0xFEFF ||
         (cp >= 0xD800 && cp <= 0xF8FF) || cp == 0xFFFE || cp == 0xFFFF;
}

std::string Hex(char32_t cp, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%0*x", digits, static_cast<unsigned>(cp));
  return buf;
}

void AppendReprChar(std::string& out, char32_t cp, char quote) {
  switch (cp) {
    case '\\':
      out += "\\\\";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default:
      break;
  }
  if (cp == static_cast<char32_t>(quote)) {
    out += '\\';
    out += quote;
  } else if (cp < 0x20 || cp == 0x7F) {
    out += "\\x" + Hex(cp, 2);
  } else if (cp >= 0x80 && NonPrintable(cp)) {
    out += cp < 0x100 ? "\\x" + Hex(cp, 2) : cp < 0x10000 ? "\\u" + Hex(cp, 4) : "\\U" + Hex(cp, 8);
  } else {
    AppendUtf8(out, cp);
  }
}

std::string PyStringRepr(std::string_view s) {
  // Single quotes, unless the text has one and no double quote.
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (std::size_t i = 0; i < s.size();) AppendReprChar(out, CodePoint(s, i), quote);
  out += quote;
  return out;
}

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const char32_t cp = CodePoint(s, i);
    if (cp == '"' || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == '\n' || cp == '\r' || cp == '\t' || cp == '\b' || cp == '\f') {
      out += cp == '\n'   ? "\\n"
             : cp == '\r' ? "\\r"
             : cp == '\t' ? "\\t"
             : cp == '\b' ? "\\b"
                          : "\\f";
    } else if (cp >= 0x20 && cp < 0x7F) {
      out += static_cast<char>(cp);
    } else if (cp < 0x10000) {
      out += "\\u" + Hex(cp, 4);
    } else {  // a surrogate pair, as json.dumps writes it
      const char32_t v = cp - 0x10000;
      out += "\\u" + Hex(0xD800 + (v >> 10), 4) + "\\u" + Hex(0xDC00 + (v & 0x3FF), 4);
    }
  }
  out += '"';
}

std::string PyNumber(const json& value) {
  if (value.is_number_float()) return PyFloat(value.get<double>());
  if (value.is_number_unsigned()) return std::to_string(value.get<std::uint64_t>());
  return std::to_string(value.get<std::int64_t>());
}

}  // namespace

std::string PyFloat(double value) {
  if (value != value) return "nan";
  if (value == 1.0 / 0.0) return "inf";
  if (value == -1.0 / 0.0) return "-inf";
  char buf[64];
  // The shortest digits that read back as `value`, as Python's repr picks.
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  if (ec != std::errc()) return "nan";
  const std::string_view sci(buf, static_cast<std::size_t>(end - buf));
  const std::size_t e = sci.find('e');
  std::string digits;
  std::string sign;
  for (char c : sci.substr(0, e)) {
    if (c == '-') sign = "-";
    if (c >= '0' && c <= '9') digits += c;
  }
  const int decpt = std::stoi(std::string(sci.substr(e + 1))) + 1;
  const int n = static_cast<int>(digits.size());
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) return sign + "0." + std::string(-decpt, '0') + digits;
    if (decpt >= n) return sign + digits + std::string(decpt - n, '0') + ".0";
    return sign + digits.substr(0, decpt) + "." + digits.substr(decpt);
  }
  const int exp = decpt - 1;
  std::string out = sign + digits.substr(0, 1);
  if (n > 1) out += "." + digits.substr(1);
  const std::string mag = std::to_string(exp < 0 ? -exp : exp);
  return out + (exp < 0 ? "e-" : "e+") + (mag.size() < 2 ? "0" : "") + mag;
}

std::string PyRepr(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "None";
    case json::value_t::boolean:
      return value.get<bool>() ? "True" : "False";
    case json::value_t::string:
      return PyStringRepr(value.get_ref<const std::string&>());
    case json::value_t::array: {
      std::string out = "[";
      for (std::size_t i = 0; i < value.size(); ++i) {
        out += (i > 0 ? ", " : "") + PyRepr(value[i]);
      }
      return out + "]";
    }
    case json::value_t::object: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, v] : value.items()) {
        out += (first ? "" : ", ") + PyStringRepr(k) + ": " + PyRepr(v);
        first = false;
      }
      return out + "}";
    }
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return PyNumber(value);
    default:
      return "None";
  }
}

std::string PyStr(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  return PyRepr(value);
}

std::string PyJsonDumps(const json& value) {
  std::string out;
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return value.get<bool>() ? "true" : "false";
    case json::value_t::string:
      AppendJsonString(out, value.get_ref<const std::string&>());
      return out;
    case json::value_t::array:
      out = "[";
      for (std::size_t i = 0; i < value.size(); ++i) {
        out += (i > 0 ? ", " : "") + PyJsonDumps(value[i]);
      }
      return out + "]";
    case json::value_t::object:
      out = "{";
      for (const auto& [k, v] : value.items()) {
        if (out.size() > 1) out += ", ";
        AppendJsonString(out, k);
        out += ": " + PyJsonDumps(v);
      }
      return out + "}";
    case json::value_t::number_float:
      return PyFloat(value.get<double>());
    default:
      return PyNumber(value);
  }
}

std::string DecodeUtf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    const int step = Utf8Step(bytes.substr(i));
    if (step > 0) {
      out.append(bytes.substr(i, static_cast<std::size_t>(step)));
      i += static_cast<std::size_t>(step);
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD
      i += static_cast<std::size_t>(-step);
    }
  }
  return out;
}

std::string DecodeLatin1(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (char c : bytes) AppendUtf8(out, static_cast<unsigned char>(c));
  return out;
}

std::string QuotePlus(std::string_view text) {
  // quote_plus's safe set: letters, digits and "_.-~"; a space is '+'.
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
        c == '.' || c == '-' || c == '~') {
      out += ch;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string FormEncode(const json& items) {
  std::string out;
  const auto pair = [&](const std::string& key, const json& v) {
    if (!out.empty()) out += '&';
    out += QuotePlus(key) + "=" + QuotePlus(PyStr(v));
  };
  // urlencode(doseq=True): an iterable value gives one pair per element
  // (a mapping: per key); anything else is str()'d (None too, there).
  const auto each = [&](const std::string& key, const json& v) {
    if (v.is_array()) {
      for (const json& e : v) pair(key, e);
    } else if (v.is_object()) {
      for (const auto& [k, unused] : v.items()) pair(key, json(k));
    } else {
      pair(key, v);
    }
  };
  // requests: a list value repeats its key, a mapping value gives its
  // keys, None leaves the key out.
  const auto add = [&](const std::string& key, const json& value) {
    if (value.is_array()) {
      for (const json& v : value) {
        if (!v.is_null()) each(key, v);
      }
    } else if (value.is_object()) {
      for (const auto& [k, unused] : value.items()) pair(key, json(k));
    } else if (!value.is_null()) {
      pair(key, value);
    }
  };
  if (items.is_object()) {
    for (const auto& [key, value] : items.items()) add(key, value);
  } else {
    for (const json& kv : items) add(PyStr(kv[0]), kv[1]);  // REQUIRES: pairs
  }
  return out;
}

}  // namespace faultline::experiment::provider_internal
