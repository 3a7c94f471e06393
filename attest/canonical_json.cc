// RFC 8785 serialization is written here because nlohmann's dump() sorts keys by UTF-8 bytes,
// escapes differently and prints numbers in C++ rather than ECMAScript form.
#include "plumbline/attest/canonical_json.h"

#include "canonical_scan.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace plumbline::attest {
namespace {

// Decodes UTF-8 into UTF-16 code units; false on any malformed, overlong, surrogate or
// out-of-range sequence. nlohmann does not check strings built in code, so we must.
bool Utf8ToUtf16(std::string_view s, std::u16string* out) {
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp = 0;
    if (!scan::DecodeUtf8(s, &i, &cp)) return false;
    if (out != nullptr) {
      if (cp >= 0x10000) {
        cp -= 0x10000;
        out->push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
        out->push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FFu)));
      } else {
        out->push_back(static_cast<char16_t>(cp));
      }
    }
  }
  return true;
}

Status AppendString(std::string_view s, std::string* out) {
  if (!Utf8ToUtf16(s, nullptr)) return Status::InvalidArgument("string is not valid UTF-8");
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (u < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[u >> 4]);
          out->push_back(kHex[u & 0xF]);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
  return Status::Ok();
}

// ECMA-262 Number::toString (7.1.12.1) from the shortest round-trip digits.
Status AppendNumber(double d, std::string* out) {  // allowed: RFC 8785 numbers are IEEE doubles
  if (!std::isfinite(d)) return Status::InvalidArgument("number is not finite (NaN or Infinity)");
  if (d == 0) {  // also -0, which ECMAScript prints as "0"
    out->push_back('0');
    return Status::Ok();
  }
  if (d < 0) {
    out->push_back('-');
    d = -d;
  }
  char buf[64];
  // Scientific form with no precision gives the shortest digits that round-trip.
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  if (ec != std::errc()) return Status::Internal("to_chars failed on a finite number");
  std::string_view sci(buf, static_cast<size_t>(end - buf));
  const size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') digits.push_back(c);
  }
  int exp10 = 0;
  std::string_view exp_text = sci.substr(e_pos + 1);
  if (!exp_text.empty() && exp_text.front() == '+') exp_text.remove_prefix(1);
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exp10);

  const int k = static_cast<int>(digits.size());
  const int n = exp10 + 1;  // position of the decimal point relative to the digits
  if (k <= n && n <= 21) {
    out->append(digits);
    out->append(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out->append(digits, 0, static_cast<size_t>(n));
    out->push_back('.');
    out->append(digits, static_cast<size_t>(n));
  } else if (-6 < n && n <= 0) {
    out->append("0.");
    out->append(static_cast<size_t>(-n), '0');
    out->append(digits);
  } else {
    out->push_back(digits[0]);
    if (k > 1) {
      out->push_back('.');
      out->append(digits, 1);
    }
    out->push_back('e');
    out->push_back(n - 1 >= 0 ? '+' : '-');
    out->append(std::to_string(std::abs(n - 1)));
  }
  return Status::Ok();
}

Status Append(const nlohmann::json& v, std::string* out) {
  using T = nlohmann::json::value_t;
  switch (v.type()) {
    case T::null: out->append("null"); return Status::Ok();
    case T::boolean: out->append(v.get<bool>() ? "true" : "false"); return Status::Ok();
    // RFC 8785 3.2.2.3: integers are numbers too and print through their IEEE value (allowed: RFC 8785 rule).
    case T::number_integer:
      return AppendNumber(static_cast<double>(v.get<int64_t>()), out);  // allowed: RFC 8785
    case T::number_unsigned:
      return AppendNumber(static_cast<double>(v.get<uint64_t>()), out);  // allowed: RFC 8785
    case T::number_float:
      return AppendNumber(v.get<double>(), out);  // allowed: RFC 8785 numbers are doubles
    case T::string: return AppendString(v.get_ref<const std::string&>(), out);
    case T::array: {
      out->push_back('[');
      bool first = true;
      for (const auto& item : v) {
        if (!first) out->push_back(',');
        first = false;
        PLUMBLINE_RETURN_IF_ERROR(Append(item, out));
      }
      out->push_back(']');
      return Status::Ok();
    }
    case T::object: {
      std::vector<std::pair<std::u16string, const nlohmann::json::object_t::value_type*>> members;
      for (const auto& member : v.get_ref<const nlohmann::json::object_t&>()) {
        std::u16string key16;
        if (!Utf8ToUtf16(member.first, &key16)) {
          return Status::InvalidArgument("object key is not valid UTF-8");
        }
        members.emplace_back(std::move(key16), &member);
      }
      std::sort(members.begin(), members.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      out->push_back('{');
      bool first = true;
      for (const auto& [key16, member] : members) {
        if (!first) out->push_back(',');
        first = false;
        PLUMBLINE_RETURN_IF_ERROR(AppendString(member->first, out));
        out->push_back(':');
        PLUMBLINE_RETURN_IF_ERROR(Append(member->second, out));
      }
      out->push_back('}');
      return Status::Ok();
    }
    case T::binary:
    case T::discarded:
      break;
  }
  return Status::InvalidArgument("value has no JSON representation (binary or discarded)");
}

}  // namespace

Result<nlohmann::json> ParseStrictJson(std::string_view text) {
  // nlohmann keeps the last of duplicate keys silently; a per-object key set stack catches them.
  std::vector<std::set<std::string>> keys;
  std::string duplicate;
  auto callback = [&](int /*depth*/, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    if (event == E::object_start) {
      keys.emplace_back();
    } else if (event == E::object_end) {
      if (!keys.empty()) keys.pop_back();
    } else if (event == E::key && !keys.empty() && duplicate.empty()) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!keys.back().insert(key).second) duplicate = key;
    }
    return true;
  };
  try {
    nlohmann::json value = nlohmann::json::parse(text.begin(), text.end(), callback,
                                                 /*allow_exceptions=*/true,
                                                 /*ignore_comments=*/false);
    if (!duplicate.empty()) {
      return Status::InvalidArgument("JSON object repeats the key \"" + duplicate + "\"");
    }
    return value;
  } catch (const nlohmann::json::parse_error& e) {
    // e.what() carries the byte offset and the reason (invalid UTF-8, trailing bytes, ...).
    return Status::InvalidArgument(std::string("invalid JSON: ") + e.what());
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("invalid JSON: ") + e.what());
  }
}

Result<std::string> Canonicalize(const nlohmann::json& value) {
  std::string out;
  try {
    PLUMBLINE_RETURN_IF_ERROR(Append(value, &out));
  } catch (const std::exception& e) {
    return Status::Internal(std::string("canonicalize: ") + e.what());
  }
  return out;
}

Result<std::string> CanonicalizeText(std::string_view json_text) {
  auto parsed = ParseStrictJson(json_text);
  if (!parsed.ok()) return parsed.status();
  return Canonicalize(*parsed);
}

bool IsCanonical(std::string_view text) {
  auto canonical = CanonicalizeText(text);
  return canonical.ok() && *canonical == text;
}

}  // namespace plumbline::attest
