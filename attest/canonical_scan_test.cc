// The auditor's fast canonical-JSON check must never accept what the full RFC 8785 path rejects.
#include "canonical_scan.h"

#include <gtest/gtest.h>

#include <random>

#include "plumbline/attest/canonical_json.h"
#include "plumbline/attest/keys.h"

namespace plumbline::attest::scan {
namespace {

const char* const kDocs[] = {
    R"({"a":1,"b":"x","c":[true,false,null,{"d":-5}],"e":{}})",
    R"({"key_id":"ab","marks":[{"price":"1.5","sources":[]}],"origin":"o/p","sequence":42,"time":"17"})",
    R"({"s":"tab\there \"q\" \\ \u001f é 😀","z":[]})",
    R"({"m":-9007199254740992,"n":9007199254740992,"o":0})",
    R"({"":0,"A":1,"a":2})",
};

TEST(CanonicalScanTest, AcceptsCanonicalDocumentsAndExtractsTopLevelScalars) {
  for (const char* doc : kDocs) {
    TopLevel top;
    EXPECT_EQ(ScanCanonicalObject(doc, &top), Verdict::kCanonical) << doc;
    EXPECT_TRUE(IsCanonical(doc)) << doc;
  }
  TopLevel top;
  ASSERT_EQ(ScanCanonicalObject(kDocs[1], &top), Verdict::kCanonical);
  EXPECT_EQ(top.strings.at("origin"), "o/p");
  EXPECT_EQ(top.strings.at("time"), "17");
  EXPECT_EQ(top.integers.at("sequence"), 42);
  EXPECT_EQ(top.strings.count("marks"), 0u);
}

TEST(CanonicalScanTest, RefusesNonCanonicalForms) {
  for (const char* doc : {
           R"({"b":1,"a":2})",             // order
           R"({"a":1,"a":2})",             // duplicate
           R"({"a": 1})",                  // whitespace
           R"({"a":1.0})",                 // not the shortest number form
           R"({"a":-0})",                  // -0
           R"({"a":01})",                  // leading zero
           R"({"a":"\/"})",                // needless escape
           R"({"a":"\u0041"})",            // needless \u
           R"({"a":"\u000A"})",            // upper-case hex / has a short form
           R"({"a":"\n"})" "x",            // trailing bytes
           R"({"a":9007199254740993})",    // beyond 2^53: outside the subset
           R"({"é":1})",                   // non-ASCII key: outside the subset
           R"([1])",                       // not an object
           "{\"a\":\"\x01\"}",             // raw control character
           "{\"a\":\"\xc3\x28\"}",         // invalid UTF-8
           "{\"a\":\"\xed\xa0\x80\"}",     // surrogate
       }) {
    TopLevel top;
    EXPECT_EQ(ScanCanonicalObject(doc, &top), Verdict::kUnknown) << doc;
  }
}

// Random single-byte edits, insertions and deletions of canonical documents: whatever the scanner
// accepts, the full canonicalizer must accept too.
TEST(CanonicalScanTest, NeverAcceptsWhatTheFullPathRejects) {
  std::mt19937 rng(8785);
  const std::string alphabet = "{}[]:,\"\\ -.0123456789abeflnrstuxAE\x01\x7f\xc3\xa9";
  size_t accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string doc = kDocs[rng() % std::size(kDocs)];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !doc.empty(); ++e) {
      const size_t at = rng() % doc.size();
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0: doc[at] = c; break;
        case 1: doc.insert(doc.begin() + static_cast<std::ptrdiff_t>(at), c); break;
        default: doc.erase(at, 1); break;
      }
    }
    TopLevel top;
    if (ScanCanonicalObject(doc, &top) == Verdict::kCanonical) {
      ++accepted;
      ASSERT_TRUE(IsCanonical(doc)) << "scanner accepted a non-canonical document: " << doc;
    }
  }
  EXPECT_GT(accepted, 100u);  // the edits do produce canonical documents too
}

TEST(FastBase64Test, AgreesWithTheStrictDecoder) {
  std::mt19937 rng(4648);
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n";
  for (int round = 0; round < 20000; ++round) {
    std::string bytes(rng() % 20, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    std::string text = Base64Encode(bytes);
    if (round % 2 == 1 && !text.empty()) text[rng() % text.size()] = alphabet[rng() % alphabet.size()];
    if (round % 7 == 3) text.push_back(alphabet[rng() % alphabet.size()]);
    auto strict = Base64Decode(text);
    auto fast = FastBase64Decode(text);
    ASSERT_EQ(strict.ok(), fast.has_value()) << "\"" << text << "\"";
    if (fast) {
      ASSERT_EQ(*strict, *fast) << text;
    }
  }
}

}  // namespace
}  // namespace plumbline::attest::scan
