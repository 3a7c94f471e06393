// The kill-switch file (config `halt_file`): the symbols listed in it are published as `halted`
// from the next round until their line is removed. Operators edit it by hand or through
// PUT/DELETE /v1/admin/halts/{symbol} (daemon/halt_routes.h); either way it is the one place a
// run-time halt lives, so a halt survives restarts and every round records the halts it applied
// in the observation log (replay re-applies them).
//
// Format: one symbol per line; '#' starts a comment; blank lines and surrounding spaces or tabs
// are ignored. Lines are kept as written when the file is edited through the API.
//
// Thread safety: the functions may be called from any thread. Writers in one process are
// serialized; the file is replaced atomically (write a temporary file beside it, fsync, rename,
// fsync the directory), so a publish round reading it concurrently sees the old or the new
// list, never a torn one, and a crash leaves one of the two.
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "plumbline/status.h"

namespace plumbline::daemon {

// The symbols the file lists. A missing file lists none (Ok); IOError if it exists but cannot be
// read.
Result<std::set<std::string>> ReadHaltFile(const std::string& path);

// Adds (`halted`) or removes the symbol's line. Adding appends "SYMBOL  # <note>" unless the
// symbol is already listed; removing drops every line that lists it and keeps all other lines
// (comments included). Creates the file (mode 0644) when it is missing; keeps the mode of an
// existing file. Returns whether the file changed. IOError (nothing changed) when the file
// cannot be read or the new one cannot be written and synced. `symbol` must not be empty nor
// contain '#', a line break or surrounding blanks (InvalidArgument).
Result<bool> SetHaltedInFile(const std::string& path, std::string_view symbol, bool halted, std::string_view note);

}  // namespace plumbline::daemon
