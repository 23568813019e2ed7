#include "core/yaml_read.h"

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <sstream>

#include "core/text.h"

namespace faultline::internal {

namespace {

// Sees where each YAML document starts, for CheckOneDocument.
class DocumentStarts final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { starts_.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
  const std::vector<YAML::Mark>& starts() const { return starts_; }

 private:
  std::vector<YAML::Mark> starts_;
};

// Checks that `text` holds at most one YAML document. yaml-cpp 0.7's
// LoadAll never returns on some inputs (a stray ',' at the top level gives
// the same empty document forever), so walk the documents ourselves, stop
// at the second, and call a document that starts where the previous one
// did a syntax error.
Status CheckOneDocument(const std::string& text, std::string_view source) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentStarts starts;
  while (starts.starts().size() < 2 && parser.HandleNextDocument(starts)) {
  }
  const std::vector<YAML::Mark>& s = starts.starts();
  if (s.size() < 2) return Status::Ok();
  if (s[1].pos == s[0].pos) {
    std::string found = s[1].pos >= 0 && static_cast<std::size_t>(s[1].pos) < text.size()
                            ? Quote(std::string_view(text).substr(s[1].pos, 1))
                            : "the end of the input";
    return Status::InvalidArgument(
        fmt::format("{}: invalid YAML: unexpected {}", Where(source, s[1]), found));
  }
  return Status::InvalidArgument(
      fmt::format("{}: expected one YAML document, got a second one", Where(source, s[1])));
}

}  // namespace

YamlKind KindOf(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return YamlKind::kMapping;
    case YAML::NodeType::Sequence:
      return YamlKind::kList;
    case YAML::NodeType::Scalar:
      break;
    default:
      return YamlKind::kNull;
  }
  // Quoted scalars ("!") and explicit !!str are strings; plain ones ("?")
  // resolve as YAML 1.2's core schema says.
  const std::string& tag = n.Tag();
  if (tag == "!" || tag == "tag:yaml.org,2002:str") return YamlKind::kString;
  const std::string& s = n.Scalar();
  if (BoolText(s)) return YamlKind::kBool;
  if (IsDecimal(s) || IsOtherYamlNumber(s)) return YamlKind::kNumber;
  return YamlKind::kString;
}

std::string Describe(const YAML::Node& n) {
  switch (KindOf(n)) {
    case YamlKind::kNull:
      return "null";
    case YamlKind::kMapping:
      return n.size() == 0 ? "an empty mapping" : "a mapping";
    case YamlKind::kList:
      return n.size() == 0 ? "an empty list" : "a list";
    case YamlKind::kString:
      return Quote(n.Scalar());
    case YamlKind::kBool:
    case YamlKind::kNumber:
      break;
  }
  return n.Scalar();
}

std::string Where(std::string_view source, const YAML::Mark& m) {
  if (m.is_null() || m.line < 0) return std::string(source);
  return fmt::format("{}:{}:{}", source, m.line + 1, m.column + 1);
}

YAML::Mark MarkOr(const YAML::Node& n, const YAML::Mark& fallback) {
  return n.IsNull() || n.Mark().is_null() ? fallback : n.Mark();
}

Status LoadOneDocument(std::string_view text, std::string_view source, YAML::Node* root) {
  const std::string copy(text);
  try {
    if (Status s = CheckOneDocument(copy, source); !s.ok()) return s;
    *root = YAML::Load(copy);
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's own message here is "bad file".
    return Status::InvalidArgument(fmt::format("{}: invalid YAML: nested too deeply ({} levels)",
                                               Where(source, e.mark), e.depth()));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(
        fmt::format("{}: invalid YAML: {}", Where(source, e.mark), e.msg));
  }
  return Status::Ok();
}

std::optional<Field> Mapping::Get(std::string_view key) const {
  for (const auto& [k, f] : entries_) {
    if (k == key) return f;
  }
  return std::nullopt;
}

Status YamlReader::Error(const YAML::Mark& mark, std::string_view message) const {
  return Status::InvalidArgument(fmt::format("{}: {}", Where(source_, mark), message));
}

Status YamlReader::Expected(const Field& f, std::string_view expected) const {
  return Error(f.mark, fmt::format("{}: expected {}, got {}", f.path, expected, Describe(f.node)));
}

Status YamlReader::ReadMapping(const Field& f, std::span<const std::string_view> known,
                               std::string_view expected, Mapping* out) const {
  if (!f.node.IsMap()) return Expected(f, expected);
  out->set_mark(f.mark);
  for (auto it = f.node.begin(); it != f.node.end(); ++it) {
    YAML::Node key = it->first;
    YAML::Node value = it->second;
    YamlKind kind = KindOf(key);
    if (kind == YamlKind::kNull || kind == YamlKind::kMapping || kind == YamlKind::kList) {
      return Error(key.Mark(), fmt::format("{}: expected a key ({}), got {}", f.path,
                                           JoinKeys(known), Describe(key)));
    }
    const std::string& name = key.Scalar();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string_view guess = Suggest(name, known);
      std::string hint = guess.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", guess);
      return Error(key.Mark(), fmt::format("{}: unknown key {}{}; known keys: {}", f.path,
                                           Quote(name), hint, JoinKeys(known)));
    }
    if (std::optional<Field> first = out->Get(name)) {
      return Error(key.Mark(), fmt::format("{}: duplicate key {} (first given at line {})", f.path,
                                           Quote(name), first->mark.line + 1));
    }
    std::string path = f.path == kTopLevel ? name : fmt::format("{}.{}", f.path, name);
    // An empty value has no useful mark of its own: point at its key.
    out->Add(name, Field{value, MarkOr(value, key.Mark()), std::move(path)});
  }
  return Status::Ok();
}

Status YamlReader::ReadString(const Field& f, std::string* out) const {
  if (KindOf(f.node) != YamlKind::kString) return Expected(f, "a string");
  *out = f.node.Scalar();
  return Status::Ok();
}

Status YamlReader::ReadNonEmptyString(const Field& f, std::string* out) const {
  if (KindOf(f.node) != YamlKind::kString || f.node.Scalar().empty()) {
    return Expected(f, "a non-empty string");
  }
  *out = f.node.Scalar();
  return Status::Ok();
}

Status YamlReader::ReadScalarText(const Field& f, std::string* out) const {
  YamlKind kind = KindOf(f.node);
  if (kind != YamlKind::kString && kind != YamlKind::kNumber && kind != YamlKind::kBool) {
    return Expected(f, "a string, number or bool");
  }
  *out = f.node.Scalar();
  return Status::Ok();
}

}  // namespace faultline::internal
