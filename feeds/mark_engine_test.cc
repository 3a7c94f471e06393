#include "plumbline/feeds/mark_engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <span>

#include <date/date.h>

#include "plumbline/clock.h"
#include "plumbline/feeds/sources.h"

namespace plumbline::feeds {
namespace {

Decimal D(const std::string& s) { return Decimal::Parse(s).value(); }

int64_t Utc(int y, unsigned m, unsigned d, int hh, int mm) {
  const auto day = date::sys_days{date::year{y} / date::month{m} / date::day{d}};
  return (day.time_since_epoch().count() * 86400LL + hh * 3600LL + mm * 60LL) * kNanosPerSecond;
}

const int64_t kRegular = Utc(2026, 1, 13, 15, 0);   // Tue 10:00 New York
const int64_t kPre = Utc(2026, 1, 13, 12, 0);       // Tue 07:00
const int64_t kSaturday = Utc(2026, 1, 17, 15, 0);  // closed
constexpr int64_t kSec = kNanosPerSecond;

// A book of observations the test sets directly.
struct Book {
  std::map<std::string, std::vector<Observation>> by_symbol;
  void Put(const std::string& source, const std::string& symbol, const std::string& price, int64_t t,
           std::optional<std::string> bid = {}, std::optional<std::string> ask = {}) {
    Observation o;
    o.source = source;
    o.symbol = symbol;
    o.price = D(price);
    if (bid) o.bid = D(*bid);
    if (ask) o.ask = D(*ask);
    o.observed_unix_nanos = o.received_unix_nanos = t;
    auto& v = by_symbol[symbol];
    std::erase_if(v, [&](const Observation& x) { return x.source == source; });
    v.push_back(o);
  }
  MarkEngine::Lookup Lookup() const {
    return [this](const std::string& s) {
      auto it = by_symbol.find(s);
      return it == by_symbol.end() ? std::vector<Observation>{} : it->second;
    };
  }
};

std::map<std::string, int64_t> Ages() {
  std::map<std::string, int64_t> ages;
  for (const char* s : {"a", "b", "c", "d", "e", "ta", "tb", "tc"}) ages[s] = 10 * kSec;
  return ages;
}

std::shared_ptr<const EquityCalendar> Nyse() {
  return std::make_shared<EquityCalendar>(EquityCalendar::LoadFile(PLUMBLINE_NYSE_CALENDAR).value());
}

std::unique_ptr<MarkEngine> Engine(std::vector<SymbolPolicy> symbols) {
  auto e = MarkEngine::Create(std::move(symbols), Ages(), Nyse());
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return std::move(e).value();
}

void PutAll(Book* book, const std::string& symbol, const std::string& price, int64_t t) {
  for (const char* s : {"a", "b", "c", "d"}) book->Put(s, symbol, price, t);
}

TEST(MarkEngine, VenueHalfOffIsRejectedAndTheMarkIsUnaffected) {
  auto engine = Engine({SymbolPolicy("BTC/USD", 3)});
  Book book;
  book.Put("a", "BTC/USD", "67000.00", kRegular, "66999.00", "67001.00");
  book.Put("b", "BTC/USD", "67010.00", kRegular, "67009.00", "67011.00");
  book.Put("c", "BTC/USD", "66990.00", kRegular, "66989.00", "66991.00");
  auto clean = MarkEngine::Create({SymbolPolicy("BTC/USD", 3)}, Ages(), nullptr).value()->Round(book.Lookup(), kRegular);
  book.Put("d", "BTC/USD", "33500.00", kRegular, "33499.00", "33501.00");
  Mark m = engine->Round(book.Lookup(), kRegular).front();
  ASSERT_EQ(m.status, MarkStatus::kOk);
  EXPECT_EQ(m.outliers, std::vector<std::string>{"d"});
  EXPECT_EQ(m.price->ToString(), clean.front().price->ToString());
  EXPECT_EQ(m.price->ToString(), "67000.00");
  EXPECT_EQ(m.confidence->ToString(), clean.front().confidence->ToString());
  EXPECT_EQ(m.contributions.size(), 3u);
}

TEST(MarkEngine, ThreeVenuesTolerateOneOutlier) {
  auto engine = Engine({SymbolPolicy("ETH/USD", 3)});
  Book book;
  book.Put("a", "ETH/USD", "3500.10", kRegular);
  book.Put("b", "ETH/USD", "3500.30", kRegular);
  book.Put("c", "ETH/USD", "1750.00", kRegular);  // 50% off
  Mark m = engine->Round(book.Lookup(), kRegular).front();
  ASSERT_EQ(m.status, MarkStatus::kOk);
  EXPECT_EQ(m.price->ToString(), "3500.20");
  EXPECT_EQ(m.outliers, std::vector<std::string>{"c"});
}

TEST(MarkEngine, TwoStaleVenuesFailTheQuorumAndSaySo) {
  auto engine = Engine({SymbolPolicy("BTC/USD", 3)});
  Book book;
  book.Put("a", "BTC/USD", "100", kRegular);
  book.Put("b", "BTC/USD", "100", kRegular - 2 * kSec);
  book.Put("c", "BTC/USD", "100", kRegular - 60 * kSec);
  book.Put("d", "BTC/USD", "100", kRegular - 90 * kSec);
  Mark m = engine->Round(book.Lookup(), kRegular).front();
  EXPECT_EQ(m.status, MarkStatus::kStale);
  EXPECT_FALSE(m.price.has_value());
  EXPECT_EQ(*m.newest_observation_unix_nanos, kRegular);
}

TEST(MarkEngine, CrossedAndNonPositiveQuotesNeverCount) {
  auto engine = Engine({SymbolPolicy("BTC/USD", 3)});
  Book book;
  book.Put("a", "BTC/USD", "100", kRegular);
  book.Put("b", "BTC/USD", "100", kRegular);
  book.Put("c", "BTC/USD", "100", kRegular, "100.5", "100.4");  // bid above ask
  EXPECT_EQ(engine->Round(book.Lookup(), kRegular).front().status, MarkStatus::kStale);
  book.Put("c", "BTC/USD", "0", kRegular);
  EXPECT_EQ(engine->Round(book.Lookup(), kRegular).front().status, MarkStatus::kStale);
  book.Put("c", "BTC/USD", "-5", kRegular);
  EXPECT_EQ(engine->Round(book.Lookup(), kRegular).front().status, MarkStatus::kStale);
  book.Put("c", "BTC/USD", "100", kRegular);
  EXPECT_EQ(engine->Round(book.Lookup(), kRegular).front().status, MarkStatus::kOk);
}

TEST(MarkEngine, BigMoveIsClampedUntilConfirmed) {
  SymbolPolicy p("BTC/USD", 3);
  p.max_move = D("0.1");
  p.confirm_rounds = 3;
  auto engine = Engine({p});
  Book book;
  int64_t t = kRegular;
  PutAll(&book, "BTC/USD", "100", t);
  EXPECT_EQ(engine->Round(book.Lookup(), t).front().status, MarkStatus::kOk);
  PutAll(&book, "BTC/USD", "120", t += kSec);
  Mark m = engine->Round(book.Lookup(), t).front();
  EXPECT_EQ(m.status, MarkStatus::kClamped);
  EXPECT_EQ(m.price->ToString(), "100");
  EXPECT_EQ(m.proposed_price->ToString(), "120");
  m = engine->Round(book.Lookup(), t += kSec).front();
  EXPECT_EQ(m.status, MarkStatus::kClamped);
  m = engine->Round(book.Lookup(), t += kSec).front();
  EXPECT_EQ(m.status, MarkStatus::kOk);
  EXPECT_EQ(m.price->ToString(), "120");
  // A spike that reverts is never accepted.
  PutAll(&book, "BTC/USD", "60", t += kSec);
  EXPECT_EQ(engine->Round(book.Lookup(), t).front().status, MarkStatus::kClamped);
  PutAll(&book, "BTC/USD", "121", t += kSec);
  m = engine->Round(book.Lookup(), t).front();
  EXPECT_EQ(m.status, MarkStatus::kOk);
  EXPECT_EQ(m.price->ToString(), "121");
  // Exactly at the bound is not beyond it.
  PutAll(&book, "BTC/USD", "133.1", t += kSec);
  EXPECT_EQ(engine->Round(book.Lookup(), t).front().status, MarkStatus::kOk);
}

TEST(MarkEngine, PublishReasons) {
  SymbolPolicy p("BTC/USD", 3);
  p.deviation = D("0.01");
  p.heartbeat_ms = 10000;
  auto engine = Engine({p});
  Book book;
  int64_t t = kRegular;
  PutAll(&book, "BTC/USD", "100", t);
  EXPECT_EQ(engine->Round(book.Lookup(), t).front().publish_reason, PublishReason::kInitial);
  PutAll(&book, "BTC/USD", "100.5", t += kSec);
  EXPECT_EQ(engine->Round(book.Lookup(), t).front().publish_reason, PublishReason::kUnchanged);
  PutAll(&book, "BTC/USD", "101", t += kSec);  // 1% from the last update
  EXPECT_EQ(engine->Round(book.Lookup(), t).front().publish_reason, PublishReason::kDeviation);
  t += 9 * kSec;
  PutAll(&book, "BTC/USD", "101", t);
  EXPECT_EQ(engine->Round(book.Lookup(), t).front().publish_reason, PublishReason::kUnchanged);
  PutAll(&book, "BTC/USD", "101", t += kSec);
  EXPECT_EQ(engine->Round(book.Lookup(), t).front().publish_reason, PublishReason::kHeartbeat);
  t += 30 * kSec;  // every source stale now
  EXPECT_EQ(engine->Round(book.Lookup(), t).front().publish_reason, PublishReason::kStatusChange);
}

TEST(MarkEngine, KillSwitchHaltsOneSymbolOnly) {
  auto engine = Engine({SymbolPolicy("BTC/USD", 3), SymbolPolicy("ETH/USD", 3)});
  Book book;
  PutAll(&book, "BTC/USD", "100", kRegular);
  PutAll(&book, "ETH/USD", "10", kRegular);
  ASSERT_TRUE(engine->SetHalted("BTC/USD", true).ok());
  EXPECT_FALSE(engine->SetHalted("XRP/USD", true).ok());
  auto marks = engine->Round(book.Lookup(), kRegular);
  EXPECT_EQ(marks[0].status, MarkStatus::kHalted);
  EXPECT_FALSE(marks[0].price.has_value());
  EXPECT_EQ(marks[1].status, MarkStatus::kOk);
  ASSERT_TRUE(engine->SetHalted("BTC/USD", false).ok());
  EXPECT_EQ(engine->Round(book.Lookup(), kRegular).front().status, MarkStatus::kOk);
}

SymbolPolicy Equity(const std::string& s) {
  SymbolPolicy p(s, 3);
  p.asset_class = AssetClass::kEquity;
  return p;
}

TEST(MarkEngine, ClosedMarketCarriesTheLastRegularPriceNotAnOutage) {
  auto engine = Engine({Equity("AAPL/USD")});
  Book book;
  PutAll(&book, "AAPL/USD", "190.10", kRegular - kSec);
  Mark open = engine->Round(book.Lookup(), kRegular).front();
  EXPECT_EQ(open.status, MarkStatus::kOk);
  EXPECT_EQ(open.session, Session::kRegular);
  // Saturday: no source answers any more.
  Mark closed = engine->Round(book.Lookup(), kSaturday).front();
  EXPECT_EQ(closed.status, MarkStatus::kMarketClosed);
  EXPECT_EQ(closed.session, Session::kClosed);
  EXPECT_EQ(closed.price->ToString(), "190.10");
  EXPECT_EQ(*closed.price_unix_nanos, kRegular - kSec);
  // Even with fresh weekend quotes the market is closed.
  PutAll(&book, "AAPL/USD", "150.00", kSaturday);
  closed = engine->Round(book.Lookup(), kSaturday).front();
  EXPECT_EQ(closed.status, MarkStatus::kMarketClosed);
  EXPECT_EQ(closed.price->ToString(), "190.10");
}

TEST(MarkEngine, ExtendedHoursPriceWhenQuotedElseClosed) {
  auto engine = Engine({Equity("AAPL/USD")});
  Book book;
  Mark m = engine->Round(book.Lookup(), kPre).front();
  EXPECT_EQ(m.status, MarkStatus::kMarketClosed);
  EXPECT_FALSE(m.price.has_value());  // no regular price seen yet
  PutAll(&book, "AAPL/USD", "191.00", kPre);
  m = engine->Round(book.Lookup(), kPre).front();
  EXPECT_EQ(m.status, MarkStatus::kOk);
  EXPECT_EQ(m.session, Session::kPreMarket);
}

SymbolPolicy Token(const std::string& s, const std::string& under, MultiplierSchedule sched) {
  SymbolPolicy p(s, 2);
  p.asset_class = AssetClass::kToken;
  p.token = TokenPolicy{under, sched, D("0.02"), D("2")};
  return p;
}

void PutToken(Book* book, const std::string& price, int64_t t) {
  book->Put("ta", "AAPLx/USD", price, t, {}, {});
  book->Put("tb", "AAPLx/USD", price, t, {}, {});
}

TEST(MarkEngine, TokenFollowsUnderlyingInRegularSessionAndVenuesOutside) {
  MultiplierSchedule sched;
  sched.current = Multiplier::Parse("1.0025").value();
  auto engine = Engine({Token("AAPLx/USD", "AAPL/USD", sched), Equity("AAPL/USD")});
  Book book;
  PutAll(&book, "AAPL/USD", "200.00", kRegular);
  book.Put("ta", "AAPLx/USD", "200.40", kRegular, "200.30", "200.50");
  book.Put("tb", "AAPLx/USD", "200.60", kRegular, "200.50", "200.70");
  auto marks = engine->Round(book.Lookup(), kRegular);
  const Mark& t = marks[0];
  ASSERT_EQ(t.status, MarkStatus::kOk);
  EXPECT_EQ(t.session, Session::kRegular);
  ASSERT_TRUE(t.token.has_value());
  EXPECT_EQ(t.token->underlying_price->ToString(), "200.00");
  EXPECT_EQ(t.token->theoretical_price->ToString(), "200.50");
  EXPECT_EQ(t.token->venue_price->ToString(), "200.50");
  EXPECT_EQ(t.token->basis->ToString(), "0.000000");
  EXPECT_EQ(t.price->ToString(), "200.50");  // underlying x multiplier leads
  EXPECT_EQ(t.token->multiplier, "1.0025");
  EXPECT_FALSE(t.token->basis_exceeded);

  // Saturday: the venues lead, with twice their confidence; the basis is against the last
  // regular underlying price.
  book.Put("ta", "AAPLx/USD", "195.00", kSaturday, "194.90", "195.10");
  book.Put("tb", "AAPLx/USD", "195.20", kSaturday, "195.10", "195.30");
  marks = engine->Round(book.Lookup(), kSaturday);
  const Mark& w = marks[0];
  ASSERT_EQ(w.status, MarkStatus::kOk);
  EXPECT_EQ(w.session, Session::kClosed);
  EXPECT_EQ(w.price->ToString(), "195.10");
  // venue confidence: votes 194.90 195.00 195.10 195.10 195.20 195.30 -> max(0.10, 0.10) = 0.10; x2
  EXPECT_EQ(w.confidence->ToString(), "0.20");
  EXPECT_EQ(w.token->underlying_price->ToString(), "200.00");
  EXPECT_EQ(w.token->basis->ToString(), "-0.026933");
  EXPECT_TRUE(w.token->basis_exceeded);
}

TEST(MarkEngine, AHaltedTokenKeepsItsTokenBlockWithoutPrices) {
  MultiplierSchedule sched;
  sched.current = Multiplier::Parse("1").value();
  sched.next = Multiplier::Parse("1/3").value();
  sched.activation_unix_nanos = kRegular + kSec;
  auto engine = Engine({Equity("AAPL/USD"), Token("AAPLx/USD", "AAPL/USD", sched)});
  ASSERT_TRUE(engine->SetHalted("AAPLx/USD", true).ok());
  Book book;
  PutAll(&book, "AAPL/USD", "300.00", kRegular);
  PutToken(&book, "300.00", kRegular);
  const Mark t = engine->Round(book.Lookup(), kRegular)[1];
  EXPECT_EQ(t.status, MarkStatus::kHalted);
  EXPECT_FALSE(t.price.has_value());
  ASSERT_TRUE(t.token.has_value()) << "the snapshot format requires the token block of a token mark";
  EXPECT_EQ(t.token->underlying, "AAPL/USD");
  EXPECT_EQ(t.token->multiplier, "1");
  EXPECT_EQ(*t.token->next_multiplier, "1/3");
  EXPECT_EQ(*t.token->multiplier_activation_unix_nanos, kRegular + kSec);
  EXPECT_FALSE(t.token->underlying_price || t.token->venue_price || t.token->theoretical_price || t.token->basis);
  EXPECT_EQ(t.session, Session::kRegular);
}

TEST(MarkEngine, MultiplierChangeAppliesExactlyAtActivation) {
  MultiplierSchedule sched;
  sched.current = Multiplier::Parse("1").value();
  sched.next = Multiplier::Parse("1/3").value();
  sched.activation_unix_nanos = kRegular;
  auto engine = Engine({Equity("AAPL/USD"), Token("AAPLx/USD", "AAPL/USD", sched)});
  Book book;
  PutAll(&book, "AAPL/USD", "300.00", kRegular - kSec);
  PutToken(&book, "300.00", kRegular - kSec);
  Mark before = engine->Round(book.Lookup(), kRegular - 1)[1];
  EXPECT_EQ(before.token->multiplier, "1");
  EXPECT_EQ(*before.token->next_multiplier, "1/3");
  EXPECT_EQ(before.price->ToString(), "300.00");
  Mark at = engine->Round(book.Lookup(), kRegular)[1];
  EXPECT_EQ(at.token->multiplier, "1/3");
  EXPECT_EQ(at.token->theoretical_price->ToString(), "100.00");
  // The move bound holds a 3x move of the token price; the theoretical price is exact.
  EXPECT_EQ(at.status, MarkStatus::kClamped);
}

TEST(MarkEngine, TokenNeedsAnEquityUnderlying) {
  MultiplierSchedule sched;
  auto e = MarkEngine::Create({Token("AAPLx/USD", "AAPL/USD", sched)}, Ages(), Nyse());
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("underlying 'AAPL/USD' is not a configured equity symbol"), std::string::npos);
  EXPECT_FALSE(MarkEngine::Create({Equity("AAPL/USD")}, Ages(), nullptr).ok());
}

std::string Render(const Mark& m) {
  std::string out = m.symbol + " " + std::string(MarkStatusName(m.status)) + " " +
                    (m.price ? m.price->ToString() : "-") + "+-" + (m.confidence ? m.confidence->ToString() : "-") +
                    " reason " + std::to_string(static_cast<int>(m.publish_reason)) + " newest " +
                    std::to_string(m.newest_observation_unix_nanos.value_or(-1));
  for (const Observation& o : m.contributions) out += " " + o.source + "=" + o.price.ToString();
  for (const std::string& s : m.outliers) out += " out:" + s;
  if (m.token && m.token->theoretical_price) out += " theo " + m.token->theoretical_price->ToString();
  return out;
}

// RoundLent (what the publisher and replay use) gives the marks Round gives, over unsorted
// observations with a duplicate source, an outlier, a halted symbol and a token; it lends each
// non-halted symbol once, in order (non-token symbols first), and never a halted one.
TEST(MarkEngine, RoundLentGivesTheSameMarksAsRound) {
  MultiplierSchedule sched;
  sched.current = Multiplier::Parse("1.5").value();
  std::vector<SymbolPolicy> policies = {Token("AAPLx/USD", "AAPL/USD", sched), SymbolPolicy("BTC/USD", 3),
                                        Equity("AAPL/USD"), SymbolPolicy("ETH/USD", 3)};
  auto copying = Engine(policies);
  auto lending = Engine(policies);
  ASSERT_TRUE(copying->SetHalted("ETH/USD", true).ok());
  ASSERT_TRUE(lending->SetHalted("ETH/USD", true).ok());
  Book book;
  for (int i = 0; i < 8; ++i) {
    const int64_t t = kRegular + i * kSec;
    book.Put("c", "BTC/USD", std::to_string(100 + i), t, std::to_string(99 + i), std::to_string(101 + i));
    book.Put("a", "BTC/USD", std::to_string(101 + i), t);
    book.Put("b", "BTC/USD", i % 3 == 0 ? "150" : "100.5", t);
    book.Put("d", "BTC/USD", "100.25", t);
    book.by_symbol["BTC/USD"].push_back(book.by_symbol["BTC/USD"].front());  // a duplicate source
    book.by_symbol["BTC/USD"].back().observed_unix_nanos -= kSec;
    PutAll(&book, "AAPL/USD", std::to_string(200 + i), t);
    PutAll(&book, "ETH/USD", "10", t);
    book.Put("ta", "AAPLx/USD", "301", t);
    book.Put("tb", "AAPLx/USD", "302", t);
    book.Put("tc", "AAPLx/USD", "303", t);
    std::vector<std::string> asked;
    std::vector<Mark> lent = lending->RoundLent(
        [&](const std::string& s) {
          asked.push_back(s);
          auto it = book.by_symbol.find(s);
          return it == book.by_symbol.end() ? std::span<const Observation>() : std::span<const Observation>(it->second);
        },
        t);
    std::vector<Mark> copied = copying->Round(book.Lookup(), t);
    ASSERT_EQ(lent.size(), copied.size());
    for (size_t k = 0; k < lent.size(); ++k) EXPECT_EQ(Render(lent[k]), Render(copied[k])) << "round " << i;
    EXPECT_EQ(asked, (std::vector<std::string>{"BTC/USD", "AAPL/USD", "AAPLx/USD"}));
    EXPECT_EQ(lent[1].status, MarkStatus::kOk);
    if (i % 3 == 0) {
      EXPECT_EQ(lent[1].outliers, std::vector<std::string>{"b"});
    }
    EXPECT_EQ(lent[0].price->ToString(), std::to_string(300 + 3 * i / 2) + (i % 2 ? ".5" : ""));
    EXPECT_EQ(lent[3].status, MarkStatus::kHalted);
  }
}

// RoundShared (what the publisher uses) over a real ObservationBook gives the marks Round gives,
// with contributions that point into the book's arrays instead of copying them; later Puts never
// change a mark already built (the book copies a shared array on write), and changing a mark's
// contributions changes only that mark.
TEST(MarkEngine, RoundSharedGivesTheSameMarksAndLaterPutsLeaveThemAlone) {
  MultiplierSchedule sched;
  sched.current = Multiplier::Parse("1.5").value();
  std::vector<SymbolPolicy> policies = {Token("AAPLx/USD", "AAPL/USD", sched), SymbolPolicy("BTC/USD", 3),
                                        Equity("AAPL/USD"), SymbolPolicy("ETH/USD", 3)};
  auto copying = Engine(policies);
  auto sharing = Engine(policies);
  Book book;
  ObservationBook shared_book;
  auto put = [&](const std::string& source, const std::string& symbol, const std::string& price, int64_t t) {
    book.Put(source, symbol, price, t);
    Observation o;
    o.source = source;
    o.symbol = symbol;
    o.price = D(price);
    o.observed_unix_nanos = o.received_unix_nanos = t;
    shared_book.Put(o);
  };
  std::vector<Mark> previous;
  std::vector<std::string> previous_text;
  for (int i = 0; i < 6; ++i) {
    const int64_t t = kRegular + i * kSec;
    for (const char* s : {"d", "b", "a", "c"}) put(s, "BTC/USD", i % 3 == 0 && s[0] == 'b' ? "150" : std::to_string(100 + i), t);
    for (const char* s : {"a", "b", "c"}) put(s, "AAPL/USD", std::to_string(200 + i), t);
    for (const char* s : {"a", "b"}) put(s, "ETH/USD", "10", t);  // no quorum: no contributions
    for (const char* s : {"ta", "tb", "tc"}) put(s, "AAPLx/USD", "301", t);
    // The previous round's marks are what they were, though every array they share was replaced.
    for (size_t k = 0; k < previous.size(); ++k) EXPECT_EQ(Render(previous[k]), previous_text[k]) << "round " << i;
    std::vector<Mark> marks;
    {
      ObservationBook::Reader reader = shared_book.Read();
      marks = sharing->RoundShared([&](const std::string& s) { return reader.Shared(s); }, t);
    }
    std::vector<Mark> copied = copying->Round(book.Lookup(), t);
    ASSERT_EQ(marks.size(), copied.size());
    for (size_t k = 0; k < marks.size(); ++k) EXPECT_EQ(Render(marks[k]), Render(copied[k])) << "round " << i;
    const Mark& btc = marks[1];
    ASSERT_EQ(btc.status, MarkStatus::kOk);
    EXPECT_TRUE(btc.contributions.is_shared());
    EXPECT_EQ(btc.contributions.size(), i % 3 == 0 ? 3u : 4u);  // b is the outlier every 3rd round
    EXPECT_EQ(btc.contributions.front().source, "a");
    EXPECT_EQ(btc.contributions.back().source, "d");
    previous = marks;
    previous_text.clear();
    for (const Mark& m : marks) previous_text.push_back(Render(m));
  }
  // A non-const access gives that mark its own copy; the book and the other marks are untouched.
  Mark edited = previous[1];
  edited.contributions[0].price = D("1");
  EXPECT_FALSE(edited.contributions.is_shared());
  EXPECT_EQ(edited.contributions.size(), previous[1].contributions.size());
  EXPECT_EQ(Render(previous[1]), previous_text[1]);
  EXPECT_EQ(shared_book.ForSymbol("BTC/USD")[0].price.ToString(), "105");
}

TEST(MarkEngine, ReplayIsDeterministic) {
  auto run = [] {
    auto engine = Engine({SymbolPolicy("BTC/USD", 3)});
    Book book;
    std::vector<std::string> out;
    for (int i = 0; i < 50; ++i) {
      const int64_t t = kRegular + i * kSec;
      book.Put("a", "BTC/USD", std::to_string(100 + (i * 7) % 13), t);
      book.Put("b", "BTC/USD", std::to_string(100 + (i * 5) % 11), t);
      book.Put("c", "BTC/USD", std::to_string(100 + (i * 3) % 17), t);
      Mark m = engine->Round(book.Lookup(), t).front();
      out.push_back(std::string(MarkStatusName(m.status)) + (m.price ? m.price->ToString() : "-"));
    }
    return out;
  };
  EXPECT_EQ(run(), run());
}

TEST(MarkEngine, RestartKeepsTheLastRegularPriceForTheWeekend) {
  auto engine = Engine({Equity("AAPL/USD")});
  Book book;
  PutAll(&book, "AAPL/USD", "190.10", kRegular - kSec);
  std::vector<Mark> friday = engine->Round(book.Lookup(), kRegular);
  ASSERT_EQ(friday[0].status, MarkStatus::kOk);
  // A new engine (daemon restart) seeded from the last published marks.
  auto restarted = Engine({Equity("AAPL/USD")});
  restarted->Seed(friday, kRegular);
  Mark m = restarted->Round(Book().Lookup(), kSaturday).front();
  EXPECT_EQ(m.status, MarkStatus::kMarketClosed);
  EXPECT_EQ(m.price->ToString(), "190.10");
  EXPECT_EQ(*m.price_unix_nanos, kRegular - kSec);
  EXPECT_EQ(m.publish_reason, PublishReason::kStatusChange);
}

TEST(MarkEngine, SessionMaxAgeTightensTheSourcesMaxAge) {
  SymbolPolicy p = Equity("AAPL/USD");
  p.session_max_age_ms[Session::kRegular] = 1000;
  auto engine = Engine({p});
  Book book;
  PutAll(&book, "AAPL/USD", "190.10", kRegular - 5 * kSec);  // fresh for the sources (10 s), not the session
  EXPECT_EQ(engine->Round(book.Lookup(), kRegular).front().status, MarkStatus::kStale);
  PutAll(&book, "AAPL/USD", "190.10", kRegular - 500 * kNanosPerMilli);
  EXPECT_EQ(engine->Round(book.Lookup(), kRegular).front().status, MarkStatus::kOk);
}

TEST(MarkEngine, WeightsMoveTheMedian) {
  SymbolPolicy p("BTC/USD", 3);
  p.outliers.mad_k = Decimal();
  auto engine = Engine({p});
  Book book;
  book.Put("a", "BTC/USD", "100", kRegular);
  book.Put("b", "BTC/USD", "101", kRegular);
  book.Put("c", "BTC/USD", "102", kRegular);
  EXPECT_EQ(engine->Round(book.Lookup(), kRegular).front().price->ToString(), "101");
  p.weights["c"] = 3;
  auto weighted = Engine({p});
  EXPECT_EQ(weighted->Round(book.Lookup(), kRegular).front().price->ToString(), "102");
}

// The round prices the usual quotes' spreads inline; every shape of bid/ask still gives exactly
// what SpreadConfidence and AggregateQuotes give (one digit more for an odd spread, the most
// digits a Decimal holds, huge spreads, crossed, missing or non-positive sides, mixed scales).
TEST(MarkEngine, EverySpreadShapePricesAsSpreadConfidenceSays) {
  struct Case {
    std::optional<std::string> bid, ask;
  };
  const std::string tiny29 = "0.00000000000000000000000000001", tiny30 = "0.000000000000000000000000000001";
  const std::vector<Case> cases = {
      {{}, {}}, {"99.5", {}}, {{}, "100.5"}, {"99.99", "100.01"}, {"99.99", "100.02"}, {"100.00", "100.00"},
      {"99.9", "100.02"}, {"100.02", "99.99"}, {"0", "100"}, {"-1", "100"}, {tiny29, "0.00000000000000000000000000002"},
      {tiny30, "0.000000000000000000000000000002"}, {"1", "999999999999999999999999999999"},
      {"1", "1000000000000000000000"}, {"1", "4000000000000000000"}, {"1", "9223372036854775807"}};
  auto engine = Engine({SymbolPolicy("X/USD", 3)});
  for (const Case& c : cases) {
    Book book;
    book.Put("a", "X/USD", "100.00", kRegular, c.bid, c.ask);
    book.Put("b", "X/USD", "100.01", kRegular, "100.00", "100.02");
    book.Put("c", "X/USD", "100.03", kRegular, "100.01", "100.05");
    book.Put("d", "X/USD", "99.98", kRegular, "99.97", "99.99");
    const Mark m = engine->Round(book.Lookup(), kRegular).front();
    std::vector<Quote> quotes;
    std::vector<Observation> obs = book.by_symbol["X/USD"];
    std::sort(obs.begin(), obs.end(), [](const Observation& x, const Observation& y) { return x.source < y.source; });
    for (const Observation& o : obs) {
      Result<Decimal> conf = SpreadConfidence(o);
      if (conf.ok()) quotes.push_back({o.source, o.price, *conf, 1});
    }
    const std::string what = c.bid.value_or("-") + " / " + c.ask.value_or("-");
    Result<Aggregated> want = AggregateQuotes(quotes, OutlierRule());
    if (!want.ok()) {  // (the finest scales cannot meet 100.00 within 36 digits)
      EXPECT_EQ(m.status, MarkStatus::kInsufficientSources) << what;
      continue;
    }
    ASSERT_EQ(m.status, MarkStatus::kOk) << what;
    EXPECT_EQ(m.price->ToString(), want->price.ToString()) << what;
    EXPECT_EQ(m.confidence->ToString(), want->confidence.ToString()) << what;
    EXPECT_EQ(m.contributions.size(), want->kept.size()) << what;
  }
}

}  // namespace
}  // namespace plumbline::feeds
