// `attest reserves SOURCE --key PUB [--evidence URL_OR_DIR]`: re-derive every reserve
// attestation of a signed snapshot.
//
// SOURCE is a snapshot envelope (file, "-", or URL such as BASE/v1/snapshots/latest); it is
// verified with --key first. For each attestation the ratio, required shares, circulating supply
// and status are recomputed (attest::ComputeReserve). With --evidence, every evidence item is
// fetched (URL: BASE/v1/reserves/evidence/{sha256}; directory: DIR/<sha256>), its hash checked
// and the numbers in it (block number and hash, totalSupply / getTokenSupply, balances, the
// custodian statement's shares) compared with the attestation.
// Prints "OK <asset> <status> ratio=<r> evidence=<n>" or "MISMATCH <asset>: <why>" per asset;
// exit 0 when every asset re-derives, 1 otherwise (see verify.h for the other codes).
#pragma once

#include <iosfwd>
#include <string>

namespace plumbline::attest::cli {

int RunReserves(const std::string& source, const std::string& pub_path, const std::string& evidence,
                std::ostream& out, std::ostream& err);

}  // namespace plumbline::attest::cli
