// UInt256: an exact unsigned 256-bit integer for on-chain token amounts (ERC-20 balances and
// supplies are uint256; SPL token amounts are u64 and fit too).
//
// Written here rather than taken from a library: Debian 12 ships no maintained C++ fixed-width
// 256-bit integer outside Boost.Multiprecision (libboost-dev, not otherwise a dependency), and the
// job is small: parse the JSON-RPC hex word, print decimal, add/subtract with overflow checks and
// compare. Nothing here rounds or wraps silently: every operation that could overflow or underflow
// returns a Result.
//
// Text forms: ParseHex accepts "0x" followed by 1..64 hex digits (either case), the shape of an
// eth_call result word; ParseDecimal accepts 1..78 decimal digits without sign, spaces or leading
// '+' (leading zeros allowed). ToString() prints canonical decimal (no leading zeros; "0").
//
// Thread safety: an immutable value type.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "plumbline/status.h"

namespace plumbline {

class UInt256 {
 public:
  UInt256() = default;
  static UInt256 FromU64(uint64_t v) {
    UInt256 r;
    r.limbs_[0] = v;
    return r;
  }

  // InvalidArgument (naming the text) on bad syntax; OutOfRange beyond 2^256 - 1.
  static Result<UInt256> ParseHex(std::string_view text);
  static Result<UInt256> ParseDecimal(std::string_view text);

  std::string ToString() const;     // canonical decimal
  std::string ToHex() const;        // "0x" + lowercase hex without leading zeros ("0x0")
  bool is_zero() const { return limbs_[0] == 0 && limbs_[1] == 0 && limbs_[2] == 0 && limbs_[3] == 0; }
  bool FitsU64() const { return limbs_[1] == 0 && limbs_[2] == 0 && limbs_[3] == 0; }
  uint64_t low64() const { return limbs_[0]; }

  // OutOfRange on overflow.
  static Result<UInt256> Add(const UInt256& a, const UInt256& b);
  // OutOfRange ("underflow") when b > a.
  static Result<UInt256> Sub(const UInt256& a, const UInt256& b);

  friend std::strong_ordering operator<=>(const UInt256& a, const UInt256& b);
  friend bool operator==(const UInt256& a, const UInt256& b) = default;

 private:
  // Multiplies by a small factor and adds `add`; false on overflow.
  bool MulAddSmall(uint32_t factor, uint32_t add);
  // Divides in place by a small divisor; returns the remainder.
  uint32_t DivSmall(uint32_t divisor);

  std::array<uint64_t, 4> limbs_{};  // little-endian 64-bit limbs
};

}  // namespace plumbline
