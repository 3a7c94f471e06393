// Proof-of-reserve HTTP routes (registered from ApiServer::Routes(); see docs/reserves.md and
// docs/openapi.yaml):
//   GET  /v1/reserves                       every reserve attestation of the latest snapshot
//   GET  /v1/reserves/{asset}               one asset's attestation
//   POST /v1/reserves/{asset}/mint-check    {"amount": "<tokens>"} -> within reserves or not,
//                                           citing the snapshot it was decided on
//   GET  /v1/reserves/evidence/{sha256}     raw evidence bytes (RPC responses, statements)
//   POST /v1/custodian/statements           a signed custodian statement; 201 only after a
//                                           synced write
// Attestations are served from the latest signed snapshot, never from unsigned state, so every
// answer names a snapshot an auditor can fetch and verify.
#pragma once

#include <string>

#include <httplib.h>

#include "plumbline/daemon/publisher.h"
#include "plumbline/reserves/monitor.h"

namespace plumbline::daemon {

// `monitor` points at the ApiServer's slot, read at request time (null: reserves not configured,
// the statement and evidence routes answer 404). Must be called before the catch-all routes.
// Errors are written with WriteProblem (daemon/http_problem.h).
void RegisterReserveRoutes(httplib::Server& server, const Publisher& publisher,
                           reserves::ReserveMonitor* const* monitor);

}  // namespace plumbline::daemon
