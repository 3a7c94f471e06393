// plumbline-venue-sim: serves eight venue ticker formats (venue_sim.h) on loopback from the
// bundled price tape until SIGTERM or SIGINT. See venue_sim.h for the behaviours.
#include <csignal>
#include <cstdio>
#include <vector>

#include <CLI/CLI.hpp>

#include "venue_sim.h"

#ifndef PLUMBLINE_DEMO_RECORDING
#define PLUMBLINE_DEMO_RECORDING "deploy/demo/recording.jsonl"
#endif

namespace {

using plumbline::sim::VenueBehavior;
using plumbline::sim::VenueFormat;
using plumbline::sim::VenueSimOptions;

VenueBehavior* BehaviorFor(VenueSimOptions& o, VenueFormat f) {
  switch (f) {
    case VenueFormat::kKraken: return &o.kraken;
    case VenueFormat::kCoinbase: return &o.coinbase;
    case VenueFormat::kBitstamp: return &o.bitstamp;
    case VenueFormat::kBinance: return &o.binance;
    case VenueFormat::kOkx: return &o.okx;
    case VenueFormat::kAlpaca: return &o.alpaca;
    case VenueFormat::kPolygon: return &o.polygon;
    case VenueFormat::kFinnhub: return &o.finnhub;
  }
  return nullptr;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "venue-sim: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Loopback simulator of crypto and equity venue ticker APIs (Kraken, Coinbase, Bitstamp, Binance, OKX, Alpaca, Polygon, Finnhub)"};
  std::string recording = PLUMBLINE_DEMO_RECORDING;
  std::string host = "127.0.0.1";
  int kraken_port = 18421, coinbase_port = 18422, bitstamp_port = 18423;
  // The added venues default to ephemeral ports so concurrent test runs never collide; the demo
  // (deploy/demo/run.sh) pins them to 18424..18428.
  int binance_port = 0, okx_port = 0, alpaca_port = 0, polygon_port = 0, finnhub_port = 0;
  std::string lag_venue = "bitstamp", glitch_venue = "coinbase";
  int64_t lag_seconds = 2;
  uint32_t glitch_percent = 5;
  uint64_t seed = 1;
  int64_t hang_ms = 5000;
  std::vector<std::string> forced;
  app.add_option("--recording", recording, "price tape (JSON lines {t, symbol, price})")->check(CLI::ExistingFile);
  app.add_option("--host", host, "address to bind");
  app.add_option("--kraken-port", kraken_port, "Kraken port (0 = ephemeral)");
  app.add_option("--coinbase-port", coinbase_port, "Coinbase port (0 = ephemeral)");
  app.add_option("--bitstamp-port", bitstamp_port, "Bitstamp port (0 = ephemeral)");
  app.add_option("--binance-port", binance_port, "Binance port (0 = ephemeral)");
  app.add_option("--okx-port", okx_port, "OKX port (0 = ephemeral)");
  app.add_option("--alpaca-port", alpaca_port, "Alpaca port (0 = ephemeral)");
  app.add_option("--polygon-port", polygon_port, "Polygon port (0 = ephemeral)");
  app.add_option("--finnhub-port", finnhub_port, "Finnhub port (0 = ephemeral)");
  app.add_option("--lag-venue", lag_venue, "venue that lags (kraken|coinbase|bitstamp|none)");
  app.add_option("--lag-seconds", lag_seconds, "how far the lagging venue is behind");
  app.add_option("--glitch-venue", glitch_venue, "venue that glitches (kraken|coinbase|bitstamp|none)");
  app.add_option("--glitch-percent", glitch_percent, "share of the glitching venue's requests that fail")
      ->check(CLI::Range(0, 100));
  app.add_option("--seed", seed, "glitch seed");
  app.add_option("--hang-ms", hang_ms, "how long mode 'hang' holds a request");
  app.add_option("--force", forced,
                 "VENUE=MODE: force a mode for every request (normal|http500|hang|truncated|nan|negative|number)");
  CLI11_PARSE(app, argc, argv);

  VenueSimOptions options;
  options.host = host;
  options.hang_ms = hang_ms;
  options.seed = seed;
  options.kraken = VenueBehavior{.port = kraken_port};
  options.coinbase = VenueBehavior{.port = coinbase_port};
  options.bitstamp = VenueBehavior{.port = bitstamp_port};
  options.binance = VenueBehavior{.port = binance_port};
  options.okx = VenueBehavior{.port = okx_port};
  options.alpaca = VenueBehavior{.port = alpaca_port};
  options.polygon = VenueBehavior{.port = polygon_port};
  options.finnhub = VenueBehavior{.port = finnhub_port};
  if (lag_venue != "none") {
    auto f = plumbline::feeds::ParseVenueFormat(lag_venue);
    if (!f.ok()) return Fail("--lag-venue: " + f.status().message());
    BehaviorFor(options, *f)->lag_seconds = lag_seconds;
  }
  if (glitch_venue != "none") {
    auto f = plumbline::feeds::ParseVenueFormat(glitch_venue);
    if (!f.ok()) return Fail("--glitch-venue: " + f.status().message());
    BehaviorFor(options, *f)->glitch_percent = glitch_percent;
  }
  for (const std::string& spec : forced) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos) return Fail("--force: expected VENUE=MODE, got '" + spec + "'");
    auto f = plumbline::feeds::ParseVenueFormat(spec.substr(0, eq));
    if (!f.ok()) return Fail("--force: " + f.status().message());
    auto m = plumbline::sim::ParseVenueMode(spec.substr(eq + 1));
    if (!m.ok()) return Fail("--force: " + m.status().message());
    BehaviorFor(options, *f)->mode = *m;
  }

  auto tape = plumbline::sim::LoadPriceTape(recording);
  if (!tape.ok()) return Fail(tape.status().ToString());

  // Block the signals before any server thread exists, so only sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto sim = plumbline::sim::VenueSim::Start(std::move(tape).value(), options,
                                             plumbline::SystemClock::Instance());
  if (!sim.ok()) return Fail(sim.status().ToString());
  std::string line = "venue-sim:";
  for (VenueFormat f : plumbline::feeds::AllVenueFormats()) {
    line += std::string(" ") + plumbline::feeds::VenueFormatName(f) + "=" + (*sim)->base_url(f);
  }
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);

  int received = 0;
  sigwait(&signals, &received);
  (*sim)->Stop();
  return 0;
}
