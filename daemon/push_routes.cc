#include "daemon/push_routes.h"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/http_problem.h"
#include "plumbline/daemon/ingest.h"
#include "plumbline/daemon/stream.h"

namespace plumbline::daemon {
namespace {

// httplib's TaskQueue with `base` workers that can grow by one per lent (long-lived) job; see
// push_routes.h for why. Thread-safe.
class ElasticTaskQueue final : public httplib::TaskQueue {
 public:
  ElasticTaskQueue(size_t base, std::function<void()> on_worker_start)
      : on_worker_start_(std::move(on_worker_start)) {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < base; ++i) SpawnLocked();
  }
  ~ElasticTaskQueue() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      jobs_.push_back(std::move(fn));
    }
    cv_.notify_one();
  }

  void shutdown() override {
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mu_);
      shutdown_ = true;
      threads.swap(threads_);
    }
    cv_.notify_all();
    for (std::thread& t : threads) t.join();
  }

  // The calling job keeps its thread for long: start a replacement worker.
  void Lend() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!shutdown_) SpawnLocked();
  }
  // The lent job ended: one worker retires when it is next idle.
  void Return() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++retire_;
    }
    cv_.notify_one();
  }

  // The queue whose worker runs the calling thread (null outside workers).
  static ElasticTaskQueue* Current() { return current_; }

 private:
  void SpawnLocked() {
    // Reap workers that retired: their ids were recorded right before they returned.
    for (auto it = threads_.begin(); it != threads_.end();) {
      if (std::find(exited_.begin(), exited_.end(), it->get_id()) != exited_.end()) {
        it->join();
        it = threads_.erase(it);
      } else {
        ++it;
      }
    }
    exited_.clear();
    threads_.emplace_back([this] { Work(); });
  }

  void Work() {
    current_ = this;
    if (on_worker_start_) on_worker_start_();
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return shutdown_ || retire_ > 0 || !jobs_.empty(); });
        if (retire_ > 0 && !shutdown_) {
          --retire_;
          exited_.push_back(std::this_thread::get_id());
          return;
        }
        if (jobs_.empty()) return;  // shutting down, nothing left
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  static thread_local ElasticTaskQueue* current_;
  const std::function<void()> on_worker_start_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  std::vector<std::thread::id> exited_;
  size_t retire_ = 0;
  bool shutdown_ = false;
};

thread_local ElasticTaskQueue* ElasticTaskQueue::current_ = nullptr;

void PostObservations(Ingestor* ingest, const httplib::Request& req, httplib::Response& res) {
  if (ingest == nullptr) {
    return WriteProblem(res, 404, "ingest-disabled", "push ingestion is not enabled on this daemon", req.path);
  }
  IngestResult r = ingest->Submit(req.body);
  if (!r.ok()) {
    if (r.retry_after_seconds > 0) res.set_header("Retry-After", std::to_string(r.retry_after_seconds));
    return WriteProblem(res, r.http_status, r.problem_type, r.detail, req.path);
  }
  nlohmann::json body = {{"publisher", r.publisher}, {"sequence", r.sequence}, {"accepted", r.accepted}};
  res.set_header("Cache-Control", "no-store");
  res.set_content(body.dump(), "application/json");
}

// The route of bulk requests (docs/ingest.md, "Bulk").
constexpr char kBulkPath[] = "/v1/observations/bulk";

// True when nlohmann's dump() writes `s` between its quotes unchanged (printable ASCII, no escapes).
bool PlainJsonString(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char ch) { return ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\'; });
}

// POST /v1/observations/bulk: one envelope per line (NDJSON), answered with one result per line.
void PostObservationsBulk(Ingestor* ingest, const httplib::Request& req, httplib::Response& res) {
  if (ingest == nullptr) {
    return WriteProblem(res, 404, "ingest-disabled", "push ingestion is not enabled on this daemon", req.path);
  }
  const IngestConfig& limits = ingest->config().ingest;
  const std::string type = req.get_header_value("Content-Type");
  if (type.substr(0, type.find(';')) != "application/x-ndjson") {
    return WriteProblem(res, 415, "unsupported-media-type",
                        "Content-Type is \"" + type + "\"; expected application/x-ndjson, one signed envelope per line",
                        req.path);
  }
  if (req.body.size() > static_cast<uint64_t>(limits.bulk_max_bytes)) {  // (a chunked body; else pre-routing did)
    return WriteProblem(res, 413, "body-too-large",
                        "request body of " + std::to_string(req.body.size()) + " bytes exceeds [ingest].bulk_max_bytes (" +
                            std::to_string(limits.bulk_max_bytes) + ")",
                        req.path);
  }
  // Lines end with LF (an optional CR before it is dropped); the last line's LF is optional.
  std::vector<std::string_view> lines;
  std::string_view body = req.body;
  while (!body.empty()) {
    const size_t lf = body.find('\n');
    std::string_view line = body.substr(0, lf);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (lines.size() > static_cast<size_t>(limits.bulk_max_lines)) {
      return WriteProblem(res, 413, "too-many-envelopes",
                          "more than " + std::to_string(limits.bulk_max_lines) +
                              " envelopes in one request ([ingest].bulk_max_lines); nothing applied",
                          req.path);
    }
    body = lf == std::string_view::npos ? std::string_view() : body.substr(lf + 1);
  }
  if (lines.empty()) {
    return WriteProblem(res, 400, "malformed-envelope", "the body holds no envelope (one per line expected)", req.path);
  }
  std::vector<IngestResult> results = ingest->SubmitMany(lines, static_cast<int>(limits.bulk_verify_threads));
  // One synced write held every accepted envelope: if it failed, none was applied.
  size_t accepted = 0;
  for (const IngestResult& r : results) {
    if (r.http_status == 503) {
      res.set_header("Retry-After", std::to_string(r.retry_after_seconds));
      size_t unstored = 0;
      for (const IngestResult& x : results) unstored += x.http_status == 503;
      return WriteProblem(res, 503, "journal-unavailable",
                          std::to_string(unstored) + " envelopes passed every check but were not stored, nothing applied; " +
                              "retry the request later: " + r.detail.substr(r.detail.find("retry later: ") + 13),
                          req.path);
    }
    accepted += r.ok();
  }
  std::string out;
  out.reserve(results.size() * 80);
  for (size_t i = 0; i < results.size(); ++i) {
    const IngestResult& r = results[i];
    nlohmann::json line;
    if (r.ok() && PlainJsonString(r.publisher)) {  // the common line, written as dump() would write it
      out += "{\"accepted\":" + std::to_string(r.accepted) + ",\"line\":" + std::to_string(i + 1) + ",\"publisher\":\"" +
             r.publisher + "\",\"sequence\":" + std::to_string(r.sequence) + ",\"status\":200}\n";
      continue;
    }
    if (r.ok()) {
      line = {{"line", i + 1}, {"status", 200}, {"publisher", r.publisher}, {"sequence", r.sequence}, {"accepted", r.accepted}};
    } else {
      line = {{"line", i + 1}, {"status", r.http_status}, {"type", "/problems/" + r.problem_type},
              {"detail", "line " + std::to_string(i + 1) + ": " + r.detail}};
      if (r.retry_after_seconds > 0) line["retry_after"] = r.retry_after_seconds;
    }
    out += line.dump();
    out += '\n';
  }
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Accepted-Envelopes", std::to_string(accepted));
  res.set_content(std::move(out), "application/x-ndjson");
}

// Bulk bodies may be larger than [http].max_body_bytes: the server's limit is raised to
// [ingest].bulk_max_bytes, and this keeps every other route at [http].max_body_bytes by its
// Content-Length, before the body is read. Returns true when it answered 413.
bool RejectOversizeBody(const Config& config, const httplib::Request& req, httplib::Response& res) {
  if (!req.has_header("Content-Length")) return false;
  const std::string text = req.get_header_value("Content-Length");
  uint64_t length = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), length);
  if (ec != std::errc() || end != text.data() + text.size()) return false;  // httplib answers 400
  const bool bulk = req.path == kBulkPath;
  const uint64_t limit = bulk ? static_cast<uint64_t>(config.ingest.bulk_max_bytes) : config.http.max_body_bytes;
  if (length <= limit) return false;
  res.set_header("Connection", "close");  // the body stays unread
  WriteProblem(res, 413, "body-too-large",
               "request body of " + text + " bytes exceeds the configured limit " +
                   (bulk ? "[ingest].bulk_max_bytes (" : "[http].max_body_bytes (") + std::to_string(limit) + ")" +
                   (bulk ? "; nothing applied" : ""),
               req.path);
  return true;
}

void GetStream(SnapshotStream* stream, const httplib::Request& req, httplib::Response& res) {
  if (stream == nullptr) {
    return WriteProblem(res, 404, "stream-disabled", "the snapshot stream is not enabled on this daemon", req.path);
  }
  std::optional<uint64_t> last_event_id;
  const std::string last = req.has_header("Last-Event-ID") ? req.get_header_value("Last-Event-ID")
                                                           : req.get_param_value("last_event_id");
  if (!last.empty()) {
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(last.data(), last.data() + last.size(), v);
    if (ec != std::errc() || end != last.data() + last.size()) {
      return WriteProblem(res, 400, "invalid-last-event-id",
                          "Last-Event-ID must be a snapshot sequence number, got \"" + last + "\"", req.path);
    }
    last_event_id = v;
  }
  std::set<std::string> symbols;
  if (req.has_param("symbols")) {
    std::string list = req.get_param_value("symbols");
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      std::string symbol = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      for (char& c : symbol) c = (c == '-' || c == '_') ? '/' : c;  // BTC-USD == BTC/USD, as in /v1/marks
      if (symbol.empty()) {
        return WriteProblem(res, 400, "invalid-symbols", "symbols must be a comma-separated list without empty entries",
                            req.path);
      }
      symbols.insert(symbol);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  auto sub = stream->Subscribe(last_event_id, std::move(symbols));
  if (!sub.ok()) {
    switch (sub.status().code()) {
      case Code::kNotFound: return WriteProblem(res, 404, "unknown-symbol", sub.status().message(), req.path);
      case Code::kInvalidArgument:
        return WriteProblem(res, 400, "invalid-last-event-id", sub.status().message(), req.path);
      default:
        res.set_header("Retry-After", "5");
        return WriteProblem(res, 503, "stream-full", sub.status().message(), req.path);
    }
  }
  std::shared_ptr<Subscription> subscription = std::move(sub).value();
  ElasticTaskQueue* queue = ElasticTaskQueue::Current();
  if (queue != nullptr) queue->Lend();
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Accel-Buffering", "no");  // nginx: pass events through unbuffered
  res.set_chunked_content_provider(
      "text/event-stream",
      [subscription](size_t, httplib::DataSink& sink) {
        std::optional<std::string> event = subscription->Next();
        if (!event) {
          sink.done();
          return true;
        }
        return sink.write(event->data(), event->size());
      },
      // Runs when the response ends (client gone, write timeout, shutdown), on this same thread.
      [subscription, queue](bool) mutable {
        subscription.reset();
        if (queue != nullptr) queue->Return();
      });
}

}  // namespace

httplib::TaskQueue* NewElasticTaskQueue(size_t base_threads, std::function<void()> on_worker_start) {
  return new ElasticTaskQueue(base_threads, std::move(on_worker_start));
}

void RegisterPushRoutes(httplib::Server& server, const PushApi& push) {
  Ingestor* ingest = push.ingest;
  SnapshotStream* stream = push.stream;
  server.Post("/v1/observations", [ingest](const httplib::Request& req, httplib::Response& res) {
    PostObservations(ingest, req, res);
  });
  auto post_only = [](const httplib::Request& req, httplib::Response& res) {
    res.set_header("Allow", "POST");
    WriteProblem(res, 405, "method-not-allowed", "method " + req.method + " is not allowed on " + req.path, req.path);
  };
  server.Post(kBulkPath, [ingest](const httplib::Request& req, httplib::Response& res) {
    PostObservationsBulk(ingest, req, res);
  });
  if (ingest != nullptr &&
      static_cast<uint64_t>(ingest->config().ingest.bulk_max_bytes) > ingest->config().http.max_body_bytes) {
    server.set_payload_max_length(static_cast<size_t>(ingest->config().ingest.bulk_max_bytes));
    server.set_pre_routing_handler([config = &ingest->config()](const httplib::Request& req, httplib::Response& res) {
      return RejectOversizeBody(*config, req, res) ? httplib::Server::HandlerResponse::Handled
                                                   : httplib::Server::HandlerResponse::Unhandled;
    });
  }
  for (const char* path : {"/v1/observations", kBulkPath}) {
    server.Get(path, post_only);
    server.Put(path, post_only);
    server.Delete(path, post_only);
    server.Patch(path, post_only);
  }
  // Operators: each publisher's counters since start (no key material; names and numbers only).
  server.Get("/v1/publishers", [ingest](const httplib::Request& req, httplib::Response& res) {
    if (ingest == nullptr) {
      return WriteProblem(res, 404, "ingest-disabled", "push ingestion is not enabled on this daemon", req.path);
    }
    nlohmann::json list = nlohmann::json::array();
    for (const IngestStats& st : ingest->Stats()) {
      list.push_back({{"publisher", st.publisher},
                      {"accepted_batches", st.accepted_batches},
                      {"accepted_observations", st.accepted_observations},
                      {"rejected_batches", st.rejected_batches},
                      {"rate_limited", st.rate_limited},
                      {"last_sequence", st.last_sequence ? nlohmann::json(st.last_sequence) : nlohmann::json(nullptr)}});
    }
    res.set_header("Cache-Control", "no-store");
    res.set_content(nlohmann::json{{"publishers", list}}.dump(), "application/json");
  });
  server.Get("/v1/stream", [stream](const httplib::Request& req, httplib::Response& res) {
    GetStream(stream, req, res);
  });
}

}  // namespace plumbline::daemon
