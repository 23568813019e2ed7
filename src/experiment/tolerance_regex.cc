// The translation follows CPython's sre_parse (3.11) item by item, raising
// where it raises (with its messages and positions), so that a pattern
// chaostoolkit would refuse is refused here too.
#include "experiment/tolerance_regex.h"

#include <fmt/format.h>

#include <map>
#include <regex>
#include <string>
#include <vector>

namespace faultline::experiment {
namespace {

static_assert(sizeof(wchar_t) == 4, "the translation works on UTF-32 wchar_t");

// Texts longer than this are refused for patterns with backreferences:
// libstdc++'s backtracking executor recurses once per character.
constexpr size_t kMaxBacktrackingText = 20000;
constexpr long kMaxRepeat = 10000;

// Python's \s for str patterns, as ECMAScript class contents.
constexpr std::wstring_view kSpaces =
    LR"(\u0020\u0009-\u000d\u001c-\u001f\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000)";

std::wstring DecodeUtf8(std::string_view s) {
  std::wstring out;
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
    char32_t cp = n == 0 ? c : n == 1 ? (c & 0x1F) : n == 2 ? (c & 0x0F) : (c & 0x07);
    bool ok = n >= 0 && i + n < s.size() + (n == 0 ? 1 : 0);
    for (int k = 1; ok && k <= n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (!ok) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    out.push_back(static_cast<wchar_t>(cp));
    i += n + 1;
  }
  return out;
}

bool IsAsciiLetter(wchar_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(wchar_t c) { return c >= '0' && c <= '9'; }
bool IsOctal(wchar_t c) { return c >= '0' && c <= '7'; }
int HexValue(wchar_t c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A code point as an ECMAScript literal, inside or outside a class.
std::wstring Literal(char32_t c) {
  if (c < 0x80 && (IsAsciiLetter(static_cast<wchar_t>(c)) || IsDigit(static_cast<wchar_t>(c)))) {
    return std::wstring(1, static_cast<wchar_t>(c));
  }
  if (c > 0xFFFF) return std::wstring(1, static_cast<wchar_t>(c));  // never special
  wchar_t buf[8];
  swprintf(buf, 8, L"\\u%04x", static_cast<unsigned>(c));
  return buf;
}

struct Translation {
  std::wstring pattern;
  std::regex_constants::syntax_option_type flags = std::regex_constants::ECMAScript;
  bool backrefs = false;
};

class Translator {
 public:
  explicit Translator(std::string_view source) : source_(source), p_(DecodeUtf8(source)) {}

  Result<Translation> Run() {
    if (!GlobalFlags() || !Sequence()) return error_;
    if (!open_.empty()) {
      Fail("missing ), unterminated subpattern", open_.back().at);
      return error_;
    }
    return t_;
  }

 private:
  struct Open {
    int group;  // 0: not capturing
    bool dotall, verbose;
    size_t at;
  };
  enum class Last { kNothing, kAnchor, kAtom, kRepeat };

  bool Fail(std::string_view message, size_t at) {
    if (error_.ok()) {
      error_ = Status::InvalidArgument(
          fmt::format("regex pattern '{}': {} at position {}", source_, message, at));
    }
    return false;
  }
  bool Unsupported(std::string_view what, size_t at) {
    return Fail(fmt::format("{} is not supported by faultline's regex translation", what), at);
  }
  bool More() const { return i_ < p_.size(); }
  wchar_t Peek(size_t k = 0) const { return i_ + k < p_.size() ? p_[i_ + k] : 0; }
  bool Match(std::wstring_view s) {
    if (p_.compare(i_, s.size(), s) != 0) return false;
    i_ += s.size();
    return true;
  }
  void Emit(std::wstring_view s, Last last) {
    t_.pattern += s;
    last_ = last;
  }

  bool GlobalFlags();
  bool Sequence();
  bool Item();
  bool Group();
  bool OpenGroup(const Open& open, std::wstring_view text);
  bool NamedGroup(Open open);
  bool ScopedFlags(const Open& open);
  bool Category(size_t at, wchar_t c, bool* ok);
  bool Repeat(wchar_t c);
  bool Braces();
  bool Escape();
  bool Backreference(size_t at, int group);
  bool Class();
  bool ClassEscape(size_t at, std::wstring* out, char32_t* literal);
  bool Codepoint(size_t at, wchar_t kind, char32_t* out);

  std::string_view source_;
  std::wstring p_;
  size_t i_ = 0;
  Translation t_;
  Status error_;
  bool dotall_ = false, verbose_ = false, multiline_ = false;
  int groups_ = 0;
  std::vector<Open> open_;
  std::vector<int> open_groups_;
  std::map<std::wstring, int> names_;
  Last last_ = Last::kNothing;
};

bool Translator::GlobalFlags() {
  while (Peek() == '(' && Peek(1) == '?' &&
         std::wstring_view(L"aiLmsux").find(Peek(2)) != std::wstring_view::npos) {
    size_t at = i_, j = i_ + 2;
    while (j < p_.size() && std::wstring_view(L"aiLmsux").find(p_[j]) != std::wstring_view::npos) {
      ++j;
    }
    if (j >= p_.size() || p_[j] != ')') return true;  // scoped flags: an item
    for (size_t k = at + 2; k < j; ++k) {
      switch (p_[k]) {
        case 'i':
          t_.flags |= std::regex_constants::icase;
          break;
        case 'm':
          multiline_ = true;
          t_.flags |= std::regex_constants::multiline;
          break;
        case 's':
          dotall_ = true;
          break;
        case 'x':
          verbose_ = true;
          break;
        case 'L':
          return Fail("bad inline flags: cannot use 'L' flag with a str pattern", k);
        default:
          break;  // a, u: \w and friends are ASCII here anyway
      }
    }
    i_ = j + 1;
  }
  return true;
}

bool Translator::Sequence() {
  while (More()) {
    if (!Item()) return false;
  }
  return true;
}

bool Translator::Item() {
  size_t at = i_;
  wchar_t c = p_[i_++];
  if (verbose_ && std::wstring_view(L" \t\n\r\v\f").find(c) != std::wstring_view::npos) return true;
  if (verbose_ && c == '#') {
    while (More() && p_[i_] != '\n') ++i_;
    return true;
  }
  switch (c) {
    case '\\':
      return Escape();
    case '[':
      return Class();
    case '(':
      return Group();
    case ')':
      if (open_.empty()) return Fail("unbalanced parenthesis", at);
      dotall_ = open_.back().dotall;
      verbose_ = open_.back().verbose;
      if (open_.back().group) open_groups_.pop_back();
      open_.pop_back();
      Emit(L")", Last::kAtom);
      return true;
    case '|':
      Emit(L"|", Last::kNothing);
      return true;
    case '.':
      Emit(dotall_ ? LR"([\s\S])" : LR"([^\n])", Last::kAtom);
      return true;
    case '^':
      Emit(L"^", Last::kAnchor);
      return true;
    case '$':
      Emit(multiline_ ? LR"((?=\n|(?![\s\S])))" : LR"((?=\n?(?![\s\S])))", Last::kAnchor);
      return true;
    case '*':
    case '+':
    case '?':
      return Repeat(c);
    case '{':
      return Braces();
    default:
      Emit(Literal(c), Last::kAtom);
      return true;
  }
}

bool Translator::Repeat(wchar_t c) {
  size_t at = i_ - 1;
  if (last_ == Last::kNothing || last_ == Last::kAnchor) return Fail("nothing to repeat", at);
  if (last_ == Last::kRepeat) return Fail("multiple repeat", at);
  Emit(std::wstring(1, c), Last::kRepeat);
  if (Peek() == '?')
    Emit(std::wstring(1, p_[i_++]), Last::kRepeat);
  else if (Peek() == '+')
    return Unsupported("a possessive quantifier", i_);
  return true;
}

// {m,n} {m,} {,n} {m}: a repeat; anything else a literal "{".
bool Translator::Braces() {
  size_t at = i_ - 1, j = i_;
  std::wstring lo, hi;
  while (j < p_.size() && IsDigit(p_[j])) lo += p_[j++];
  bool comma = j < p_.size() && p_[j] == ',';
  if (comma) {
    ++j;
    while (j < p_.size() && IsDigit(p_[j])) hi += p_[j++];
  } else {
    hi = lo;
  }
  if (Peek() == '}' || j >= p_.size() || p_[j] != '}') {
    Emit(Literal('{'), Last::kAtom);
    return true;
  }
  i_ = j + 1;
  long min = lo.empty() ? 0 : std::wcstol(lo.c_str(), nullptr, 10);
  long max = hi.empty() ? -1 : std::wcstol(hi.c_str(), nullptr, 10);
  if (max >= 0 && max < min) return Fail("min repeat greater than max repeat", at + 1);
  if (min > kMaxRepeat || max > kMaxRepeat) return Unsupported("a repeat count above 10000", at);
  if (last_ == Last::kNothing || last_ == Last::kAnchor) return Fail("nothing to repeat", at);
  if (last_ == Last::kRepeat) return Fail("multiple repeat", at);
  std::wstring q = L"{" + std::to_wstring(min) + (max == min ? L"" : L",") +
                   (max > min ? std::to_wstring(max) : L"") + L"}";
  Emit(q, Last::kRepeat);
  if (Peek() == '?')
    Emit(std::wstring(1, p_[i_++]), Last::kRepeat);
  else if (Peek() == '+')
    return Unsupported("a possessive quantifier", i_);
  return true;
}

bool Translator::OpenGroup(const Open& open, std::wstring_view text) {
  if (open.group) open_groups_.push_back(open.group);
  open_.push_back(open);
  Emit(text, Last::kNothing);
  return true;
}

bool Translator::Group() {
  size_t at = i_ - 1;
  Open open{0, dotall_, verbose_, at};
  if (!Match(L"?")) {
    open.group = ++groups_;
    return OpenGroup(open, L"(");
  }
  if (Match(L"P<") || Match(L"P=")) return NamedGroup(open);
  if (Match(L"#")) {
    size_t end = p_.find(')', i_);
    if (end == std::wstring::npos) return Fail("missing ), unterminated comment", at);
    i_ = end + 1;
    return true;
  }
  if (Match(L"=")) return OpenGroup(open, L"(?=");
  if (Match(L"!")) return OpenGroup(open, L"(?!");
  if (Match(L"<=") || Match(L"<!")) return Unsupported("lookbehind", at);
  if (Match(L">")) return Unsupported("an atomic group", at);
  if (Match(L"(")) return Unsupported("a conditional group", at);
  if (Match(L":")) return OpenGroup(open, L"(?:");
  return ScopedFlags(open);
}

// (?P<name>...) or (?P=name), after the "P<" or "P=".
bool Translator::NamedGroup(Open open) {
  bool define = p_[i_ - 1] == '<';
  size_t end = p_.find(define ? '>' : ')', i_);
  if (end == std::wstring::npos) {
    return Fail(define ? "missing >, unterminated name" : "missing ), unterminated name", i_);
  }
  std::wstring name = p_.substr(i_, end - i_);
  i_ = end + 1;
  if (define) {
    names_[name] = open.group = ++groups_;
    return OpenGroup(open, L"(");
  }
  auto it = names_.find(name);
  if (it == names_.end()) return Fail("unknown group name", open.at + 4);
  return Backreference(open.at, it->second);
}

// (?s:...), (?-s:...), (?x:...); "(?i)" here is a global flag too late.
bool Translator::ScopedFlags(const Open& open) {
  size_t end = i_;
  while (end < p_.size() &&
         std::wstring_view(L"aiLmsux-").find(p_[end]) != std::wstring_view::npos) {
    ++end;
  }
  if (end < p_.size() && p_[end] == ')') {
    return Fail("global flags not at the start of the expression", open.at);
  }
  bool on = true;
  while (More() && p_[i_] != ':' && p_[i_] != ')') {
    wchar_t f = p_[i_++];
    if (f == '-') {
      on = false;
    } else if (f == 's') {
      dotall_ = on;
    } else if (f == 'x') {
      verbose_ = on;
    } else if (f == 'i' || f == 'm') {
      return Unsupported("a scoped (?i:...) or (?m:...) group", open.at);
    } else if (f != 'a' && f != 'u') {
      return Fail("unknown extension ?" + std::string(1, static_cast<char>(f)), open.at + 1);
    }
  }
  if (!Match(L":")) return Fail("missing :", i_);
  return OpenGroup(open, L"(?:");
}

bool Translator::Backreference(size_t at, int group) {
  for (int g : open_groups_) {
    if (g == group) return Fail("cannot refer to an open group", at);
  }
  t_.backrefs = true;
  Emit(L"(?:\\" + std::to_wstring(group) + L")", Last::kAtom);
  return true;
}

// \x.. \u.... \U........ after the backslash and letter.
bool Translator::Codepoint(size_t at, wchar_t kind, char32_t* out) {
  size_t n = kind == 'x' ? 2 : kind == 'u' ? 4 : 8;
  char32_t v = 0;
  for (size_t k = 0; k < n; ++k) {
    int h = HexValue(Peek());
    if (h < 0) return Fail(fmt::format("incomplete escape \\{}", static_cast<char>(kind)), at);
    v = v * 16 + static_cast<char32_t>(h);
    ++i_;
  }
  if (v > 0x10FFFF) return Fail("bad escape \\U", at);
  *out = v;
  return true;
}

// \d \w \s and the anchors outside a class; false: not one of them.
bool Translator::Category(size_t at, wchar_t c, bool* ok) {
  static const std::map<wchar_t, std::pair<std::wstring, Last>> kCategories = {
      {'d', {L"[0-9]", Last::kAtom}},
      {'D', {L"[^0-9]", Last::kAtom}},
      {'w', {L"[A-Za-z0-9_]", Last::kAtom}},
      {'W', {L"[^A-Za-z0-9_]", Last::kAtom}},
      {'s', {L"[" + std::wstring(kSpaces) + L"]", Last::kAtom}},
      {'S', {L"[^" + std::wstring(kSpaces) + L"]", Last::kAtom}},
      {'b', {L"\\b", Last::kAnchor}},
      {'B', {L"\\B", Last::kAnchor}},
      {'Z', {LR"((?![\s\S]))", Last::kAnchor}},
      {'A', {L"^", Last::kAnchor}}};
  *ok = true;
  if (c == 'N') {
    *ok = Unsupported("\\N{...}", at);
    return true;
  }
  auto it = kCategories.find(c);
  if (it == kCategories.end()) return false;
  if (c == 'A' && multiline_) {
    *ok = Unsupported("\\A with (?m)", at);
    return true;
  }
  Emit(it->second.first, it->second.second);
  return true;
}

bool Translator::Escape() {
  size_t at = i_ - 1;
  if (!More()) return Fail("bad escape (end of pattern)", at);
  wchar_t c = p_[i_++];
  bool ok = true;
  if (Category(at, c, &ok)) return ok;
  // \1 to \99 refer to groups, unless three octal digits make a
  // character; \0 starts an octal character.
  if (IsDigit(c) && c != '0' && !(IsOctal(c) && IsOctal(Peek()) && IsOctal(Peek(1)))) {
    int group = c - '0';
    if (IsDigit(Peek())) group = group * 10 + (p_[i_++] - '0');
    if (group > groups_) return Fail(fmt::format("invalid group reference {}", group), at + 1);
    return Backreference(at, group);
  }
  --i_;
  std::wstring out;
  char32_t literal = 0;
  if (!ClassEscape(at, &out, &literal)) return false;
  Emit(out, Last::kAtom);
  return true;
}

// An escape as it means inside a class (and, for literals, outside one):
// `out` the ECMAScript text, `literal` the code point when it is one (else
// U+FFFFFFFF).
bool Translator::ClassEscape(size_t at, std::wstring* out, char32_t* literal) {
  wchar_t c = p_[i_++];
  *literal = 0xFFFFFFFF;
  static const std::map<wchar_t, char32_t> kSimple = {{'a', 7},  {'b', 8}, {'f', 12}, {'n', 10},
                                                      {'r', 13}, {'t', 9}, {'v', 11}, {'\\', '\\'}};
  char32_t v = 0;
  if (auto it = kSimple.find(c); it != kSimple.end()) {
    v = it->second;
  } else if (c == 'd' || c == 'w' || c == 's') {
    *out = c == 'd' ? L"0-9" : c == 'w' ? L"A-Za-z0-9_" : std::wstring(kSpaces);
    return true;
  } else if (c == 'D' || c == 'W' || c == 'S') {
    *out = std::wstring(L"\\") + c;
    return true;
  } else if (c == 'x' || c == 'u' || c == 'U') {
    if (!Codepoint(at, c, &v)) return false;
  } else if (IsOctal(c)) {
    v = c - '0';
    for (int k = 0; k < 2 && IsOctal(Peek()); ++k) v = v * 8 + (p_[i_++] - '0');
    if (v > 0377)
      return Fail(fmt::format("octal escape value \\{:o} outside of range 0-0o377",
                              static_cast<unsigned>(v)),
                  at);
  } else if (IsDigit(c) || IsAsciiLetter(c)) {
    return Fail(fmt::format("bad escape \\{}", static_cast<char>(c)), at);
  } else {
    v = c;
  }
  *literal = v;
  *out = Literal(v);
  return true;
}

bool Translator::Class() {
  size_t at = i_ - 1;
  std::wstring out = L"[";
  if (Match(L"^")) out += L"^";
  size_t first = i_;
  while (true) {
    if (!More()) return Fail("unterminated character set", at);
    size_t item_at = i_;
    wchar_t c = p_[i_++];
    if (c == ']' && item_at != first) break;
    std::wstring lo_text;
    char32_t lo = c;
    if (c == '\\') {
      if (!More()) return Fail("unterminated character set", at);
      if (!ClassEscape(item_at, &lo_text, &lo)) return false;
    } else {
      lo_text = Literal(c);
    }
    if (Peek() != '-' || Peek(1) == ']') {
      out += lo_text;
      continue;
    }
    ++i_;  // '-'
    if (!More()) return Fail("unterminated character set", at);
    size_t hi_at = i_;
    char32_t hi = p_[i_++];
    std::wstring hi_text;
    if (hi == '\\') {
      if (!More()) return Fail("unterminated character set", at);
      if (!ClassEscape(hi_at, &hi_text, &hi)) return false;
    }
    if (lo == 0xFFFFFFFF || hi == 0xFFFFFFFF || hi < lo) {
      return Fail("bad character range", item_at);
    }
    out += Literal(lo) + L"-" + Literal(hi);
  }
  Emit(out + L"]", Last::kAtom);
  return true;
}

Result<Translation> Translate(std::string_view pattern) { return Translator(pattern).Run(); }

}  // namespace

Result<std::wstring> TranslatePythonRegex(std::string_view pattern) {
  auto t = Translate(pattern);
  if (!t.ok()) return t.status();
  return t->pattern;
}

Result<bool> PythonRegexSearch(std::string_view pattern, std::string_view text) {
  auto t = Translate(pattern);
  if (!t.ok()) return t.status();
  std::wstring subject = DecodeUtf8(text);
  auto flags = t->flags;
  if (!t->backrefs) {
    // libstdc++'s breadth-first executor: linear in the text, no recursion
    // per character; it cannot do backreferences, and only whether there
    // is a match matters here.
    flags |= std::regex_constants::__polynomial;
  } else if (subject.size() > kMaxBacktrackingText) {
    return Status::InvalidArgument(
        fmt::format("regex pattern '{}': a pattern with backreferences on a text of more than {} "
                    "characters is not supported",
                    pattern, kMaxBacktrackingText));
  }
  try {
    std::wregex re(t->pattern, flags);
    return std::regex_search(subject, re);
  } catch (const std::regex_error& e) {
    return Status::InvalidArgument(
        fmt::format("regex pattern '{}': not a valid pattern ({})", pattern, e.what()));
  }
}

}  // namespace faultline::experiment
