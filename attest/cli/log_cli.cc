#include "log_cli.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "plumbline/attest/audit.h"
#include "plumbline/attest/note.h"
#include "verify.h"

namespace plumbline::attest::cli {
namespace {

namespace fs = std::filesystem;

void Fail(std::ostream& err, const std::string& what, const std::string& why) {
  err << "attest: " << what << ": " << why << "\n";
}

// Writes `data` to `path` durably: a temporary file, fsync, rename, fsync of the directory.
Status WriteFileAtomically(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError(tmp + ": " + std::strerror(errno));
  bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::IOError(path + ": " + std::strerror(ok ? errno : saved));
  }
  int dir = ::open(fs::path(path).parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return Status::Ok();
}

Result<std::string> PostText(const std::string& base, const std::string& path, const std::string& body) {
  httplib::Client client(base);
  if (!client.is_valid()) return Status::InvalidArgument(base + ": not a usable http(s) URL");
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(5, 0);
  client.set_write_timeout(5, 0);
  auto res = client.Post(path, body, "text/plain; charset=utf-8");
  if (!res) return Status::IOError(base + path + ": " + httplib::to_string(res.error()));
  if (res->status != 200 && res->status != 201) {
    return Status::Unavailable(base + path + ": HTTP " + std::to_string(res->status) + ": " + res->body);
  }
  return res->body;
}

// The announcements of a GET /v1/keys/history body, and its origin.
Status ParseKeyHistory(const std::string& body, std::vector<std::string>* announcements, std::string* origin) {
  auto doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("announcements") || !doc["announcements"].is_array() ||
      !doc.contains("origin") || !doc["origin"].is_string()) {
    return Status::InvalidArgument("key history: expected {\"origin\": ..., \"announcements\": [...]}");
  }
  for (const auto& a : doc["announcements"]) announcements->push_back(a.dump());
  *origin = doc["origin"].get<std::string>();
  return Status::Ok();
}

std::string Root64(const merkle::Hash& h) { return merkle::HashToBase64(h); }

}  // namespace

int RunVerifyBundle(const std::string& path, const std::string& pub_path, const std::string& key_history_path,
                    const std::string& origin, std::ostream& out, std::ostream& err) {
  std::optional<PublicKey> key;
  if (int rc = LoadPublicKey(pub_path, err, &key); rc != kExitOk) return rc;
  std::optional<audit::KeyRing> ring;
  if (key_history_path.empty()) {
    ring.emplace(std::vector<PublicKey>{*key});
  } else {
    auto text = ReadSource(key_history_path);
    if (!text.ok()) {
      Fail(err, "cannot read key history", text.status().message());
      return kExitUnavailable;
    }
    std::vector<std::string> announcements;
    std::string history_origin;
    Status s = ParseKeyHistory(*text, &announcements, &history_origin);
    auto r = s.ok() ? audit::KeyRing::FromHistory(*key, history_origin, announcements) : Result<audit::KeyRing>(s);
    if (!r.ok()) {
      Fail(err, "key history check failed", r.status().message());
      return kExitVerifyFailed;
    }
    ring.emplace(std::move(r).value());
  }
  auto text = ReadSource(path);
  if (!text.ok()) {
    Fail(err, "cannot read bundle", text.status().message());
    return kExitUnavailable;
  }
  auto bundle = audit::VerifyBundle(*text, *ring, origin);
  if (!bundle.ok()) {
    Fail(err, "bundle verification failed", bundle.status().message());
    return kExitVerifyFailed;
  }
  out << "OK bundle seq=" << bundle->snapshot.snapshot.sequence << " tree_size=" << bundle->checkpoint.size
      << " root=" << Root64(bundle->checkpoint.root) << " key_id=" << bundle->snapshot.snapshot.key_id
      << " payload_sha256=" << bundle->snapshot.payload_hash << "\n";
  return kExitOk;
}

int RunAudit(const AuditOptions& o, const Clock& clock, std::ostream& out, std::ostream& err) {
  if (o.base_url.rfind("http://", 0) != 0 && o.base_url.rfind("https://", 0) != 0) {
    Fail(err, "usage", "URL must start with http:// or https://");
    return kExitUsage;
  }
  if (o.witness_key.empty() != o.witness_name.empty()) {
    Fail(err, "usage", "--witness-key and --witness-name go together");
    return kExitUsage;
  }
  std::optional<PublicKey> pinned;
  if (int rc = LoadPublicKey(o.pub_path, err, &pinned); rc != kExitOk) return rc;
  std::optional<SigningKey> witness;
  if (!o.witness_key.empty()) {
    auto k = SigningKey::LoadFile(o.witness_key);
    if (!k.ok()) {
      Fail(err, "cannot load witness key", k.status().message());
      return k.status().code() == Code::kIOError ? kExitUnavailable : kExitUsage;
    }
    witness.emplace(std::move(k).value());
  }
  std::string base = o.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();

  // The remembered state.
  std::error_code ec;
  fs::create_directories(o.state_dir, ec);
  if (ec) {
    Fail(err, "cannot create state directory", o.state_dir + ": " + ec.message());
    return kExitUnavailable;
  }
  const std::string state_path = (fs::path(o.state_dir) / "state.json").string();
  audit::AuditState state;
  const bool have_state = fs::exists(state_path);
  if (have_state) {
    auto text = ReadSource(state_path);
    auto parsed = text.ok() ? audit::ParseAuditState(*text) : Result<audit::AuditState>(text.status());
    if (!parsed.ok()) {
      Fail(err, "remembered state " + state_path + " is unusable", parsed.status().message());
      return kExitUsage;
    }
    state = std::move(parsed).value();
  }

  // Keys: the pinned key and the rotations announced since, each signed by its predecessor.
  auto history_text = ReadSource(base + "/v1/keys/history");
  if (!history_text.ok()) {
    Fail(err, "cannot fetch key history", history_text.status().message());
    return kExitUnavailable;
  }
  std::vector<std::string> announcements;
  std::string served_origin;
  if (Status s = ParseKeyHistory(*history_text, &announcements, &served_origin); !s.ok()) {
    Fail(err, "key history check failed", s.message());
    return kExitVerifyFailed;
  }
  const std::string origin = have_state ? state.origin : served_origin;
  auto ring = audit::KeyRing::FromHistory(*pinned, origin, announcements);
  if (!ring.ok()) {
    Fail(err, "key history check failed", ring.status().message());
    return kExitVerifyFailed;
  }

  // The checkpoint.
  auto note_text = ReadSource(base + "/v1/log/checkpoint");
  if (!note_text.ok()) {
    Fail(err, "cannot fetch checkpoint", note_text.status().message());
    return kExitUnavailable;
  }
  auto checkpoint = audit::VerifyCheckpoint(*note_text, *ring, origin);
  if (!checkpoint.ok()) {
    Fail(err, "checkpoint signature check failed", checkpoint.status().message());
    out << "FAIL audit: checkpoint signature check failed\n";
    return kExitVerifyFailed;
  }

  // Consistency with what we remember.
  if (have_state) {
    auto frontier = merkle::Frontier::FromSubtrees(state.tree_size, state.frontier);
    const merkle::Hash old_root = frontier.ok() ? frontier->Root() : merkle::EmptyRoot();
    std::string proof_text;
    std::string why;
    if (checkpoint->size < state.tree_size) {
      why = "the log shrank from " + std::to_string(state.tree_size) + " to " + std::to_string(checkpoint->size);
    } else if (checkpoint->size == state.tree_size) {
      if (checkpoint->root != old_root) why = "same size " + std::to_string(state.tree_size) + ", different root";
    } else if (state.tree_size > 0) {
      auto proof_body = ReadSource(base + "/v1/log/proof/consistency?from=" + std::to_string(state.tree_size) +
                                   "&to=" + std::to_string(checkpoint->size));
      if (!proof_body.ok()) {
        Fail(err, "cannot fetch consistency proof", proof_body.status().message());
        return kExitUnavailable;
      }
      proof_text = *proof_body;
      auto doc = nlohmann::json::parse(*proof_body, nullptr, false);
      std::vector<merkle::Hash> proof;
      bool well_formed = doc.is_object() && doc.contains("hashes") && doc["hashes"].is_array();
      if (well_formed) {
        for (const auto& h : doc["hashes"]) {
          auto hash = h.is_string() ? merkle::HashFromBase64(h.get<std::string>())
                                    : Result<merkle::Hash>(Status::InvalidArgument("not a string"));
          if (!hash.ok()) {
            well_formed = false;
            break;
          }
          proof.push_back(*hash);
        }
      }
      Status s = well_formed ? merkle::VerifyConsistency(state.tree_size, checkpoint->size, proof, old_root,
                                                         checkpoint->root)
                             : Status::InvalidArgument("malformed consistency proof");
      if (!s.ok()) why = "no valid consistency proof from size " + std::to_string(state.tree_size) + ": " + s.message();
    }
    if (!why.empty()) {
      const std::string dir =
          (fs::path(o.state_dir) / ("evidence-" + std::to_string(clock.NowUnixNanos()))).string();
      fs::create_directories(dir, ec);
      (void)WriteFileAtomically(dir + "/remembered.checkpoint", state.checkpoint);
      (void)WriteFileAtomically(dir + "/served.checkpoint", *note_text);
      if (!proof_text.empty()) (void)WriteFileAtomically(dir + "/consistency.json", proof_text);
      const std::string msg = "INCONSISTENT LOG: " + base + " served a checkpoint (size " +
                              std::to_string(checkpoint->size) + ", root " + Root64(checkpoint->root) +
                              ") that does not extend the remembered one (size " + std::to_string(state.tree_size) +
                              ", root " + Root64(old_root) + "): " + why +
                              ". The log forked or rewrote history. Evidence saved in " + dir;
      out << "!!! " << msg << "\n";
      Fail(err, "consistency check failed", msg);
      return kExitVerifyFailed;
    }
  }

  // Every new snapshot, then inclusion of all of them in the checkpoint.
  if (!have_state) state.origin = origin;
  audit::ChainAuditor auditor(*ring, state);
  const uint64_t first = state.tree_size + 1;
  // Fetched in batches; each batch's signatures are verified on all cores, then chained in order.
  constexpr uint64_t kBatch = 512;
  for (uint64_t batch_start = first; batch_start <= checkpoint->size; batch_start += kBatch) {
    std::vector<std::string> batch;
    for (uint64_t seq = batch_start; seq <= checkpoint->size && seq < batch_start + kBatch; ++seq) {
      auto envelope = ReadSource(base + "/v1/snapshots/" + std::to_string(seq));
      if (!envelope.ok()) {
        Fail(err, "cannot fetch snapshot " + std::to_string(seq), envelope.status().message());
        return kExitUnavailable;
      }
      batch.push_back(std::move(envelope).value());
    }
    if (Status s = auditor.AddSnapshots(batch); !s.ok()) {
      Fail(err, "snapshot check failed", s.message());
      out << "FAIL audit: " << s.message() << "\n";
      return kExitVerifyFailed;
    }
  }
  if (auditor.Root() != checkpoint->root) {
    const std::string msg = "snapshots 1.." + std::to_string(checkpoint->size) + " hash to " + Root64(auditor.Root()) +
                            ", not the checkpoint root " + Root64(checkpoint->root);
    Fail(err, "inclusion check failed", msg);
    out << "FAIL audit: " << msg << "\n";
    return kExitVerifyFailed;
  }
  audit::AuditState next = auditor.state();
  next.checkpoint = *note_text;
  if (Status s = WriteFileAtomically(state_path, audit::FormatAuditState(next)); !s.ok()) {
    Fail(err, "cannot save state", s.message());
    return kExitUnavailable;
  }
  out << "OK audit " << origin << " size=" << checkpoint->size << " root=" << Root64(checkpoint->root)
      << " new_snapshots=" << (checkpoint->size + 1 - first) << " (signature, chain link and inclusion verified)\n";

  if (witness) {
    auto n = note::Parse(*note_text);
    if (!n.ok()) return kExitVerifyFailed;  // VerifyCheckpoint parsed it already
    const uint64_t now = static_cast<uint64_t>(clock.NowUnixNanos() / 1'000'000'000);
    n->signatures.push_back(note::Cosign(n->text, o.witness_name, *witness, now));
    auto posted = PostText(base, "/v1/log/cosignatures", note::Format(*n));
    if (!posted.ok()) {
      Fail(err, "cosignature refused", posted.status().message());
      return kExitUnavailable;
    }
    out << "OK cosigned size=" << checkpoint->size << " as " << o.witness_name << "\n";
  }
  return kExitOk;
}

}  // namespace plumbline::attest::cli
