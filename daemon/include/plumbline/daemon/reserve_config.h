// The proof-of-reserve part of the daemon's TOML config: `[[reserves]]` (one table per tokenized
// asset, with `[[reserves.chains]]`) and the optional `[reserves_round]` table. See
// docs/configuration.md ("Proof of reserve") and docs/reserves.md.
//
// Errors name the file, the key path ("reserves[0].chains[1].providers[0].url") and what was
// expected, like every other config error. Key files named here (custodian_public_key,
// custodian_ca) are read during parsing; relative paths resolve against the working directory.
#pragma once

#include <string>

#include <toml++/toml.h>

#include "plumbline/reserves/config.h"
#include "plumbline/status.h"

namespace plumbline::daemon {

// `reserves` and `round` are the root's nodes (nullptr when absent: no reserves configured).
Status ParseReservesConfig(const toml::node* reserves, const toml::node* round, const std::string& file,
                           reserves::ReservesConfig* out);

// A text that differs whenever anything in `config` differs (keys by key id, CAs by hash). The
// reserves round is bound at start-up: a reload that changes it is refused (CheckReloadable).
std::string ReservesFingerprint(const reserves::ReservesConfig& config);

}  // namespace plumbline::daemon
