// RFC 9457 problem+json responses, shared by the route files of the API server (defined in
// api_server.cc). Private to daemon/.
#pragma once

#include <string>

#include <httplib.h>

namespace plumbline::daemon {

// Writes {"type": "/problems/<type>", "title", "status", "detail", "instance"} with
// Content-Type application/problem+json and the given status.
void SendProblem(httplib::Response& res, int status, const std::string& type, const std::string& detail,
                 const std::string& instance);

}  // namespace plumbline::daemon
