#include "plumbline/market.h"

namespace plumbline {

const char* MarkStatusName(MarkStatus status) {
  switch (status) {
    case MarkStatus::kOk: return "ok";
    case MarkStatus::kStale: return "stale";
    case MarkStatus::kInsufficientSources: return "insufficient_sources";
    case MarkStatus::kMarketClosed: return "market_closed";
    case MarkStatus::kHalted: return "halted";
    case MarkStatus::kClamped: return "clamped";
  }
  return "unknown";
}

std::optional<MarkStatus> ParseMarkStatus(std::string_view name) {
  for (MarkStatus s : {MarkStatus::kOk, MarkStatus::kStale, MarkStatus::kInsufficientSources,
                       MarkStatus::kMarketClosed, MarkStatus::kHalted, MarkStatus::kClamped}) {
    if (name == MarkStatusName(s)) return s;
  }
  return std::nullopt;
}

namespace {
template <typename E, size_t N>
std::optional<E> ByName(std::string_view name, const E (&all)[N], const char* (*name_of)(E)) {
  for (E e : all) {
    if (name == name_of(e)) return e;
  }
  return std::nullopt;
}
}  // namespace

const char* AssetClassName(AssetClass c) {
  switch (c) {
    case AssetClass::kCrypto: return "crypto";
    case AssetClass::kEquity: return "equity";
    case AssetClass::kToken: return "token";
  }
  return "unknown";
}

std::optional<AssetClass> ParseAssetClass(std::string_view name) {
  static const AssetClass kAll[] = {AssetClass::kCrypto, AssetClass::kEquity, AssetClass::kToken};
  return ByName(name, kAll, AssetClassName);
}

const char* SessionName(Session s) {
  switch (s) {
    case Session::kPreMarket: return "pre_market";
    case Session::kRegular: return "regular";
    case Session::kPostMarket: return "post_market";
    case Session::kOvernight: return "overnight";
    case Session::kClosed: return "closed";
  }
  return "unknown";
}

std::optional<Session> ParseSession(std::string_view name) {
  static const Session kAll[] = {Session::kPreMarket, Session::kRegular, Session::kPostMarket,
                                 Session::kOvernight, Session::kClosed};
  return ByName(name, kAll, SessionName);
}

const char* PublishReasonName(PublishReason r) {
  switch (r) {
    case PublishReason::kInitial: return "initial";
    case PublishReason::kDeviation: return "deviation";
    case PublishReason::kHeartbeat: return "heartbeat";
    case PublishReason::kStatusChange: return "status_change";
    case PublishReason::kUnchanged: return "unchanged";
  }
  return "unknown";
}

std::optional<PublishReason> ParsePublishReason(std::string_view name) {
  static const PublishReason kAll[] = {PublishReason::kInitial, PublishReason::kDeviation,
                                       PublishReason::kHeartbeat, PublishReason::kStatusChange,
                                       PublishReason::kUnchanged};
  return ByName(name, kAll, PublishReasonName);
}

}  // namespace plumbline
