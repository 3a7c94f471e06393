#!/usr/bin/env bash
# The .deb: builds it with cpack from a build tree, checks its file list and control data, unpacks
# it into a scratch root and runs the unpacked attest. Exit 77 (skip) without dpkg-deb.
#
#   deb_test.sh BUILD_DIR        (plumbline and attest built in BUILD_DIR)
set -euo pipefail

build=$(cd "${1:?usage: deb_test.sh BUILD_DIR}" && pwd)
if ! command -v dpkg-deb >/dev/null 2>&1; then
  echo "deb_test: SKIP: dpkg-deb not found (not a Debian system)"
  exit 77
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
fail() { echo "deb_test: FAIL: $*" >&2; exit 1; }

# -B: package into the scratch directory, so the build tree's packages/ is left alone.
if ! (cd "$build" && cpack -G DEB --config CPackConfig.cmake -B "$scratch/out") >"$scratch/cpack.log" 2>&1; then
  cat "$scratch/cpack.log" >&2
  fail "cpack -G DEB"
fi
debs=("$scratch"/out/*.deb)
[ "${#debs[@]}" -eq 1 ] && [ -f "${debs[0]}" ] || fail "expected one .deb in $scratch/out: ${debs[*]}"
deb=${debs[0]}
echo "deb_test: built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB)"

dpkg-deb -c "$deb" | awk '{print $NF}' >"$scratch/contents"
for f in ./usr/bin/plumbline ./usr/bin/attest ./usr/lib/systemd/system/plumbline.service \
         ./etc/plumbline/plumbline.toml ./usr/share/doc/plumbline/README.md \
         ./usr/share/doc/plumbline/operations.md ./usr/share/doc/plumbline/configuration.md \
         ./usr/share/doc/plumbline/formats.md ./usr/share/doc/plumbline/openapi.yaml \
         ./usr/share/doc/plumbline/examples/nginx-plumbline.conf; do
  grep -qxF "$f" "$scratch/contents" || fail "$f missing from the package; it has: $(tr '\n' ' ' <"$scratch/contents")"
done
if grep -E '\.key$|\.pem$|/var/lib/' "$scratch/contents"; then fail "the package ships a key or state"; fi
# Files are root's, whoever built the package.
not_root=$(dpkg-deb -c "$deb" | awk '$2 != "root/root"')
[ -z "$not_root" ] || fail "files not owned by root/root: $not_root"

[ "$(dpkg-deb -f "$deb" Package)" = plumbline ] || fail "package name is not plumbline"
# Captured first: grep -q closing a pipe early would fail the pipeline under pipefail.
info=$(dpkg-deb -I "$deb")
grep -qw conffiles <<<"$info" || fail "dpkg-deb -I lists no conffiles member: $info"
[ "$(dpkg-deb -I "$deb" conffiles)" = /etc/plumbline/plumbline.toml ] ||
  fail "conffiles is not exactly /etc/plumbline/plumbline.toml: $(dpkg-deb -I "$deb" conffiles)"
grep -q 'daemon-reload' <<<"$(dpkg-deb -I "$deb" postinst)" || fail "postinst does not reload systemd"

root=$scratch/root
dpkg -x "$deb" "$root"
unit=$root/usr/lib/systemd/system/plumbline.service
grep -q '^ExecStart=/usr/bin/plumbline --config /etc/plumbline/plumbline.toml ' "$unit" ||
  fail "unit ExecStart is not the packaged binary: $(grep ^ExecStart= "$unit")"
# The unit as installed (prefix rewritten) still passes the unit checks.
if command -v systemd-analyze >/dev/null 2>&1; then
  bash "$(dirname "$0")/../../deploy/systemd/check-unit.sh" "$unit" "$root/usr/bin/plumbline" ||
    fail "the packaged unit fails check-unit.sh"
fi
[ "$(stat -c %a "$root/etc/plumbline/plumbline.toml")" = 644 ] || fail "conffile mode is not 0644"
# Depends covers every library the binaries link directly (NEEDED), mapped to its Debian package.
depends=$(dpkg-deb -f "$deb" Depends)
grep -qw systemd <<<"$depends" || fail "Depends lacks systemd: $depends"
for bin in "$root/usr/bin/plumbline" "$root/usr/bin/attest"; do
  for soname in $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    path=$(ldd "$bin" | awk -v so="$soname" '$1 == so {print $3}')
    [ -n "$path" ] || fail "$bin: $soname not found by ldd"
    pkg=$( (dpkg -S "$path" 2>/dev/null || dpkg -S "$(readlink -f "$path")") | head -n 1 | cut -d: -f1)
    [ -n "$pkg" ] || fail "$bin: no Debian package owns $path"
    grep -qw -- "$pkg" <<<"$depends" || fail "$(basename "$bin") links $soname ($pkg) but Depends is: $depends"
  done
done
"$root/usr/bin/attest" --help >"$scratch/attest-help" 2>&1 || fail "unpacked attest --help: $(cat "$scratch/attest-help")"
grep -q verify "$scratch/attest-help" || fail "unpacked attest --help does not mention verify"
"$root/usr/bin/plumbline" --help >"$scratch/plumbline-help" 2>&1 || fail "unpacked plumbline --help: $(cat "$scratch/plumbline-help")"
grep -q -- --config "$scratch/plumbline-help" || fail "unpacked plumbline --help does not mention --config"
echo "deb_test: OK: $(wc -l <"$scratch/contents") entries, Depends: $depends"
