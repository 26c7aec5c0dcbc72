#!/bin/sh
# Install every build, test and benchmark dependency of apcore on Debian 12.
# Idempotent: packages already present are left alone; apt is only asked
# for what is missing.  Run as root.
set -eu

BUILD="make gcc pkg-config libc6-dev libmbedtls-dev libcjson-dev libyaml-dev
  libsecret-1-dev libglib2.0-dev libseccomp-dev libhiredis-dev
  kconfig-frontends-nox"
TEST="libcmocka-dev dbus gnome-keyring libsecret-tools redis-server openssl
  openssh-client python3 python3-cryptography clang libclang-rt-14-dev
  valgrind util-linux procps passwd iproute2 psmisc"
BENCH="hyperfine bubblewrap firejail"

want=""
for p in $BUILD $TEST ${APCORE_NO_BENCH_DEPS:+} $BENCH; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		want="$want $p"
	fi
done

if [ -z "$want" ]; then
	echo "install-deps: all dependencies present"
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing:$want (run as root)" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $want
echo "install-deps: installed:$want"
