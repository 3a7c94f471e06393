#include "chain_sim.h"

#include <atomic>
#include <cmath>
#include <optional>
#include <chrono>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "plumbline/attest/canonical_json.h"
#include "plumbline/attest/dsse.h"

namespace plumbline::sim {
namespace {

using nlohmann::json;

std::string Word(const UInt256& v) {
  std::string hex = v.ToHex().substr(2);
  return "0x" + std::string(64 - hex.size(), '0') + hex;
}

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

struct RpcNodeSim::Impl {
  Kind kind;
  httplib::Server server;
  std::thread thread;
  int port = 0;
  mutable std::mutex mu;
  std::string token;
  uint32_t decimals = 0;
  uint64_t head = 1000;
  UInt256 supply;
  std::map<std::string, UInt256> balances;  // lowercase address / account
  std::map<std::string, uint64_t> seen_hashes;
  NodeFaults faults;
  std::atomic<uint64_t> requests{0};

  json Error(int code, const std::string& message) const {
    return {{"jsonrpc", "2.0"}, {"id", 1}, {"error", {{"code", code}, {"message", message}}}};
  }
  json Ok(json result) const { return {{"jsonrpc", "2.0"}, {"id", 1}, {"result", std::move(result)}}; }

  // Block number a tag names, or nullopt if beyond this node's head (or unknown hash).
  std::optional<uint64_t> Resolve(const json& tag, uint64_t my_head) {
    if (tag.is_object() && tag.contains("blockHash")) {
      auto it = seen_hashes.find(Lower(tag["blockHash"].get<std::string>()));
      if (it == seen_hashes.end() || it->second > my_head) return std::nullopt;
      return it->second;
    }
    if (tag.is_string() && (tag == "latest" || tag == "finalized" || tag == "safe")) return my_head;
    if (tag.is_string()) {
      auto n = UInt256::ParseHex(tag.get<std::string>());
      if (!n.ok() || !n->FitsU64() || n->low64() > my_head) return std::nullopt;
      return n->low64();
    }
    return std::nullopt;
  }

  json Handle(const json& req) {
    std::lock_guard<std::mutex> lock(mu);
    const std::string method = req.value("method", "");
    const json params = req.value("params", json::array());
    if (faults.rpc_error) return Error(-32603, "internal error: upstream unavailable");
    const uint64_t my_head = head > faults.lag_blocks ? head - faults.lag_blocks : 0;
    const UInt256 my_supply = *UInt256::Add(supply, UInt256::FromU64(faults.supply_offset));
    if (kind == Kind::kEvm) {
      if (method == "eth_getBlockByNumber") {
        auto n = params.empty() ? std::nullopt : Resolve(params[0], my_head);
        if (!n) return Ok(nullptr);
        const std::string hash = BlockHash(*n, faults.other_fork);
        seen_hashes[hash] = *n;
        return Ok({{"number", Hex(*n)}, {"hash", hash}, {"parentHash", BlockHash(*n ? *n - 1 : 0, faults.other_fork)},
                   {"timestamp", Hex(1700000000 + 12 * *n)}, {"transactions", json::array()}});
      }
      if (method == "eth_call") {
        if (params.size() < 2 || !params[0].is_object()) return Error(-32602, "invalid params");
        auto n = Resolve(params[1], my_head);
        if (!n) return Error(-32000, "header not found");
        if (Lower(params[0].value("to", "")) != Lower(token)) return Ok("0x");
        const std::string data = Lower(params[0].value("data", ""));
        if (data == "0x18160ddd") return Ok(Word(my_supply));
        if (data.rfind("0x70a08231", 0) == 0 && data.size() == 10 + 64) {
          const std::string address = "0x" + data.substr(10 + 24);
          auto it = balances.find(address);
          return Ok(Word(it == balances.end() ? UInt256() : it->second));
        }
        return Error(3, "execution reverted");
      }
      return Error(-32601, "the method " + method + " does not exist/is not available");
    }
    const json context = {{"apiVersion", "1.18.22"}, {"slot", my_head}};
    auto amount = [&](const UInt256& v) {
      // uiAmount is a float in the real API; served to show that clients must not use it.
      const double ui = static_cast<double>(v.low64()) / std::pow(10.0, decimals);
      return json{{"amount", v.ToString()}, {"decimals", decimals}, {"uiAmount", ui},
                  {"uiAmountString", std::to_string(ui)}};
    };
    if (method == "getTokenSupply") {
      if (params.empty() || params[0] != token) return Error(-32602, "Invalid param: not a Token mint");
      return Ok({{"context", context}, {"value", amount(my_supply)}});
    }
    if (method == "getTokenAccountBalance") {
      if (params.empty() || !params[0].is_string()) return Error(-32602, "Invalid param");
      auto it = balances.find(Lower(params[0].get<std::string>()));
      if (it == balances.end()) return Error(-32602, "Invalid param: could not find account");
      return Ok({{"context", context}, {"value", amount(it->second)}});
    }
    return Error(-32601, "Method not found");
  }
};

RpcNodeSim::RpcNodeSim(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RpcNodeSim::~RpcNodeSim() { Stop(); }

Result<std::unique_ptr<RpcNodeSim>> RpcNodeSim::Start(Kind kind, int port) {
  auto impl = std::make_unique<Impl>();
  impl->kind = kind;
  Impl* p = impl.get();
  impl->server.new_task_queue = [] { return new httplib::ThreadPool(4); };
  impl->server.Post("/", [p](const httplib::Request& req, httplib::Response& res) {
    p->requests++;
    bool fail500 = false;
    {
      std::lock_guard<std::mutex> lock(p->mu);
      fail500 = p->faults.http_500;
    }
    if (fail500) {
      res.status = 500;
      return res.set_content("internal server error", "text/plain");
    }
    auto doc = json::parse(req.body, nullptr, false);
    json out = doc.is_discarded() ? p->Error(-32700, "Parse error") : p->Handle(doc);
    res.set_content(out.dump(), "application/json");
  });
  impl->port = port == 0 ? impl->server.bind_to_any_port("127.0.0.1")
                         : (impl->server.bind_to_port("127.0.0.1", port) ? port : -1);
  if (impl->port < 0) return Status::Unavailable("rpc sim: cannot bind 127.0.0.1:" + std::to_string(port));
  impl->thread = std::thread([p] { p->server.listen_after_bind(); });
  while (!impl->server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return std::unique_ptr<RpcNodeSim>(new RpcNodeSim(std::move(impl)));
}

void RpcNodeSim::Stop() {
  if (!impl_) return;
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int RpcNodeSim::port() const { return impl_->port; }
std::string RpcNodeSim::url() const { return "http://127.0.0.1:" + std::to_string(impl_->port) + "/"; }

void RpcNodeSim::SetToken(const std::string& token, uint32_t decimals) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->token = token;
  impl_->decimals = decimals;
}
void RpcNodeSim::SetHead(uint64_t n) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->head = n;
}
void RpcNodeSim::SetSupply(const UInt256& supply) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->supply = supply;
}
void RpcNodeSim::SetBalance(const std::string& address, const UInt256& amount) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->balances[Lower(address)] = amount;
}
void RpcNodeSim::SetFaults(const NodeFaults& faults) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->faults = faults;
}
uint64_t RpcNodeSim::requests() const { return impl_->requests.load(); }

std::string RpcNodeSim::BlockHash(uint64_t n, bool other_fork) {
  return "0x" + attest::Sha256Hex((other_fork ? "fork block " : "block ") + std::to_string(n));
}

// ---- custodian --------------------------------------------------------------------------------

std::string SignStatementEd25519(const attest::CustodianStatement& s, const attest::SigningKey& key) {
  auto payload = attest::CustodianStatementPayload(s);
  // Tests sign invalid statements on purpose (negative shares...): fall back to a hand-built
  // payload so the signature is valid and the daemon's own checks are what refuses it.
  std::string bytes = payload.ok() ? *payload
                                   : *attest::Canonicalize(json{{"account", s.account},
                                                                {"as_of", std::to_string(s.as_of_unix_nanos)},
                                                                {"custodian_id", s.custodian_id},
                                                                {"in_transit_shares", s.in_transit_shares.ToString()},
                                                                {"isin", s.isin},
                                                                {"sequence", s.sequence},
                                                                {"settled_shares", s.settled_shares.ToString()}});
  return attest::EnvelopeToJson(attest::SignEnvelope(attest::kCustodianStatementPayloadType, bytes, key));
}

namespace {
template <typename T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const { F(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Free<X509, X509_free>>;

std::string Pem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

X509Ptr MakeCert(EVP_PKEY* subject_key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, int64_t nb, int64_t na,
                 long serial) {
  X509Ptr x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial);
  ASN1_TIME_set(X509_getm_notBefore(x.get()), static_cast<time_t>(nb));
  ASN1_TIME_set(X509_getm_notAfter(x.get()), static_cast<time_t>(na));
  X509_set_pubkey(x.get(), subject_key);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : name);
  if (!issuer) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
    if (X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, "critical,CA:TRUE")) {
      X509_add_ext(x.get(), ext, -1);
      X509_EXTENSION_free(ext);
    }
    if (X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign")) {
      X509_add_ext(x.get(), ext, -1);
      X509_EXTENSION_free(ext);
    }
  }
  X509_sign(x.get(), issuer_key, EVP_sha256());
  return x;
}
}  // namespace

struct EcdsaCustodian::Impl {
  PkeyPtr ca_key, leaf_key;
  X509Ptr ca, leaf;
};

EcdsaCustodian::EcdsaCustodian(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EcdsaCustodian::~EcdsaCustodian() = default;

Result<std::unique_ptr<EcdsaCustodian>> EcdsaCustodian::Create(int64_t nb, int64_t na) {
  auto impl = std::make_unique<Impl>();
  impl->ca_key.reset(EVP_EC_gen("P-256"));
  impl->leaf_key.reset(EVP_EC_gen("P-256"));
  if (!impl->ca_key || !impl->leaf_key) return Status::Internal("cannot generate P-256 keys");
  impl->ca = MakeCert(impl->ca_key.get(), "Sim Custodian CA", nullptr, impl->ca_key.get(), nb - 86400,
                      na + 10 * 365 * 86400, 1);
  impl->leaf = MakeCert(impl->leaf_key.get(), "Sim Custodian Statements", impl->ca.get(), impl->ca_key.get(), nb, na, 2);
  return std::unique_ptr<EcdsaCustodian>(new EcdsaCustodian(std::move(impl)));
}

std::string EcdsaCustodian::ca_pem() const { return Pem(impl_->ca.get()); }
std::string EcdsaCustodian::certificate_pem() const { return Pem(impl_->leaf.get()); }

std::string EcdsaCustodian::Sign(const attest::CustodianStatement& s) const {
  const std::string payload = *attest::CustodianStatementPayload(s);
  const std::string pae = attest::Pae(attest::kCustodianStatementPayloadType, payload);
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  size_t len = 0;
  EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, impl_->leaf_key.get());
  EVP_DigestSign(md, nullptr, &len, reinterpret_cast<const unsigned char*>(pae.data()), pae.size());
  std::string der(len, '\0');
  EVP_DigestSign(md, reinterpret_cast<unsigned char*>(der.data()), &len,
                 reinterpret_cast<const unsigned char*>(pae.data()), pae.size());
  EVP_MD_CTX_free(md);
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
  unsigned char raw[64];
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32);
  ECDSA_SIG_free(sig);
  // keyid: SHA-256 of the leaf's DER SubjectPublicKeyInfo.
  unsigned char* spki = nullptr;
  const int spki_len = i2d_PUBKEY(impl_->leaf_key.get(), &spki);
  const std::string keyid = attest::Sha256Hex(std::string(reinterpret_cast<char*>(spki), static_cast<size_t>(spki_len)));
  OPENSSL_free(spki);
  attest::Envelope env;
  env.payload_type = std::string(attest::kCustodianStatementPayloadType);
  env.payload = payload;
  env.signatures.push_back({keyid, std::string(reinterpret_cast<char*>(raw), 64)});
  json body = {{"certificate", certificate_pem()}, {"envelope", json::parse(attest::EnvelopeToJson(env))}};
  return *attest::Canonicalize(body);
}

}  // namespace plumbline::sim
