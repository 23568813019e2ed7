// Reading yaml-cpp node trees with exact error messages, shared by the
// readers of rule files (src/core/rules.cc) and functions.yaml
// (src/lambda/config.cc).
//
//   text ──► LoadOneDocument (one-document check, then YAML::Load)
//        ──► a YamlReader subclass: KindOf / Describe / ReadMapping ...
//        ──► Status "source:line:col: field.path: expected X, got Y"
//
// Every value keeps its yaml-cpp mark, so each error names its line and
// column. yaml-cpp's exceptions from loading stop in LoadOneDocument.
//
// Internal to faultline: not part of the public API under include/.
//
// Thread-safety: the free functions keep no shared state; a YamlReader is
// immutable after construction. yaml-cpp nodes are not safe to read from
// two threads at once, so a tree belongs to one thread.
#ifndef FAULTLINE_CORE_YAML_READ_H_
#define FAULTLINE_CORE_YAML_READ_H_

#include <yaml-cpp/yaml.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "faultline/status.h"

namespace faultline::internal {

// The path of the document itself in messages ("top level: expected ...");
// the keys of a mapping with this path are named without a prefix.
inline constexpr std::string_view kTopLevel = "top level";

// What a node is, as YAML 1.2's core schema resolves plain scalars; quoted
// scalars and explicit !!str are strings.
enum class YamlKind { kNull, kBool, kNumber, kString, kMapping, kList };

// The kind of `n`.
YamlKind KindOf(const YAML::Node& n);

// What `n` is, for "got ...": null, (an empty) mapping, (an empty) list, a
// Quote()d string, or a bool's or number's text as written.
std::string Describe(const YAML::Node& n);

// "source:line:col" (1-based) for a mark, or just `source` when the mark is
// null.
std::string Where(std::string_view source, const YAML::Mark& m);

// The mark of `n`, or `fallback` when `n` has none (an empty value).
YAML::Mark MarkOr(const YAML::Node& n, const YAML::Mark& fallback);

// Parses `text` (one YAML document at most) into *root. Returns
// InvalidArgument naming `source`, line and column for a syntax error, a
// second document, or nesting too deep for yaml-cpp's depth guard.
// yaml-cpp 0.7's LoadAll never returns on some inputs, so the documents are
// walked one by one and reading stops at the second.
Status LoadOneDocument(std::string_view text, std::string_view source, YAML::Node* root);

// One value in the document: the node, where it is and its field path.
struct Field {
  YAML::Node node;
  YAML::Mark mark;
  std::string path;
};

// The entries of a mapping whose keys were checked: strings, known, unique.
class Mapping {
 public:
  // The field for `key`, or nullopt if the mapping has none.
  std::optional<Field> Get(std::string_view key) const;
  bool Has(std::string_view key) const { return Get(key).has_value(); }
  void Add(std::string key, Field f) { entries_.emplace_back(std::move(key), std::move(f)); }
  const YAML::Mark& mark() const { return mark_; }
  void set_mark(const YAML::Mark& m) { mark_ = m; }

 private:
  std::vector<std::pair<std::string, Field>> entries_;
  YAML::Mark mark_;
};

// The reading common to both readers; each subclass adds its own fields.
// Every Read* returns Ok or InvalidArgument "source:line:col: path: ...".
class YamlReader {
 public:
  // `source` names the input in messages; REQUIRES: it outlives the reader.
  explicit YamlReader(std::string_view source) : source_(source) {}

 protected:
  // `message` at `mark` of the source.
  Status Error(const YAML::Mark& mark, std::string_view message) const;
  // "path: expected <expected>, got <Describe(f.node)>" at f's mark.
  Status Expected(const Field& f, std::string_view expected) const;

  // Reads the mapping `f` into *out, refusing keys that are not strings,
  // not in `known` (with "did you mean") or given twice. `expected`
  // describes the mapping when `f` is something else.
  Status ReadMapping(const Field& f, std::span<const std::string_view> known,
                     std::string_view expected, Mapping* out) const;
  // A string (a quoted or non-numeric, non-bool scalar).
  Status ReadString(const Field& f, std::string* out) const;
  Status ReadNonEmptyString(const Field& f, std::string* out) const;
  // Any scalar but null, as written.
  Status ReadScalarText(const Field& f, std::string* out) const;

  std::string_view source() const { return source_; }

 private:
  std::string_view source_;
};

}  // namespace faultline::internal

#endif  // FAULTLINE_CORE_YAML_READ_H_
