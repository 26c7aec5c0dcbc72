#!/bin/sh
# Install every build, test and benchmark dependency of apcore on Debian 12.
# Idempotent: packages already present are left alone; apt is only asked
# for what is missing.  Run as root.
set -eu

BUILD="make gcc pkg-config libc6-dev dpkg-dev file libmbedtls-dev libcjson-dev libyaml-dev
  libsecret-1-dev libglib2.0-dev libseccomp-dev libhiredis-dev
  kconfig-frontends-nox"
TEST="libcmocka-dev dbus gnome-keyring libsecret-tools redis-server openssl
  openssh-client python3 python3-cryptography python3-keyring python3-secretstorage python3-jwt
  clang libclang-rt-14-dev
  valgrind util-linux procps passwd iproute2 psmisc"
BENCH="hyperfine bubblewrap firejail"

# cJSON has no static archive in Debian: STATIC builds compile it from
# Debian's own source package (with Debian's security patches).
CJSON_SRC=${CJSON_SRC:-/usr/local/src/apcore-deps/cjson}

want=""
for p in $BUILD $TEST ${APCORE_NO_BENCH_DEPS:+} $BENCH; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		want="$want $p"
	fi
done

fetch_cjson_source()
{
	[ -f "$CJSON_SRC/cJSON.c" ] && return 0
	if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ &&
	   ! grep -qs '^deb-src' /etc/apt/sources.list; then
		cat > /etc/apt/sources.list.d/apcore-deb-src.sources <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
		apt-get update -qq
	fi
	parent=$(dirname "$CJSON_SRC")
	mkdir -p "$parent"
	(cd "$parent" && apt-get source -qq cjson >/dev/null 2>&1)
	dir=$(ls -d "$parent"/cjson-*/ 2>/dev/null | head -1)
	[ -n "$dir" ] && ln -sfn "$(basename "$dir")" "$CJSON_SRC"
	[ -f "$CJSON_SRC/cJSON.c" ] || { echo "install-deps: could not fetch cjson source" >&2; exit 1; }
}

if [ -z "$want" ]; then
	[ "$(id -u)" = 0 ] && fetch_cjson_source
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
fetch_cjson_source
echo "install-deps: installed:$want"
