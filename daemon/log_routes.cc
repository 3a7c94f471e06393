#include "log_routes.h"

#include <charconv>
#include <optional>

#include <nlohmann/json.hpp>

#include "daemon/http_problem.h"
#include "plumbline/attest/audit.h"
#include "plumbline/attest/merkle.h"
#include "plumbline/attest/note.h"

namespace plumbline::daemon {
namespace {

namespace note = attest::note;
namespace merkle = attest::merkle;

constexpr char kJson[] = "application/json";
constexpr char kText[] = "text/plain; charset=utf-8";

std::string B64(const storage::Hash32& h) { return merkle::HashToBase64(h); }

nlohmann::json HashList(const std::vector<storage::Hash32>& hashes) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& h : hashes) out.push_back(B64(h));
  return out;
}

// A decimal integer without sign or leading zeros, >= 1.
std::optional<uint64_t> ParsePositive(const std::string& text) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v == 0 || text[0] == '0') {
    return std::nullopt;
  }
  return v;
}

// Reads query parameter `name` as a positive integer. Writes a 400 naming it and returns nullopt
// when it is missing (and required) or malformed; `fallback` is used when it is absent.
std::optional<uint64_t> PositiveParam(const httplib::Request& req, httplib::Response& res, const char* name,
                                      std::optional<uint64_t> fallback) {
  if (!req.has_param(name)) {
    if (fallback) return fallback;
    WriteProblem(res, 400, "missing-parameter", std::string("query parameter '") + name + "' is required", req.path);
    return std::nullopt;
  }
  const std::string text = req.get_param_value(name);
  auto v = ParsePositive(text);
  if (!v) {
    WriteProblem(res, 400, "invalid-parameter",
                std::string("query parameter '") + name + "' must be a positive integer, got \"" + text + "\"",
                req.path);
  }
  return v;
}

// The path segment req.matches[1] as a positive integer; writes a 400 of `type` otherwise.
std::optional<uint64_t> PositivePath(const httplib::Request& req, httplib::Response& res, const char* type,
                                     const char* what) {
  const std::string text = req.matches[1];
  auto v = ParsePositive(text);
  if (!v) WriteProblem(res, 400, type, std::string(what) + " must be a positive integer, got \"" + text + "\"", req.path);
  return v;
}

// False (after a 404 naming `name`) when `value` is beyond the stored tree.
bool WithinTree(const storage::SnapshotStore& store, const httplib::Request& req, httplib::Response& res,
                const char* name, uint64_t value) {
  const uint64_t tree = store.TreeSize();
  if (value <= tree) return true;
  WriteProblem(res, 404, "size-out-of-range",
              std::string("parameter '") + name + "' = " + std::to_string(value) + " is beyond the log's tree size " +
                  std::to_string(tree),
              req.path);
  return false;
}

void StorageError(httplib::Response& res, const httplib::Request& req, const Status& s) {
  WriteProblem(res, 500, "storage-error", "could not read the log from storage (" + std::string(CodeName(s.code())) + ")",
              req.path);
}

// The stored checkpoint of `size` with the stored witness cosignature lines appended.
Result<std::string> CheckpointWithCosignatures(const storage::SnapshotStore& store, uint64_t size) {
  auto checkpoint = store.CheckpointAt(size);
  if (!checkpoint.ok()) return checkpoint.status();
  auto cosignatures = store.Cosignatures(size);
  if (!cosignatures.ok()) return cosignatures.status();
  std::string out = std::move(checkpoint).value();
  for (const auto& [name, line] : *cosignatures) out += line + "\n";
  return out;
}

// "— <name> <base64(key id || signature)>" without the newline.
std::string SignatureLine(const note::Signature& sig) {
  std::string formatted = note::Format(note::Note{"", {sig}});  // "\n— ...\n"
  return formatted.substr(1, formatted.size() - 2);
}

void ServeCheckpoint(const LogRoutesContext& ctx, uint64_t size, const httplib::Request& req,
                     httplib::Response& res) {
  auto note = CheckpointWithCosignatures(ctx.store, size);
  if (!note.ok()) {
    if (note.status().code() != Code::kNotFound) return StorageError(res, req, note.status());
    auto latest = ctx.store.LatestCheckpointSize();
    return WriteProblem(res, 404, "unknown-checkpoint",
                       "no checkpoint of size " + std::to_string(size) + " (parameter 'size'); the latest is " +
                           (latest ? std::to_string(*latest) : std::string("none yet")),
                       req.path);
  }
  res.set_header("Cache-Control", "no-cache");  // witnesses may add cosignatures
  res.set_header("Plumbline-Tree-Size", std::to_string(size));
  res.set_content(*note, kText);
}

}  // namespace

void RegisterLogRoutes(httplib::Server& s, const LogRoutesContext& context) {
  const LogRoutesContext ctx = context;

  s.Get("/v1/log/checkpoint", [ctx](const httplib::Request& req, httplib::Response& res) {
    auto size = ctx.store.LatestCheckpointSize();
    if (!size) return WriteProblem(res, 503, "no-checkpoint-yet", "no checkpoint has been signed yet", req.path);
    ServeCheckpoint(ctx, *size, req, res);
  });

  s.Get(R"(/v1/log/checkpoints/([^/]+))", [ctx](const httplib::Request& req, httplib::Response& res) {
    auto size = PositivePath(req, res, "invalid-parameter", "checkpoint size");
    if (size) ServeCheckpoint(ctx, *size, req, res);
  });

  s.Get("/v1/log/proof/inclusion", [ctx](const httplib::Request& req, httplib::Response& res) {
    auto seq = PositiveParam(req, res, "seq", std::nullopt);
    if (!seq) return;
    auto size = PositiveParam(req, res, "size", ctx.store.LatestCheckpointSize());
    if (!size) {
      if (res.body.empty()) WriteProblem(res, 503, "no-checkpoint-yet", "no checkpoint has been signed yet", req.path);
      return;
    }
    if (!WithinTree(ctx.store, req, res, "size", *size)) return;
    if (*seq > *size) {
      return WriteProblem(res, 400, "seq-out-of-range",
                         "parameter 'seq' = " + std::to_string(*seq) + " is not in the tree of size " +
                             std::to_string(*size) + " (need seq <= size)",
                         req.path);
    }
    auto proof = ctx.store.InclusionProof(*seq - 1, *size);
    auto leaf = ctx.store.LeafHash(*seq - 1);
    if (!proof.ok()) return StorageError(res, req, proof.status());
    if (!leaf.ok()) return StorageError(res, req, leaf.status());
    nlohmann::json body = {{"seq", *seq},
                           {"leaf_index", *seq - 1},
                           {"tree_size", *size},
                           {"leaf_hash", B64(*leaf)},
                           {"hashes", HashList(*proof)}};
    res.set_header("Cache-Control", "public, max-age=31536000, immutable");
    res.set_content(body.dump(), kJson);
  });

  s.Get("/v1/log/proof/consistency", [ctx](const httplib::Request& req, httplib::Response& res) {
    auto from = PositiveParam(req, res, "from", std::nullopt);
    if (!from) return;
    auto to = PositiveParam(req, res, "to", std::nullopt);
    if (!to) return;
    if (*from > *to) {
      return WriteProblem(res, 400, "from-after-to",
                         "parameter 'from' = " + std::to_string(*from) + " is greater than 'to' = " +
                             std::to_string(*to),
                         req.path);
    }
    if (!WithinTree(ctx.store, req, res, "to", *to)) return;
    auto proof = ctx.store.ConsistencyProof(*from, *to);
    if (!proof.ok()) return StorageError(res, req, proof.status());
    nlohmann::json body = {{"from", *from}, {"to", *to}, {"hashes", HashList(*proof)}};
    res.set_header("Cache-Control", "public, max-age=31536000, immutable");
    res.set_content(body.dump(), kJson);
  });

  s.Get(R"(/v1/snapshots/([^/]+)/bundle)", [ctx](const httplib::Request& req, httplib::Response& res) {
    auto seq = PositivePath(req, res, "invalid-sequence", "snapshot sequence");
    if (!seq) return;
    const std::string text = std::to_string(*seq);
    auto latest = ctx.store.LatestCheckpointSize();
    if (*seq > ctx.store.TreeSize() || !latest) {
      return WriteProblem(res, 404, "unknown-snapshot",
                         "no checkpointed snapshot with sequence " + text + "; the latest checkpoint covers " +
                             (latest ? std::to_string(*latest) : std::string("none yet")),
                         req.path);
    }
    auto size = PositiveParam(req, res, "size", latest);
    if (!size) return;
    if (*seq > *size) {
      return WriteProblem(res, 400, "seq-out-of-range",
                         "snapshot " + text + " is not in the tree of size " + std::to_string(*size) +
                             " (parameter 'size' must be >= the sequence)",
                         req.path);
    }
    auto checkpoint = CheckpointWithCosignatures(ctx.store, *size);
    if (!checkpoint.ok()) {
      if (checkpoint.status().code() != Code::kNotFound) return StorageError(res, req, checkpoint.status());
      return WriteProblem(res, 404, "unknown-checkpoint",
                         "no checkpoint of size " + std::to_string(*size) + " (parameter 'size'); the latest is " +
                             std::to_string(*latest),
                         req.path);
    }
    auto envelope = ctx.store.Get(*seq);
    auto proof = ctx.store.InclusionProof(*seq - 1, *size);
    if (!envelope.ok()) return StorageError(res, req, envelope.status());
    if (!proof.ok()) return StorageError(res, req, proof.status());
    note::TlogProof bundle;
    bundle.extra = std::move(envelope).value();
    bundle.index = *seq - 1;
    bundle.inclusion.assign(proof->begin(), proof->end());
    bundle.checkpoint = std::move(checkpoint).value();
    res.set_header("Content-Disposition", "attachment; filename=\"snapshot-" + text + ".tlog-proof\"");
    res.set_header("Cache-Control", "no-cache");
    res.set_content(note::FormatTlogProof(bundle), kText);
  });

  s.Post("/v1/log/cosignatures", [ctx](const httplib::Request& req, httplib::Response& res) {
    storage::SnapshotStore* store = ctx.writable_store();
    if (store == nullptr) {
      return WriteProblem(res, 503, "read-only", "this server does not accept cosignatures", req.path);
    }
    auto posted = note::Parse(req.body);
    if (!posted.ok()) {
      return WriteProblem(res, 400, "invalid-cosignature",
                         "body: expected the checkpoint as a signed note carrying the witness's cosignature: " +
                             posted.status().message(),
                         req.path);
    }
    auto checkpoint = note::ParseCheckpoint(posted->text);
    if (!checkpoint.ok()) {
      return WriteProblem(res, 400, "invalid-cosignature", "body: note text: " + checkpoint.status().message(), req.path);
    }
    auto stored = ctx.store.CheckpointAt(checkpoint->size);
    if (!stored.ok()) {
      if (stored.status().code() != Code::kNotFound) return StorageError(res, req, stored.status());
      return WriteProblem(res, 404, "unknown-checkpoint",
                         "body: this log has no checkpoint of size " + std::to_string(checkpoint->size), req.path);
    }
    auto ours = note::Parse(*stored);
    if (!ours.ok()) return StorageError(res, req, ours.status());
    if (ours->text != posted->text) {
      return WriteProblem(res, 409, "wrong-checkpoint",
                         "body: the cosigned checkpoint of size " + std::to_string(checkpoint->size) +
                             " is not the one this log signed (origin or root differs)",
                         req.path);
    }
    std::vector<std::pair<std::string, std::string>> accepted;
    for (const note::Signature& sig : posted->signatures) {
      if (sig.name == ctx.config.origin) continue;  // the log's own line
      const WitnessConfig* witness = nullptr;
      for (const auto& w : ctx.config.witnesses) {
        if (w.name == sig.name) witness = &w;
      }
      if (witness == nullptr) continue;  // other parties' lines are ignored, as verifiers do
      auto verified = note::VerifyCosignature(sig, posted->text, witness->name, witness->public_key);
      if (!verified.ok()) {
        return WriteProblem(res, 400, "invalid-cosignature",
                           "cosignature of witness \"" + witness->name + "\" does not verify over checkpoint " +
                               std::to_string(checkpoint->size) + ": " + verified.status().message(),
                           req.path);
      }
      accepted.emplace_back(witness->name, SignatureLine(sig));
    }
    if (accepted.empty()) {
      return WriteProblem(res, 400, "unknown-witness",
                         "body: no cosignature line by a configured witness ([[witnesses]] in the config)", req.path);
    }
    nlohmann::json names = nlohmann::json::array();
    for (const auto& [name, line] : accepted) {
      if (Status st = store->PutCosignature(checkpoint->size, name, line); !st.ok()) {
        return WriteProblem(res, 500, "storage-error", "could not store the cosignature", req.path);
      }
      names.push_back(name);
    }
    res.status = 201;
    res.set_content(nlohmann::json({{"tree_size", checkpoint->size}, {"witnesses", names}}).dump(), kJson);
  });

  s.Get("/v1/keys/history", [ctx](const httplib::Request& req, httplib::Response& res) {
    auto history = ctx.store.KeyHistory();
    if (!history.ok()) return StorageError(res, req, history.status());
    attest::PublicKey initial = ctx.public_key;
    if (!history->empty()) {
      auto first = attest::audit::ParseKeyAnnouncement(history->front());
      if (!first.ok()) return StorageError(res, req, first.status());
      initial = first->previous_key;
    }
    auto ring = attest::audit::KeyRing::FromHistory(initial, ctx.config.origin, *history);
    if (!ring.ok()) return StorageError(res, req, ring.status());
    nlohmann::json keys = nlohmann::json::array();
    for (const auto& w : ring->windows()) {
      const auto& raw = w.key.raw();
      auto opt_ns = [](const std::optional<int64_t>& t) {
        return t ? nlohmann::json(std::to_string(*t)) : nlohmann::json(nullptr);
      };
      keys.push_back({{"key_id", w.key_id},
                      {"public_key", attest::Base64Encode(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()))},
                      {"public_key_pem", w.key.ToPem()},
                      {"first_sequence", w.first_sequence},
                      {"last_sequence", w.last_sequence ? nlohmann::json(*w.last_sequence) : nlohmann::json(nullptr)},
                      {"valid_from", opt_ns(w.valid_from)},
                      {"valid_until", opt_ns(w.valid_until)}});
    }
    nlohmann::json announcements = nlohmann::json::array();
    for (const auto& a : *history) announcements.push_back(nlohmann::json::parse(a));
    nlohmann::json body = {{"origin", ctx.config.origin},
                           {"current_key_id", ctx.store.CurrentKeyId()},
                           {"keys", keys},
                           {"announcements", announcements}};
    res.set_header("Cache-Control", "no-cache");
    res.set_content(body.dump(), kJson);
  });
}

}  // namespace plumbline::daemon
