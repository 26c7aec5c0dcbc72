#!/bin/bash
# keyring.sh CMD...: run CMD with a private, unlocked Secret Service
# (dbus-run-session + gnome-keyring-daemon in the foreground, ended by its
# pid).  Exits 77 when the tools are missing.  The session's stderr (the
# bus daemon's chatter, and the command's) is dropped.
command -v dbus-run-session >/dev/null && command -v gnome-keyring-daemon >/dev/null || exit 77
base=$(mktemp -d "${TMPDIR:-/tmp}/apcore-kr.XXXXXX")
export HOME=$base/home XDG_RUNTIME_DIR=$base/run XDG_DATA_HOME=$base/home/.local/share \
	XDG_CONFIG_HOME=$base/home/.config XDG_CACHE_HOME=$base/home/.cache
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
dbus-run-session -- bash -c '
	printf pw | gnome-keyring-daemon --unlock --components=secrets --foreground >/dev/null 2>&1 &
	kpid=$!
	for i in $(seq 50); do
		gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
			--method org.freedesktop.DBus.NameHasOwner org.freedesktop.secrets 2>/dev/null |
			grep -q true && break
		sleep 0.1
	done
	"$@"
	rc=$?
	kill $kpid
	wait $kpid 2>/dev/null
	exit $rc' keyring "$@" 2>/dev/null
rc=$?
rm -rf "$base"
exit "$rc"
