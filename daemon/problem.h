// RFC 9457 problem documents for the HTTP routes in their own files (push_routes.cc); the same
// shape as api_server.cc's: {"type": "/problems/<type>", "title", "status", "detail", "instance"}
// with Content-Type application/problem+json. Problem types are listed in docs/http-api.md,
// docs/ingest.md and docs/stream.md.
#pragma once

#include <string>

#include <httplib.h>

namespace plumbline::daemon {

const char* ProblemTitle(int status);

void WriteProblem(httplib::Response& res, int status, const std::string& type, const std::string& detail,
                  const std::string& instance);

}  // namespace plumbline::daemon
