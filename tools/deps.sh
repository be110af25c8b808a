#!/bin/sh
# Installs the Debian packages the build and tests need, when they are missing.
# Usage: tools/deps.sh [extra-package ...]. As root it runs apt-get; otherwise it prints
# the exact command to run and fails.
set -u
need=""
has() { command -v "$1" >/dev/null 2>&1; }
pkg_missing() { ! dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }

has cc || need="$need gcc"
has make || need="$need make"
has pkg-config || need="$need pkg-config"
has lua5.4 || need="$need lua5.4"
[ -f /usr/include/lua5.4/lua.h ] || need="$need liblua5.4-dev"
pkg-config --exists libuv 2>/dev/null || need="$need libuv1-dev"
has busted || need="$need lua-busted"
has luarocks || need="$need luarocks"
has luacheck || need="$need lua-check"
for p in "$@"; do pkg_missing "$p" && need="$need $p"; done

[ -z "$need" ] && exit 0
cmd="apt-get install -y --no-install-recommends$need"
if [ "$(id -u)" -ne 0 ]; then
  echo "dgram: missing packages:$need" >&2
  echo "dgram: run as root:  apt-get update && $cmd" >&2
  exit 1
fi
echo "dgram: installing$need" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null 2>&1 || true
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $need >/dev/null || {
  echo "dgram: apt-get install failed:$need" >&2
  exit 1
}
