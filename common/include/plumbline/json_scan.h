// A strict forward scanner over the common, well-formed subset of a JSON document, for fast
// readers that handle the usual shape themselves and hand anything else to a full JSON parser
// (which then judges it and writes the error). Every method returns false ("decline") as soon as
// the input leaves the subset; a declined scan says nothing about whether the JSON is valid.
//
// The subset: strings of ASCII 0x20..`string_limit`-1 without escapes, non-negative integers
// without sign, leading zero, fraction or exponent, and JSON whitespace between tokens unless
// the scanner was built without it (for canonical RFC 8785 input, which has none).
//
// Borrows the bytes, which must outlive the scanner and every string_view it hands out. Not
// thread-safe; header-only so that hot loops inline it.
#pragma once

#include <charconv>
#include <cstdint>
#include <string_view>
#include <system_error>

namespace plumbline {

class JsonScan {
 public:
  explicit JsonScan(std::string_view s, bool whitespace = true, unsigned char string_limit = 0x80)
      : p_(s.data()), end_(s.data() + s.size()), ws_(whitespace), string_limit_(string_limit) {}

  void Ws() {
    if (!ws_) return;
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool Eat(char c) {
    Ws();
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }
  // Exactly `literal` (e.g. a key with its quotes and colon, "\"price\":"), nothing inside it.
  bool Lit(std::string_view literal) {
    if (!Peek(literal)) return false;
    p_ += literal.size();
    return true;
  }
  // Whether `literal` comes next (after whitespace), without consuming it.
  bool Peek(std::string_view literal) {
    Ws();
    return static_cast<size_t>(end_ - p_) >= literal.size() && std::string_view(p_, literal.size()) == literal;
  }
  // A string without escapes; *out views its bytes inside the document.
  bool Str(std::string_view* out) {
    if (!Eat('"')) return false;
    const char* begin = p_;
    while (p_ < end_ && *p_ != '"') {
      const auto c = static_cast<unsigned char>(*p_);
      if (c < 0x20 || c >= string_limit_ || c == '\\') return false;
      ++p_;
    }
    if (p_ == end_) return false;
    *out = std::string_view(begin, static_cast<size_t>(p_ - begin));
    ++p_;
    return true;
  }
  // A positive integer that fits uint64, written canonically.
  bool Positive(uint64_t* out) {
    Ws();
    const char* begin = p_;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    if (p_ == begin || *begin == '0' || (p_ < end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E'))) return false;
    auto [ptr, ec] = std::from_chars(begin, p_, *out);
    return ec == std::errc() && ptr == p_;
  }
  // {"key": value, ...}: member(key) reads the value (and judges unknown or repeated keys).
  template <typename Member>
  bool Object(Member member) {
    if (!Eat('{')) return false;
    if (Eat('}')) return true;
    do {
      std::string_view key;
      if (!Str(&key) || !Eat(':') || !member(key)) return false;
    } while (Eat(','));
    return Eat('}');
  }
  // [element, ...]: element() reads one.
  template <typename Element>
  bool Array(Element element) {
    if (!Eat('[')) return false;
    if (Eat(']')) return true;
    do {
      if (!element()) return false;
    } while (Eat(','));
    return Eat(']');
  }
  bool AtEnd() {
    Ws();
    return p_ == end_;
  }

 private:
  const char* p_;
  const char* end_;
  bool ws_;
  unsigned char string_limit_;
};

}  // namespace plumbline
