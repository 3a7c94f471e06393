// Reads the keys of one TOML table with errors that name the file and the key path, and refuses
// keys nobody asked for (a misspelt key must never be silently ignored).
//
// Used by the daemon's config and the margin risk file. Header-only so that `common` itself does
// not link tomlplusplus; include it only where tomlplusplus is already a dependency.
//
// Ownership: the reader borrows `table`, which must outlive it. Not thread-safe (it records the
// keys it was asked for). Every error is Status::InvalidArgument with the text
// "<subject>: key '<path>': <what>", e.g. "config /etc/plumbline.toml: key 'http.threads': ...".
#pragma once

#include <cstdint>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

#include <toml++/toml.h>

#include "plumbline/status.h"

namespace plumbline {

class TomlTableReader {
 public:
  // `subject` names the document ("config FILE", "risk file FILE"); `prefix` is this table's key
  // path inside it ("" for the root, "http", "assets[2]").
  TomlTableReader(const toml::table& table, std::string subject, std::string prefix)
      : table_(table), subject_(std::move(subject)), prefix_(std::move(prefix)) {}

  const std::string& subject() const { return subject_; }
  std::string KeyPath(std::string_view key) const {
    return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
  }
  Status Error(std::string_view key, const std::string& what) const {
    return Status::InvalidArgument(subject_ + ": key '" + KeyPath(key) + "': " + what);
  }
  static std::string TypeName(const toml::node& node) {
    std::ostringstream os;
    os << node.type();
    return os.str();
  }

  // The node under `key` or nullptr; either way `key` counts as known.
  const toml::node* Find(std::string_view key) {
    seen_.insert(std::string(key));
    return table_.get(key);
  }

  // Each reader below leaves `*out` untouched when an optional key is absent.
  Status String(std::string_view key, bool required, std::string* out) {
    const toml::node* n = Find(key);
    if (n == nullptr) return required ? Error(key, "missing; expected a string") : Status::Ok();
    if (!n->is_string()) return Error(key, "expected a string, got " + TypeName(*n));
    *out = n->as_string()->get();
    if (out->empty()) return Error(key, "must not be empty");
    return Status::Ok();
  }
  Status Integer(std::string_view key, bool required, int64_t min, int64_t max, int64_t* out) {
    const toml::node* n = Find(key);
    if (n == nullptr) return required ? Error(key, "missing; expected an integer") : Status::Ok();
    if (!n->is_integer()) return Error(key, "expected an integer, got " + TypeName(*n));
    int64_t v = n->as_integer()->get();
    if (v < min || v > max) {
      return Error(key, "expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " +
                            std::to_string(v));
    }
    *out = v;
    return Status::Ok();
  }
  // Absent: *out = nullptr and Ok.
  Status Table(std::string_view key, const toml::table** out) {
    const toml::node* n = Find(key);
    *out = nullptr;
    if (n == nullptr) return Status::Ok();
    if (!n->is_table()) return Error(key, "expected a table, got " + TypeName(*n));
    *out = n->as_table();
    return Status::Ok();
  }
  // Absent: *out = nullptr and Ok. An empty array counts as an array of tables.
  Status ArrayOfTables(std::string_view key, const toml::array** out) {
    const toml::node* n = Find(key);
    *out = nullptr;
    if (n == nullptr) return Status::Ok();
    if (!n->is_array() || (!n->as_array()->empty() && !n->is_array_of_tables())) {
      return Error(key, "expected an array of tables, got " + TypeName(*n));
    }
    *out = n->as_array();
    return Status::Ok();
  }

  // Call after every Find/String/...: the first key of the table that was never asked for.
  Status CheckNoUnknownKeys() const {
    for (const auto& [k, v] : table_) {
      if (!seen_.count(std::string(k.str()))) return Error(k.str(), "unknown key");
    }
    return Status::Ok();
  }

 private:
  const toml::table& table_;
  std::string subject_;
  std::string prefix_;
  std::set<std::string> seen_;
};

}  // namespace plumbline
