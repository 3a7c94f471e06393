#include "reserve_routes.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "daemon/http_problem.h"
#include "plumbline/attest/canonical_json.h"

namespace plumbline::daemon {
namespace {

using nlohmann::json;
constexpr char kJson[] = "application/json";

json SnapshotRef(const attest::SignedSnapshot& s) {
  return {{"sequence", s.snapshot.sequence},
          {"time", std::to_string(s.snapshot.time_unix_nanos)},
          {"payload_sha256", s.payload_hash},
          {"key_id", s.snapshot.key_id},
          {"url", "/v1/snapshots/" + std::to_string(s.snapshot.sequence)}};
}

const attest::ReserveAttestation* Find(const attest::Snapshot& s, const std::string& asset) {
  auto it = std::find_if(s.reserves.begin(), s.reserves.end(),
                         [&](const attest::ReserveAttestation& a) { return a.asset == asset; });
  return it == s.reserves.end() ? nullptr : &*it;
}

int HttpStatusOf(Code code) {
  switch (code) {
    case Code::kInvalidArgument: return 400;
    case Code::kUnauthenticated: return 403;
    case Code::kFailedPrecondition: return 409;
    case Code::kNotFound: return 422;
    default: return 500;
  }
}

const char* ProblemTypeOf(Code code) {
  switch (code) {
    case Code::kInvalidArgument: return "invalid-statement";
    case Code::kUnauthenticated: return "untrusted-statement";
    case Code::kFailedPrecondition: return "stale-statement";
    case Code::kNotFound: return "unknown-isin";
    default: return "storage-error";
  }
}

}  // namespace

void RegisterReserveRoutes(httplib::Server& s, const Publisher& publisher, reserves::ReserveMonitor* const* monitor) {
  auto* problem = &WriteProblem;
  auto latest_or_503 = [&publisher, problem](const httplib::Request& req, httplib::Response& res) {
    auto latest = publisher.Latest();
    if (!latest) problem(res, 503, "no-snapshot-yet", "no snapshot has been published yet", req.path);
    return latest;
  };

  s.Get("/v1/reserves", [latest_or_503](const httplib::Request& req, httplib::Response& res) {
    auto latest = latest_or_503(req, res);
    if (!latest) return;
    auto reserves = attest::ReservesJson(latest->signed_snapshot.snapshot.reserves);
    json body = {{"snapshot", SnapshotRef(latest->signed_snapshot)}, {"reserves", reserves.ok() ? *reserves : json::array()}};
    res.set_header("Cache-Control", "no-store");
    res.set_content(body.dump(), kJson);
  });

  s.Get(R"(/v1/reserves/evidence/([^/]+))", [monitor, problem](const httplib::Request& req, httplib::Response& res) {
    const std::string sha = req.matches[1];
    if (sha.size() != 64 || !std::all_of(sha.begin(), sha.end(), [](char c) {
          return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        })) {
      return problem(res, 400, "invalid-hash", "evidence hash must be 64 lowercase hex digits (SHA-256)", req.path);
    }
    if (*monitor == nullptr) return problem(res, 404, "not-found", "no reserves are configured", req.path);
    auto bytes = (*monitor)->Evidence(sha);
    if (!bytes.ok()) {
      if (bytes.status().code() == Code::kNotFound) {
        const int64_t days = (*monitor)->config().evidence_retention_ms / 86'400'000;
        return problem(res, 404, "unknown-evidence",
                       "no evidence with SHA-256 " + sha +
                           (days > 0 ? " (evidence no longer cited and older than " + std::to_string(days) +
                                           " days is pruned)"
                                     : ""),
                       req.path);
      }
      return problem(res, 500, "storage-error", "could not read the evidence from storage", req.path);
    }
    // Content-addressed: the bytes under a hash never change.
    res.set_header("Cache-Control", "public, max-age=31536000, immutable");
    res.set_content(*bytes, kJson);
  });

  s.Get(R"(/v1/reserves/([^/]+))", [latest_or_503, problem](const httplib::Request& req, httplib::Response& res) {
    auto latest = latest_or_503(req, res);
    if (!latest) return;
    const std::string asset = req.matches[1];
    const attest::ReserveAttestation* a = Find(latest->signed_snapshot.snapshot, asset);
    if (!a) return problem(res, 404, "unknown-asset", "asset \"" + asset + "\" has no reserve attestation", req.path);
    json body = {{"snapshot", SnapshotRef(latest->signed_snapshot)}, {"reserve", *attest::ReserveAttestationJson(*a)}};
    res.set_header("Cache-Control", "no-store");
    res.set_content(body.dump(), kJson);
  });

  s.Post(R"(/v1/reserves/([^/]+)/mint-check)", [latest_or_503, problem](const httplib::Request& req,
                                                                         httplib::Response& res) {
    auto doc = attest::ParseStrictJson(req.body);
    if (!doc.ok() || !doc->is_object() || !doc->contains("amount") || !(*doc)["amount"].is_string() ||
        doc->size() != 1) {
      return problem(res, 400, "invalid-request",
                     "amount: body must be {\"amount\": \"<positive decimal token amount>\"}", req.path);
    }
    auto amount = Decimal::Parse((*doc)["amount"].get<std::string>());
    if (!amount.ok() || !amount->is_positive()) {
      return problem(res, 400, "invalid-request", "amount: expected a positive decimal string like \"100.5\"",
                     req.path);
    }
    auto latest = latest_or_503(req, res);
    if (!latest) return;
    const std::string asset = req.matches[1];
    const attest::ReserveAttestation* a = Find(latest->signed_snapshot.snapshot, asset);
    if (!a) return problem(res, 404, "unknown-asset", "asset \"" + asset + "\" has no reserve attestation", req.path);
    auto check = reserves::CheckMint(*a, *amount);
    if (!check.ok()) return problem(res, 400, "invalid-request", "amount: " + check.status().message(), req.path);
    json body = {{"asset", asset},
                 {"amount", amount->ToString()},
                 {"within_reserves", check->within_reserves},
                 {"reason", check->reason},
                 {"status", attest::ReserveStatusName(a->status)},
                 {"required_shares_after",
                  check->required_shares_after ? json(check->required_shares_after->ToString()) : json(nullptr)},
                 {"settled_shares", a->custodian ? json(a->custodian->settled_shares.ToString()) : json(nullptr)},
                 {"snapshot", SnapshotRef(latest->signed_snapshot)}};
    res.set_header("Cache-Control", "no-store");
    res.set_content(body.dump(), kJson);
  });

  s.Post("/v1/custodian/statements", [monitor, problem](const httplib::Request& req, httplib::Response& res) {
    if (*monitor == nullptr) return problem(res, 404, "not-found", "no reserves are configured", req.path);
    auto accepted = (*monitor)->SubmitStatement(req.body);
    if (!accepted.ok()) {
      const Code code = accepted.status().code();
      return problem(res, HttpStatusOf(code), ProblemTypeOf(code), accepted.status().message(), req.path);
    }
    json body = {{"asset", accepted->asset},
                 {"custodian_id", accepted->statement.custodian_id},
                 {"sequence", accepted->statement.sequence},
                 {"as_of", std::to_string(accepted->statement.as_of_unix_nanos)},
                 {"sha256", accepted->sha256},
                 {"evidence_url", "/v1/reserves/evidence/" + accepted->sha256}};
    res.status = 201;
    res.set_content(body.dump(), kJson);
  });
}

}  // namespace plumbline::daemon
