#!/bin/sh
# with-keyring.sh - run a command inside a private, throw-away Secret Service.
#
#   sh tests/lib/with-keyring.sh [--locked] CMD [ARGS...]
#
# Starts a private dbus-daemon (no service activation) and a gnome-keyring
# secrets daemon whose "login" collection is the default one, under a temp
# HOME and XDG_* tree; runs CMD with DBUS_SESSION_BUS_ADDRESS, HOME, XDG_*
# and TMPDIR pointing there and exits with CMD's status.  Both daemons are ended
# by PID and the tree is removed whatever happens.
#
# CMD also sees APCORE_TEST_KEYRING=1.  With --locked the wrapper first
# stores items (service apcore-test, username locked; service apcore-cli,
# username locked.seed; secret "seed")
# and then locks the default collection; CMD sees APCORE_TEST_KEYRING_LOCKED=1.
#
# Exit status: CMD's, or 125 when the keyring could not be set up.
set -u

locked=0
if [ "${1-}" = "--locked" ]; then
	locked=1
	shift
fi
if [ $# -eq 0 ]; then
	echo "usage: with-keyring.sh [--locked] CMD [ARGS...]" >&2
	exit 2
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/apcore-keyring.XXXXXX") || exit 125
dbus_pid=
gk_pid=
cmd_pid=

cleanup()
{
	for p in $gk_pid $dbus_pid; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $gk_pid $dbus_pid; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$T"
}
# A signal goes on to CMD; the EXIT trap then ends the daemons.
on_signal()
{
	[ -z "$cmd_pid" ] || kill -"$1" "$cmd_pid" 2>/dev/null
	exit "$2"
}
trap cleanup EXIT
trap 'on_signal HUP 129' HUP
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM

fail()
{
	echo "with-keyring.sh: $*" >&2
	for f in "$T"/*.log; do
		[ -s "$f" ] && sed "s|^|with-keyring.sh: ${f##*/}: |" "$f" >&2
	done
	exit 125
}

mkdir -m 700 "$T/home" "$T/run" "$T/config" "$T/data" "$T/cache" "$T/tmp" ||
	fail "cannot create $T"
export HOME="$T/home" XDG_RUNTIME_DIR="$T/run" XDG_CONFIG_HOME="$T/config" \
	XDG_DATA_HOME="$T/data" XDG_CACHE_HOME="$T/cache" TMPDIR="$T/tmp"
# Nothing here may reach a real session, a display or a prompter.
unset DBUS_SESSION_BUS_ADDRESS DISPLAY WAYLAND_DISPLAY GNOME_KEYRING_CONTROL \
	SSH_AUTH_SOCK XDG_SESSION_ID XDG_DATA_DIRS XDG_CONFIG_DIRS

# A session bus without servicedirs: nothing gets activated behind our back
# (the stock session.conf would start another gnome-keyring or a prompter).
cat > "$T/bus.conf" <<EOF || fail "cannot write $T/bus.conf"
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$T/run/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF

: > "$T/addr"
dbus-daemon --config-file="$T/bus.conf" --nofork --nopidfile --nosyslog \
	--print-address=3 3>"$T/addr" </dev/null >"$T/dbus.log" 2>&1 &
dbus_pid=$!

# A bounded poll: 500 x 10 ms.
poll()
{
	i=0
	while [ $i -lt 500 ]; do
		"$@" && return 0
		kill -0 "$dbus_pid" 2>/dev/null || return 1
		[ -z "$gk_pid" ] || kill -0 "$gk_pid" 2>/dev/null || return 1
		sleep 0.01
		i=$((i + 1))
	done
	return 1
}

poll test -s "$T/addr" || fail "dbus-daemon did not start"
DBUS_SESSION_BUS_ADDRESS=$(head -n 1 "$T/addr")
export DBUS_SESSION_BUS_ADDRESS

# --unlock with the password on stdin creates and unlocks the "login"
# collection and makes it the default.
printf 'apcore-test' > "$T/pw"
gnome-keyring-daemon --foreground --unlock --components=secrets \
	<"$T/pw" >"$T/gk.log" 2>&1 &
gk_pid=$!

secrets_call()  # OBJECT METHOD [ARGS...]: print the reply
{
	obj=$1 method=$2
	shift 2
	dbus-send --session --print-reply=literal --reply-timeout=2000 \
		--dest=org.freedesktop.secrets "$obj" "$method" "$@" 2>/dev/null
}

default_collection()  # sets coll
{
	coll=$(secrets_call /org/freedesktop/secrets \
		org.freedesktop.Secret.Service.ReadAlias string:default) || return 1
	coll=$(printf '%s' "$coll" | tr -d ' \n')
	[ -n "$coll" ] && [ "$coll" != "/" ]
}
poll default_collection || fail "gnome-keyring-daemon did not provide a default collection"

if [ $locked -eq 1 ]; then
	printf 'seed' | secret-tool store --label="apcore test seed" \
		application "Python keyring library" service apcore-test username locked ||
		fail "cannot store the seed item"
	# The same under the reference's service, for apcore-encrypt's keyring: tests.
	printf 'seed' | secret-tool store --label="apcore test seed" \
		application "Python keyring library" service apcore-cli username locked.seed ||
		fail "cannot store the seed item"
	secrets_call /org/freedesktop/secrets org.freedesktop.Secret.Service.Lock \
		"array:objpath:$coll" >/dev/null || fail "cannot lock $coll"
	state=$(secrets_call "$coll" org.freedesktop.DBus.Properties.Get \
		string:org.freedesktop.Secret.Collection string:Locked)
	case $state in
	*true*) ;;
	*) fail "$coll did not lock (Locked: $state)" ;;
	esac
	export APCORE_TEST_KEYRING_LOCKED=1
else
	unset APCORE_TEST_KEYRING_LOCKED
fi
export APCORE_TEST_KEYRING=1

# In the background so that a signal to us is handled at once (the shell
# defers traps until a foreground command ends); stdin passed on by hand
# (an asynchronous command's stdin is otherwise /dev/null).
exec 3<&0
"$@" 0<&3 3<&- &
cmd_pid=$!
exec 3<&-
wait "$cmd_pid"
rc=$?
cmd_pid=
exit $rc
