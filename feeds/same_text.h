// SameText: string equality for the short names a round compares thousands of times (sources,
// symbols), inlined with word loads instead of a memcmp call. Private to feeds/.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace plumbline::feeds {

inline bool SameText(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  const char* p = a.data();
  const char* q = b.data();
  auto word = [](const char* s, auto zero) {
    decltype(zero) v;
    std::memcpy(&v, s, sizeof v);
    return v;
  };
  if (n >= 8) {
    if (n > 16) return std::memcmp(p, q, n) == 0;
    // Two (possibly overlapping) 8-byte words cover 8..16 bytes.
    return word(p, uint64_t{}) == word(q, uint64_t{}) && word(p + n - 8, uint64_t{}) == word(q + n - 8, uint64_t{});
  }
  if (n >= 4) {
    return word(p, uint32_t{}) == word(q, uint32_t{}) && word(p + n - 4, uint32_t{}) == word(q + n - 4, uint32_t{});
  }
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != q[i]) return false;
  }
  return true;
}

}  // namespace plumbline::feeds
