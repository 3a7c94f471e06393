#include "plumbline/feeds/sources.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <thread>

#include "same_text.h"

namespace plumbline::feeds {
namespace {

// A ticker is a few hundred bytes; anything this large is not one, and must not fill our memory.
constexpr size_t kMaxBodyBytes = 1 << 20;

Status FetchAndParse(httplib::Client& cli, const SourceConfig& source, const std::string& venue_symbol,
                     const Clock& clock, Observation* out) {
  const std::string path = TickerPath(source.format, venue_symbol);
  std::string body;
  bool too_large = false;
  const auto started = std::chrono::steady_clock::now();
  httplib::Result res = cli.Get(path, [&](const char* data, size_t len) {
    if (body.size() + len > kMaxBodyBytes) {
      too_large = true;
      return false;
    }
    body.append(data, len);
    return true;
  });
  if (!res) {
    const httplib::Error err = res.error();
    const auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - started).count();
    if (too_large) return Status::Unavailable("response larger than " + std::to_string(kMaxBodyBytes) + " bytes");
    if (err == httplib::Error::ConnectionTimeout) {
      return Status::DeadlineExceeded("connect timed out after " + std::to_string(source.connect_timeout_ms) + " ms");
    }
    // httplib 0.11 reports a read timeout as a plain read error; the elapsed time tells them apart.
    if ((err == httplib::Error::Read || err == httplib::Error::Write) &&
        elapsed_ms * 10 >= source.read_timeout_ms * 9) {
      return Status::DeadlineExceeded("no response within " + std::to_string(source.read_timeout_ms) + " ms");
    }
    return Status::Unavailable("GET " + path + " failed: " + httplib::to_string(err));
  }
  if (res->status != 200) return Status::Unavailable("GET " + path + ": HTTP " + std::to_string(res->status));
  Result<Observation> obs = ParseTicker(source.format, body, clock.NowUnixNanos());
  if (!obs.ok()) return obs.status();
  *out = std::move(obs).value();
  return Status::Ok();
}

}  // namespace

void ObservationBook::Put(Observation obs) {
  std::lock_guard<std::mutex> lock(mu_);
  PutLocked(std::move(obs));
}

void ObservationBook::PutLocked(Observation obs) {
  std::shared_ptr<std::vector<Observation>>& slot = by_symbol_[obs.symbol];
  if (slot == nullptr) slot = std::make_shared<std::vector<Observation>>();
  auto it = std::lower_bound(slot->begin(), slot->end(), obs.source,
                             [](const Observation& o, const std::string& name) { return o.source < name; });
  const bool insert = it == slot->end() || it->source != obs.source;
  if (!insert && it->observed_unix_nanos > obs.observed_unix_nanos) return;
  // Copy on write: a shared array (held by marks) never changes. Only the book can hand out new
  // references (under mu_), so a count of 1 stays 1; the fence pairs with the release of the
  // last other holder's reference, whose reads then happen before the writes below.
  if (slot.use_count() > 1) {
    const ptrdiff_t at = it - slot->begin();
    slot = std::make_shared<std::vector<Observation>>(*slot);
    it = slot->begin() + at;
  } else {
    std::atomic_thread_fence(std::memory_order_acquire);
  }
  if (insert) {
    slot->insert(it, std::move(obs));
  } else {
    *it = std::move(obs);
  }
}

void ObservationBook::PutAll(std::vector<Observation> batch) {
  std::lock_guard<std::mutex> lock(mu_);
  for (Observation& obs : batch) PutLocked(std::move(obs));
}

std::vector<Observation> ObservationBook::ForSymbol(const std::string& symbol) const {
  Reader reader = Read();  // held until the copy is made
  const std::span<const Observation> lent = reader.ForSymbol(symbol);
  return {lent.begin(), lent.end()};
}

const std::shared_ptr<std::vector<Observation>>* ObservationBook::Reader::Slot(const std::string& symbol) {
  std::vector<Asked>& asked = book_->asked_;
  const size_t k = ask_++;
  if (k < asked.size() && asked[k].slot != nullptr && SameText(asked[k].symbol, symbol)) {
    // A round reads the book in this order and is bound by its cache misses: start the next
    // asks' chains early (the map node two asks ahead, the array header of the next one).
    if (k + 2 < asked.size() && asked[k + 2].slot != nullptr) __builtin_prefetch(asked[k + 2].slot);
    if (k + 1 < asked.size() && asked[k + 1].slot != nullptr) __builtin_prefetch(asked[k + 1].slot->get());
    return asked[k].slot;
  }
  auto it = book_->by_symbol_.find(symbol);
  // A symbol not in the book is not remembered: it may appear later.
  const std::shared_ptr<std::vector<Observation>>* slot = it == book_->by_symbol_.end() ? nullptr : &it->second;
  if (k >= asked.size()) asked.resize(k + 1);
  asked[k] = {symbol, slot};
  return slot;
}

std::span<const Observation> ObservationBook::Reader::ForSymbol(const std::string& symbol) {
  const std::shared_ptr<std::vector<Observation>>* slot = Slot(symbol);
  return slot == nullptr ? std::span<const Observation>() : std::span<const Observation>(**slot);
}

SharedObservations ObservationBook::Reader::Shared(const std::string& symbol) {
  const std::shared_ptr<std::vector<Observation>>* slot = Slot(symbol);
  return slot == nullptr ? nullptr : SharedObservations(*slot);
}

// httplib::Client takes anything as a host name, so check the scheme://host[:port] shape first.
bool LooksLikeBaseUrl(const std::string& url) {
  size_t rest = 0;
  if (url.rfind("http://", 0) == 0) {
    rest = 7;
  } else if (url.rfind("https://", 0) == 0) {
    rest = 8;
  } else {
    return false;
  }
  std::string hostport = url.substr(rest);
  if (!hostport.empty() && hostport.back() == '/') hostport.pop_back();
  return !hostport.empty() && hostport.find_first_of(" /?#@\t") == std::string::npos;
}

namespace {

// Sleeps `ms` in short steps, returning early (false) once `stop` is set.
bool SleepUnlessStopped(int64_t ms, const std::atomic<bool>* stop) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < until) {
    if (stop != nullptr && stop->load()) return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(10), until - std::chrono::steady_clock::now()));
  }
  return true;
}

struct PollStats {
  size_t ok = 0;
  size_t failed = 0;
  int64_t slowest_ok_ms = -1;
};

// `stop` lets the Poller skip the remaining symbols once Stop() is called, so a hung venue delays
// Stop() by one read timeout, not one per symbol.
Status PollSymbols(const SourceConfig& source, ObservationBook* book, const Clock& clock,
                   const std::atomic<bool>* stop, PollStats* stats = nullptr) {
  PollStats local;
  if (stats == nullptr) stats = &local;
  Status first;
  try {
    httplib::Client cli(source.base_url);
    if (!LooksLikeBaseUrl(source.base_url) || !cli.is_valid()) {
      return Status::InvalidArgument("source " + source.name + ": base_url '" + source.base_url +
                                     "' is not scheme://host[:port] (http or https)");
    }
    const auto ms = [](int64_t v) { return std::chrono::milliseconds(v); };
    cli.set_connection_timeout(ms(source.connect_timeout_ms));
    cli.set_read_timeout(ms(source.read_timeout_ms));
    cli.set_write_timeout(ms(source.read_timeout_ms));
    for (const auto& [symbol, venue_symbol] : source.symbols) {
      if (stop != nullptr && stop->load()) break;
      Observation obs;
      Status st;
      int64_t backoff = source.retry_backoff_ms;
      for (int attempt = 0;; ++attempt) {
        const auto started = std::chrono::steady_clock::now();
        st = FetchAndParse(cli, source, venue_symbol, clock, &obs);
        if (st.ok()) {
          const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now() - started).count();
          stats->slowest_ok_ms = std::max(stats->slowest_ok_ms, ms);
          break;
        }
        if (attempt >= source.retries || !SleepUnlessStopped(backoff, stop)) break;
        backoff = std::min(backoff * 2, source.max_backoff_ms);
      }
      if (!st.ok()) {
        ++stats->failed;
        if (first.ok()) first = st.WithContext("source " + source.name + ", symbol " + symbol + " (" + venue_symbol + ")");
        continue;
      }
      ++stats->ok;
      obs.source = source.name;
      obs.symbol = symbol;
      book->Put(std::move(obs));
    }
  } catch (const std::exception& e) {  // httplib allocates and may spawn; nothing may escape
    return Status::Internal("source " + source.name + ": " + e.what());
  }
  return first;
}

}  // namespace

Status PollOnce(const SourceConfig& source, ObservationBook* book, const Clock& clock) {
  return PollSymbols(source, book, clock, nullptr);
}

struct Poller::State {
  mutable std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  std::atomic<bool> stop_flag{false};  // mirrors `stop` for reads without the lock
  std::vector<SourceHealth> health;  // same order as sources_
  struct LogState {
    std::string last_message;
    std::chrono::steady_clock::time_point last_time;
  };
  std::vector<LogState> log;
};

Poller::Poller(std::vector<SourceConfig> sources, ObservationBook* book, const Clock& clock)
    : sources_(std::move(sources)), book_(book), clock_(clock), state_(std::make_unique<State>()) {
  for (const SourceConfig& s : sources_) {
    SourceHealth h;
    h.source = s.name;
    state_->health.push_back(std::move(h));
  }
  state_->log.resize(sources_.size());
}

Poller::~Poller() { Stop(); }

void Poller::Start() {
  if (!threads_.empty()) return;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stop = false;
    state_->stop_flag = false;
  }
  for (size_t i = 0; i < sources_.size(); ++i) {
    threads_.emplace_back([this, i] {
      const SourceConfig& src = sources_[i];
      State& s = *state_;
      for (;;) {
        const auto poll_start = std::chrono::steady_clock::now();
        PollStats stats;
        Status st = PollSymbols(src, book_, clock_, &s.stop_flag, &stats);
        const int64_t now = clock_.NowUnixNanos();
        std::unique_lock<std::mutex> lock(s.mu);
        SourceHealth& h = s.health[i];
        h.last_poll_duration_nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                         std::chrono::steady_clock::now() - poll_start).count();
        State::LogState& log = s.log[i];
        // Log on a change of error or every 30 s of operator time (the injected clock may be
        // frozen in tests), so a dead venue cannot flood the journal.
        const auto wall = std::chrono::steady_clock::now();
        h.last_latency_ms = stats.slowest_ok_ms;
        // Back off only when nothing at all came through: one bad symbol must not slow the rest.
        h.consecutive_failures = (stats.ok == 0 && !st.ok()) ? h.consecutive_failures + 1 : 0;
        int64_t delay = src.poll_interval_ms;
        for (uint64_t k = 0; k < h.consecutive_failures && delay < src.max_backoff_ms; ++k) delay *= 2;
        delay = h.consecutive_failures ? std::min(delay, std::max(src.max_backoff_ms, src.poll_interval_ms)) : delay;
        h.next_poll_delay_ms = delay;
        if (st.ok()) {
          ++h.successes;
          h.last_success_unix_nanos = now;
          if (!h.last_error.empty()) std::fprintf(stderr, "plumbline: source %s: recovered\n", src.name.c_str());
          h.last_error.clear();
          log.last_message.clear();
        } else {
          ++h.errors;
          h.last_error = st.ToString();
          if (h.last_error != log.last_message || wall - log.last_time >= std::chrono::seconds(30)) {
            std::fprintf(stderr, "plumbline: source %s: %s\n", src.name.c_str(), h.last_error.c_str());
            log.last_message = h.last_error;
            log.last_time = wall;
          }
        }
        if (s.cv.wait_for(lock, std::chrono::milliseconds(delay), [&] { return s.stop; })) return;
      }
    });
  }
}

void Poller::Stop() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stop = true;
    state_->stop_flag = true;
  }
  state_->cv.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

std::vector<SourceHealth> Poller::Health() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  std::vector<SourceHealth> out = state_->health;
  std::sort(out.begin(), out.end(), [](const SourceHealth& a, const SourceHealth& b) { return a.source < b.source; });
  return out;
}

}  // namespace plumbline::feeds
