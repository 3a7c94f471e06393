// Internal to the daemon library: the kill switch over HTTP (docs/oracle.md, "Kill switch").
//
//   GET    /v1/halts                  open, like the other read endpoints: every configured symbol
//                                     that is halted and by what ("config", "halt_file")
//   PUT    /v1/admin/halts/{symbol}   admin token; lists the symbol in `halt_file` (optional body
//                                     {"reason": "..."} is written beside it as a comment)
//   DELETE /v1/admin/halts/{symbol}   admin token; removes the symbol's line from `halt_file`
//
// The halt takes effect from the next publish round, which reads the file (daemon/halt_file.h);
// the answer says so and carries the file's new state. Errors (problem+json): 401/403 as every
// admin route, 404 unknown-symbol, 409 halt-file-not-configured (PUT without `halt_file`),
// 409 halted-in-config (DELETE of a symbol with `halted = true` in its [[symbols]] table, which only
// a config change lifts), 400 invalid-body, 500 halt-file-error (nothing changed).
#pragma once

namespace httplib {
class Server;
}  // namespace httplib

namespace plumbline {
class Clock;
}  // namespace plumbline

namespace plumbline::daemon {

class Publisher;
struct OpsHooks;

// All borrowed and must outlive the server; `ops` is read at request time (its admin token).
void RegisterHaltRoutes(httplib::Server& server, const Publisher& publisher, const Clock& clock, const OpsHooks* ops);

}  // namespace plumbline::daemon
