// Document: an experiment file (.json, .yaml, .yml) loaded into a json
// value, with the line and column of every value, so that each problem
// found later can be named "experiment.yaml:14:7: method[2].provider.path".
//
//   file ──► ReadDocument ──► text ──► ParseDocument ──► Document
//                                      JSON: nlohmann (values) + a scan for positions
//                                      YAML: yaml-cpp, scalars resolved as PyYAML's
//                                            safe_load does (YAML 1.1: yes/no/on/off
//                                            are booleans, 0x1f an int, ~ null)
//
// Paths: "" is the document; "title"; "method[0]"; "method[0].provider.arguments.x".
// A key that is not a plain identifier is still written after a dot
// ("configuration.my key"), as chaostoolkit users read them.
//
// Thread-safety: a Document is immutable once loaded; free functions keep
// no state.
#ifndef FAULTLINE_EXPERIMENT_DOCUMENT_H_
#define FAULTLINE_EXPERIMENT_DOCUMENT_H_

#include <map>
#include <string>
#include <string_view>

#include "experiment/json.h"
#include "faultline/status.h"

namespace faultline::experiment {

enum class Format { kJson, kYaml };

// 1-based line and column; 0 when unknown.
struct Position {
  int line = 0;
  int column = 0;
};

struct Document {
  std::string source;  // the file name as the user gave it, for messages
  Format format = Format::kJson;
  json value;                                 // the experiment as loaded
  std::map<std::string, Position> positions;  // by path; "" the document

  // The position of `path`, or of its nearest ancestor that has one.
  Position Find(std::string_view path) const;
  // "source:line:col" of Find(path), or "source" when unknown.
  std::string Where(std::string_view path) const;
};

// The format a file name says: .json, or .yaml/.yml; InvalidArgument naming
// the file otherwise.
Result<Format> FormatOf(std::string_view file_name);

// Parses `text` as `format`. Syntax errors are InvalidArgument
// "source:line:col: ..."; the document must be a mapping ("source: expected
// a mapping at the top level, got a list"). Bounded: more than
// kMaxDocumentBytes or nesting deeper than 64 is refused.
Result<Document> ParseDocument(std::string_view text, std::string_view source, Format format);

inline constexpr std::size_t kMaxDocumentBytes = 16u << 20;

// Reads and parses the file `path` (format from its name). NotFound or
// IoError naming the file when it cannot be read.
Result<Document> ReadDocument(const std::string& path);

// "a.b[2].c" from a parent path and a key or an index.
std::string ChildPath(std::string_view parent, std::string_view key);
std::string ChildPath(std::string_view parent, std::size_t index);

}  // namespace faultline::experiment

#endif  // FAULTLINE_EXPERIMENT_DOCUMENT_H_
