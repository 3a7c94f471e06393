# Install rules and the Debian package.
#
#   cmake --install build/release [--prefix /usr]      # binaries, unit, /etc/plumbline, docs
#   (cd build/release && cpack -G DEB)                  # build/release/packages/plumbline_<v>_<arch>.deb
#
# Layout (prefix /usr for the .deb):
#   <prefix>/bin/plumbline, <prefix>/bin/attest
#   <prefix>/lib/systemd/system/plumbline.service       ExecStart= rewritten to <prefix>/bin
#   /etc/plumbline/plumbline.toml                       example config; a dpkg conffile
#   <prefix>/share/doc/plumbline/                       README, docs/, nginx example
# The signing key is never packaged: the operator creates /etc/plumbline/signing.key.
# Tested by tests/packaging/deb_test.sh (ctest packaging.deb).
include(GNUInstallDirs)

install(TARGETS plumbline attest RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The unit names /usr/bin/plumbline and /usr/share/doc; install it with the actual prefix. Done at install time because
# CPack installs with its own prefix (/usr), not the one configured here (/usr/local by default).
install(CODE "set(plumbline_unit_source \"${CMAKE_SOURCE_DIR}/deploy/systemd/plumbline.service\")
set(plumbline_bindir \"${CMAKE_INSTALL_BINDIR}\")
set(plumbline_docdir \"${CMAKE_INSTALL_DOCDIR}\")")
install(CODE [[
  file(READ "${plumbline_unit_source}" plumbline_unit)
  string(REPLACE "ExecStart=/usr/bin/plumbline " "ExecStart=${CMAKE_INSTALL_PREFIX}/${plumbline_bindir}/plumbline "
         plumbline_unit "${plumbline_unit}")
  string(REPLACE "file:/usr/share/doc/plumbline/" "file:${CMAKE_INSTALL_PREFIX}/${plumbline_docdir}/"
         plumbline_unit "${plumbline_unit}")
  set(plumbline_unit_dir "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
  message(STATUS "Installing: ${plumbline_unit_dir}/plumbline.service")
  file(MAKE_DIRECTORY "${plumbline_unit_dir}")
  file(WRITE "${plumbline_unit_dir}/plumbline.service" "${plumbline_unit}")
  list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${plumbline_unit_dir}/plumbline.service")
]])

# Absolute on purpose: the unit reads /etc/plumbline whatever the prefix.
install(FILES deploy/etc/plumbline.toml DESTINATION /etc/plumbline PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

install(FILES README.md docs/operations.md docs/configuration.md docs/formats.md docs/openapi.yaml
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES deploy/nginx/plumbline.conf DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples RENAME nginx-plumbline.conf)

# --- CPack: Debian package --------------------------------------------------------------------
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "plumbline")
set(CPACK_PACKAGE_VENDOR "Plumbline")
set(CPACK_PACKAGE_CONTACT "Plumbline maintainers <maintainers@plumbline.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "signed median price marks from several venues")
set(CPACK_PACKAGE_DESCRIPTION
    "Plumbline polls several price venues, publishes one median mark per symbol every round as a\n\
DSSE Ed25519-signed snapshot chained by hash, stores it in RocksDB and serves it over HTTP.\n\
Includes the attest CLI that verifies snapshots offline.")
set(CPACK_PACKAGE_DIRECTORY "${CMAKE_BINARY_DIR}/packages")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_INSTALL_PREFIX "/usr")  # with CPACK_SET_DESTDIR, this is the prefix the install step sees
# DESTDIR staging, so the absolute /etc destination and the unit's prefix rewrite both see /usr.
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME "DEB-DEFAULT")
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "nginx")
# Runtime libraries from the binaries' ELF dependencies when dpkg-shlibdeps (dpkg-dev) is there;
# otherwise the Debian 12 names of what they link.
find_program(PLUMBLINE_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(PLUMBLINE_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd")
else()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS
      "systemd, libc6, libstdc++6, libgcc-s1, libsodium23, librocksdb7.8, libssl3, libsystemd0, libtomlplusplus3, libcpp-httplib0.11, libbrotli1, zlib1g")
endif()

# /etc files are conffiles (kept across upgrades, operator edits never overwritten), and the
# maintainer scripts tell a running systemd about the new unit. Nothing is enabled or started:
# the operator must create the signing key first.
set(plumbline_deb_control "${CMAKE_BINARY_DIR}/packaging/debian")
file(WRITE "${plumbline_deb_control}/conffiles" "/etc/plumbline/plumbline.toml\n")
file(WRITE "${plumbline_deb_control}/postinst" "#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null || true; fi
")
file(COPY_FILE "${plumbline_deb_control}/postinst" "${plumbline_deb_control}/postrm")
file(CHMOD "${plumbline_deb_control}/postinst" "${plumbline_deb_control}/postrm"
     PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${plumbline_deb_control}/conffiles;${plumbline_deb_control}/postinst;${plumbline_deb_control}/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
