#!/usr/bin/env bash
# Install what pkifs needs to build and test on Debian 12, only what is missing.
# Called by the Makefile when a check fails; safe to run by hand (as root or with sudo).
set -euo pipefail

pkgs=(build-essential pkg-config libfuse3-dev fuse3 libssl-dev openssl
      libsqlite3-dev sqlite3 libcmocka-dev python3 python3-pytest python3-hypothesis rsync
      valgrind clang mosquitto mosquitto-clients bindfs cpio
      systemd mandoc man-db debhelper dpkg-dev fakeroot lintian
      libcurl4-openssl-dev libjansson-dev etcd-server etcd-client)
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# etcd-server is here for the fleet tests, which start their own members on
# free ports: do not leave Debian's default etcd service running on 2379.
if [[ " ${missing[*]} " == *" etcd-server "* ]] && command -v systemctl >/dev/null 2>&1 &&
	[ -d /run/systemd/system ]; then
	echo "install-deps: stopping and disabling the etcd service the package started (tests run their own)"
	$SUDO systemctl disable --now etcd >/dev/null 2>&1 || true
fi
