#include "plumbline/daemon/stream.h"

#include <chrono>

#include <nlohmann/json.hpp>

#include "plumbline/attest/canonical_json.h"
#include "plumbline/attest/snapshot.h"

namespace plumbline::daemon {

std::string SnapshotEvent(uint64_t sequence, const std::string& envelope_json) {
  // The envelope is canonical JSON on one line; it is embedded verbatim (members in RFC 8785 order:
  // "envelope" < "sequence"), so the data line is itself canonical JSON.
  const std::string seq = std::to_string(sequence);
  return "id: " + seq + "\nevent: snapshot\ndata: {\"envelope\":" + envelope_json + ",\"sequence\":" + seq + "}\n\n";
}

SnapshotStream::SnapshotStream(const Config& config, const storage::SnapshotStore& store,
                               const Publisher& publisher)
    : config_(config.stream), store_(store) {
  for (const auto& policy : config.symbols) configured_symbols_.insert(policy.symbol);
  if (auto latest = publisher.Latest()) {
    latest_sequence_ = latest->signed_snapshot.snapshot.sequence;
    recent_.push_back(latest);
  }
}

SnapshotStream::~SnapshotStream() { Close(); }

void SnapshotStream::Notify(std::shared_ptr<const Published> published) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t seq = published->signed_snapshot.snapshot.sequence;
    if (seq <= latest_sequence_) return;  // never reorder
    latest_sequence_ = seq;
    recent_.push_back(std::move(published));
    while (recent_.size() > kRecent) recent_.pop_front();
  }
  cv_.notify_all();
}

void SnapshotStream::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

size_t SnapshotStream::subscribers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return subscribers_;
}

Result<std::unique_ptr<Subscription>> SnapshotStream::Subscribe(std::optional<uint64_t> last_event_id,
                                                                 std::set<std::string> symbols) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return Status::Unavailable("the stream is shutting down");
  for (const std::string& s : symbols) {
    if (!configured_symbols_.count(s)) {
      return Status::NotFound("symbol \"" + s + "\" is not configured");
    }
  }
  if (last_event_id && *last_event_id > latest_sequence_) {
    return Status::InvalidArgument("Last-Event-ID " + std::to_string(*last_event_id) +
                                   " is beyond the latest snapshot (" + std::to_string(latest_sequence_) + ")");
  }
  if (subscribers_ >= static_cast<size_t>(config_.max_subscribers)) {
    return Status::Unavailable("all " + std::to_string(config_.max_subscribers) +
                               " stream slots are taken ([stream].max_subscribers)");
  }
  ++subscribers_;
  const uint64_t next = last_event_id ? *last_event_id + 1 : std::max<uint64_t>(latest_sequence_, 1);
  return std::unique_ptr<Subscription>(new Subscription(this, next, std::move(symbols)));
}

std::shared_ptr<const Published> SnapshotStream::Find(uint64_t sequence) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = recent_.rbegin(); it != recent_.rend(); ++it) {
      if ((*it)->signed_snapshot.snapshot.sequence == sequence) return *it;
    }
  }
  // Older than the ring (a resuming client): read it back from the store, outside the lock.
  auto envelope = store_.Get(sequence);
  if (!envelope.ok()) return nullptr;
  auto decoded = attest::DecodeSnapshotEnvelope(*envelope);
  if (!decoded.ok()) return nullptr;
  auto published = std::make_shared<Published>();
  published->marks_json = Publisher::BuildMarksJson(*decoded);
  published->signed_snapshot = std::move(decoded).value();
  return published;
}

std::optional<std::string> SnapshotStream::Render(uint64_t sequence, const std::set<std::string>& symbols) const {
  std::shared_ptr<const Published> p = Find(sequence);
  if (!p) return std::nullopt;
  if (symbols.empty()) return SnapshotEvent(sequence, p->signed_snapshot.envelope_json);
  nlohmann::json view = nlohmann::json::parse(p->marks_json, nullptr, false);
  if (view.is_discarded()) return std::nullopt;
  nlohmann::json chosen = nlohmann::json::array();
  for (auto& mark : view["marks"]) {
    if (symbols.count(mark.value("symbol", ""))) chosen.push_back(std::move(mark));
  }
  view["marks"] = std::move(chosen);
  auto text = attest::Canonicalize(view);
  if (!text.ok()) return std::nullopt;
  return "id: " + std::to_string(sequence) + "\nevent: marks\ndata: " + *text + "\n\n";
}

Subscription::~Subscription() {
  std::lock_guard<std::mutex> lock(stream_->mu_);
  --stream_->subscribers_;
}

std::optional<std::string> Subscription::Next() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(stream_->config_.heartbeat_ms);
  {
    std::unique_lock<std::mutex> lock(stream_->mu_);
    const bool ready = stream_->cv_.wait_until(lock, deadline, [this] {
      return stream_->closed_ || next_sequence_ <= stream_->latest_sequence_;
    });
    if (stream_->closed_) return std::nullopt;
    if (!ready) return std::string(": heartbeat\n\n");
  }
  auto event = stream_->Render(next_sequence_, symbols_);
  if (!event) return std::nullopt;
  ++next_sequence_;
  return event;
}

}  // namespace plumbline::daemon
