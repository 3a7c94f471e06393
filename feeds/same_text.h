// SameText / TextKey: string equality for the short names a round compares thousands of times
// (sources, symbols), inlined with word loads instead of a memcmp call. Private to feeds/.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace plumbline::feeds {
namespace same_text_detail {
template <typename Word>
inline Word Load(const char* s) {
  Word v;
  std::memcpy(&v, s, sizeof v);
  return v;
}
}  // namespace same_text_detail

inline bool SameText(std::string_view a, std::string_view b) {
  using same_text_detail::Load;
  const size_t n = a.size();
  if (n != b.size()) return false;
  const char* p = a.data();
  const char* q = b.data();
  if (n >= 8) {
    if (n > 16) return std::memcmp(p, q, n) == 0;
    // Two (possibly overlapping) 8-byte words cover 8..16 bytes.
    return Load<uint64_t>(p) == Load<uint64_t>(q) && Load<uint64_t>(p + n - 8) == Load<uint64_t>(q + n - 8);
  }
  if (n >= 4) return Load<uint32_t>(p) == Load<uint32_t>(q) && Load<uint32_t>(p + n - 4) == Load<uint32_t>(q + n - 4);
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != q[i]) return false;
  }
  return true;
}

// One side of SameText prepared once: its size and words kept in the key, so a match loads only
// the other side. `text` must outlive the key.
class TextKey {
 public:
  TextKey() = default;
  explicit TextKey(std::string_view text) : text_(text) {
    using same_text_detail::Load;
    const size_t n = text.size();
    if (n >= 8 && n <= 16) {
      head_ = Load<uint64_t>(text.data());
      tail_ = Load<uint64_t>(text.data() + n - 8);
    } else if (n >= 4 && n < 8) {
      head_ = Load<uint32_t>(text.data());
      tail_ = Load<uint32_t>(text.data() + n - 4);
    }
  }
  bool Matches(std::string_view other) const {
    using same_text_detail::Load;
    const size_t n = text_.size();
    if (other.size() != n) return false;
    const char* q = other.data();
    if (n >= 8 && n <= 16) return Load<uint64_t>(q) == head_ && Load<uint64_t>(q + n - 8) == tail_;
    if (n >= 4 && n < 8) return Load<uint32_t>(q) == head_ && Load<uint32_t>(q + n - 4) == tail_;
    return SameText(text_, other);
  }

 private:
  std::string_view text_;
  uint64_t head_ = 0;
  uint64_t tail_ = 0;
};

}  // namespace plumbline::feeds
