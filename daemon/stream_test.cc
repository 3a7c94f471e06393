#include "plumbline/daemon/stream.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>

#include "daemon/push_test_support.h"
#include "plumbline/attest/snapshot.h"

namespace plumbline::daemon {
namespace {

// A Server-Sent Events client on its own thread: collects the raw text until stopped or the
// server ends the response.
class SseReader {
 public:
  SseReader(int port, std::string path, httplib::Headers headers = {}) {
    thread_ = std::thread([this, port, path = std::move(path), headers = std::move(headers)] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(10, 0);
      auto r = c.Get(
          path, headers,
          [this](const httplib::Response& res) {
            std::lock_guard<std::mutex> lock(mu_);
            status_ = res.status;
            content_type_ = res.get_header_value("Content-Type");
            cv_.notify_all();
            return true;
          },
          [this](const char* data, size_t len) {
            std::lock_guard<std::mutex> lock(mu_);
            text_.append(data, len);
            cv_.notify_all();
            return !stop_;
          });
      std::lock_guard<std::mutex> lock(mu_);
      if (r && status_ == 0) status_ = r->status;
      done_ = true;
      cv_.notify_all();
    });
  }
  ~SseReader() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    thread_.join();
  }
  // Waits until `pred(text)` holds; false after `ms`.
  bool WaitFor(const std::function<bool(const std::string&)>& pred, int ms = 5000) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return pred(text_); });
  }
  bool WaitForEvents(size_t n, int ms = 5000) {
    return WaitFor([n](const std::string& t) { return Events(t).size() >= n; }, ms);
  }
  bool WaitForStatus(int ms = 5000) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return status_ != 0 || done_; });
  }
  std::string text() {
    std::lock_guard<std::mutex> lock(mu_);
    return text_;
  }
  int status() {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }
  std::string content_type() {
    std::lock_guard<std::mutex> lock(mu_);
    return content_type_;
  }

  struct Event {
    std::string id, type, data;
  };
  // Parses complete events (those ended by a blank line); comment-only blocks are skipped.
  static std::vector<Event> Events(const std::string& text) {
    std::vector<Event> out;
    size_t start = 0;
    for (size_t end; (end = text.find("\n\n", start)) != std::string::npos; start = end + 2) {
      Event e;
      std::string block = text.substr(start, end - start);
      size_t pos = 0;
      while (pos <= block.size()) {
        size_t nl = block.find('\n', pos);
        std::string line = block.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        if (line.rfind("id: ", 0) == 0) e.id = line.substr(4);
        if (line.rfind("event: ", 0) == 0) e.type = line.substr(7);
        if (line.rfind("data: ", 0) == 0) e.data += line.substr(6);
        if (nl == std::string::npos) break;
        pos = nl + 1;
      }
      if (!e.type.empty()) out.push_back(std::move(e));
    }
    return out;
  }
  std::vector<Event> events() { return Events(text()); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::string text_;
  std::string content_type_;
  int status_ = 0;
  bool stop_ = false;
  bool done_ = false;
  std::thread thread_;
};

class StreamTest : public testing::PushFixture {
 protected:
  std::string ExtraConfig() const override { return "[stream]\nheartbeat_ms = 100\nmax_subscribers = 8\n"; }
  std::shared_ptr<const Published> Round() {
    FillFresh("67000.10", "67000.30", "67000.20");
    const int64_t t = clock_.NowUnixNanos();
    book_.Put(testing::Obs("a", "ETH/USD", "3500.1", t));
    book_.Put(testing::Obs("b", "ETH/USD", "3500.2", t));
    book_.Put(testing::Obs("c", "ETH/USD", "3500.3", t));
    auto p = PublishAndNotify();
    clock_.Advance(kNanosPerSecond);
    return p;
  }
  void ExpectSnapshotEvent(const SseReader::Event& e, uint64_t seq) {
    EXPECT_EQ(e.type, "snapshot");
    EXPECT_EQ(e.id, std::to_string(seq));
    auto data = nlohmann::json::parse(e.data, nullptr, false);
    ASSERT_FALSE(data.is_discarded()) << e.data;
    EXPECT_EQ(data.value("sequence", 0u), seq);
    // The embedded envelope is the stored one, byte for byte, and verifies with the daemon's key.
    auto stored = store_->Get(seq);
    ASSERT_TRUE(stored.ok());
    EXPECT_NE(e.data.find(*stored), std::string::npos);
    auto verified = attest::VerifySnapshotEnvelope(data["envelope"].dump(), key_->public_key());
    ASSERT_TRUE(verified.ok()) << verified.status().ToString();
    EXPECT_EQ(verified->snapshot.sequence, seq);
  }
};

TEST_F(StreamTest, NewSnapshotsArriveAsSignedEvents) {
  Round();  // sequence 1 exists before the subscriber connects
  SseReader reader(server_->port(), "/v1/stream");
  ASSERT_TRUE(reader.WaitForEvents(1));  // starts with the latest
  EXPECT_EQ(reader.status(), 200);
  EXPECT_EQ(reader.content_type(), "text/event-stream");
  Round();
  Round();
  ASSERT_TRUE(reader.WaitForEvents(3));
  auto events = reader.events();
  ASSERT_EQ(events.size(), 3u);
  for (uint64_t i = 0; i < 3; ++i) ExpectSnapshotEvent(events[i], i + 1);
  // Quiet periods carry heartbeat comments (heartbeat_ms = 100 here).
  EXPECT_TRUE(reader.WaitFor([](const std::string& t) { return t.find(": heartbeat\n\n") != std::string::npos; }));
}

TEST_F(StreamTest, SymbolFilterSendsOnlyThoseMarks) {
  Round();
  SseReader reader(server_->port(), "/v1/stream?symbols=ETH-USD");
  ASSERT_TRUE(reader.WaitForEvents(1));  // subscribed (to the latest) before the next round
  Round();
  ASSERT_TRUE(reader.WaitForEvents(2));
  for (const auto& e : reader.events()) {
    EXPECT_EQ(e.type, "marks");
    auto data = nlohmann::json::parse(e.data);
    ASSERT_EQ(data["marks"].size(), 1u) << e.data;
    EXPECT_EQ(data["marks"][0]["symbol"], "ETH/USD");
    EXPECT_EQ(data["marks"][0]["price"], "3500.2");
    EXPECT_EQ(std::to_string(data["snapshot"]["sequence"].get<uint64_t>()), e.id);
  }

  SseReader unknown(server_->port(), "/v1/stream?symbols=BTC/USD,DOGE/USD");
  ASSERT_TRUE(unknown.WaitForStatus());
  unknown.WaitFor([](const std::string& t) { return !t.empty(); }, 2000);
  EXPECT_EQ(unknown.status(), 404);
  EXPECT_NE(unknown.text().find("\\\"DOGE/USD\\\" is not configured"), std::string::npos) << unknown.text();
}

TEST_F(StreamTest, LastEventIdResumesFromTheStore) {
  for (int i = 0; i < 5; ++i) Round();
  // A new stream object knows only the latest snapshot in memory: 2..4 must come from RocksDB.
  StopServer();
  StartServer();
  SseReader reader(server_->port(), "/v1/stream", {{"Last-Event-ID", "1"}});
  ASSERT_TRUE(reader.WaitForEvents(4));
  Round();
  ASSERT_TRUE(reader.WaitForEvents(5));
  auto events = reader.events();
  ASSERT_EQ(events.size(), 5u);
  for (uint64_t i = 0; i < 5; ++i) ExpectSnapshotEvent(events[i], i + 2);

  SseReader beyond(server_->port(), "/v1/stream", {{"Last-Event-ID", "99"}});
  ASSERT_TRUE(beyond.WaitForStatus());
  EXPECT_EQ(beyond.status(), 400);
  SseReader garbage(server_->port(), "/v1/stream", {{"Last-Event-ID", "abc"}});
  ASSERT_TRUE(garbage.WaitForStatus());
  EXPECT_EQ(garbage.status(), 400);
}

TEST_F(StreamTest, ManySubscribersDoNotStarveRequests) {
  Round();
  // http.threads = 2 in the test config; 6 streams would pin every worker of a fixed pool.
  std::vector<std::unique_ptr<SseReader>> readers;
  for (int i = 0; i < 6; ++i) readers.push_back(std::make_unique<SseReader>(server_->port(), "/v1/stream"));
  for (auto& r : readers) ASSERT_TRUE(r->WaitForEvents(1));
  EXPECT_EQ(stream_->subscribers(), 6u);
  for (int i = 0; i < 10; ++i) {
    auto c = Client();
    const auto started = std::chrono::steady_clock::now();
    auto r = c->Get("/v1/marks");
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    ASSERT_TRUE(r) << "GET failed with 6 streams open";
    EXPECT_EQ(r->status, 200);
    EXPECT_LT(ms, 500) << "GET took " << ms << " ms with 6 streams open";
  }
  // And the streams keep flowing.
  Round();
  for (auto& r : readers) EXPECT_TRUE(r->WaitForEvents(2));

  // Beyond max_subscribers (8) a subscriber is told to come back later.
  readers.push_back(std::make_unique<SseReader>(server_->port(), "/v1/stream"));
  readers.push_back(std::make_unique<SseReader>(server_->port(), "/v1/stream"));
  for (size_t i = 6; i < 8; ++i) ASSERT_TRUE(readers[i]->WaitForEvents(1));
  auto c = Client();
  auto full = c->Get("/v1/stream");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->status, 503);
  EXPECT_EQ(full->get_header_value("Retry-After"), "5");

  // Disconnected subscribers free their slots (noticed at the next heartbeat write).
  readers.clear();
  for (int i = 0; i < 100 && stream_->subscribers() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(stream_->subscribers(), 0u);
}

TEST_F(StreamTest, StopEndsOpenStreams) {
  Round();
  SseReader reader(server_->port(), "/v1/stream");
  ASSERT_TRUE(reader.WaitForEvents(1));
  const auto started = std::chrono::steady_clock::now();
  StopServer();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
}

}  // namespace
}  // namespace plumbline::daemon
