#include "reserves_cmd.h"

#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>

#include "plumbline/attest/reserve_attestation.h"
#include "plumbline/attest/snapshot.h"
#include "verify.h"

namespace plumbline::attest::cli {

int RunReserves(const std::string& source, const std::string& pub_path, const std::string& evidence,
                std::ostream& out, std::ostream& err) {
  auto key = PublicKey::LoadFile(pub_path);
  if (!key.ok()) {
    err << "attest: cannot load public key: " << key.status().message() << "\n";
    return kExitUsage;
  }
  auto text = ReadSource(source);
  if (!text.ok()) {
    err << "attest: cannot read snapshot: " << text.status().message() << "\n";
    return kExitUnavailable;
  }
  auto snap = VerifySnapshotEnvelope(*text, *key);
  if (!snap.ok()) {
    err << "attest: snapshot does not verify: " << snap.status().message() << "\n";
    return kExitVerifyFailed;
  }
  EvidenceFetcher fetch;
  if (!evidence.empty()) {
    const bool url = evidence.rfind("http://", 0) == 0 || evidence.rfind("https://", 0) == 0;
    std::string base = evidence;
    while (url && !base.empty() && base.back() == '/') base.pop_back();
    fetch = [url, base](const std::string& sha) -> Result<std::string> {
      if (url) return ReadSource(base + "/v1/reserves/evidence/" + sha);
      std::ifstream in(std::filesystem::path(base) / sha, std::ios::binary);
      if (!in) return Status::IOError("no evidence file " + (std::filesystem::path(base) / sha).string());
      std::ostringstream bytes;
      bytes << in.rdbuf();
      return bytes.str();
    };
  }
  const auto& reserves = snap->snapshot.reserves;
  if (reserves.empty()) {
    err << "attest: snapshot " << snap->snapshot.sequence << " carries no reserve attestations\n";
    return kExitVerifyFailed;
  }
  bool all_ok = true;
  for (const ReserveAttestation& a : reserves) {
    auto problems = CheckReserveAttestation(a, fetch);
    if (problems.empty()) {
      size_t items = a.custodian && fetch ? 1 : 0;
      for (const auto& c : a.chains) items += fetch ? c.evidence.size() : 0;
      out << "OK " << a.asset << " " << ReserveStatusName(a.status)
          << " ratio=" << (a.ratio ? a.ratio->ToString() : std::string("null"))
          << " required_shares=" << (a.required_shares ? a.required_shares->ToString() : std::string("null"))
          << " evidence=" << items << (fetch ? "" : " (arithmetic only: pass --evidence to re-read the inputs)")
          << "\n";
    } else {
      all_ok = false;
      for (const auto& p : problems) out << "MISMATCH " << p << "\n";
    }
  }
  out << (all_ok ? "OK" : "FAILED") << " snapshot seq=" << snap->snapshot.sequence << " reserves=" << reserves.size()
      << "\n";
  return all_ok ? kExitOk : kExitVerifyFailed;
}

}  // namespace plumbline::attest::cli
