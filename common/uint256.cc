#include "plumbline/uint256.h"

#include <algorithm>

namespace plumbline {
namespace {

using u128 = unsigned __int128;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool UInt256::MulAddSmall(uint32_t factor, uint32_t add) {
  u128 carry = add;
  for (uint64_t& limb : limbs_) {
    const u128 v = static_cast<u128>(limb) * factor + carry;
    limb = static_cast<uint64_t>(v);
    carry = v >> 64;
  }
  return carry == 0;
}

uint32_t UInt256::DivSmall(uint32_t divisor) {
  u128 rem = 0;
  for (int i = 3; i >= 0; --i) {
    const u128 cur = (rem << 64) | limbs_[static_cast<size_t>(i)];
    limbs_[static_cast<size_t>(i)] = static_cast<uint64_t>(cur / divisor);
    rem = cur % divisor;
  }
  return static_cast<uint32_t>(rem);
}

Result<UInt256> UInt256::ParseHex(std::string_view text) {
  const std::string quoted = "\"" + std::string(text.substr(0, 80)) + "\"";
  if (text.size() < 3 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
    return Status::InvalidArgument("uint256 " + quoted + ": expected 0x followed by hex digits");
  }
  std::string_view digits = text.substr(2);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return HexValue(c) >= 0; })) {
    return Status::InvalidArgument("uint256 " + quoted + ": not a hex number");
  }
  const size_t first = digits.find_first_not_of('0');
  digits = first == std::string_view::npos ? std::string_view() : digits.substr(first);
  if (digits.size() > 64) return Status::OutOfRange("uint256 " + quoted + ": exceeds 256 bits");
  UInt256 r;
  for (size_t i = 0; i < digits.size(); ++i) {
    const size_t bit = 4 * (digits.size() - 1 - i);
    r.limbs_[bit / 64] |= static_cast<uint64_t>(HexValue(digits[i])) << (bit % 64);
  }
  return r;
}

Result<UInt256> UInt256::ParseDecimal(std::string_view text) {
  const std::string quoted = "\"" + std::string(text.substr(0, 90)) + "\"";
  if (text.empty() || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Status::InvalidArgument("uint256 " + quoted + ": expected decimal digits only");
  }
  UInt256 r;
  for (char c : text) {
    if (!r.MulAddSmall(10, static_cast<uint32_t>(c - '0'))) {
      return Status::OutOfRange("uint256 " + quoted + ": exceeds 2^256 - 1");
    }
  }
  return r;
}

std::string UInt256::ToString() const {
  if (is_zero()) return "0";
  UInt256 v = *this;
  std::string out;
  while (!v.is_zero()) out.push_back(static_cast<char>('0' + v.DivSmall(10)));
  std::reverse(out.begin(), out.end());
  return out;
}

std::string UInt256::ToHex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (int bit = 252; bit >= 0; bit -= 4) {
    const int nibble = static_cast<int>((limbs_[static_cast<size_t>(bit / 64)] >> (bit % 64)) & 0xf);
    if (out.empty() && nibble == 0) continue;
    out.push_back(kDigits[nibble]);
  }
  return "0x" + (out.empty() ? std::string("0") : out);
}

Result<UInt256> UInt256::Add(const UInt256& a, const UInt256& b) {
  UInt256 r;
  u128 carry = 0;
  for (size_t i = 0; i < 4; ++i) {
    const u128 v = static_cast<u128>(a.limbs_[i]) + b.limbs_[i] + carry;
    r.limbs_[i] = static_cast<uint64_t>(v);
    carry = v >> 64;
  }
  if (carry != 0) return Status::OutOfRange("uint256 overflow: " + a.ToString() + " + " + b.ToString());
  return r;
}

Result<UInt256> UInt256::Sub(const UInt256& a, const UInt256& b) {
  if (a < b) {
    return Status::OutOfRange("uint256 underflow: " + a.ToString() + " - " + b.ToString() + " is negative");
  }
  UInt256 r;
  uint64_t borrow = 0;
  for (size_t i = 0; i < 4; ++i) {
    const uint64_t x = a.limbs_[i], y = b.limbs_[i];
    const uint64_t d = x - y - borrow;
    borrow = (x < y || (x == y && borrow)) ? 1 : 0;
    r.limbs_[i] = d;
  }
  return r;
}

std::strong_ordering operator<=>(const UInt256& a, const UInt256& b) {
  for (int i = 3; i >= 0; --i) {
    const auto c = a.limbs_[static_cast<size_t>(i)] <=> b.limbs_[static_cast<size_t>(i)];
    if (c != 0) return c;
  }
  return std::strong_ordering::equal;
}

}  // namespace plumbline
