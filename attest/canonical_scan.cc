#include "canonical_scan.h"

#include <array>

namespace plumbline::attest::scan {
namespace {

constexpr int kMaxDepth = 64;
constexpr uint64_t kMaxSafeInteger = uint64_t{1} << 53;

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  bool Document(TopLevel* top) {
    if (!Object(0, top)) return false;
    return i_ == s_.size();
  }

 private:
  bool Peek(char c) const { return i_ < s_.size() && s_[i_] == c; }
  bool Eat(char c) {
    if (!Peek(c)) return false;
    ++i_;
    return true;
  }

  // A string in canonical form: only '"', '\\' and control characters escaped, each in its one
  // canonical spelling. *raw is the text between the quotes; *escaped says whether it has escapes.
  bool String(std::string_view* raw, bool* escaped) {
    if (!Eat('"')) return false;
    const size_t start = i_;
    *escaped = false;
    while (i_ < s_.size()) {
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        *raw = s_.substr(start, i_ - start);
        ++i_;
        return true;
      }
      if (c < 0x20) return false;
      if (c >= 0x80) {
        uint32_t cp;
        if (!DecodeUtf8(s_, &i_, &cp)) return false;
        continue;
      }
      if (c != '\\') {
        ++i_;
        continue;
      }
      *escaped = true;
      if (i_ + 1 >= s_.size()) return false;
      const char e = s_[i_ + 1];
      if (e == '"' || e == '\\' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
        i_ += 2;
        continue;
      }
      // \u00XX (lowercase hex) for the other control characters only.
      if (e != 'u' || i_ + 6 > s_.size() || s_.substr(i_ + 2, 2) != "00") return false;
      auto hex = [](char h) -> int {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'a' && h <= 'f') return h - 'a' + 10;
        return -1;
      };
      const int hi = hex(s_[i_ + 4]), lo = hex(s_[i_ + 5]);
      if (hi < 0 || lo < 0) return false;
      const int v = hi * 16 + lo;
      if (v >= 0x20 || v == 0x08 || v == 0x09 || v == 0x0A || v == 0x0C || v == 0x0D) return false;
      i_ += 6;
    }
    return false;
  }

  // An integer in canonical form ("0", or an optional '-' and digits without a leading zero),
  // magnitude <= 2^53. Fractions and exponents are outside the subset.
  bool Integer(int64_t* out) {
    const bool negative = Eat('-');
    if (i_ >= s_.size() || s_[i_] < '0' || s_[i_] > '9') return false;
    if (s_[i_] == '0') {
      ++i_;
      if (negative) return false;  // "-0" prints as "0"
      *out = 0;
    } else {
      uint64_t v = 0;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
        v = v * 10 + static_cast<uint64_t>(s_[i_] - '0');
        if (v > kMaxSafeInteger) return false;
        ++i_;
      }
      *out = negative ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
    }
    return !(Peek('.') || Peek('e') || Peek('E') || (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9'));
  }

  bool Literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }

  bool Value(int depth) {
    if (i_ >= s_.size()) return false;
    std::string_view raw;
    bool escaped;
    int64_t integer;
    switch (s_[i_]) {
      case '{': return Object(depth + 1, nullptr);
      case '[': return Array(depth + 1);
      case '"': return String(&raw, &escaped);
      case 't': return Literal("true");
      case 'f': return Literal("false");
      case 'n': return Literal("null");
      default: return Integer(&integer);
    }
  }

  bool Array(int depth) {
    if (depth > kMaxDepth || !Eat('[')) return false;
    if (Eat(']')) return true;
    do {
      if (!Value(depth)) return false;
    } while (Eat(','));
    return Eat(']');
  }

  // Keys: printable ASCII without escapes, strictly increasing (for ASCII, byte order is the
  // UTF-16 order RFC 8785 sorts by; strictly increasing also rules out duplicates).
  bool Object(int depth, TopLevel* top) {
    if (depth > kMaxDepth || !Eat('{')) return false;
    if (Eat('}')) return true;
    std::string_view previous;
    bool first = true;
    do {
      std::string_view key;
      bool escaped;
      if (!String(&key, &escaped) || escaped) return false;
      for (char c : key) {
        if (static_cast<unsigned char>(c) >= 0x80) return false;
      }
      if (!first && !(previous < key)) return false;
      first = false;
      previous = key;
      if (!Eat(':')) return false;
      if (top != nullptr && Peek('"')) {
        std::string_view value;
        if (!String(&value, &escaped)) return false;
        if (!escaped) top->strings[key] = value;
      } else if (top != nullptr && i_ < s_.size() && (s_[i_] == '-' || (s_[i_] >= '0' && s_[i_] <= '9'))) {
        int64_t v;
        if (!Integer(&v)) return false;
        top->integers[key] = v;
      } else if (!Value(depth)) {
        return false;
      }
    } while (Eat(','));
    return Eat('}');
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

bool DecodeUtf8(std::string_view s, size_t* pos, uint32_t* cp_out) {
  const auto b0 = static_cast<unsigned char>(s[*pos]);
  size_t len;
  uint32_t cp;
  if (b0 < 0x80) {
    len = 1;
    cp = b0;
  } else if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1Fu;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0Fu;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07u;
  } else {
    return false;
  }
  if (*pos + len > s.size()) return false;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[*pos + k]);
    if ((b & 0xC0u) != 0x80u) return false;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return false;
  }
  *pos += len;
  *cp_out = cp;
  return true;
}

// Strict standard base64 (padded, zero unused bits: one encoding per value), table driven.
// Base64Decode (libsodium's constant-time decoder) gives the same answers but costs more than
// the signature check on the audit's hot path; nothing decoded here is secret.
std::optional<std::string> FastBase64Decode(std::string_view in) {
  static const auto kTable = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
    return t;
  }();
  if (in.size() % 4 != 0) return std::nullopt;
  size_t pad = 0;
  if (!in.empty() && in.back() == '=') pad = in.size() >= 2 && in[in.size() - 2] == '=' ? 2 : 1;
  std::string out;
  out.resize(in.size() / 4 * 3);
  size_t o = 0;
  for (size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    int v[4];
    for (int k = 0; k < 4; ++k) {
      const bool padding = last && k >= 4 - static_cast<int>(pad);
      v[k] = padding ? 0 : kTable[static_cast<unsigned char>(in[i + k])];
      if (v[k] < 0) return std::nullopt;
    }
    const uint32_t n = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | uint32_t(v[3]);
    out[o++] = static_cast<char>(n >> 16);
    out[o++] = static_cast<char>(n >> 8);
    out[o++] = static_cast<char>(n);
    if (last && ((pad == 1 && (n & 0xFF)) || (pad == 2 && (n & 0xFFFF)))) return std::nullopt;  // unused bits
  }
  out.resize(o - pad);
  return out;
}

Verdict ScanCanonicalObject(std::string_view text, TopLevel* top) {
  TopLevel local;
  Scanner scanner(text);
  if (!scanner.Document(&local)) return Verdict::kUnknown;
  *top = std::move(local);
  return Verdict::kCanonical;
}

}  // namespace plumbline::attest::scan
