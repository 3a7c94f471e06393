#include "plumbline/daemon/config.h"

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "plumbline/attest/keys.h"
#include "plumbline/daemon/reserve_config.h"
#include "plumbline/multiplier.h"
#include "plumbline/toml_reader.h"

namespace plumbline::daemon {
namespace {

// Walks one TOML table, remembering which keys were read so unknown ones can be reported.
class TableReader : public TomlTableReader {
 public:
  TableReader(const toml::table& table, const std::string& file, std::string prefix)
      : TomlTableReader(table, "config " + file, std::move(prefix)) {}
};

Status ParseHttp(const toml::table& t, const std::string& file, HttpConfig* http) {
  TableReader r(t, file, "http");
  int64_t v = http->threads;
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("threads", false, 1, 1024, &v));
  http->threads = static_cast<int>(v);
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("read_timeout_ms", false, 10, 600000, &http->read_timeout_ms));
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("write_timeout_ms", false, 10, 600000, &http->write_timeout_ms));
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("idle_timeout_ms", false, 10, 600000, &http->idle_timeout_ms));
  int64_t body = static_cast<int64_t>(http->max_body_bytes);
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("max_body_bytes", false, 1, 64 << 20, &body));
  http->max_body_bytes = static_cast<uint64_t>(body);
  int64_t header = static_cast<int64_t>(http->max_header_bytes);
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("max_header_bytes", false, 1024, 1 << 20, &header));
  http->max_header_bytes = static_cast<uint64_t>(header);
  return r.CheckNoUnknownKeys();
}

// A path key that may name a systemd credential: "${CREDENTIALS_DIRECTORY}/NAME".
Status CredentialPath(TableReader& r, std::string_view key, bool required, std::string* out) {
  PLUMBLINE_RETURN_IF_ERROR(r.String(key, required, out));
  constexpr std::string_view kVar = "${CREDENTIALS_DIRECTORY}";
  if (out->rfind(kVar, 0) != 0) return Status::Ok();
  const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
  if (dir == nullptr || *dir == '\0') {
    return r.Error(key, "names ${CREDENTIALS_DIRECTORY}, which is not set (systemd sets it for LoadCredential=)");
  }
  out->replace(0, kVar.size(), dir);
  return Status::Ok();
}

Status ParseTls(const toml::table& t, const std::string& file, TlsConfig* tls) {
  TableReader r(t, file, "tls");
  PLUMBLINE_RETURN_IF_ERROR(CredentialPath(r, "cert_file", true, &tls->cert_file));
  PLUMBLINE_RETURN_IF_ERROR(CredentialPath(r, "key_file", true, &tls->key_file));
  return r.CheckNoUnknownKeys();
}

Status ParseOracleSymbolKeys(TableReader& r, int64_t now, feeds::SymbolPolicy* out);  // below

Status ParseSymbol(const toml::table& t, const std::string& file, const std::string& prefix,
                   feeds::SymbolPolicy* out, int64_t now) {
  TableReader r(t, file, prefix);
  PLUMBLINE_RETURN_IF_ERROR(r.String("symbol", true, &out->symbol));
  int64_t quorum = out->quorum;
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("quorum", false, 1, 1000, &quorum));
  out->quorum = static_cast<uint32_t>(quorum);
  PLUMBLINE_RETURN_IF_ERROR(ParseOracleSymbolKeys(r, now, out));
  return r.CheckNoUnknownKeys();
}

Status ParseSource(const toml::table& t, const std::string& file, const std::string& prefix,
                   feeds::SourceConfig* out) {
  TableReader r(t, file, prefix);
  PLUMBLINE_RETURN_IF_ERROR(r.String("name", true, &out->name));
  std::string format;
  PLUMBLINE_RETURN_IF_ERROR(r.String("format", true, &format));
  auto parsed = feeds::ParseVenueFormat(format);
  if (!parsed.ok()) return r.Error("format", "expected one of " + feeds::VenueFormatList() + ", got \"" + format + "\"");
  out->format = *parsed;
  PLUMBLINE_RETURN_IF_ERROR(r.String("base_url", true, &out->base_url));
  if (out->base_url.rfind("http://", 0) != 0 && out->base_url.rfind("https://", 0) != 0) {
    return r.Error("base_url", "expected an http:// or https:// URL, got \"" + out->base_url + "\"");
  }
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("poll_interval_ms", false, 10, 3600000, &out->poll_interval_ms));
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("connect_timeout_ms", false, 10, 60000, &out->connect_timeout_ms));
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("read_timeout_ms", false, 10, 60000, &out->read_timeout_ms));
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("max_age_ms", false, 1, 86400000, &out->max_age_ms));
  int64_t retries = out->retries;
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("retries", false, 0, 10, &retries));
  out->retries = static_cast<int>(retries);
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("retry_backoff_ms", false, 1, 60000, &out->retry_backoff_ms));
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("max_backoff_ms", false, 1, 3600000, &out->max_backoff_ms));
  const toml::node* symbols = r.Find("symbols");
  if (symbols == nullptr) return r.Error("symbols", "missing; expected a table of symbol = \"VENUE-SYMBOL\"");
  if (!symbols->is_table()) return r.Error("symbols", "expected a table, got " + TableReader::TypeName(*symbols));
  for (const auto& [k, v] : *symbols->as_table()) {
    if (!v.is_string()) {
      return r.Error("symbols." + std::string(k.str()), "expected a string (the venue's symbol), got " + TableReader::TypeName(v));
    }
    out->symbols[std::string(k.str())] = v.as_string()->get();
  }
  if (out->symbols.empty()) return r.Error("symbols", "must list at least one symbol");
  return r.CheckNoUnknownKeys();
}

// ---- oracle keys of [[symbols]] (docs/configuration.md, docs/oracle.md) ----

Status DecimalKey(TableReader& r, std::string_view key, bool positive, Decimal* out) {
  std::string text;
  PLUMBLINE_RETURN_IF_ERROR(r.String(key, false, &text));
  if (text.empty()) return Status::Ok();
  Result<Decimal> d = Decimal::Parse(text);
  if (!d.ok()) return r.Error(key, "expected a decimal string like \"0.05\", got \"" + text + "\"");
  if (d->is_negative() || (positive && d->is_zero())) {
    return r.Error(key, std::string("expected a ") + (positive ? "positive" : "non-negative") +
                            " decimal, got \"" + text + "\"");
  }
  *out = *d;
  return Status::Ok();
}

Status ParseOracleSymbolKeys(TableReader& r, int64_t now, feeds::SymbolPolicy* out) {
  std::string asset_class;
  PLUMBLINE_RETURN_IF_ERROR(r.String("asset_class", false, &asset_class));
  if (!asset_class.empty()) {
    auto c = ParseAssetClass(asset_class);
    if (!c) return r.Error("asset_class", "expected \"crypto\", \"equity\" or \"token\", got \"" + asset_class + "\"");
    out->asset_class = *c;
  }
  PLUMBLINE_RETURN_IF_ERROR(DecimalKey(r, "outlier_mad_k", false, &out->outliers.mad_k));
  PLUMBLINE_RETURN_IF_ERROR(DecimalKey(r, "outlier_min_band", false, &out->outliers.min_band));
  PLUMBLINE_RETURN_IF_ERROR(DecimalKey(r, "max_move", false, &out->max_move));
  int64_t confirm = out->confirm_rounds;
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("confirm_rounds", false, 1, 1000, &confirm));
  out->confirm_rounds = static_cast<uint32_t>(confirm);
  PLUMBLINE_RETURN_IF_ERROR(DecimalKey(r, "deviation", false, &out->deviation));
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("heartbeat_ms", false, 1, 86400000, &out->heartbeat_ms));
  if (const toml::node* h = r.Find("halted")) {
    if (!h->is_boolean()) return r.Error("halted", "expected true or false, got " + TableReader::TypeName(*h));
    out->halted = h->as_boolean()->get();
  }
  if (const toml::node* w = r.Find("weights")) {
    if (!w->is_table()) return r.Error("weights", "expected a table of source = integer weight");
    for (const auto& [k, v] : *w->as_table()) {
      const std::string key = "weights." + std::string(k.str());
      if (!v.is_integer() || v.as_integer()->get() < 1 || v.as_integer()->get() > 1000) {
        return r.Error(key, "expected an integer weight in [1, 1000]");
      }
      out->weights[std::string(k.str())] = static_cast<uint32_t>(v.as_integer()->get());
    }
  }
  if (const toml::node* a = r.Find("session_max_age_ms")) {
    if (!a->is_table()) return r.Error("session_max_age_ms", "expected a table of session = milliseconds");
    for (const auto& [k, v] : *a->as_table()) {
      const std::string key = "session_max_age_ms." + std::string(k.str());
      auto session = ParseSession(k.str());
      if (!session) return r.Error(key, "unknown session (expected pre_market, regular, post_market, overnight or closed)");
      if (!v.is_integer() || v.as_integer()->get() < 1) return r.Error(key, "expected a positive integer (milliseconds)");
      out->session_max_age_ms[*session] = v.as_integer()->get();
    }
  }
  // Token keys.
  feeds::TokenPolicy token;
  std::string multiplier, next, activation;
  PLUMBLINE_RETURN_IF_ERROR(r.String("underlying", false, &token.underlying));
  PLUMBLINE_RETURN_IF_ERROR(r.String("multiplier", false, &multiplier));
  PLUMBLINE_RETURN_IF_ERROR(r.String("next_multiplier", false, &next));
  PLUMBLINE_RETURN_IF_ERROR(r.String("multiplier_activation", false, &activation));
  PLUMBLINE_RETURN_IF_ERROR(DecimalKey(r, "basis_bound", false, &token.basis_bound));
  PLUMBLINE_RETURN_IF_ERROR(DecimalKey(r, "off_session_confidence_factor", true, &token.off_session_confidence_factor));
  const bool any_token_key = !token.underlying.empty() || !multiplier.empty() || !next.empty() || !activation.empty();
  if (out->asset_class != AssetClass::kToken) {
    if (any_token_key) return r.Error("asset_class", "token keys (underlying, multiplier, ...) need asset_class = \"token\"");
    return Status::Ok();
  }
  if (token.underlying.empty()) return r.Error("underlying", "missing; a token needs its underlying equity symbol");
  if (multiplier.empty()) return r.Error("multiplier", "missing; expected the shares per token, e.g. \"1\" or \"1/3\"");
  Result<Multiplier> m = Multiplier::Parse(multiplier);
  if (!m.ok()) return r.Error("multiplier", m.status().message());
  token.multiplier.current = *m;
  if (next.empty() != activation.empty()) {
    return r.Error(next.empty() ? "next_multiplier" : "multiplier_activation",
                   "next_multiplier and multiplier_activation go together");
  }
  if (!next.empty()) {
    Result<Multiplier> n = Multiplier::Parse(next);
    if (!n.ok()) return r.Error("next_multiplier", n.status().message());
    token.multiplier.next = *n;
    Result<int64_t> t = feeds::ParseRfc3339Utc(activation);
    if (!t.ok()) return r.Error("multiplier_activation", "expected an RFC 3339 UTC time like \"2026-12-01T14:30:00Z\", got \"" + activation + "\"");
    token.multiplier.activation_unix_nanos = *t;
    if (*t <= now) {
      return r.Error("multiplier_activation", "\"" + activation + "\" is in the past; a staged multiplier change must "
                     "activate in the future (apply it as multiplier instead)");
    }
  }
  out->token = std::move(token);
  return Status::Ok();
}

// Cross-symbol checks and the calendar, once every symbol is read.
Status CheckOracleSymbols(const std::string& file, Config* config) {
  std::map<std::string, AssetClass> classes;
  bool needs_calendar = false;
  for (const auto& p : config->symbols) {
    classes[p.symbol] = p.asset_class;
    needs_calendar = needs_calendar || p.asset_class != AssetClass::kCrypto;
  }
  std::set<std::string> source_names;
  for (const auto& src : config->sources) source_names.insert(src.name);
  for (const auto& pub : config->publishers) source_names.insert(pub.name);
  for (size_t i = 0; i < config->symbols.size(); ++i) {
    const auto& p = config->symbols[i];
    for (const auto& [source, weight] : p.weights) {
      if (!source_names.count(source)) {
        return Status::InvalidArgument("config " + file + ": key 'symbols[" + std::to_string(i) + "].weights." + source +
                                       "': no source of that name in [[sources]]");
      }
    }
    if (p.token && (!classes.count(p.token->underlying) || classes[p.token->underlying] != AssetClass::kEquity)) {
      return Status::InvalidArgument("config " + file + ": key 'symbols[" + std::to_string(i) + "].underlying': \"" +
                                     p.token->underlying + "\" is not an equity symbol listed in [[symbols]]");
    }
  }
  if (!needs_calendar) return Status::Ok();
  if (config->calendar_file.empty()) {
    return Status::InvalidArgument("config " + file +
                                   ": key 'calendar_file': missing; equity and token symbols need a trading "
                                   "calendar (e.g. \"deploy/calendar/nyse.toml\")");
  }
  auto cal = feeds::EquityCalendar::LoadFile(config->calendar_file);
  if (!cal.ok()) return Status::InvalidArgument("config " + file + ": key 'calendar_file': " + cal.status().message());
  config->calendar = std::make_shared<feeds::EquityCalendar>(std::move(cal).value());
  return Status::Ok();
}

Status ParseWitness(const toml::table& t, const std::string& file, const std::string& prefix, WitnessConfig* out) {
  TableReader r(t, file, prefix);
  PLUMBLINE_RETURN_IF_ERROR(r.String("name", true, &out->name));
  for (char c : out->name) {
    if (c == ' ' || c == '+' || c == '\n' || c == '\t') return r.Error("name", "must not contain spaces or '+'");
  }
  PLUMBLINE_RETURN_IF_ERROR(r.String("public_key_file", true, &out->public_key_file));
  auto key = attest::PublicKey::LoadFile(out->public_key_file);
  if (!key.ok()) return r.Error("public_key_file", "cannot load an Ed25519 public key: " + key.status().message());
  out->public_key = *key;
  return r.CheckNoUnknownKeys();
}

// [[publishers]] (push ingestion, docs/ingest.md). Key files are read later by the Ingestor,
// whose errors name this key path too; the raw base64 form is checked here.
Status ParsePushPublisher(const toml::table& t, const std::string& file, const std::string& prefix,
                          PushPublisherConfig* out) {
  TableReader r(t, file, prefix);
  PLUMBLINE_RETURN_IF_ERROR(r.String("name", true, &out->name));
  PLUMBLINE_RETURN_IF_ERROR(r.String("public_key_file", false, &out->public_key_file));
  PLUMBLINE_RETURN_IF_ERROR(r.String("public_key", false, &out->public_key));
  if (out->public_key_file.empty() == out->public_key.empty()) {
    return r.Error("public_key", "set exactly one of public_key_file (PEM) and public_key (raw base64)");
  }
  if (!out->public_key.empty()) {
    auto raw = attest::Base64Decode(out->public_key);
    if (!raw.ok() || raw->size() != 32) {
      return r.Error("public_key", "expected the 32-byte Ed25519 public key in standard base64");
    }
  }
  const toml::node* symbols = r.Find("symbols");
  if (symbols == nullptr || !symbols->is_array() || symbols->as_array()->empty()) {
    return r.Error("symbols", "expected a non-empty array of symbol strings");
  }
  for (const auto& v : *symbols->as_array()) {
    if (!v.is_string()) return r.Error("symbols", "expected strings, got " + TableReader::TypeName(v));
    out->symbols.push_back(v.as_string()->get());
  }
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("max_age_ms", false, 1, 86400000, &out->max_age_ms));
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("batches_per_second", false, 1, 1000000, &out->batches_per_second));
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("burst", false, 1, 1000000, &out->burst));
  return r.CheckNoUnknownKeys();
}

Status ParseIngest(const toml::table& t, const std::string& file, IngestConfig* out) {
  TableReader r(t, file, "ingest");
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("max_future_skew_ms", false, 0, 3600000, &out->max_future_skew_ms));
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("max_observations", false, 1, 100000, &out->max_observations));
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("bulk_max_lines", false, 1, 100000, &out->bulk_max_lines));
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("bulk_max_bytes", false, 1, 64 << 20, &out->bulk_max_bytes));
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("bulk_verify_threads", false, 1, 64, &out->bulk_verify_threads));
  return r.CheckNoUnknownKeys();
}

Status ParseStream(const toml::table& t, const std::string& file, StreamConfig* out) {
  TableReader r(t, file, "stream");
  int64_t subscribers = out->max_subscribers;
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("max_subscribers", false, 0, 100000, &subscribers));
  out->max_subscribers = static_cast<int>(subscribers);
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("heartbeat_ms", false, 10, 3600000, &out->heartbeat_ms));
  return r.CheckNoUnknownKeys();
}

}  // namespace

Status SetListenAddress(std::string_view address, Config* config) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("listen address \"" + std::string(address) + "\": " + why +
                                   " (expected HOST:PORT, e.g. 127.0.0.1:8420)");
  };
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return bad("no port");
  std::string_view host = address.substr(0, colon);
  std::string_view port = address.substr(colon + 1);
  if (host.front() == '[') {
    if (host.back() != ']') return bad("unterminated IPv6 literal");
    host = host.substr(1, host.size() - 2);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value > 65535) return bad("port is not 0..65535");
  config->listen_host = std::string(host);
  config->listen_port = static_cast<uint16_t>(value);
  return Status::Ok();
}

Result<Config> ParseConfig(std::string_view toml_text, const std::string& path, const Clock& clock) {
  Config config;
  config.path = path;
  config.digest = attest::Sha256Hex(toml_text);
  const std::string file = path.empty() ? "<text>" : path;
  toml::table root;
  try {
    root = toml::parse(toml_text, path);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << "config " << file << ": line " << e.source().begin.line << ", column "
       << e.source().begin.column << ": " << e.description();
    return Status::InvalidArgument(os.str());
  }
  TableReader r(root, file, "");
  PLUMBLINE_RETURN_IF_ERROR(r.String("origin", false, &config.origin));
  std::string listen;
  PLUMBLINE_RETURN_IF_ERROR(r.String("listen", false, &listen));
  if (!listen.empty()) {
    Status s = SetListenAddress(listen, &config);
    if (!s.ok()) return r.Error("listen", s.message());
  }
  PLUMBLINE_RETURN_IF_ERROR(r.String("data_dir", false, &config.data_dir));
  PLUMBLINE_RETURN_IF_ERROR(CredentialPath(r, "key_file", true, &config.key_file));
  PLUMBLINE_RETURN_IF_ERROR(CredentialPath(r, "admin_token_file", false, &config.admin_token_file));
  PLUMBLINE_RETURN_IF_ERROR(r.Integer("publish_interval_ms", false, 50, 3600000, &config.publish_interval_ms));
  PLUMBLINE_RETURN_IF_ERROR(r.String("risk_file", false, &config.risk_file));
  PLUMBLINE_RETURN_IF_ERROR(r.String("calendar_file", false, &config.calendar_file));
  PLUMBLINE_RETURN_IF_ERROR(r.String("observation_log", false, &config.observation_log));
  PLUMBLINE_RETURN_IF_ERROR(r.String("halt_file", false, &config.halt_file));

  if (const toml::node* http = r.Find("http")) {
    if (!http->is_table()) return r.Error("http", "expected a table, got " + TableReader::TypeName(*http));
    PLUMBLINE_RETURN_IF_ERROR(ParseHttp(*http->as_table(), file, &config.http));
  }
  if (const toml::node* tls = r.Find("tls")) {
    if (!tls->is_table()) return r.Error("tls", "expected a table, got " + TableReader::TypeName(*tls));
    PLUMBLINE_RETURN_IF_ERROR(ParseTls(*tls->as_table(), file, &config.tls));
  }

  auto array_of_tables = [&](std::string_view key, const toml::array** out) -> Status {
    const toml::node* n = r.Find(key);
    if (n == nullptr) return r.Error(key, "missing; expected an array of tables ([[" + std::string(key) + "]])");
    if (!n->is_array_of_tables()) {
      return r.Error(key, "expected an array of tables ([[" + std::string(key) + "]]), got " + TableReader::TypeName(*n));
    }
    *out = n->as_array();
    if ((*out)->empty()) return r.Error(key, "must have at least one entry");
    return Status::Ok();
  };

  const toml::array* symbols = nullptr;
  PLUMBLINE_RETURN_IF_ERROR(array_of_tables("symbols", &symbols));
  std::set<std::string> symbol_names;
  for (size_t i = 0; i < symbols->size(); ++i) {
    feeds::SymbolPolicy policy;
    std::string prefix = "symbols[" + std::to_string(i) + "]";
    PLUMBLINE_RETURN_IF_ERROR(ParseSymbol(*symbols->get(i)->as_table(), file, prefix, &policy, clock.NowUnixNanos()));
    if (!symbol_names.insert(policy.symbol).second) {
      return Status::InvalidArgument("config " + file + ": key '" + prefix + ".symbol': duplicate symbol \"" + policy.symbol + "\"");
    }
    config.symbols.push_back(std::move(policy));
  }

  const toml::array* sources = nullptr;
  PLUMBLINE_RETURN_IF_ERROR(array_of_tables("sources", &sources));
  std::set<std::string> source_names;
  for (size_t i = 0; i < sources->size(); ++i) {
    feeds::SourceConfig source;
    std::string prefix = "sources[" + std::to_string(i) + "]";
    PLUMBLINE_RETURN_IF_ERROR(ParseSource(*sources->get(i)->as_table(), file, prefix, &source));
    if (!source_names.insert(source.name).second) {
      return Status::InvalidArgument("config " + file + ": key '" + prefix + ".name': duplicate source \"" + source.name + "\"");
    }
    for (const auto& [symbol, venue_symbol] : source.symbols) {
      if (!symbol_names.count(symbol)) {
        return Status::InvalidArgument("config " + file + ": key '" + prefix + ".symbols." + symbol +
                                       "': symbol is not listed in [[symbols]]");
      }
    }
    config.sources.push_back(std::move(source));
  }
  if (const toml::node* witnesses = r.Find("witnesses")) {
    if (!witnesses->is_array_of_tables()) {
      return r.Error("witnesses", "expected an array of tables ([[witnesses]]), got " + TableReader::TypeName(*witnesses));
    }
    std::set<std::string> names;
    for (size_t i = 0; i < witnesses->as_array()->size(); ++i) {
      WitnessConfig w;
      std::string prefix = "witnesses[" + std::to_string(i) + "]";
      PLUMBLINE_RETURN_IF_ERROR(ParseWitness(*witnesses->as_array()->get(i)->as_table(), file, prefix, &w));
      if (!names.insert(w.name).second) {
        return Status::InvalidArgument("config " + file + ": key '" + prefix + ".name': duplicate witness \"" + w.name + "\"");
      }
      config.witnesses.push_back(std::move(w));
    }
  }

  if (const toml::node* ingest = r.Find("ingest")) {
    if (!ingest->is_table()) return r.Error("ingest", "expected a table, got " + TableReader::TypeName(*ingest));
    PLUMBLINE_RETURN_IF_ERROR(ParseIngest(*ingest->as_table(), file, &config.ingest));
  }
  if (const toml::node* stream = r.Find("stream")) {
    if (!stream->is_table()) return r.Error("stream", "expected a table, got " + TableReader::TypeName(*stream));
    PLUMBLINE_RETURN_IF_ERROR(ParseStream(*stream->as_table(), file, &config.stream));
  }
  if (const toml::node* publishers = r.Find("publishers")) {
    if (!publishers->is_array_of_tables()) {
      return r.Error("publishers", "expected an array of tables ([[publishers]]), got " + TableReader::TypeName(*publishers));
    }
    for (size_t i = 0; i < publishers->as_array()->size(); ++i) {
      PushPublisherConfig p;
      const std::string prefix = "publishers[" + std::to_string(i) + "]";
      PLUMBLINE_RETURN_IF_ERROR(ParsePushPublisher(*publishers->as_array()->get(i)->as_table(), file, prefix, &p));
      // Publishers share the book's source namespace with [[sources]].
      if (!source_names.insert(p.name).second) {
        return Status::InvalidArgument("config " + file + ": key '" + prefix + ".name': \"" + p.name +
                                       "\" is already a source or publisher name");
      }
      for (const std::string& symbol : p.symbols) {
        if (!symbol_names.count(symbol)) {
          return Status::InvalidArgument("config " + file + ": key '" + prefix + ".symbols': \"" + symbol +
                                         "\" is not listed in [[symbols]]");
        }
      }
      config.publishers.push_back(std::move(p));
    }
  }
  PLUMBLINE_RETURN_IF_ERROR(ParseReservesConfig(r.Find("reserves"), r.Find("reserves_round"), file, &config.reserves));
  PLUMBLINE_RETURN_IF_ERROR(r.CheckNoUnknownKeys());
  PLUMBLINE_RETURN_IF_ERROR(CheckOracleSymbols(file, &config));
  return config;
}

Result<Config> LoadConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("config " + path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str(), path);
}

}  // namespace plumbline::daemon
