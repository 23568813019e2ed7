// PyYAML's safe_load resolution on a yaml-cpp tree. The regular
// expressions of PyYAML's resolver.py are matched by hand: std::regex
// recurses per character and would overflow the stack on a long scalar.
#include "experiment/document_yaml.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "core/text.h"
#include "core/yaml_read.h"
#include "experiment/context.h"

namespace faultline::experiment {
namespace {

// Without aliases a value takes at least a byte of text; more values than
// that (and than this floor) can only come from aliases expanding.
constexpr std::size_t kMinValueBudget = 100'000;

bool IsOct(char c) { return c >= '0' && c <= '7'; }
bool IsHex(char c) {
  return internal::IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// A cursor over a scalar, for the hand-written regular expressions.
struct Scan {
  std::string_view s;
  std::size_t i = 0;
  bool Done() const { return i == s.size(); }
  bool Eat(char c) {
    if (i < s.size() && s[i] == c) return ++i, true;
    return false;
  }
  bool EatSign() { return Eat('+') || Eat('-'); }
  template <typename Pred>
  std::size_t EatWhile(Pred p) {
    const std::size_t start = i;
    while (i < s.size() && p(s[i])) ++i;
    return i - start;
  }
  bool EatWord(std::string_view w) {
    if (s.substr(i, w.size()) != w) return false;
    i += w.size();
    return true;
  }
};

bool DigitOr_(char c) { return internal::IsDigit(c) || c == '_'; }

// ( ":" [0-5]?[0-9] )+
bool Sexagesimal(Scan* sc) {
  std::size_t n = 0;
  while (sc->i < sc->s.size() && sc->s[sc->i] == ':') {
    Scan t = *sc;
    ++t.i;
    if (t.i + 1 < t.s.size() && t.s[t.i] >= '0' && t.s[t.i] <= '5' &&
        internal::IsDigit(t.s[t.i + 1])) {
      t.i += 2;
    } else if (t.i < t.s.size() && internal::IsDigit(t.s[t.i])) {
      ++t.i;
    } else {
      break;
    }
    *sc = t;
    ++n;
  }
  return n > 0;
}

bool Exponent(Scan* sc) {  // ([eE][-+][0-9]+)?
  if (sc->i < sc->s.size() && (sc->s[sc->i] == 'e' || sc->s[sc->i] == 'E')) {
    ++sc->i;
    if (!sc->EatSign()) return false;
    return sc->EatWhile(internal::IsDigit) > 0;
  }
  return true;
}

bool IsYamlFloat(std::string_view s) {
  auto full = [&](auto f) {
    Scan sc{s};
    return f(sc) && sc.Done();
  };
  return full([](Scan& sc) {  // [-+]?[0-9][0-9_]*\.[0-9_]*(exp)?
           sc.EatSign();
           return sc.EatWhile(internal::IsDigit) > 0 && (sc.EatWhile(DigitOr_), sc.Eat('.')) &&
                  (sc.EatWhile(DigitOr_), Exponent(&sc));
         }) ||
         full([](Scan& sc) {  // \.[0-9][0-9_]*(exp)?
           return sc.Eat('.') && sc.EatWhile(internal::IsDigit) > 0 &&
                  (sc.EatWhile(DigitOr_), Exponent(&sc));
         }) ||
         full([](Scan& sc) {  // [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*
           sc.EatSign();
           return sc.EatWhile(internal::IsDigit) > 0 && (sc.EatWhile(DigitOr_), Sexagesimal(&sc)) &&
                  sc.Eat('.') && (sc.EatWhile(DigitOr_), true);
         }) ||
         full([](Scan& sc) {
           sc.EatSign();
           return sc.EatWord(".inf") || sc.EatWord(".Inf") || sc.EatWord(".INF");
         }) ||
         s == ".nan" || s == ".NaN" || s == ".NAN";
}

bool IsYamlInt(std::string_view s) {
  auto full = [&](auto f) {
    Scan sc{s};
    sc.EatSign();
    return f(sc) && sc.Done();
  };
  return full([](Scan& sc) {
           return sc.EatWord("0b") &&
                  sc.EatWhile([](char c) { return c == '0' || c == '1' || c == '_'; });
         }) ||
         full([](Scan& sc) {
           return sc.Eat('0') && sc.EatWhile([](char c) { return IsOct(c) || c == '_'; });
         }) ||
         full([](Scan& sc) { return sc.Eat('0'); }) || full([](Scan& sc) {
           return sc.i < sc.s.size() && sc.s[sc.i] >= '1' && sc.s[sc.i] <= '9' &&
                  (sc.EatWhile(DigitOr_), true);
         }) ||
         full([](Scan& sc) {
           return sc.EatWord("0x") && sc.EatWhile([](char c) { return IsHex(c) || c == '_'; });
         }) ||
         full([](Scan& sc) {
           return sc.i < sc.s.size() && sc.s[sc.i] >= '1' && sc.s[sc.i] <= '9' &&
                  (sc.EatWhile(DigitOr_), Sexagesimal(&sc));
         });
}

std::optional<bool> Yaml11Bool(std::string_view s) {
  for (std::string_view t : {"yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}) {
    if (s == t) return true;
  }
  for (std::string_view f : {"no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"}) {
    if (s == f) return false;
  }
  return std::nullopt;
}

std::string Unscore(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != '_') out += c;
  }
  return out;
}

Status TooLarge(std::string_view text) {
  return Status::InvalidArgument(fmt::format("the integer {} is too large", text));
}

// PyYAML's construct_yaml_int.
Result<json> ConstructInt(const std::string& text) {
  std::string v = Unscore(text);
  bool negative = false;
  if (!v.empty() && (v[0] == '-' || v[0] == '+')) {
    negative = v[0] == '-';
    v.erase(0, 1);
  }
  std::int64_t magnitude = 0;
  if (v.find(':') != std::string::npos) {
    std::size_t start = 0;
    while (start <= v.size()) {
      const std::size_t colon = std::min(v.find(':', start), v.size());
      std::int64_t part = 0;
      std::from_chars(v.data() + start, v.data() + colon, part);
      if (part < 0 || magnitude > (std::numeric_limits<std::int64_t>::max() - part) / 60)
        return TooLarge(text);
      magnitude = magnitude * 60 + part;
      start = colon + 1;
    }
  } else {
    int base = 10;
    std::size_t skip = 0;
    if (v.rfind("0b", 0) == 0)
      base = 2, skip = 2;
    else if (v.rfind("0x", 0) == 0)
      base = 16, skip = 2;
    else if (v.size() > 1 && v[0] == '0')
      base = 8, skip = 1;
    const char* first = v.data() + skip;
    const char* last = v.data() + v.size();
    if (first == last) {
      return Status::InvalidArgument(fmt::format("{} is not an integer", internal::Quote(text)));
    }
    auto r = std::from_chars(first, last, magnitude, base);
    if (r.ec != std::errc() || r.ptr != last) return TooLarge(text);
  }
  return json(negative ? -magnitude : magnitude);
}

// PyYAML's construct_yaml_float.
json ConstructFloat(const std::string& text) {
  std::string v = Unscore(text);
  for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  double sign = 1;
  if (!v.empty() && (v[0] == '-' || v[0] == '+')) {
    sign = v[0] == '-' ? -1 : 1;
    v.erase(0, 1);
  }
  if (v == ".inf") return json(sign * std::numeric_limits<double>::infinity());
  if (v == ".nan") return json(std::numeric_limits<double>::quiet_NaN());
  if (v.find(':') == std::string::npos) return json(sign * std::strtod(v.c_str(), nullptr));
  double total = 0;
  std::size_t start = 0;
  while (start <= v.size()) {
    const std::size_t colon = std::min(v.find(':', start), v.size());
    total = total * 60 + std::strtod(v.substr(start, colon - start).c_str(), nullptr);
    start = colon + 1;
  }
  return json(sign * total);
}

// A key as JSON writes a Python dict's non-string key.
std::string KeyText(const json& key) {
  if (key.is_string()) return key.get<std::string>();
  if (key.is_number_float()) return PythonStr(key) == "inf" ? "Infinity" : PythonStr(key);
  return key.dump();
}

class Converter {
 public:
  Converter(std::string_view source, int max_depth, std::size_t budget,
            std::map<std::string, Position>* positions)
      : source_(source), max_depth_(max_depth), budget_(budget), positions_(positions) {}

  Status Convert(const YAML::Node& n, const std::string& path, Position fallback, int depth,
                 json* out) {
    if (++count_ > budget_) {
      return Error(n, fmt::format("more than {} values (aliases expanding too far?)", budget_));
    }
    (*positions_)[path] = PositionOf(n, fallback);
    switch (n.Type()) {
      case YAML::NodeType::Map:
      case YAML::NodeType::Sequence:
        if (depth >= max_depth_) {
          return Error(n, fmt::format("nested deeper than {} levels", max_depth_));
        }
        if (Status s = CheckTag(n, n.IsMap() ? "map" : "seq"); !s.ok()) return s;
        return n.IsMap() ? Map(n, path, depth + 1, out) : Seq(n, path, depth + 1, out);
      case YAML::NodeType::Scalar:
        return Scalar(n, out);
      default:
        *out = nullptr;
        return Status::Ok();
    }
  }

 private:
  Position PositionOf(const YAML::Node& n, Position fallback) const {
    const YAML::Mark m = n.Mark();
    // yaml-cpp places an empty value at the token after it: use its key's.
    if (m.is_null() || m.line < 0 || (n.IsNull() && fallback.line > 0)) return fallback;
    return Position{m.line + 1, m.column + 1};
  }
  Status Error(const YAML::Node& n, std::string_view message) const {
    return Status::InvalidArgument(
        fmt::format("{}: {}", internal::Where(source_, n.Mark()), message));
  }
  Status CheckTag(const YAML::Node& n, std::string_view kind) const {
    const std::string& tag = n.Tag();
    if (tag.empty() || tag == "?" || tag == "!" ||
        tag == "tag:yaml.org,2002:" + std::string(kind)) {
      return Status::Ok();
    }
    return Error(
        n, fmt::format("could not determine a constructor for the tag {}", internal::Quote(tag)));
  }

  Status Scalar(const YAML::Node& n, json* out) const {
    const std::string& tag = n.Tag();
    const std::string& text = n.Scalar();
    Result<json> v = Status::Internal("unset");
    if (tag == "!" || tag == "tag:yaml.org,2002:str") {
      v = json(text);
    } else if (tag == "?" || tag.empty()) {
      v = ResolvePlainScalar(text);
    } else if (tag == "tag:yaml.org,2002:int" && IsYamlInt(text)) {
      v = ConstructInt(text);
    } else if (tag == "tag:yaml.org,2002:float" && (IsYamlFloat(text) || IsYamlInt(text))) {
      v = ConstructFloat(text);
    } else if (tag == "tag:yaml.org,2002:bool" && Yaml11Bool(text)) {
      v = json(*Yaml11Bool(text));
    } else if (tag == "tag:yaml.org,2002:null") {
      v = json(nullptr);
    } else {
      return Error(n, fmt::format("could not determine a constructor for the tag {} of {}",
                                  internal::Quote(tag), internal::Quote(text)));
    }
    if (!v.ok()) return Error(n, v.status().message());
    *out = std::move(*v);
    return Status::Ok();
  }

  Status Seq(const YAML::Node& n, const std::string& path, int depth, json* out) {
    *out = json::array();
    const Position here = PositionOf(n, {});
    std::size_t i = 0;
    for (const YAML::Node& item : n) {
      json v;
      if (Status s = Convert(item, ChildPath(path, i++), here, depth, &v); !s.ok()) return s;
      out->push_back(std::move(v));
    }
    return Status::Ok();
  }

  using Pairs = std::vector<std::pair<YAML::Node, YAML::Node>>;

  static bool IsMergeKey(const YAML::Node& key) {
    return key.IsScalar() && key.Tag() == "?" && key.Scalar() == "<<";
  }

  // PyYAML's flatten_mapping: the pairs of the "<<" mappings first, in
  // order, a key merged once (the first mapping that has it wins), then the
  // mapping's own pairs; Map lets a later pair replace an earlier one's
  // value in its first position, as a Python dict does.
  Status Flatten(const YAML::Node& n, int depth, Pairs* out) const {
    if (depth > max_depth_)
      return Error(n, fmt::format("merges nested deeper than {}", max_depth_));
    Pairs merged;
    Pairs own;
    std::vector<std::string> seen;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!IsMergeKey(key)) {
        own.emplace_back(key, value);
        continue;
      }
      std::vector<YAML::Node> sources;
      if (Status s = CollectMerges(value, &sources); !s.ok()) return s;
      for (const YAML::Node& m : sources) {
        Pairs sub;
        if (Status s = Flatten(m, depth + 1, &sub); !s.ok()) return s;
        for (auto& pair : sub) {
          const std::string text = pair.first.IsScalar() ? pair.first.Scalar() : "";
          if (std::find(seen.begin(), seen.end(), text) != seen.end()) continue;
          seen.push_back(text);
          merged.push_back(std::move(pair));
        }
      }
    }
    *out = std::move(merged);
    out->insert(out->end(), own.begin(), own.end());
    return Status::Ok();
  }

  Status Map(const YAML::Node& n, const std::string& path, int depth, json* out) {
    *out = json::object();
    Pairs pairs;
    if (Status s = Flatten(n, depth, &pairs); !s.ok()) return s;
    for (const auto& [key, value] : pairs) {
      if (Status s = Entry(key, value, path, depth, out); !s.ok()) return s;
    }
    return Status::Ok();
  }

  Status CollectMerges(const YAML::Node& v, std::vector<YAML::Node>* merges) const {
    if (v.IsMap()) {
      merges->push_back(v);
      return Status::Ok();
    }
    if (v.IsSequence()) {
      for (const YAML::Node& m : v) {
        if (!m.IsMap()) return Error(m, "expected a mapping for merging");
        merges->push_back(m);
      }
      return Status::Ok();
    }
    return Error(v, "expected a mapping or list of mappings for merging");
  }

  Status Entry(const YAML::Node& key, const YAML::Node& value, const std::string& path, int depth,
               json* out) {
    if (!key.IsScalar() && !key.IsNull()) return Error(key, "found an unhashable key");
    json k;
    if (key.IsScalar()) {
      if (Status s = Scalar(key, &k); !s.ok()) return s;
    }
    const std::string name = KeyText(k);
    json v;
    const std::string child = ChildPath(path, name);
    if (Status s = Convert(value, child, PositionOf(key, {}), depth, &v); !s.ok()) return s;
    (*out)[name] = std::move(v);
    return Status::Ok();
  }

  std::string_view source_;
  int max_depth_;
  std::size_t budget_;
  std::map<std::string, Position>* positions_;
  std::size_t count_ = 0;
};

}  // namespace

Result<json> ResolvePlainScalar(const std::string& text) {
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return json(nullptr);
  }
  if (std::optional<bool> b = Yaml11Bool(text)) return json(*b);
  if (IsYamlFloat(text)) return ConstructFloat(text);
  if (IsYamlInt(text)) return ConstructInt(text);
  return json(text);
}

Status ParseYamlValue(std::string_view text, std::string_view source, int max_depth, json* value,
                      std::map<std::string, Position>* positions) {
  YAML::Node root;
  if (Status s = internal::LoadOneDocument(text, source, &root); !s.ok()) return s;
  Converter converter(source, max_depth, std::max(kMinValueBudget, text.size()), positions);
  try {
    return converter.Convert(root, "", Position{1, 1}, 0, value);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(
        fmt::format("{}: invalid YAML: {}", internal::Where(source, e.mark), e.msg));
  }
}

}  // namespace faultline::experiment
