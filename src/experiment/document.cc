// Loading experiment files: JSON through nlohmann plus a position scan of
// the same text, YAML through yaml-cpp with PyYAML's safe_load resolution.
#include "experiment/document.h"

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <utility>

#include "core/text.h"
#include "experiment/document_yaml.h"

namespace faultline::experiment {
namespace {

constexpr int kMaxDepth = 64;

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Records where every value of a JSON text starts. The text has already
// been accepted by nlohmann, except for the depth bound checked here, so
// the scan trusts its syntax.
class JsonScanner {
 public:
  JsonScanner(std::string_view text, std::map<std::string, Position>* out)
      : text_(text), out_(out) {}

  // False when the nesting is deeper than kMaxDepth (`where` says where).
  bool Scan(Position* where) {
    SkipSpace();
    if (!Value("", 0)) {
      *where = pos_;
      return false;
    }
    return true;
  }

 private:
  char Peek() const { return i_ < text_.size() ? text_[i_] : '\0'; }
  void Advance() {
    const char c = text_[i_++];
    if (c == '\n') {
      ++pos_.line;
      pos_.column = 1;
    } else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      ++pos_.column;  // columns count characters, not UTF-8 bytes
    }
  }
  void SkipSpace() {
    while (i_ < text_.size() &&
           (Peek() == ' ' || Peek() == '\t' || Peek() == '\n' || Peek() == '\r')) {
      Advance();
    }
  }
  // The string at the cursor, decoded when `decode` (keys, for paths).
  std::string String(bool decode) {
    std::string raw;
    Advance();  // '"'
    while (i_ < text_.size() && Peek() != '"') {
      raw += Peek();
      if (Peek() == '\\') {
        Advance();
        raw += Peek();
      }
      Advance();
    }
    Advance();
    if (!decode || raw.find('\\') == std::string::npos) return raw;
    json decoded = json::parse("\"" + raw + "\"", nullptr, false);
    return decoded.is_string() ? decoded.get<std::string>() : raw;
  }
  bool Value(const std::string& path, int depth) {
    (*out_)[path] = pos_;
    const char c = Peek();
    if (c == '{' || c == '[') {
      if (depth >= kMaxDepth) return false;
      return c == '{' ? Object(path, depth + 1) : Array(path, depth + 1);
    }
    if (c == '"') {
      String(false);
      return true;
    }
    while (i_ < text_.size() && std::string_view(",]} \t\r\n").find(Peek()) == std::string::npos) {
      Advance();
    }
    return true;
  }
  bool Object(const std::string& path, int depth) {
    Advance();
    SkipSpace();
    while (i_ < text_.size() && Peek() != '}') {
      const std::string key = String(true);
      SkipSpace();
      Advance();  // ':'
      SkipSpace();
      if (!Value(ChildPath(path, key), depth)) return false;
      SkipSpace();
      if (Peek() == ',') Advance();
      SkipSpace();
    }
    Advance();
    return true;
  }
  bool Array(const std::string& path, int depth) {
    Advance();
    SkipSpace();
    for (std::size_t n = 0; i_ < text_.size() && Peek() != ']'; ++n) {
      if (!Value(ChildPath(path, n), depth)) return false;
      SkipSpace();
      if (Peek() == ',') Advance();
      SkipSpace();
    }
    Advance();
    return true;
  }

  std::string_view text_;
  std::size_t i_ = 0;
  Position pos_{1, 1};
  std::map<std::string, Position>* out_;
};

// 1-based line and column of byte `offset` in `text`.
Position PositionOf(std::string_view text, std::size_t offset) {
  Position p{1, 1};
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++p.line;
      p.column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++p.column;
    }
  }
  return p;
}

std::string At(std::string_view source, Position p) {
  return p.line > 0 ? fmt::format("{}:{}:{}", source, p.line, p.column) : std::string(source);
}

Status ParseJson(std::string_view text, Document* doc) {
  try {
    doc->value = json::parse(text);
  } catch (const json::parse_error& e) {
    // nlohmann's byte is one past the offending character.
    const std::size_t byte = e.byte > 0 ? e.byte - 1 : 0;
    std::string what = e.what();
    if (auto colon = what.find("syntax error "); colon != std::string::npos) {
      what = what.substr(colon);
    }
    return Status::InvalidArgument(
        fmt::format("{}: invalid JSON: {}", At(doc->source, PositionOf(text, byte)), what));
  }
  JsonScanner scanner(text, &doc->positions);
  if (Position where; !scanner.Scan(&where)) {
    return Status::InvalidArgument(
        fmt::format("{}: nested deeper than {} levels", At(doc->source, where), kMaxDepth));
  }
  return Status::Ok();
}

std::string KindOfValue(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::array:
      return "a list";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a bool";
    default:
      return v.is_number() ? "a number" : "a mapping";
  }
}

}  // namespace

Position Document::Find(std::string_view path) const {
  std::string p(path);
  while (true) {
    if (auto it = positions.find(p); it != positions.end()) return it->second;
    if (p.empty()) return {};
    const std::size_t cut = p.find_last_of(".[");
    p = cut == std::string::npos ? "" : p.substr(0, cut);
  }
}

std::string Document::Where(std::string_view path) const { return At(source, Find(path)); }

Result<Format> FormatOf(std::string_view file_name) {
  if (EndsWith(file_name, ".json")) return Format::kJson;
  if (EndsWith(file_name, ".yaml") || EndsWith(file_name, ".yml")) return Format::kYaml;
  return Status::InvalidArgument(
      fmt::format("{}: only files with json, yaml or yml extensions are supported", file_name));
}

Result<Document> ParseDocument(std::string_view text, std::string_view source, Format format) {
  Document doc;
  doc.source = std::string(source);
  doc.format = format;
  if (text.size() > kMaxDocumentBytes) {
    return Status::InvalidArgument(fmt::format("{}: {} bytes is over the limit of {} bytes", source,
                                               text.size(), kMaxDocumentBytes));
  }
  Status s = format == Format::kJson
                 ? ParseJson(text, &doc)
                 : ParseYamlValue(text, source, kMaxDepth, &doc.value, &doc.positions);
  if (!s.ok()) return s;
  if (!doc.value.is_object()) {
    return Status::InvalidArgument(fmt::format("{}: expected a mapping at the top level, got {}",
                                               source, KindOfValue(doc.value)));
  }
  return doc;
}

Result<Document> ReadDocument(const std::string& path) {
  Result<Format> format = FormatOf(path);
  if (!format.ok()) return format.status();
  Result<std::string> text = internal::ReadWholeFile(path);
  if (!text.ok()) return text.status();
  return ParseDocument(*text, path, *format);
}

std::string ChildPath(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  std::string out(parent);
  out += '.';
  out += key;
  return out;
}

std::string ChildPath(std::string_view parent, std::size_t index) {
  return fmt::format("{}[{}]", parent, index);
}

}  // namespace faultline::experiment
