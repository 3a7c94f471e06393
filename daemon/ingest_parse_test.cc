// The fast envelope and payload readers (ingest_parse.h) against the DOM path: on everything they
// accept they must answer exactly what the DOM path answers, and they must decline what only the
// DOM path can judge (so its error details stay the same).
#include "daemon/ingest_parse.h"

#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "plumbline/attest/canonical_json.h"
#include "plumbline/attest/dsse.h"
#include "plumbline/attest/keys.h"

namespace plumbline::daemon::ingest_parse {
namespace {

std::string Describe(const Result<ParsedBatch>& r) {
  if (!r.ok()) return "error: " + r.status().ToString();
  std::string out = r->publisher + " #" + std::to_string(r->sequence);
  for (const Observation& o : r->observations) {
    out += " | " + o.symbol + " " + o.price.ToString() + " " + (o.bid ? o.bid->ToString() : "-") + " " +
           (o.ask ? o.ask->ToString() : "-") + " @" + std::to_string(o.observed_unix_nanos);
  }
  return out;
}

// What the daemon's DOM path answers for payload bytes: "malformed" when they are not strict or not
// canonical JSON (ingest.cc rejects those before the fields are looked at), else ParsePayload.
std::string DomAnswer(const std::string& payload) {
  auto doc = attest::ParseStrictJson(payload);
  if (!doc.ok() || !attest::IsCanonical(payload)) return "malformed";
  return Describe(ParsePayload(*doc));
}

// Generated payload values: mostly good, some subtly bad in every field.
class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}
  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  template <size_t N>
  const char* OneOf(const std::array<const char*, N>& options) { return options[Pick(N)]; }
  std::string Decimal() {
    static constexpr std::array<const char*, 16> kOdd = {"0", "0.00", "-1.5", "6.7e4", "", "01.5", "1.", ".5", "+3",
                                                         "1,5", " 1", "12345678901234567890123456789012345678901.5",
                                                         "0.000000000000000000000000001", "NaN", "1e", "--1"};
    if (Pick(6) == 0) return kOdd[Pick(kOdd.size())];
    return std::to_string(1 + Pick(99999)) + (Pick(2) ? "." + std::to_string(Pick(1000)) : "");
  }
  std::string Time() {
    static constexpr std::array<const char*, 8> kOdd = {"0", "-5", "0123", "abc", "", "99999999999999999999", "1.5", "1e18"};
    if (Pick(8) == 0) return kOdd[Pick(kOdd.size())];
    return std::to_string(1763780000000000000LL + static_cast<int64_t>(Pick(1000000000)));
  }
  nlohmann::json Observation() {
    static constexpr std::array<const char*, 4> kSymbols = {"BTC/USD", "ETH/USD", "SOL/USD", ""};
    nlohmann::json o = nlohmann::json::object();
    if (Pick(20)) o["symbol"] = kSymbols[Pick(kSymbols.size())];
    if (Pick(20)) o["price"] = Decimal();
    if (Pick(20)) o["observed_time"] = Time();
    switch (Pick(5)) {
      case 0: o["bid"] = Decimal(); o["ask"] = Decimal(); break;
      case 1: o["confidence"] = Decimal(); break;
      case 2: o[Pick(2) ? "bid" : "ask"] = Decimal(); break;
      case 3: o["bid"] = Decimal(); o["ask"] = Decimal(); o["confidence"] = Decimal(); break;
      default: break;
    }
    if (Pick(30) == 0) o["price"] = 67000;        // a number: the DOM path words the error
    if (Pick(30) == 0) o["note"] = "x";           // unknown member
    if (Pick(40) == 0) o["symbol"] = "BTC\u00e9";  // non-ASCII
    return o;
  }
  nlohmann::json Payload() {
    nlohmann::json list = nlohmann::json::array();
    for (size_t i = 0, n = 1 + Pick(4); i < n; ++i) list.push_back(Observation());
    nlohmann::json p = {{"publisher", Pick(10) ? "desk1" : "desk/2"}, {"observations", list}};
    static constexpr std::array<uint64_t, 5> kOddSeq = {0, uint64_t{1} << 53, (uint64_t{1} << 53) - 1, 1, 18446744073709551615u};
    p["sequence"] = Pick(8) ? 1 + Pick(1000000) : kOddSeq[Pick(kOddSeq.size())];
    if (Pick(40) == 0) p["sequence"] = -3;
    if (Pick(40) == 0) p["observations"] = nlohmann::json::array();
    return p;
  }
  // Canonical bytes, sometimes mutated by one byte-level edit.
  std::string Bytes() {
    std::string text = *attest::Canonicalize(Payload());
    switch (Pick(8)) {
      case 0: text.insert(Pick(text.size()), " "); break;
      case 1: text.erase(Pick(text.size()), 1); break;
      case 2: {  // an escape for a letter: equal content, not canonical
        const size_t at = text.find("BTC");
        if (at != std::string::npos) text.replace(at, 1, "\\u0042");
        break;
      }
      case 3: text += "\n"; break;
      default: break;
    }
    return text;
  }

 private:
  std::mt19937 rng_;
};

TEST(IngestParseTest, FastPayloadReaderMatchesTheDomReader) {
  Generator gen(20261122);
  RawBatch raw;
  size_t fast = 0;
  const size_t n = 20000;
  for (size_t i = 0; i < n; ++i) {
    const std::string text = gen.Bytes();
    if (!ReadPayloadFast(text, &raw)) continue;
    ++fast;
    ASSERT_TRUE(attest::IsCanonical(text)) << text;  // accepted bytes are canonical by construction
    ASSERT_EQ(Describe(ParseBatch(raw)), DomAnswer(text)) << text;
  }
  // The reader must take the common shape (else it would be pointless), good and bad values alike.
  EXPECT_GT(fast, n / 4);
}

TEST(IngestParseTest, FastPayloadReaderTakesTheDocumentedShape) {
  const std::string text =
      R"({"observations":[{"ask":"67000.25","bid":"67000.00","observed_time":"1763780000123456789","price":"67000.125","symbol":"BTC/USD"},)"
      R"({"confidence":"0.05","observed_time":"1763780000123456789","price":"150.10","symbol":"SOL/USD"}],"publisher":"desk1","sequence":17})";
  RawBatch raw;
  ASSERT_TRUE(ReadPayloadFast(text, &raw));
  EXPECT_EQ(Describe(ParseBatch(raw)),
            "desk1 #17 | BTC/USD 67000.125 67000.00 67000.25 @1763780000123456789 | SOL/USD 150.10 150.05 150.15 @1763780000123456789");
  EXPECT_EQ(Describe(ParseBatch(raw)), DomAnswer(text));
  // A bad value is read fast and words the same error as the DOM path.
  const std::string bad = R"({"observations":[{"observed_time":"1763780000123456789","price":"6.7e4","symbol":"BTC/USD"}],"publisher":"desk1","sequence":17})";
  ASSERT_TRUE(ReadPayloadFast(bad, &raw));
  EXPECT_EQ(Describe(ParseBatch(raw)), DomAnswer(bad));
  EXPECT_NE(DomAnswer(bad).find("observations[0].price: \"6.7e4\" is not a decimal"), std::string::npos) << DomAnswer(bad);
}

TEST(IngestParseTest, FastPayloadReaderDeclinesWhatTheDomReaderMustJudge) {
  const std::string obs = R"({"observed_time":"1763780000123456789","price":"1.5","symbol":"BTC/USD"})";
  auto payload = [](const std::string& observations, const std::string& tail) {
    return "{\"observations\":[" + observations + "]," + tail + "}";
  };
  const std::string tail = R"("publisher":"desk1","sequence":17)";
  RawBatch raw;
  ASSERT_TRUE(ReadPayloadFast(payload(obs, tail), &raw));
  const std::vector<std::string> declined = {
      "{ \"observations\":[" + obs + "]," + tail + "}",                                       // whitespace
      payload(obs, tail) + " ",                                                              // trailing bytes
      payload(obs, R"("sequence":17,"publisher":"desk1")"),                                  // member order
      payload(obs, R"("publisher":"desk1","publisher":"desk1","sequence":17)"),              // duplicate
      payload(obs, R"("publisher":"desk1","sequence":17,"x":1)"),                            // unknown member
      payload(obs, R"("publisher":"desk1")"),                                                // missing sequence
      payload(obs, R"("publisher":"desk1","sequence":0)"),                                   // sequence 0
      payload(obs, R"("publisher":"desk1","sequence":017)"),                                 // leading zero
      payload(obs, R"("publisher":"desk1","sequence":17.0)"),                                // fraction
      payload(obs, R"("publisher":"desk1","sequence":9007199254740992)"),                    // 2^53
      payload(obs, R"("publisher":"desk1","sequence":-17)"),                                 // negative
      payload(obs, R"("publisher":"d\u0065sk1","sequence":17)"),                             // escape
      payload(obs, "\"publisher\":\"d\xc3\xa9sk\",\"sequence\":17"),                         // non-ASCII
      payload(obs, R"("publisher":7,"sequence":17)"),                                        // not a string
      "{\"observations\":[]," + tail + "}",                                                  // empty array
      payload(R"({"observed_time":"1763780000123456789","price":1.5,"symbol":"BTC/USD"})", tail),      // number
      payload(R"({"price":"1.5","observed_time":"1763780000123456789","symbol":"BTC/USD"})", tail),    // order
      payload(R"({"observed_time":"1763780000123456789","symbol":"BTC/USD"})", tail),                  // missing price
      payload(R"({"observed_time":"1","price":"1.5","price":"1.5","symbol":"BTC/USD"})", tail),        // duplicate
      payload(R"({"observed_time":"1","price":"1.5","size":"2","symbol":"BTC/USD"})", tail),           // unknown
      payload(R"({"observed_time":"1","price":"1.5","symbol":"BTC/USD",})", tail),                     // trailing comma
      payload(R"({"observed_time":"1","price":"1.5","symbol":"BTC\/USD"})", tail),                     // escaped slash
      payload(R"(["BTC/USD"])", tail),                                                                 // not an object
      payload(obs + "," + obs.substr(0, obs.size() - 1), tail),                                        // unterminated
  };
  for (const std::string& text : declined) {
    EXPECT_FALSE(ReadPayloadFast(text, &raw)) << text;
    // Each of these the DOM path judges: malformed, not canonical, or a shape error.
    EXPECT_FALSE(DomAnswer(text).starts_with("desk1 #17")) << text;
  }
}

attest::SigningKey TestKey() {
  std::array<uint8_t, 32> seed{};
  seed.fill(7);
  return std::move(attest::SigningKey::FromSeed(seed)).value();
}

std::string DescribeEnvelope(const Result<attest::Envelope>& e) {
  if (!e.ok()) return "error: " + e.status().ToString();
  std::string out = e->payload_type + "|" + e->payload;
  for (const auto& s : e->signatures) out += "|" + s.keyid + "|" + attest::Base64Encode(s.sig);
  return out;
}

TEST(IngestParseTest, FastEnvelopeReaderMatchesTheDomReader) {
  const attest::SigningKey key = TestKey();
  const attest::Envelope signed_env = attest::SignEnvelope("application/vnd.plumbline.observations.v1+json", "{\"a\":1}", key);
  const std::string p64 = attest::Base64Encode(signed_env.payload);
  const std::string s64 = attest::Base64Encode(signed_env.signatures[0].sig);
  const std::string kid = signed_env.signatures[0].keyid;
  const std::string type = signed_env.payload_type;
  auto env = [](const std::string& a, const std::string& b, const std::string& c) { return "{" + a + "," + b + "," + c + "}"; };
  const std::string P = "\"payload\":\"" + p64 + "\"", T = "\"payloadType\":\"" + type + "\"",
                    S = "\"signatures\":[{\"keyid\":\"" + kid + "\",\"sig\":\"" + s64 + "\"}]";
  const std::vector<std::string> accepted = {
      attest::EnvelopeToJson(signed_env),
      env(P, T, S),
      env(S, P, T),
      env(T, S, P),
      "{\"payloadType\" : \"" + type + "\",\n  \"payload\": \"" + p64 + "\", \"signatures\": [ {\"sig\":\"" + s64 +
          "\", \"keyid\": \"" + kid + "\"} ] }\r\n",
  };
  attest::Envelope fast;
  for (const std::string& text : accepted) {
    ASSERT_TRUE(ReadEnvelopeFast(text, &fast)) << text;
    EXPECT_EQ(DescribeEnvelope(fast), DescribeEnvelope(attest::ParseEnvelope(text))) << text;
    EXPECT_EQ(DescribeEnvelope(fast), DescribeEnvelope(signed_env));
  }
  const std::string sig63 = attest::Base64Encode(signed_env.signatures[0].sig.substr(0, 63));
  const std::vector<std::string> declined = {
      env(P, T, S.substr(0, S.size() - 1) + ",{\"keyid\":\"x\",\"sig\":\"" + s64 + "\"}]"),  // two signatures
      env(P, T, "\"signatures\":[]"),
      env(P, P, S),                                                                          // duplicate member
      env(P, T, S) + "x",                                                                    // trailing bytes
      "{" + P + "," + S + "}",                                                               // missing payloadType
      env(P, T, S).insert(1, "\"extra\":1,"),                                                // unknown member
      env("\"payload\":\"" + p64.substr(1) + "\"", T, S),                                    // bad base64
      env("\"payload\":\"" + p64 + "=\"", T, S),                                             // bad padding
      env(P, "\"payloadType\":\"application\\/x\"", S),                                      // escape
      env(P, T, "\"signatures\":[{\"keyid\":\"" + kid + "\",\"sig\":\"" + sig63 + "\"}]"),   // 63-byte signature
      env(P, T, "\"signatures\":[{\"keyid\":\"" + kid + "\",\"key\":\"" + s64 + "\"}]"),     // unknown member
      env(P, T, "\"signatures\":[{\"keyid\":7,\"sig\":\"" + s64 + "\"}]"),                   // not a string
  };
  for (const std::string& text : declined) EXPECT_FALSE(ReadEnvelopeFast(text, &fast)) << text;
  // The declined ones the DOM reader judges; most are errors there (two signatures and an escaped
  // character are valid JSON: the daemon then checks the type and keys as usual).
  for (size_t i = 0; i < declined.size(); ++i) {
    EXPECT_EQ(attest::ParseEnvelope(declined[i]).ok(), i == 0 || i == 8) << declined[i];
  }
}

TEST(IngestParseTest, Base64DecodeIntoEqualsTheStrictDecoder) {
  std::mt19937 rng(5);
  std::string out;
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n";
  size_t accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string raw(std::uniform_int_distribution<size_t>(0, 40)(rng), '\0');
    for (char& c : raw) c = static_cast<char>(rng());
    std::string text = attest::Base64Encode(raw);
    if (i % 2 == 1 && !text.empty()) {  // one edit: any character anywhere (padding, alphabet, unused bits)
      text[std::uniform_int_distribution<size_t>(0, text.size() - 1)(rng)] = alphabet[rng() % alphabet.size()];
    }
    auto strict = attest::Base64Decode(text);
    const bool fast = DecodeBase64Into(text, &out);
    ASSERT_EQ(fast, strict.ok()) << text;
    if (fast) {
      ++accepted;
      ASSERT_EQ(out, *strict) << text;
    }
  }
  EXPECT_GT(accepted, 10000u);
}

}  // namespace
}  // namespace plumbline::daemon::ingest_parse
