// Internal to the daemon library: the RFC 9457 problem+json writer of api_server.cc, for route
// code in other files (auth.cc, ops.cc). `type` is the last segment of "/problems/<type>".
#pragma once

#include <string>

namespace httplib {
struct Response;
}  // namespace httplib

namespace plumbline::daemon {

void WriteProblem(httplib::Response& res, int status, const std::string& type, const std::string& detail,
                  const std::string& instance);

// A symbol named in a path: "BTC-USD", "BTC_USD" and the percent-encoded "BTC%2FUSD" (httplib
// decodes it before routing) all name "BTC/USD".
std::string SymbolFromPathSegment(std::string segment);

}  // namespace plumbline::daemon
