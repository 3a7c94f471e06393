#include "plumbline/attest/snapshot.h"

#include <functional>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "plumbline/attest/canonical_json.h"

namespace plumbline::attest {
namespace {

Decimal D(const char* text) { return Decimal::Parse(text).value(); }

SigningKey TestKey(uint8_t fill) {
  std::array<uint8_t, 32> seed{};
  seed.fill(fill);
  return std::move(SigningKey::FromSeed(seed).value());
}

Observation Obs(const std::string& source, const std::string& symbol, const char* price,
                int64_t t) {
  Observation o;
  o.source = source;
  o.symbol = symbol;
  o.price = D(price);
  o.observed_unix_nanos = t;
  o.received_unix_nanos = t + 1000;
  return o;
}

// Deliberately unsorted input: the payload sorts marks by symbol and sources by name.
Snapshot Sample() {
  Snapshot s;
  s.origin = "plumbline.example/demo";
  s.sequence = 12;
  s.time_unix_nanos = 1763782189200000000;
  s.previous_hash = std::string(64, 'a');
  s.config_digest = std::string(64, 'b');
  s.key_id = std::string(64, 'c');

  Mark eth;
  eth.symbol = "ETH/USD";
  eth.status = MarkStatus::kStale;
  eth.newest_observation_unix_nanos = 1763782100000000000;
  eth.quorum = 3;

  Mark btc;
  btc.symbol = "BTC/USD";
  btc.status = MarkStatus::kOk;
  btc.price = D("67012.35");
  btc.newest_observation_unix_nanos = 1763782189104000000;
  btc.quorum = 2;
  Observation kraken = Obs("kraken", "BTC/USD", "67012.40", 1763782189104000000);
  Observation bitstamp = Obs("bitstamp", "BTC/USD", "67012.30", 1763782189000000000);
  bitstamp.bid = D("67012.20");
  bitstamp.ask = D("67012.50");
  btc.contributions = {kraken, bitstamp};

  Mark aapl;
  aapl.symbol = "AAPLx/USD";
  aapl.status = MarkStatus::kInsufficientSources;
  aapl.quorum = 3;
  s.marks = {eth, btc, aapl};
  return s;
}

void ExpectSameObservation(const Observation& a, const Observation& b) {
  EXPECT_EQ(a.source, b.source);
  EXPECT_EQ(a.symbol, b.symbol);
  EXPECT_EQ(a.price.ToString(), b.price.ToString());
  EXPECT_EQ(a.bid.has_value(), b.bid.has_value());
  if (a.bid && b.bid) {
    EXPECT_EQ(a.bid->ToString(), b.bid->ToString());
  }
  EXPECT_EQ(a.ask.has_value(), b.ask.has_value());
  if (a.ask && b.ask) {
    EXPECT_EQ(a.ask->ToString(), b.ask->ToString());
  }
  EXPECT_EQ(a.observed_unix_nanos, b.observed_unix_nanos);
  EXPECT_EQ(a.received_unix_nanos, b.received_unix_nanos);
}

void ExpectSameSnapshot(const Snapshot& a, const Snapshot& b) {
  EXPECT_EQ(a.origin, b.origin);
  EXPECT_EQ(a.sequence, b.sequence);
  EXPECT_EQ(a.time_unix_nanos, b.time_unix_nanos);
  EXPECT_EQ(a.previous_hash, b.previous_hash);
  EXPECT_EQ(a.config_digest, b.config_digest);
  EXPECT_EQ(a.key_id, b.key_id);
  ASSERT_EQ(a.marks.size(), b.marks.size());
  for (size_t i = 0; i < a.marks.size(); ++i) {
    const Mark& x = a.marks[i];
    const Mark& y = b.marks[i];
    EXPECT_EQ(x.symbol, y.symbol);
    EXPECT_EQ(x.status, y.status);
    EXPECT_EQ(x.price.has_value(), y.price.has_value());
    if (x.price && y.price) {
      EXPECT_EQ(x.price->ToString(), y.price->ToString());
    }
    EXPECT_EQ(x.newest_observation_unix_nanos, y.newest_observation_unix_nanos);
    EXPECT_EQ(x.quorum, y.quorum);
    ASSERT_EQ(x.contributions.size(), y.contributions.size());
    for (size_t k = 0; k < x.contributions.size(); ++k) {
      ExpectSameObservation(x.contributions[k], y.contributions[k]);
    }
  }
}

TEST(Snapshot, PayloadLayoutMatchesFormatsDoc) {
  auto payload = SnapshotPayload(Sample());
  ASSERT_TRUE(payload.ok()) << payload.status().ToString();
  EXPECT_TRUE(IsCanonical(*payload));
  const std::string h64a(64, 'a'), h64b(64, 'b'), h64c(64, 'c');
  // v2 mark members around the v1 ones (docs/formats.md, docs/oracle.md).
  const std::string pre = "{\"asset_class\":\"crypto\",\"confidence\":null,";
  const std::string mid = "\"outliers\":[],";
  const std::string post_price = "\"price_time\":null,\"proposed_price\":null,\"publish_reason\":\"initial\",";
  const std::string session = "\"session\":null,";
  const std::string tail = ",\"token\":null}";
  EXPECT_EQ(*payload,
            "{\"config_digest\":\"" + h64b + "\",\"key_id\":\"" + h64c + "\",\"marks\":[" +
            pre + "\"newest_observation_time\":null," + mid + "\"price\":null," + post_price +
            "\"quorum\":3," + session + "\"sources\":[],"
            "\"status\":\"insufficient_sources\",\"symbol\":\"AAPLx/USD\"" + tail + "," +
            pre + "\"newest_observation_time\":\"1763782189104000000\"," + mid + "\"price\":\"67012.35\"," +
            post_price + "\"quorum\":2," + session + "\"sources\":["
            "{\"ask\":\"67012.50\",\"bid\":\"67012.20\",\"observed_time\":\"1763782189000000000\","
            "\"price\":\"67012.30\",\"received_time\":\"1763782189000001000\",\"source\":\"bitstamp\"},"
            "{\"observed_time\":\"1763782189104000000\",\"price\":\"67012.40\","
            "\"received_time\":\"1763782189104001000\",\"source\":\"kraken\"}],"
            "\"status\":\"ok\",\"symbol\":\"BTC/USD\"" + tail + "," +
            pre + "\"newest_observation_time\":\"1763782100000000000\"," + mid + "\"price\":null," +
            post_price + "\"quorum\":3," + session +
            "\"sources\":[],\"status\":\"stale\",\"symbol\":\"ETH/USD\"" + tail + "],"
            "\"origin\":\"plumbline.example/demo\",\"previous_hash\":\"" + h64a + "\","
            "\"sequence\":12,\"time\":\"1763782189200000000\"}");
}

// Snapshots stored before v2 keep decoding under their own payload type (and only under it).
TEST(Snapshot, V1PayloadsStillDecode) {
  const std::string h64a(64, 'a'), h64b(64, 'b'), h64c(64, 'c');
  const std::string v1 =
      "{\"config_digest\":\"" + h64b + "\",\"key_id\":\"" + h64c + "\",\"marks\":["
      "{\"newest_observation_time\":\"1763782189104000000\",\"price\":\"67012.35\","
      "\"quorum\":2,\"sources\":["
      "{\"observed_time\":\"1763782189104000000\",\"price\":\"67012.40\","
      "\"received_time\":\"1763782189104001000\",\"source\":\"kraken\"}],"
      "\"status\":\"ok\",\"symbol\":\"BTC/USD\"}],"
      "\"origin\":\"plumbline.example/demo\",\"previous_hash\":\"" + h64a + "\","
      "\"sequence\":12,\"time\":\"1763782189200000000\"}";
  auto parsed = ParseSnapshotPayload(v1, kSnapshotPayloadTypeV1);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->marks[0].price->ToString(), "67012.35");
  EXPECT_EQ(parsed->marks[0].asset_class, AssetClass::kCrypto);
  auto as_v2 = ParseSnapshotPayload(v1);
  ASSERT_FALSE(as_v2.ok());
  EXPECT_NE(as_v2.status().message().find("missing member \"asset_class\""), std::string::npos);
}

TEST(Snapshot, V2OracleFieldsRoundTrip) {
  Snapshot s = Sample();
  Mark& m = s.marks[0];  // AAPLx/USD
  m.asset_class = AssetClass::kToken;
  m.status = MarkStatus::kClamped;
  m.price = Decimal::Parse("200.50").value();
  m.proposed_price = Decimal::Parse("250.00").value();
  m.confidence = Decimal::Parse("0.40").value();
  m.session = Session::kPostMarket;
  m.publish_reason = PublishReason::kStatusChange;
  m.outliers = {"zeta", "alpha"};
  TokenQuote t;
  t.underlying = "AAPL/USD";
  t.underlying_price = Decimal::Parse("200.00").value();
  t.venue_price = Decimal::Parse("250.00").value();
  t.multiplier = "1.0025";
  t.next_multiplier = "1/3";
  t.multiplier_activation_unix_nanos = 1763800000000000000;
  t.theoretical_price = Decimal::Parse("200.50").value();
  t.basis = Decimal::Parse("0.246883").value();
  t.basis_bound = Decimal::Parse("0.02").value();
  t.basis_exceeded = true;
  m.token = t;
  s.marks[2].status = MarkStatus::kMarketClosed;
  s.marks[2].price = Decimal::Parse("3500.10").value();
  s.marks[2].price_unix_nanos = 1763700000000000000;
  auto payload = SnapshotPayload(s);
  ASSERT_TRUE(payload.ok()) << payload.status().ToString();
  EXPECT_NE(payload->find("\"outliers\":[\"alpha\",\"zeta\"]"), std::string::npos);
  EXPECT_NE(payload->find("\"basis_exceeded\":true"), std::string::npos);
  auto parsed = ParseSnapshotPayload(*payload);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  auto again = SnapshotPayload(*parsed);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *payload);
  // Parsed marks are sorted by symbol: the input's first mark comes last.
  ASSERT_EQ(parsed->marks[2].symbol, s.marks[0].symbol);
  EXPECT_EQ(parsed->marks[2].token->next_multiplier, "1/3");
  EXPECT_EQ(*parsed->marks[0].price_unix_nanos, 1763700000000000000);
  // A clamped mark without its proposed price is refused, naming the field.
  s.marks[0].proposed_price.reset();
  auto bad = SnapshotPayload(s);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(".proposed_price"), std::string::npos);
}

TEST(Snapshot, RoundTripGivesEqualDocumentAndIdenticalBytes) {
  auto payload = SnapshotPayload(Sample());
  ASSERT_TRUE(payload.ok());
  auto parsed = ParseSnapshotPayload(*payload);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  auto again = SnapshotPayload(*parsed);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *payload);
  // Equal to the input once sorted the way the payload sorts it.
  Snapshot sorted = Sample();
  sorted.marks = {sorted.marks[2], sorted.marks[1], sorted.marks[0]};
  std::swap(sorted.marks[1].contributions[0], sorted.marks[1].contributions[1]);
  ExpectSameSnapshot(*parsed, sorted);
}

// A mark whose contributions share an observation array (as a round's marks share the
// ObservationBook's) signs to the same bytes as one holding its own copies, and signing neither
// copies nor changes the shared array (only not-yet-canonical contributions are rewritten).
TEST(Snapshot, SharedContributionsSignToTheSameBytesAndStayShared) {
  const SigningKey key = TestKey(7);
  Snapshot owned = Sample();
  std::swap(owned.marks[1].contributions[0], owned.marks[1].contributions[1]);  // canonical order
  auto array = std::make_shared<std::vector<Observation>>();
  array->push_back(owned.marks[1].contributions[0]);                            // bitstamp
  array->push_back(Obs("coinbase", "BTC/USD", "1", 1763782189000000000));     // not kept
  array->push_back(owned.marks[1].contributions[1]);                            // kraken
  Snapshot shared = Sample();
  shared.marks[1].contributions = Contributions(array, 0b101);
  auto a = SignSnapshot(owned, key);
  auto b = SignSnapshot(shared, key);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->envelope_json, b->envelope_json);
  const Mark& btc = b->snapshot.marks[1];
  ASSERT_EQ(btc.symbol, "BTC/USD");
  EXPECT_TRUE(btc.contributions.is_shared());
  EXPECT_EQ(btc.contributions.size(), 2u);
  EXPECT_EQ((*array)[1].source, "coinbase");
}

TEST(Snapshot, BuildRejectsOutOfDomainFields) {
  auto expect_bad = [](Snapshot s, const std::string& field) {
    auto r = SnapshotPayload(s);
    ASSERT_FALSE(r.ok()) << field;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(field), std::string::npos) << r.status().message();
  };
  Snapshot s = Sample(); s.sequence = 0; expect_bad(s, "sequence");
  s = Sample(); s.sequence = uint64_t{1} << 53; expect_bad(s, "sequence");
  s = Sample(); s.previous_hash = std::string(64, 'A'); expect_bad(s, "previous_hash");
  s = Sample(); s.key_id = "abc"; expect_bad(s, "key_id");
  s = Sample(); s.marks[2].price = D("1"); expect_bad(s, "price");  // price on a non-ok mark
  s = Sample(); s.marks[1].price.reset(); expect_bad(s, "price");
  s = Sample(); s.marks.push_back(s.marks[0]); expect_bad(s, "appears twice");
  s = Sample(); s.marks[1].contributions.push_back(s.marks[1].contributions[0]);
  expect_bad(s, "appears twice");
  s = Sample(); s.time_unix_nanos = -1; expect_bad(s, "time");
  s = Sample(); s.origin = ""; expect_bad(s, "origin");
  s = Sample(); s.origin = "\xff"; EXPECT_FALSE(SnapshotPayload(s).ok());
}

// Edits the canonical payload of Sample() and re-canonicalizes, so only the edit is wrong.
std::string Edited(const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json doc = nlohmann::json::parse(SnapshotPayload(Sample()).value());
  edit(doc);
  return Canonicalize(doc).value();
}

void ExpectRejected(const std::string& payload, const std::string& needle,
                    Code code = Code::kInvalidArgument) {
  auto r = ParseSnapshotPayload(payload);
  ASSERT_FALSE(r.ok()) << payload;
  EXPECT_EQ(r.status().code(), code) << r.status().ToString();
  EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
}

TEST(Snapshot, ParseIsStrict) {
  ExpectRejected(Edited([](auto& d) { d["extra"] = 1; }), "unknown member \"extra\"");
  ExpectRejected(Edited([](auto& d) { d.erase("origin"); }), "missing member \"origin\"");
  ExpectRejected(Edited([](auto& d) { d["marks"][1]["sources"][0]["venue"] = "x"; }),
                 "unknown member \"venue\"");
  ExpectRejected(Edited([](auto& d) { d["marks"][1].erase("quorum"); }),
                 "missing member \"quorum\"");
  ExpectRejected(Edited([](auto& d) { d["marks"][1]["price"] = 67012.35; }),  // allowed: test
                 "marks[1].price");
  ExpectRejected(Edited([](auto& d) { d["marks"][1]["sources"][0]["bid"] = 1; }),
                 "sources[0].bid");
  ExpectRejected(Edited([](auto& d) { d["sequence"] = 12.5; }),  // allowed: test input
                 "sequence: must be a JSON integer");
  ExpectRejected(Edited([](auto& d) { d["sequence"] = "12"; }), "sequence");
  ExpectRejected(Edited([](auto& d) { d["sequence"] = 0; }), "sequence");
  ExpectRejected(Edited([](auto& d) { d["sequence"] = -3; }), "sequence");
  ExpectRejected(Edited([](auto& d) { d["sequence"] = uint64_t{1} << 53; }), "sequence");
  ExpectRejected(Edited([](auto& d) { d["time"] = 1763782189200000000; }), "time");
  ExpectRejected(Edited([](auto& d) { d["time"] = "01763782189200000000"; }), "time");
  ExpectRejected(Edited([](auto& d) { d["marks"][1]["price"] = "067012.35"; }), "price");
  ExpectRejected(Edited([](auto& d) { d["marks"][1]["price"] = "6.7e4"; }), "price");
  ExpectRejected(Edited([](auto& d) { d["marks"][1]["status"] = "halted"; }), "status");
  ExpectRejected(Edited([](auto& d) { d["marks"][0]["price"] = "1"; }), "must be null");
  ExpectRejected(Edited([](auto& d) { std::swap(d["marks"][0], d["marks"][1]); }), "sorted");
  ExpectRejected(Edited([](auto& d) {
                   std::swap(d["marks"][1]["sources"][0], d["marks"][1]["sources"][1]);
                 }),
                 "sorted");
  ExpectRejected(Edited([](auto& d) { d["config_digest"] = std::string(64, 'B'); }),
                 "config_digest");

  const std::string good = SnapshotPayload(Sample()).value();
  std::string spaced = good;
  spaced.insert(1, " ");
  ExpectRejected(spaced, "canonical", Code::kCorruption);
  ExpectRejected(good + "\n", "canonical", Code::kCorruption);
  ExpectRejected("[]", "snapshot");
  ExpectRejected("{", "JSON");
}

TEST(Snapshot, SignVerifyDecode) {
  const SigningKey key = TestKey(7);
  auto signed_snap = SignSnapshot(Sample(), key);
  ASSERT_TRUE(signed_snap.ok()) << signed_snap.status().ToString();
  EXPECT_EQ(signed_snap->snapshot.key_id, key.KeyId());
  EXPECT_EQ(signed_snap->payload_hash, Sha256Hex(signed_snap->payload));
  EXPECT_TRUE(IsCanonical(signed_snap->envelope_json));

  auto verified = VerifySnapshotEnvelope(signed_snap->envelope_json, key.public_key());
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_EQ(verified->payload, signed_snap->payload);
  EXPECT_EQ(verified->payload_hash, signed_snap->payload_hash);
  EXPECT_EQ(verified->envelope_json, signed_snap->envelope_json);
  ExpectSameSnapshot(verified->snapshot, signed_snap->snapshot);

  auto decoded = DecodeSnapshotEnvelope(signed_snap->envelope_json);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->payload_hash, signed_snap->payload_hash);

  const SigningKey other = TestKey(8);
  EXPECT_EQ(VerifySnapshotEnvelope(signed_snap->envelope_json, other.public_key()).status().code(),
            Code::kUnauthenticated);
}

TEST(Snapshot, VerifyRejectsPayloadKeyIdNamingAnotherKey) {
  const SigningKey key = TestKey(9);
  Snapshot s = Sample();
  s.key_id = std::string(64, 'd');  // signed by `key` but claims another signer
  const Envelope env = SignEnvelope(kSnapshotPayloadType, SnapshotPayload(s).value(), key);
  auto r = VerifySnapshotEnvelope(EnvelopeToJson(env), key.public_key());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnauthenticated);
  EXPECT_NE(r.status().message().find("key_id"), std::string::npos);
}

TEST(Snapshot, VerifyRejectsOtherPayloadType) {
  const SigningKey key = TestKey(10);
  Snapshot s = Sample();
  s.key_id = key.KeyId();
  const Envelope env =
      SignEnvelope("application/vnd.plumbline.reserve.v1+json", SnapshotPayload(s).value(), key);
  const std::string json = EnvelopeToJson(env);
  EXPECT_EQ(VerifySnapshotEnvelope(json, key.public_key()).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(DecodeSnapshotEnvelope(json).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace plumbline::attest
