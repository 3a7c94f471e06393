// The proof-of-reserve verdict for one tokenized asset, shared by the attestation (attest/), the
// margin evaluator (margin/) and the daemon. Wire names are part of the signed snapshot format.
#pragma once

#include <optional>
#include <string_view>

namespace plumbline {

// kStale and kUnknown fail closed: a consumer never falls back to an older good ratio.
enum class ReserveStatus { kFullyBacked, kUnderBacked, kStale, kUnknown };

// "fully_backed", "under_backed", "stale", "unknown". Static strings, thread-safe.
const char* ReserveStatusName(ReserveStatus s);
// The inverse of ReserveStatusName; nullopt for any other text.
std::optional<ReserveStatus> ParseReserveStatus(std::string_view name);

}  // namespace plumbline
