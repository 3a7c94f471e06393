#include "verify.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "plumbline/attest/dsse.h"
#include "plumbline/attest/keys.h"
#include "plumbline/attest/snapshot.h"

namespace plumbline::attest::cli {
namespace {

constexpr size_t kMaxInputBytes = 64 * 1024 * 1024;  // envelopes are far smaller; stop runaway input

void Fail(std::ostream& err, const std::string& what, const std::string& why) {
  err << "attest: " << what << ": " << why << "\n";
}

bool IsUrl(const std::string& s) { return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0; }

// Splits "https://host:port/a/b" into "https://host:port" and "/a/b".
void SplitUrl(const std::string& url, std::string* origin, std::string* path) {
  const size_t scheme_end = url.find("://") + 3;
  const size_t slash = url.find('/', scheme_end);
  if (slash == std::string::npos) {
    *origin = url;
    *path = "/";
  } else {
    *origin = url.substr(0, slash);
    *path = url.substr(slash);
  }
}

Result<std::string> Fetch(const std::string& url) {
  std::string origin, path;
  SplitUrl(url, &origin, &path);
  httplib::Client client(origin);
  if (!client.is_valid()) return Status::InvalidArgument(url + ": not a usable http(s) URL");
  // cpp-httplib 0.11's defaults are long; an auditor wants a prompt answer or a clear failure.
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(5, 0);
  client.set_write_timeout(5, 0);
  auto res = client.Get(path);
  if (!res) return Status::IOError(url + ": " + httplib::to_string(res.error()));
  if (res->status != 200) {
    std::string why = url + ": HTTP " + std::to_string(res->status);
    if (res->get_header_value("Content-Type").find("problem+json") != std::string::npos) {
      auto doc = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
      if (doc.is_object() && doc.contains("detail") && doc["detail"].is_string()) {
        why += ": " + doc["detail"].get<std::string>();
      }
    }
    return Status::Unavailable(why);
  }
  return res->body;
}

Result<std::string> ReadStream(std::istream& in, const std::string& name) {
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxInputBytes) return Status::IOError(name + ": input larger than 64 MiB");
  }
  if (in.bad()) return Status::IOError(name + ": read error");
  return text;
}

std::string WhatFailed(Code code) {
  switch (code) {
    case Code::kInvalidArgument: return "payload type check failed";
    case Code::kCorruption: return "canonical form check failed";
    case Code::kUnauthenticated: return "signature check failed";
    default: return "verification failed";
  }
}

// One envelope through every check, naming the first that fails. On success fills `result`.
bool CheckSnapshot(const std::string& text, const PublicKey& key, SignedSnapshot* result,
                   std::string* what, std::string* why) {
  auto env = ParseEnvelope(text);
  if (!env.ok()) {
    *what = "malformed envelope";
    *why = env.status().message();
    return false;
  }
  // Stored v1 snapshots stay verifiable under their own type.
  const std::string_view type =
      env->payload_type == kSnapshotPayloadTypeV1 ? kSnapshotPayloadTypeV1 : kSnapshotPayloadType;
  Status st = VerifyEnvelope(*env, type, key);
  if (!st.ok()) {
    *what = WhatFailed(st.code());
    *why = st.message();
    return false;
  }
  auto snap = ParseSnapshotPayload(env->payload, type);
  if (!snap.ok()) {
    *what = "snapshot payload invalid";
    *why = snap.status().message();
    return false;
  }
  if (snap->key_id != key.KeyId()) {
    *what = "key id check failed";
    *why = "payload key_id " + snap->key_id + " is not the verifying key's id " + key.KeyId();
    return false;
  }
  result->snapshot = std::move(*snap);
  result->payload = env->payload;
  result->payload_hash = Sha256Hex(env->payload);
  result->envelope_json = text;
  return true;
}

std::string OkLine(const SignedSnapshot& s) {
  return "OK snapshot seq=" + std::to_string(s.snapshot.sequence) +
         " time=" + std::to_string(s.snapshot.time_unix_nanos) + " key_id=" + s.snapshot.key_id +
         " payload_sha256=" + s.payload_hash;
}

}  // namespace

int LoadPublicKey(const std::string& path, std::ostream& err, std::optional<PublicKey>* key) {
  auto k = PublicKey::LoadFile(path);
  if (!k.ok()) {
    Fail(err, "cannot load public key", k.status().message());
    return k.status().code() == Code::kIOError ? kExitUnavailable : kExitUsage;
  }
  key->emplace(*k);
  return kExitOk;
}

Result<std::string> ReadSource(const std::string& source) {
  if (source == "-") return ReadStream(std::cin, "stdin");
  if (IsUrl(source)) {
    try {
      return Fetch(source);
    } catch (const std::exception& e) {
      return Status::IOError(source + ": " + e.what());
    }
  }
  std::ifstream in(source, std::ios::binary);
  if (!in) return Status::IOError(source + ": cannot open: " + std::strerror(errno));
  return ReadStream(in, source);
}

int RunKeygen(const std::string& prefix, std::ostream& out, std::ostream& err) {
  const std::string key_path = prefix + ".key";
  const std::string pub_path = prefix + ".pub";
  struct stat st {};
  for (const auto& p : {key_path, pub_path}) {
    if (::stat(p.c_str(), &st) == 0) {
      Fail(err, "keygen", p + " already exists; keys are never overwritten");
      return kExitUsage;
    }
  }
  auto key = SigningKey::Generate();
  if (!key.ok()) {
    Fail(err, "keygen", key.status().message());
    return kExitUnavailable;
  }
  Status written = key->WriteFile(key_path);
  if (!written.ok()) {
    Fail(err, "keygen", written.message());
    return written.code() == Code::kFailedPrecondition ? kExitUsage : kExitUnavailable;
  }
  const std::string pem = key->public_key().ToPem();
  int fd = ::open(pub_path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
  bool ok = fd >= 0 && ::write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size()) &&
            ::fsync(fd) == 0;
  const int saved = errno;
  if (fd >= 0) ::close(fd);
  if (!ok) {
    Fail(err, "keygen", pub_path + ": cannot write public key: " + std::strerror(saved));
    return kExitUnavailable;
  }
  out << "key_id=" << key->KeyId() << "\n";
  return kExitOk;
}

int RunPubkey(const std::string& key_path, std::ostream& out, std::ostream& err) {
  auto key = SigningKey::LoadFile(key_path);
  if (!key.ok()) {
    Fail(err, "cannot load signing key", key.status().message());
    return key.status().code() == Code::kIOError ? kExitUnavailable : kExitUsage;
  }
  out << key->public_key().ToPem();
  return kExitOk;
}

int RunVerify(const std::string& source, const std::string& pub_path, const std::string& type,
              std::ostream& out, std::ostream& err) {
  std::optional<PublicKey> key;
  if (int rc = LoadPublicKey(pub_path, err, &key); rc != kExitOk) return rc;
  auto text = ReadSource(source);
  if (!text.ok()) {
    Fail(err, "cannot read envelope", text.status().message());
    return kExitUnavailable;
  }
  std::string what, why;
  if (type == kSnapshotPayloadType || type == kSnapshotPayloadTypeV1) {
    SignedSnapshot snap;
    if (!CheckSnapshot(*text, *key, &snap, &what, &why)) {
      Fail(err, what, why);
      return kExitVerifyFailed;
    }
    out << OkLine(snap) << "\n";
    return kExitOk;
  }
  auto env = ParseEnvelope(*text);
  if (!env.ok()) {
    Fail(err, "malformed envelope", env.status().message());
    return kExitVerifyFailed;
  }
  Status st = VerifyEnvelope(*env, type, *key);
  if (!st.ok()) {
    Fail(err, WhatFailed(st.code()), st.message());
    return kExitVerifyFailed;
  }
  out << "OK " << type << " key_id=" << key->KeyId() << " payload_sha256=" << Sha256Hex(env->payload)
      << "\n";
  return kExitOk;
}

int RunVerifyChain(const std::string& base_url, uint64_t from, uint64_t to,
                   const std::string& pub_path, std::ostream& out, std::ostream& err) {
  if (!IsUrl(base_url)) {
    Fail(err, "usage", "BASEURL must start with http:// or https://");
    return kExitUsage;
  }
  if (from < 1 || to < from) {
    Fail(err, "usage", "need 1 <= --from <= --to");
    return kExitUsage;
  }
  std::optional<PublicKey> key;
  if (int rc = LoadPublicKey(pub_path, err, &key); rc != kExitOk) return rc;
  std::string base = base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();

  uint64_t verified = 0, failed = 0, unavailable = 0;
  std::optional<std::string> previous_hash;  // payload hash of n-1 when it verified
  for (uint64_t n = from; n <= to; ++n) {
    const std::string label = "snapshot " + std::to_string(n);
    auto text = ReadSource(base + "/v1/snapshots/" + std::to_string(n));
    if (!text.ok()) {
      Fail(err, label + ": cannot fetch", text.status().message());
      out << "UNAVAILABLE snapshot seq=" << n << "\n";
      ++unavailable;
      previous_hash.reset();
      continue;
    }
    SignedSnapshot snap;
    std::string what, why;
    bool good = CheckSnapshot(*text, *key, &snap, &what, &why);
    if (good && snap.snapshot.sequence != n) {
      what = "sequence check failed";
      why = "fetched as " + std::to_string(n) + " but payload says sequence " +
            std::to_string(snap.snapshot.sequence);
      good = false;
    }
    if (good && n == 1 && snap.snapshot.previous_hash != kGenesisPreviousHash) {
      what = "chain link check failed";
      why = "snapshot 1 must have previous_hash of 64 zeros, has " + snap.snapshot.previous_hash;
      good = false;
    }
    if (good && n > from && previous_hash && snap.snapshot.previous_hash != *previous_hash) {
      what = "chain link check failed";
      why = "previous_hash " + snap.snapshot.previous_hash + " is not the payload hash " +
            *previous_hash + " of snapshot " + std::to_string(n - 1);
      good = false;
    }
    if (!good) {
      Fail(err, label + ": " + what, why);
      out << "FAIL snapshot seq=" << n << ": " << what << "\n";
      ++failed;
      previous_hash.reset();
      continue;
    }
    // A link to a predecessor that failed or was unavailable cannot be checked; the run fails
    // anyway because of that predecessor, so say so instead of blaming this snapshot.
    out << OkLine(snap) << (n > from && !previous_hash ? " link=unchecked" : "") << "\n";
    ++verified;
    previous_hash = snap.payload_hash;
  }
  const uint64_t total = to - from + 1;
  if (failed == 0 && unavailable == 0) {
    out << "OK chain " << from << ".." << to << ": " << verified << " snapshots verified\n";
    return kExitOk;
  }
  out << "FAILED chain " << from << ".." << to << ": " << verified << " of " << total
      << " verified, " << failed << " failed, " << unavailable << " unavailable\n";
  return failed > 0 ? kExitVerifyFailed : kExitUnavailable;
}

}  // namespace plumbline::attest::cli
