// The JSONPath parser: a lexer and a recursive-descent parser for the
// language of jsonpath2's ANTLR grammar (JSONPath.g4), which it follows
// rule by rule:
//
//   jsonpath      : '$' subscript* EOF
//   subscript     : '..' (bareword | brackets) | '.' bareword | brackets
//   bareword      : ID arguments? | '*'
//   brackets      : '[' subscriptable (',' subscriptable)* ']'
//   subscriptable : STRING | INT slice? | slice | '*' | '?' '(' expr ')'
//                 | ('$' | '@') subscript* | ID arguments
//   slice         : ':' INT? (':' INT?)?
//   arguments     : '(' (operand (',' operand)*)? ')'
//   expr          : or ('and' expr)?      -- "and" binds looser than "or",
//   or            : not ('or' or)?        -- as in jsonpath2
//   not           : 'not' not | '(' expr ')' | operand (CMP operand)?
//   operand       : ('$' | '@') subscript* | value (JSON, strings kept raw)
//
// Its lexer is ANTLR's: longest match, keywords (and, or, not, true, false,
// null) win over names of the same length, only double-quoted strings,
// whitespace between any two tokens.
#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "experiment/jsonpath_ast.h"

namespace faultline::experiment::jsonpath_ast {
namespace {

constexpr int kMaxNesting = 64;
// Indices beyond this are clamped: they select nothing either way, and the
// slice arithmetic stays inside int64_t.
constexpr int64_t kIndexLimit = int64_t{1} << 62;

enum class Tok {
  kAt,
  kDotDot,
  kDollar,
  kDot,
  kStar,
  kAnd,
  kEq,
  kGe,
  kGt,
  kLe,
  kLt,
  kNe,
  kNot,
  kOr,
  kTrue,
  kFalse,
  kNull,
  kLBrace,
  kRBrace,
  kLBracket,
  kRBracket,
  kColon,
  kComma,
  kLParen,
  kRParen,
  kQuestion,
  kId,
  kString,
  kNumber,
  kEnd,
};  // clang-format: keep the grammar's order

struct Token {
  Tok kind = Tok::kEnd;
  std::string_view text;
  size_t offset = 0;  // bytes into the expression
};

bool IsIdStart(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdChar(char c) { return IsIdStart(c) || IsDigit(c); }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

Tok KeywordOr(std::string_view word) {
  static constexpr std::pair<std::string_view, Tok> kKeywords[] = {
      {"and", Tok::kAnd},   {"or", Tok::kOr},       {"not", Tok::kNot},
      {"true", Tok::kTrue}, {"false", Tok::kFalse}, {"null", Tok::kNull}};
  for (const auto& [text, kind] : kKeywords) {
    if (word == text) return kind;
  }
  return Tok::kId;
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  // The tokens, ending with kEnd; or the offset of a character no token
  // starts with (error_at_), with a description.
  bool Run(std::vector<Token>* tokens) {
    while (true) {
      while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
      if (pos_ == text_.size()) {
        tokens->push_back({Tok::kEnd, {}, pos_});
        return true;
      }
      size_t start = pos_;
      Tok kind;
      if (!Next(&kind)) return false;
      tokens->push_back({kind, text_.substr(start, pos_ - start), start});
    }
  }

  size_t error_at() const { return error_at_; }
  const std::string& error() const { return error_; }

 private:
  static bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

  bool Fail(size_t at, std::string message) {
    error_at_ = at;
    error_ = std::move(message);
    return false;
  }

  bool Punctuation(Tok* kind) {
    static constexpr std::pair<std::string_view, Tok> kPunct[] = {
        {"..", Tok::kDotDot}, {">=", Tok::kGe},      {"<=", Tok::kLe},      {"!=", Tok::kNe},
        {"@", Tok::kAt},      {"$", Tok::kDollar},   {".", Tok::kDot},      {"*", Tok::kStar},
        {"=", Tok::kEq},      {">", Tok::kGt},       {"<", Tok::kLt},       {"{", Tok::kLBrace},
        {"}", Tok::kRBrace},  {"[", Tok::kLBracket}, {"]", Tok::kRBracket}, {":", Tok::kColon},
        {",", Tok::kComma},   {"(", Tok::kLParen},   {")", Tok::kRParen},   {"?", Tok::kQuestion}};
    for (const auto& [text, k] : kPunct) {
      if (text_.substr(pos_, text.size()) == text) {
        pos_ += text.size();
        *kind = k;
        return true;
      }
    }
    return false;
  }

  bool Next(Tok* kind) {
    char c = text_[pos_];
    if (IsIdStart(c)) {
      size_t start = pos_;
      while (pos_ < text_.size() && IsIdChar(text_[pos_])) ++pos_;
      *kind = KeywordOr(text_.substr(start, pos_ - start));
      return true;
    }
    if (c == '"') {
      *kind = Tok::kString;
      return String();
    }
    if (IsDigit(c) || (c == '-' && pos_ + 1 < text_.size() && IsDigit(text_[pos_ + 1]))) {
      *kind = Tok::kNumber;
      Number();
      return true;
    }
    if (Punctuation(kind)) return true;
    return Fail(pos_, fmt::format("unexpected character '{}'", c));
  }

  bool String() {
    size_t start = pos_++;
    while (pos_ < text_.size()) {
      auto c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return Fail(pos_, "a control character in a string");
      if (c == '\\' && !Escape()) return false;
      if (c != '\\') ++pos_;
    }
    return Fail(start, "a string with no closing '\"'");
  }

  bool Escape() {
    size_t at = pos_++;
    if (pos_ < text_.size() &&
        std::string_view("\"\\/bfnrt").find(text_[pos_]) != std::string_view::npos) {
      ++pos_;
      return true;
    }
    if (pos_ < text_.size() && text_[pos_] == 'u') {
      for (int i = 1; i <= 4; ++i) {
        if (pos_ + i >= text_.size() || !IsHex(text_[pos_ + i])) {
          return Fail(at, "an invalid \\u escape in a string");
        }
      }
      pos_ += 5;
      return true;
    }
    return Fail(at,
                "an invalid escape in a string (expected one of \\\" \\\\ \\/ \\b \\f "
                "\\n \\r \\t \\uXXXX)");
  }

  // '-'? INT ('.' [0-9]+)? ([Ee] [+-]? INT)?, INT = '0' | [1-9][0-9]*: the
  // optional parts are taken only when complete, as ANTLR's lexer backs off
  // to its last accepting state.
  void Number() {
    if (text_[pos_] == '-') ++pos_;
    pos_ = IntEnd(pos_);
    if (pos_ + 1 < text_.size() && text_[pos_] == '.' && IsDigit(text_[pos_ + 1])) {
      pos_ += 2;
      while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      size_t p = pos_ + 1;
      if (p < text_.size() && (text_[p] == '+' || text_[p] == '-')) ++p;
      if (p < text_.size() && IsDigit(text_[p])) pos_ = IntEnd(p);
    }
  }

  size_t IntEnd(size_t p) const {
    if (text_[p] == '0') return p + 1;
    while (p < text_.size() && IsDigit(text_[p])) ++p;
    return p;
  }

  std::string_view text_;
  size_t pos_ = 0;
  size_t error_at_ = 0;
  std::string error_;
};

// The 1-based column (in characters) of a byte offset.
size_t ColumnOf(std::string_view text, size_t offset) {
  size_t column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++column;
  }
  return column;
}

bool FunctionNamed(std::string_view name, Function* function) {
  static constexpr std::pair<std::string_view, Function> kFunctions[] = {
      {"charAt", Function::kCharAt},       {"entries", Function::kEntries},
      {"keys", Function::kKeys},           {"length", Function::kLength},
      {"substring", Function::kSubstring}, {"values", Function::kValues}};
  for (const auto& [text, f] : kFunctions) {
    if (name == text) {
      *function = f;
      return true;
    }
  }
  return false;
}

// A STRING token's text between the quotes: jsonpath2 does not decode
// escapes, so ["a\"b"] names the key a\"b, backslash included.
std::string_view RawString(std::string_view token) { return token.substr(1, token.size() - 2); }

json NumberValue(std::string_view text) {
  std::string s(text);
  if (text.find_first_of(".eE") != std::string_view::npos) return std::strtod(s.c_str(), nullptr);
  int64_t i = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
  if (ec == std::errc()) return i;
  uint64_t u = 0;
  auto [pu, ecu] = std::from_chars(text.data(), text.data() + text.size(), u);
  if (ecu == std::errc()) return u;
  // Python keeps such an integer exact; here it becomes the nearest double.
  return std::strtod(s.c_str(), nullptr);
}

class Parser {
 public:
  Parser(std::string_view expression, std::vector<Token> tokens)
      : expression_(expression), tokens_(std::move(tokens)) {}

  Result<std::unique_ptr<Path>> Run() {
    auto path = std::make_unique<Path>();
    if (Peek().kind != Tok::kDollar) {
      Fail("'$' at the start");
      return error_;
    }
    ++pos_;
    if (!Steps(&path->steps)) return error_;
    if (Peek().kind != Tok::kEnd) {
      Fail("'.', '..', '[' or the end of the expression");
      return error_;
    }
    return path;
  }

 private:
  // Counts nesting on the way down, so that the recursion stays bounded.
  class Nest {
   public:
    explicit Nest(Parser* p) : p_(p) { ++p_->depth_; }
    ~Nest() { --p_->depth_; }
    Nest(const Nest&) = delete;
    Nest& operator=(const Nest&) = delete;
    bool ok() const { return p_->depth_ <= kMaxNesting || p_->Fail(kTooDeep); }

   private:
    Parser* p_;
  };
  static constexpr std::string_view kTooDeep = "at most 64 nested paths, filters or values";

  const Token& Peek() const { return tokens_[pos_]; }
  const Token& Take() { return tokens_[pos_++]; }
  bool Accept(Tok kind) {
    if (Peek().kind != kind) return false;
    ++pos_;
    return true;
  }
  bool Expect(Tok kind, std::string_view what) { return Accept(kind) || Fail(what); }

  bool Fail(std::string_view expected) {
    if (!error_.ok()) return false;
    const Token& t = Peek();
    std::string got =
        t.kind == Tok::kEnd ? "the end of the expression" : fmt::format("'{}'", t.text);
    error_ = Status::InvalidArgument(
        fmt::format("invalid JSONPath '{}': column {}: expected {}, got {}", expression_,
                    ColumnOf(expression_, t.offset), expected, got));
    return false;
  }

  bool Steps(std::vector<Step>* steps) {
    Nest nest(this);
    if (!nest.ok()) return false;
    while (true) {
      Step step;
      if (Accept(Tok::kDotDot)) {
        step.descent = true;
        bool ok = Peek().kind == Tok::kLBracket ? Brackets(&step.subscripts)
                                                : Bareword(&step.subscripts, "'..'");
        if (!ok) return false;
      } else if (Accept(Tok::kDot)) {
        if (!Bareword(&step.subscripts, "'.'")) return false;
      } else if (Peek().kind == Tok::kLBracket) {
        if (!Brackets(&step.subscripts)) return false;
      } else {
        return true;
      }
      steps->push_back(std::move(step));
    }
  }

  bool Bareword(std::vector<Subscript>* subscripts, std::string_view after) {
    Subscript& s = subscripts->emplace_back();
    if (Accept(Tok::kStar)) {
      s.kind = Subscript::Kind::kWildcard;
      return true;
    }
    if (Peek().kind != Tok::kId) {
      return Fail(after == "'..'" ? "a name, '*' or '[' after '..'" : "a name or '*' after '.'");
    }
    const Token& name = Take();
    if (Peek().kind == Tok::kLParen) return Call(name, &s);
    s.kind = Subscript::Kind::kKey;
    s.key = std::string(name.text);
    return true;
  }

  bool Brackets(std::vector<Subscript>* subscripts) {
    Take();  // '['
    while (true) {
      if (!Subscriptable(&subscripts->emplace_back())) return false;
      if (Accept(Tok::kRBracket)) return true;
      if (!Expect(Tok::kComma, "',' or ']'")) return false;
    }
  }

  bool Subscriptable(Subscript* s) {
    switch (Peek().kind) {
      case Tok::kString:
        s->kind = Subscript::Kind::kKey;
        s->key = std::string(RawString(Take().text));
        return true;
      case Tok::kNumber:
        s->kind = Subscript::Kind::kIndex;
        if (!Integer(&s->index)) return false;
        if (Peek().kind != Tok::kColon) return true;
        s->start = s->index;
        return Slice(s);
      case Tok::kColon:
        return Slice(s);
      case Tok::kStar:
        Take();
        s->kind = Subscript::Kind::kWildcard;
        return true;
      case Tok::kQuestion:
        return Filter(s);
      case Tok::kDollar:
      case Tok::kAt:
        s->kind = Subscript::Kind::kNode;
        s->node = std::make_unique<Path>();
        return PathOperand(s->node.get());
      case Tok::kId: {
        const Token& name = Take();
        if (Peek().kind != Tok::kLParen) return Fail("'(' after a function name");
        return Call(name, s);
      }
      default:
        return Fail(
            "a subscript: a \"name\", an index, a slice, '*', '?(...)', a '$' or '@' path or "
            "a function call");
    }
  }

  // A NUMBER where jsonpath2 wants int(text) to succeed.
  bool Integer(int64_t* out) {
    const Token& t = Peek();
    if (t.text.find_first_of(".eE") != std::string_view::npos) return Fail("an integer");
    Take();
    std::string_view digits = t.text;
    bool negative = !digits.empty() && digits[0] == '-';
    if (negative) digits.remove_prefix(1);
    uint64_t value = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc() || value > static_cast<uint64_t>(kIndexLimit)) value = kIndexLimit;
    *out = negative ? -static_cast<int64_t>(value) : static_cast<int64_t>(value);
    return true;
  }

  bool Slice(Subscript* s) {
    s->kind = Subscript::Kind::kSlice;
    Take();  // ':'
    int64_t n = 0;
    if (Peek().kind == Tok::kNumber) {
      if (!Integer(&n)) return false;
      s->end = n;
    }
    if (!Accept(Tok::kColon)) return true;
    if (Peek().kind == Tok::kNumber) {
      if (!Integer(&n)) return false;
      s->step = n;
    }
    return true;
  }

  bool Filter(Subscript* s) {
    Take();  // '?'
    if (!Expect(Tok::kLParen, "'(' after '?'")) return false;
    s->kind = Subscript::Kind::kFilter;
    s->filter = std::make_unique<Expr>();
    return Expression(s->filter.get()) && Expect(Tok::kRParen, "')' to close the filter");
  }

  bool Call(const Token& name, Subscript* s) {
    s->kind = Subscript::Kind::kCall;
    if (!FunctionNamed(name.text, &s->function)) {
      --pos_;
      return Fail("a known function (charAt, entries, keys, length, substring, values) before '('");
    }
    Take();  // '('
    if (Accept(Tok::kRParen)) return true;
    while (true) {
      if (!Operand_(&s->args.emplace_back())) return false;
      if (Accept(Tok::kRParen)) return true;
      if (!Expect(Tok::kComma, "',' or ')' in the arguments")) return false;
    }
  }

  bool PathOperand(Path* path) {
    path->from_root = Take().kind == Tok::kDollar;
    return Steps(&path->steps);
  }

  bool Operand_(Operand* operand) {
    if (Peek().kind == Tok::kDollar || Peek().kind == Tok::kAt) {
      operand->path = std::make_unique<Path>();
      return PathOperand(operand->path.get());
    }
    return Value(&operand->value);
  }

  bool Value(json* out);
  bool Object(json* out);
  bool Array(json* out);
  bool Expression(Expr* out);
  bool Disjunction(Expr* out);
  bool Negation(Expr* out);
  bool Comparison(Expr* out);

  std::string_view expression_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
  Status error_;
};

bool Parser::Value(json* out) {
  Nest nest(this);
  if (!nest.ok()) return false;
  switch (Peek().kind) {
    case Tok::kString:
      *out = std::string(RawString(Take().text));
      return true;
    case Tok::kNumber:
      *out = NumberValue(Take().text);
      return true;
    case Tok::kLBrace:
      return Object(out);
    case Tok::kLBracket:
      return Array(out);
    case Tok::kTrue:
    case Tok::kFalse:
      *out = Take().kind == Tok::kTrue;
      return true;
    case Tok::kNull:
      Take();
      *out = nullptr;
      return true;
    default:
      return Fail(
          "a '$' or '@' path or a value (a \"string\", a number, {...}, [...], true, "
          "false or null)");
  }
}

bool Parser::Object(json* out) {
  Take();  // '{'
  *out = json::object();
  if (Accept(Tok::kRBrace)) return true;
  while (true) {
    if (Peek().kind != Tok::kString) return Fail("a \"key\" in the object");
    std::string key(RawString(Take().text));
    if (!Expect(Tok::kColon, "':' after the key")) return false;
    json value;
    if (!Value(&value)) return false;
    (*out)[key] = std::move(value);
    if (Accept(Tok::kRBrace)) return true;
    if (!Expect(Tok::kComma, "',' or '}' in the object")) return false;
  }
}

bool Parser::Array(json* out) {
  Take();  // '['
  *out = json::array();
  if (Accept(Tok::kRBracket)) return true;
  while (true) {
    json value;
    if (!Value(&value)) return false;
    out->push_back(std::move(value));
    if (Accept(Tok::kRBracket)) return true;
    if (!Expect(Tok::kComma, "',' or ']' in the array")) return false;
  }
}

// Both levels are right-recursive in the grammar; the children are
// flattened into one list, as jsonpath2's listener does.
bool Parser::Expression(Expr* out) {
  Nest nest(this);
  if (!nest.ok()) return false;
  Expr first;
  if (!Disjunction(&first)) return false;
  if (!Accept(Tok::kAnd)) {
    *out = std::move(first);
    return true;
  }
  Expr rest;
  if (!Expression(&rest)) return false;
  out->kind = Expr::Kind::kAnd;
  out->children.push_back(std::move(first));
  if (rest.kind == Expr::Kind::kAnd) {
    for (Expr& e : rest.children) out->children.push_back(std::move(e));
  } else {
    out->children.push_back(std::move(rest));
  }
  return true;
}

bool Parser::Disjunction(Expr* out) {
  Expr first;
  if (!Negation(&first)) return false;
  if (!Accept(Tok::kOr)) {
    *out = std::move(first);
    return true;
  }
  Expr rest;
  {
    Nest nest(this);
    if (!nest.ok() || !Disjunction(&rest)) return false;
  }
  out->kind = Expr::Kind::kOr;
  out->children.push_back(std::move(first));
  if (rest.kind == Expr::Kind::kOr) {
    for (Expr& e : rest.children) out->children.push_back(std::move(e));
  } else {
    out->children.push_back(std::move(rest));
  }
  return true;
}

bool Parser::Negation(Expr* out) {
  Nest nest(this);
  if (!nest.ok()) return false;
  if (Accept(Tok::kNot)) {
    out->kind = Expr::Kind::kNot;
    return Negation(&out->children.emplace_back());
  }
  if (Accept(Tok::kLParen)) {
    return Expression(out) && Expect(Tok::kRParen, "')' to close the parenthesis");
  }
  return Comparison(out);
}

bool Parser::Comparison(Expr* out) {
  static constexpr std::pair<Tok, CompareOp> kOps[] = {
      {Tok::kEq, CompareOp::kEq}, {Tok::kNe, CompareOp::kNe}, {Tok::kLt, CompareOp::kLt},
      {Tok::kLe, CompareOp::kLe}, {Tok::kGt, CompareOp::kGt}, {Tok::kGe, CompareOp::kGe}};
  if (!Operand_(&out->left)) return false;
  out->kind = Expr::Kind::kSome;
  for (const auto& [tok, op] : kOps) {
    if (Accept(tok)) {
      out->kind = Expr::Kind::kCompare;
      out->op = op;
      return Operand_(&out->right);
    }
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<Path>> ParsePath(std::string_view expression) {
  std::vector<Token> tokens;
  Lexer lexer(expression);
  if (!lexer.Run(&tokens)) {
    return Status::InvalidArgument(fmt::format("invalid JSONPath '{}': column {}: {}", expression,
                                               ColumnOf(expression, lexer.error_at()),
                                               lexer.error()));
  }
  return Parser(expression, std::move(tokens)).Run();
}

}  // namespace faultline::experiment::jsonpath_ast
