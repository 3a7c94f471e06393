#include "plumbline/daemon/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

namespace plumbline::daemon {
namespace {

constexpr char kGood[] = R"(
origin = "plumbline.test/unit"
listen = "127.0.0.1:9000"
data_dir = "var/test"
key_file = "var/test/signing.key"
publish_interval_ms = 500

[http]
threads = 4
max_body_bytes = 1024

[[symbols]]
symbol = "BTC/USD"

[[symbols]]
symbol = "ETH/USD"
quorum = 2

[[sources]]
name = "kraken"
format = "kraken"
base_url = "http://127.0.0.1:18421"
max_age_ms = 3000
[sources.symbols]
"BTC/USD" = "XBTUSD"
"ETH/USD" = "ETHUSD"
)";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

std::string ErrorOf(const std::string& text) {
  auto c = ParseConfig(text, "test.toml");
  EXPECT_FALSE(c.ok());
  if (c.ok()) return "";
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  return c.status().message();
}

TEST(ConfigTest, ParsesEveryKey) {
  auto c = ParseConfig(kGood, "test.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->origin, "plumbline.test/unit");
  EXPECT_EQ(c->listen_host, "127.0.0.1");
  EXPECT_EQ(c->listen_port, 9000);
  EXPECT_EQ(c->publish_interval_ms, 500);
  EXPECT_EQ(c->http.threads, 4);
  EXPECT_EQ(c->http.max_body_bytes, 1024u);
  ASSERT_EQ(c->symbols.size(), 2u);
  EXPECT_EQ(c->symbols[0].quorum, 3u);  // the documented default
  EXPECT_EQ(c->symbols[1].quorum, 2u);
  ASSERT_EQ(c->sources.size(), 1u);
  EXPECT_EQ(c->sources[0].max_age_ms, 3000);
  EXPECT_EQ(c->sources[0].symbols.at("BTC/USD"), "XBTUSD");
  EXPECT_EQ(c->digest.size(), 64u);
}

TEST(ConfigTest, DigestCoversTheBytes) {
  auto a = ParseConfig(kGood, "a.toml");
  auto b = ParseConfig(std::string(kGood) + "\n# comment\n", "a.toml");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->digest, b->digest);
}

TEST(ConfigTest, MissingRequiredKeyIsNamed) {
  std::string m = ErrorOf(Replace(kGood, "key_file = \"var/test/signing.key\"", ""));
  EXPECT_NE(m.find("test.toml"), std::string::npos) << m;
  EXPECT_NE(m.find("'key_file'"), std::string::npos) << m;
  EXPECT_NE(m.find("missing"), std::string::npos) << m;
}

TEST(ConfigTest, MistypedKeyNamesKeyAndExpectedType) {
  std::string m = ErrorOf(Replace(kGood, "max_age_ms = 3000", "max_age_ms = \"3000\""));
  EXPECT_NE(m.find("'sources[0].max_age_ms'"), std::string::npos) << m;
  EXPECT_NE(m.find("expected an integer, got string"), std::string::npos) << m;
  m = ErrorOf(Replace(kGood, "quorum = 2", "quorum = 2.5"));
  EXPECT_NE(m.find("'symbols[1].quorum'"), std::string::npos) << m;
  m = ErrorOf(Replace(kGood, "publish_interval_ms = 500", "publish_interval_ms = 0"));
  EXPECT_NE(m.find("'publish_interval_ms'"), std::string::npos) << m;
  EXPECT_NE(m.find("[50, "), std::string::npos) << m;
}

TEST(ConfigTest, UnknownKeysAreTyposNotIgnored) {
  std::string m = ErrorOf(Replace(kGood, "max_age_ms = 3000", "max_age_msec = 3000"));
  EXPECT_NE(m.find("'sources[0].max_age_msec': unknown key"), std::string::npos) << m;
}

TEST(ConfigTest, RejectsBadValues) {
  EXPECT_NE(ErrorOf(Replace(kGood, "format = \"kraken\"", "format = \"ftx\"")).find("expected one of"), std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kGood, "\"ETH/USD\" = \"ETHUSD\"", "\"DOGE/USD\" = \"XDGUSD\"")).find("not listed in [[symbols]]"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kGood, "127.0.0.1:9000", "127.0.0.1")).find("'listen'"), std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kGood, "symbol = \"ETH/USD\"", "symbol = \"BTC/USD\"")).find("duplicate symbol"),
            std::string::npos);
}

TEST(ConfigTest, SyntaxErrorsGiveLine) {
  std::string m = ErrorOf("origin = \"x\"\nlisten = \n");
  EXPECT_NE(m.find("line 2"), std::string::npos) << m;
}

TEST(ConfigTest, ListenOverride) {
  auto c = ParseConfig(kGood, "test.toml");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(SetListenAddress("0.0.0.0:1234", &c.value()).ok());
  EXPECT_EQ(c->listen_host, "0.0.0.0");
  EXPECT_EQ(c->listen_port, 1234);
  ASSERT_TRUE(SetListenAddress("[::1]:80", &c.value()).ok());
  EXPECT_EQ(c->listen_host, "::1");
  EXPECT_FALSE(SetListenAddress("host:99999", &c.value()).ok());
  EXPECT_FALSE(SetListenAddress("justahost", &c.value()).ok());
}

TEST(ConfigTest, MissingFileIsNamed) {
  auto c = LoadConfig("/nonexistent/plumbline.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kIOError);
  EXPECT_NE(c.status().message().find("/nonexistent/plumbline.toml"), std::string::npos);
}

// ---- oracle keys (docs/configuration.md) ----

std::string WriteTemp(const std::string& text) {
  char name[] = "/tmp/plumbline_cal_XXXXXX";
  int fd = mkstemp(name);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  return name;
}

std::string OracleConfig(const std::string& calendar, const std::string& token_extra) {
  return R"(
key_file = "k"
calendar_file = ")" + calendar + R"("
[[symbols]]
symbol = "AAPL/USD"
asset_class = "equity"
max_move = "0.2"
confirm_rounds = 2
deviation = "0.001"
heartbeat_ms = 30000
outlier_mad_k = "4"
outlier_min_band = "0.002"
weights = { alpaca = 2 }
session_max_age_ms = { overnight = 60000 }
[[symbols]]
symbol = "AAPLx/USD"
asset_class = "token"
underlying = "AAPL/USD"
multiplier = "1.0025"
basis_bound = "0.03"
off_session_confidence_factor = "3"
)" + token_extra + R"(
[[sources]]
name = "alpaca"
format = "alpaca"
base_url = "http://127.0.0.1:1"
retries = 2
retry_backoff_ms = 50
max_backoff_ms = 5000
symbols = { "AAPL/USD" = "AAPL" }
)";
}

const int64_t kConfigNow = 1767225600'000000000;  // 2026-01-01T00:00:00Z

TEST(ConfigTest, OracleKeys) {
  const std::string cal = WriteTemp("holidays = [\"2026-01-01\"]\n");
  ManualClock clock(kConfigNow);
  auto c = ParseConfig(OracleConfig(cal, "next_multiplier = \"1/3\"\nmultiplier_activation = \"2026-06-01T13:30:00Z\""),
                       "o.toml", clock);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_NE(c->calendar, nullptr);
  const auto& eq = c->symbols[0];
  EXPECT_EQ(eq.asset_class, AssetClass::kEquity);
  EXPECT_EQ(eq.max_move.ToString(), "0.2");
  EXPECT_EQ(eq.confirm_rounds, 2u);
  EXPECT_EQ(eq.weights.at("alpaca"), 2u);
  EXPECT_EQ(eq.session_max_age_ms.at(Session::kOvernight), 60000);
  EXPECT_EQ(eq.outliers.mad_k.ToString(), "4");
  const auto& tok = c->symbols[1];
  ASSERT_TRUE(tok.token.has_value());
  EXPECT_EQ(tok.token->underlying, "AAPL/USD");
  EXPECT_EQ(tok.token->multiplier.current.ToString(), "1.0025");
  EXPECT_EQ(tok.token->multiplier.next->ToString(), "1/3");
  EXPECT_EQ(*tok.token->multiplier.activation_unix_nanos, 1780320600'000000000);
  EXPECT_EQ(c->sources[0].format, feeds::VenueFormat::kAlpaca);
  EXPECT_EQ(c->sources[0].retries, 2);
  unlink(cal.c_str());
}

TEST(ConfigTest, MultiplierActivationInThePastIsRefused) {
  const std::string cal = WriteTemp("holidays = []\n");
  ManualClock clock(kConfigNow);
  auto c = ParseConfig(OracleConfig(cal, "next_multiplier = \"1/3\"\nmultiplier_activation = \"2025-06-01T13:30:00Z\""),
                       "o.toml", clock);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "config o.toml: key 'symbols[1].multiplier_activation': \"2025-06-01T13:30:00Z\" is in the past; a staged "
            "multiplier change must activate in the future (apply it as multiplier instead)");
  unlink(cal.c_str());
}

TEST(ConfigTest, OracleKeyErrorsNameTheKey) {
  const std::string cal = WriteTemp("holidays = [\n  \"2026-02-30\",\n]\n");
  ManualClock clock(kConfigNow);
  auto c = ParseConfig(OracleConfig(cal, ""), "o.toml", clock);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "config o.toml: key 'calendar_file': calendar " + cal +
                                      ": line 2, key 'holidays[0]': '2026-02-30' is not a real calendar day");
  const std::string good = WriteTemp("holidays = []\n");
  auto bad = [&](const std::string& from, const std::string& to) {
    std::string text = Replace(OracleConfig(good, ""), from, to);
    auto r = ParseConfig(text, "o.toml", clock);
    EXPECT_FALSE(r.ok()) << to;
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_NE(bad("asset_class = \"equity\"", "asset_class = \"bond\"").find("symbols[0].asset_class"), std::string::npos);
  EXPECT_NE(bad("max_move = \"0.2\"", "max_move = \"-1\"").find("symbols[0].max_move"), std::string::npos);
  EXPECT_NE(bad("underlying = \"AAPL/USD\"", "underlying = \"TSLA/USD\"").find("symbols[1].underlying"), std::string::npos);
  EXPECT_NE(bad("multiplier = \"1.0025\"", "multiplier = \"0\"").find("symbols[1].multiplier"), std::string::npos);
  EXPECT_NE(bad("format = \"alpaca\"", "format = \"bloomberg\"").find("\"finnhub\""), std::string::npos);
  EXPECT_NE(bad("calendar_file = ", "# calendar_file = ").find("key 'calendar_file': missing"), std::string::npos);
  EXPECT_NE(bad("weights = { alpaca = 2 }", "weights = { alpacca = 2 }").find("symbols[0].weights.alpacca': no source"),
            std::string::npos);
  unlink(cal.c_str());
  unlink(good.c_str());
}

TEST(ConfigTest, TlsAdminTokenAndHeaderLimit) {
  auto c = ParseConfig(Replace(kGood, "[http]\n", "admin_token_file = \"/etc/plumbline/admin.token\"\n"
                                                   "[tls]\ncert_file = \"/c.pem\"\nkey_file = \"/k.pem\"\n"
                                                   "[http]\nmax_header_bytes = 4096\n"),
                       "test.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->admin_token_file, "/etc/plumbline/admin.token");
  EXPECT_TRUE(c->tls.enabled());
  EXPECT_EQ(c->tls.cert_file, "/c.pem");
  EXPECT_EQ(c->tls.key_file, "/k.pem");
  EXPECT_EQ(c->http.max_header_bytes, 4096u);
  auto plain = ParseConfig(kGood, "test.toml");
  EXPECT_FALSE(plain->tls.enabled());
  EXPECT_TRUE(plain->admin_token_file.empty());

  std::string m = ErrorOf(Replace(kGood, "[http]\n", "[tls]\ncert_file = \"/c.pem\"\n[http]\n"));
  EXPECT_NE(m.find("'tls.key_file': missing"), std::string::npos) << m;
  m = ErrorOf(Replace(kGood, "[http]\n", "[tls]\ncert_file = \"/c\"\nkey_file = \"/k\"\nkey_pass = \"x\"\n[http]\n"));
  EXPECT_NE(m.find("'tls.key_pass': unknown key"), std::string::npos) << m;
  m = ErrorOf(Replace(kGood, "threads = 4", "max_header_bytes = 10"));
  EXPECT_NE(m.find("'http.max_header_bytes'"), std::string::npos) << m;
}

TEST(ConfigTest, CredentialPathsExpandFromSystemd) {
  const std::string text = Replace(kGood, "key_file = \"var/test/signing.key\"",
                                   "key_file = \"${CREDENTIALS_DIRECTORY}/signing.key\"\n"
                                   "admin_token_file = \"${CREDENTIALS_DIRECTORY}/admin.token\"");
  ::setenv("CREDENTIALS_DIRECTORY", "/run/credentials/plumbline.service", 1);
  auto c = ParseConfig(text, "test.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->key_file, "/run/credentials/plumbline.service/signing.key");
  EXPECT_EQ(c->admin_token_file, "/run/credentials/plumbline.service/admin.token");
  ::unsetenv("CREDENTIALS_DIRECTORY");
  std::string m = ErrorOf(text);
  EXPECT_NE(m.find("'key_file'"), std::string::npos) << m;
  EXPECT_NE(m.find("CREDENTIALS_DIRECTORY"), std::string::npos) << m;
}

}  // namespace
}  // namespace plumbline::daemon
