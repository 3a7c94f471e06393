#include "daemon/problem.h"

#include <nlohmann/json.hpp>

namespace plumbline::daemon {

const char* ProblemTitle(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

void WriteProblem(httplib::Response& res, int status, const std::string& type, const std::string& detail,
                  const std::string& instance) {
  nlohmann::json body = {{"type", "/problems/" + type},
                         {"title", ProblemTitle(status)},
                         {"status", status},
                         {"detail", detail},
                         {"instance", instance}};
  res.status = status;
  res.set_content(body.dump(), "application/problem+json");
}

}  // namespace plumbline::daemon
