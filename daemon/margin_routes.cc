#include "plumbline/daemon/margin_routes.h"

#include <charconv>
#include <unordered_map>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "plumbline/margin/json.h"

namespace plumbline::daemon {
namespace {

using nlohmann::json;

constexpr char kJson[] = "application/json";
constexpr char kNdjson[] = "application/x-ndjson";
// Accounts evaluated per chunk written to the socket while streaming a batch.
constexpr size_t kChunkAccounts = 64;

// RFC 9457 problem document, in the same shape as ApiServer's (docs/http-api.md, "Errors").
json ProblemJson(int status, const std::string& type, const std::string& detail, const std::string& instance) {
  const char* title = status == 400 ? "Bad Request"
                      : status == 404 ? "Not Found"
                      : status == 413 ? "Content Too Large"
                      : status == 503 ? "Service Unavailable"
                                      : "Error";
  return {{"type", "/problems/" + type}, {"title", title}, {"status", status}, {"detail", detail}, {"instance", instance}};
}

void Problem(httplib::Response& res, int status, const std::string& type, const std::string& detail,
             const std::string& instance) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(ProblemJson(status, type, detail, instance).dump(), "application/problem+json");
}

// Maps an evaluator / lookup error to its HTTP form.
void StatusProblem(httplib::Response& res, const Status& s, const std::string& instance) {
  switch (s.code()) {
    case Code::kNotFound: return Problem(res, 404, "unknown-snapshot", s.message(), instance);
    case Code::kUnavailable:
      return Problem(res, 503, s.message().rfind("margin", 0) == 0 ? "margin-not-configured" : "no-snapshot-yet",
                     s.message(), instance);
    case Code::kInvalidArgument:
    case Code::kOutOfRange: return Problem(res, 400, "invalid-account", s.message(), instance);
    default: return Problem(res, 500, "internal-error", s.message(), instance);
  }
}

// Parses the request body as a JSON object; on failure writes the problem and returns nullopt.
std::optional<json> ParseBody(const httplib::Request& req, httplib::Response& res) {
  json body;
  try {
    body = json::parse(req.body);
  } catch (const json::parse_error& e) {
    Problem(res, 400, "invalid-json", std::string("request body is not valid JSON: ") + e.what(), req.path);
    return std::nullopt;
  }
  if (!body.is_object()) {
    Problem(res, 400, "invalid-json", std::string("request body: expected a JSON object, got ") + body.type_name(), req.path);
    return std::nullopt;
  }
  return body;
}

// Reads the optional "snapshot" member (a positive integer sequence). Unknown members are refused.
bool ReadSnapshotAndCheckMembers(const json& body, const char* payload_key, const httplib::Request& req,
                                 httplib::Response& res, std::optional<uint64_t>* sequence) {
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() != "snapshot" && it.key() != payload_key) {
      Problem(res, 400, "invalid-account", it.key() + ": unknown member (expected \"" + payload_key + "\" and optionally \"snapshot\")",
              req.path);
      return false;
    }
  }
  auto it = body.find("snapshot");
  if (it == body.end() || it->is_null()) return true;
  if (!it->is_number_unsigned() || it->get<uint64_t>() == 0) {
    Problem(res, 400, "invalid-sequence", "snapshot: expected a positive integer sequence number, got " + it->dump(), req.path);
    return false;
  }
  *sequence = it->get<uint64_t>();
  return true;
}

}  // namespace

margin::MarketView MarketViewFromSnapshot(const attest::SignedSnapshot& signed_snapshot, const margin::RiskParams& params) {
  const attest::Snapshot& snap = signed_snapshot.snapshot;
  margin::MarketView view;
  view.snapshot_sequence = snap.sequence;
  view.snapshot_hash = signed_snapshot.payload_hash;
  view.snapshot_time_unix_nanos = snap.time_unix_nanos;
  std::unordered_map<std::string_view, const Mark*> marks;
  for (const Mark& m : snap.marks) marks[m.symbol] = &m;
  // Reserve attestations are keyed by the tokenized asset's id, the same id the risk file uses.
  std::unordered_map<std::string_view, const attest::ReserveAttestation*> reserves;
  for (const attest::ReserveAttestation& r : snap.reserves) reserves[r.asset] = &r;
  for (const margin::AssetParams& a : params.assets) {
    if (a.asset_class == margin::AssetClass::kCash) continue;
    auto it = marks.find(a.mark);
    if (it == marks.end()) continue;  // not in this snapshot: unpriced
    const Mark& m = *it->second;
    margin::AssetQuote q;
    q.asset = a.id;
    q.mark_status = MarkStatusName(m.status);
    q.price = m.price;
    q.newest_observation_unix_nanos = m.newest_observation_unix_nanos;
    // Same wire names on both sides ("regular", "pre_market", ...); a v1 snapshot has no session.
    if (m.session) q.session = margin::ParseSession(SessionName(*m.session));
    if (auto r = reserves.find(a.id); r != reserves.end()) q.reserve = r->second->status;
    view.quotes.push_back(std::move(q));
  }
  return view;
}

MarginService::MarginService(const Config& config, const Publisher& publisher, const storage::SnapshotStore& store,
                             const Clock& clock)
    : config_(config), publisher_(publisher), store_(store), clock_(clock) {
  if (!config_.risk_file.empty()) holder_ = std::make_unique<margin::RiskParamsHolder>(config_.risk_file);
}

Status MarginService::Init() { return holder_ ? holder_->Reload() : Status::Ok(); }

Status MarginService::ReloadRiskParams() {
  if (!holder_) return Status::FailedPrecondition("margin is not configured (no risk_file in the config)");
  return holder_->Reload();
}

Result<std::shared_ptr<const margin::Evaluator>> MarginService::EvaluatorFor(std::optional<uint64_t> sequence) const {
  auto params = holder_ ? holder_->Get() : nullptr;
  if (!params) return Status::Unavailable("margin is not configured: set risk_file in the daemon config");
  auto latest = publisher_.Latest();
  if (!latest) return Status::Unavailable("no snapshot has been published yet");
  const uint64_t latest_seq = latest->signed_snapshot.snapshot.sequence;
  if (!sequence || *sequence == latest_seq) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (latest_ && latest_->view().snapshot_sequence == latest_seq && &latest_->params() == params.get()) return latest_;
    auto view = std::make_shared<const margin::MarketView>(MarketViewFromSnapshot(latest->signed_snapshot, *params));
    latest_ = std::make_shared<const margin::Evaluator>(params, std::move(view));
    return latest_;
  }
  auto envelope = store_.Get(*sequence);
  if (!envelope.ok()) {
    if (envelope.status().code() == Code::kNotFound) {
      return Status::NotFound("snapshot: no snapshot with sequence " + std::to_string(*sequence) + "; the latest is " +
                              std::to_string(latest_seq));
    }
    return envelope.status();
  }
  auto decoded = attest::DecodeSnapshotEnvelope(*envelope);
  if (!decoded.ok()) return decoded.status();
  auto view = std::make_shared<const margin::MarketView>(MarketViewFromSnapshot(*decoded, *params));
  return std::make_shared<const margin::Evaluator>(params, std::move(view));
}

void MarginService::Register(httplib::Server& s) {
  s.Post("/v1/margin/evaluate", [this](const httplib::Request& req, httplib::Response& res) {
    auto body = ParseBody(req, res);
    if (!body) return;
    std::optional<uint64_t> seq;
    if (!ReadSnapshotAndCheckMembers(*body, "account", req, res, &seq)) return;
    auto it = body->find("account");
    if (it == body->end()) return Problem(res, 400, "invalid-account", "account: missing; expected a JSON object", req.path);
    auto account = margin::AccountFromJson(*it, "account.");
    if (!account.ok()) return StatusProblem(res, account.status(), req.path);
    auto ev = EvaluatorFor(seq);
    if (!ev.ok()) return StatusProblem(res, ev.status(), req.path);
    auto v = (*ev)->Evaluate(*account, clock_.NowUnixNanos());
    if (!v.ok()) return StatusProblem(res, Status(v.status().code(), "account." + v.status().message()), req.path);
    res.set_header("Cache-Control", "no-store");
    res.set_header("Plumbline-Sequence", std::to_string(v->snapshot_sequence));
    std::string text;
    margin::AppendValuationJson(*v, &text);
    res.set_content(text, kJson);
  });

  s.Post("/v1/margin/evaluate-batch", [this](const httplib::Request& req, httplib::Response& res) {
    struct Batch {
      std::vector<margin::Account> accounts;
      std::shared_ptr<const margin::Evaluator> evaluator;
      int64_t now = 0;
      size_t next = 0, errors = 0;
      std::string out;      // one NDJSON chunk, reused (no reallocation after the first chunk)
      margin::Valuation v;  // reused by EvaluateInto: steady-state evaluation does not allocate
    };
    auto batch = std::make_shared<Batch>();
    std::optional<uint64_t> seq;
    // Well-formed bodies are read straight into the accounts (no DOM); anything else takes the
    // DOM path below, which checks in the same order and names the error.
    const bool fast = margin::ReadBatchFast(req.body, &batch->accounts, &seq);
    std::optional<json> body;
    const json* list = nullptr;
    if (!fast) {
      batch->accounts.clear();
      seq.reset();
      body = ParseBody(req, res);
      if (!body) return;
      if (!ReadSnapshotAndCheckMembers(*body, "accounts", req, res, &seq)) return;
      auto it = body->find("accounts");
      if (it == body->end() || !it->is_array()) {
        return Problem(res, 400, "invalid-account", "accounts: missing; expected an array of accounts", req.path);
      }
      list = &*it;
    }
    auto ev = EvaluatorFor(seq);
    if (!ev.ok()) return StatusProblem(res, ev.status(), req.path);
    const size_t limit = (*ev)->params().max_batch_accounts;
    const size_t count = fast ? batch->accounts.size() : list->size();
    if (count > limit) {
      return Problem(res, 413, "batch-too-large",
                     "accounts: " + std::to_string(count) + " accounts exceed the limit of " + std::to_string(limit) +
                         " (max_batch_accounts in the risk file)",
                     req.path);
    }
    if (!fast) {
      // Parse every account before answering, so a malformed batch is one 400 and nothing streams.
      batch->accounts.reserve(count);
      for (size_t i = 0; i < count; ++i) {
        auto a = margin::AccountFromJson((*list)[i], "accounts[" + std::to_string(i) + "].");
        if (!a.ok()) return StatusProblem(res, a.status(), req.path);
        batch->accounts.push_back(std::move(a).value());
      }
    }
    body.reset();
    batch->evaluator = *ev;
    batch->now = clock_.NowUnixNanos();  // one evaluation time for the whole batch
    res.set_header("Cache-Control", "no-store");
    res.set_header("Plumbline-Sequence", std::to_string(batch->evaluator->view().snapshot_sequence));
    const std::string instance = req.path;
    res.set_chunked_content_provider(kNdjson, [batch, instance](size_t, httplib::DataSink& sink) {
      std::string& out = batch->out;
      margin::Valuation& v = batch->v;
      out.clear();
      const size_t end = std::min(batch->accounts.size(), batch->next + kChunkAccounts);
      for (; batch->next < end; ++batch->next) {
        const size_t i = batch->next;
        Status s = batch->evaluator->EvaluateInto(batch->accounts[i], batch->now, {}, &v);
        char index[24];
        out += "{\"index\":";
        out.append(index, static_cast<size_t>(std::to_chars(index, index + sizeof index, i).ptr - index));
        if (s.ok()) {
          out += ",\"valuation\":";
          margin::AppendValuationJson(v, &out);
        } else {
          ++batch->errors;
          out += ",\"error\":";
          out += ProblemJson(400, "invalid-account", "accounts[" + std::to_string(i) + "]." + s.message(), instance).dump();
        }
        out += "}\n";
      }
      if (batch->next == batch->accounts.size()) {
        json summary = {{"summary",
                         {{"accounts", batch->accounts.size()},
                          {"errors", batch->errors},
                          {"snapshot", batch->evaluator->view().snapshot_sequence},
                          {"evaluated_time", std::to_string(batch->now)}}}};
        out += summary.dump();
        out += '\n';
        if (!sink.write(out.data(), out.size())) return false;
        sink.done();
        return true;
      }
      return sink.write(out.data(), out.size());
    });
  });
}

}  // namespace plumbline::daemon
