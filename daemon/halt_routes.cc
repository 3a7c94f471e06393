#include "daemon/halt_routes.h"

#include <ctime>
#include <set>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "daemon/http_problem.h"
#include "plumbline/clock.h"
#include "plumbline/daemon/auth.h"
#include "plumbline/daemon/halt_file.h"
#include "plumbline/daemon/log.h"
#include "plumbline/daemon/ops.h"
#include "plumbline/daemon/publisher.h"

namespace plumbline::daemon {
namespace {

constexpr size_t kMaxReasonBytes = 200;

std::string UtcText(int64_t unix_nanos) {
  const std::time_t seconds = static_cast<std::time_t>(unix_nanos / kNanosPerSecond);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

const feeds::SymbolPolicy* FindSymbol(const Config& config, const std::string& symbol) {
  for (const feeds::SymbolPolicy& policy : config.symbols) {
    if (policy.symbol == symbol) return &policy;
  }
  return nullptr;
}

// What halts one symbol now.
nlohmann::json HaltState(const feeds::SymbolPolicy& policy, bool in_file) {
  nlohmann::json by = nlohmann::json::array();
  if (policy.halted) by.push_back("config");
  if (in_file) by.push_back("halt_file");
  return {{"symbol", policy.symbol}, {"halted", policy.halted || in_file}, {"by", by}};
}

// The answer to a PUT or DELETE: the state after it, whether the file changed, and when it applies.
std::string ChangeAnswer(const feeds::SymbolPolicy& policy, bool in_file, bool changed) {
  nlohmann::json body = HaltState(policy, in_file);
  body["changed"] = changed;
  body["effective"] = "next_round";
  return body.dump();
}

// Optional {"reason": "..."}: printable text, bounded, becomes the line's comment.
bool ReadReason(const httplib::Request& req, httplib::Response& res, std::string* reason) {
  if (req.body.empty()) return true;
  auto body = nlohmann::json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    WriteProblem(res, 400, "invalid-body", "body must be empty or a JSON object {\"reason\": \"...\"}", req.path);
    return false;
  }
  for (const auto& [key, value] : body.items()) {
    if (key != "reason") {
      WriteProblem(res, 400, "invalid-body", "unknown member \"" + key + "\" (only \"reason\" is accepted)", req.path);
      return false;
    }
    if (!value.is_string()) {
      WriteProblem(res, 400, "invalid-body", "reason: expected a string", req.path);
      return false;
    }
    *reason = value.get<std::string>();
  }
  if (reason->size() > kMaxReasonBytes) {
    WriteProblem(res, 400, "invalid-body", "reason: at most " + std::to_string(kMaxReasonBytes) + " bytes", req.path);
    return false;
  }
  for (unsigned char c : *reason) {
    if (c < 0x20 || c == 0x7f) {
      WriteProblem(res, 400, "invalid-body", "reason: control characters are not allowed", req.path);
      return false;
    }
  }
  return true;
}

}  // namespace

void RegisterHaltRoutes(httplib::Server& s, const Publisher& publisher, const Clock& clock, const OpsHooks* ops) {
  s.Get("/v1/halts", [&publisher](const httplib::Request& req, httplib::Response& res) {
    std::shared_ptr<const Config> config = publisher.config();
    std::set<std::string> listed;
    if (!config->halt_file.empty()) {
      auto read = ReadHaltFile(config->halt_file);
      if (!read.ok()) return WriteProblem(res, 500, "halt-file-error", read.status().message(), req.path);
      listed = std::move(read).value();
    }
    nlohmann::json halts = nlohmann::json::array();
    for (const feeds::SymbolPolicy& policy : config->symbols) {
      const bool in_file = listed.count(policy.symbol) != 0;
      if (policy.halted || in_file) halts.push_back(HaltState(policy, in_file));
    }
    nlohmann::json body = {{"halt_file_configured", !config->halt_file.empty()}, {"halts", halts}};
    res.set_header("Cache-Control", "no-store");
    res.set_content(body.dump(), "application/json");
  });

  auto change = [&publisher, &clock, ops](bool halt) {
    return [&publisher, &clock, ops, halt](const httplib::Request& req, httplib::Response& res) {
      if (!RequireAdminToken(ops->admin_token.get(), req, res)) return;
      std::shared_ptr<const Config> config = publisher.config();
      const std::string symbol = SymbolFromPathSegment(req.matches[1]);
      const feeds::SymbolPolicy* policy = FindSymbol(*config, symbol);
      if (policy == nullptr) {
        return WriteProblem(res, 404, "unknown-symbol", "symbol \"" + symbol + "\" is not configured", req.path);
      }
      std::string reason;
      if (!ReadReason(req, res, &reason)) return;
      if (!halt && policy->halted) {
        return WriteProblem(res, 409, "halted-in-config",
                            "symbol \"" + symbol + "\" is halted by `halted = true` in its [[symbols]] table; "
                            "remove it there and reload the config",
                            req.path);
      }
      if (config->halt_file.empty()) {
        if (!halt) {  // nothing but the file can hold a run-time halt: there is none to lift
          res.set_header("Cache-Control", "no-store");
          return res.set_content(ChangeAnswer(*policy, false, false), "application/json");
        }
        return WriteProblem(res, 409, "halt-file-not-configured",
                            "halt_file: not configured, so a run-time halt has nowhere to persist; set it and reload",
                            req.path);
      }
      std::string note = (halt ? "halted" : "lifted") + std::string(" via the API at ") + UtcText(clock.NowUnixNanos());
      if (!reason.empty()) note += ": " + reason;
      auto changed = SetHaltedInFile(config->halt_file, symbol, halt, note);
      if (!changed.ok()) {
        return WriteProblem(res, 500, "halt-file-error", changed.status().message() + " (nothing changed)", req.path);
      }
      Log(LogLevel::kNotice, std::string("kill switch: ") + symbol + (halt ? " halted" : " lifted") + " via the API" +
                                 (*changed ? "" : " (already so)"),
          {{"symbol", symbol}, {"halted", halt ? "true" : "false"}, {"reason", reason}});
      res.set_header("Cache-Control", "no-store");
      res.set_content(ChangeAnswer(*policy, halt, *changed), "application/json");
    };
  };
  s.Put(R"(/v1/admin/halts/(.+))", change(true));
  s.Delete(R"(/v1/admin/halts/(.+))", change(false));
  auto put_or_delete = [](const httplib::Request& req, httplib::Response& res) {
    res.set_header("Allow", "PUT, DELETE");
    WriteProblem(res, 405, "method-not-allowed", "method " + req.method + " is not allowed on " + req.path, req.path);
  };
  s.Get(R"(/v1/admin/halts/(.+))", put_or_delete).Post(R"(/v1/admin/halts/(.+))", put_or_delete);
  s.Patch(R"(/v1/admin/halts/(.+))", put_or_delete);
}

}  // namespace plumbline::daemon
