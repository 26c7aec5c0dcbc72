#!/bin/sh
# run.sh - run the unit test binaries and the shell tests; the last line is
# "N passed, N failed, N skipped".
#   APCORE=/path/apcore UNITDIR=generated/tests sh tests/run.sh [NAME...]
# NAMEs select unit tests (test_crypto) or shell tests (apcore.test).
set -u
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
: "${APCORE:=$SRCDIR/apcore}"
: "${UNITDIR:=$SRCDIR/generated/tests}"
export APCORE SRCDIR UNITDIR
cd "$SRCDIR" || exit 1

# Sanitizer runs: fail on the first report, leaks included.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:halt_on_error=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
if [ -f "$SRCDIR/tests/lsan.supp" ]; then
	export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$SRCDIR/tests/lsan.supp:print_suppressions=0}"
fi

pass=0 fail=0 skip=0
log=$(mktemp "${TMPDIR:-/tmp}/apcore-run.XXXXXX")
trap 'rm -f "$log"' EXIT

selected()
{
	[ -z "$SELECT" ] && return 0
	for s in $SELECT; do [ "$s" = "$1" ] && return 0; done
	return 1
}
SELECT="$*"

count()  # count LABEL: adds the PASS/FAIL/SKIP or ok/not ok lines of $log
{
	p=$(grep -c -E '^(PASS:|ok )' "$log")
	f=$(grep -c -E '^(FAIL:|not ok )' "$log")
	s=$(grep -c -E '^SKIP:' "$log")
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	printf '%-28s %4d passed, %d failed, %d skipped\n' "$1" "$p" "$f" "$s"
	grep -E '^SKIP:' "$log" || true
	# Diagnostics only when something failed: the failing lines and their context.
	[ "$f" -gt 0 ] && grep -E '^(FAIL:|not ok |#|  )' "$log" | grep -v '^# *$' | head -80
	return 0
}

for t in "$UNITDIR"/test_*; do
	[ -x "$t" ] || continue
	name=${t##*/}
	selected "$name" || continue
	case $name in
	*_keyring) sh tests/lib/with-keyring.sh "$t" > "$log" 2>&1 ;;
	*) "$t" > "$log" 2>&1 ;;
	esac
	rc=$?
	if [ $rc -ne 0 ] && ! grep -q '^not ok ' "$log"; then
		echo "not ok - $name exited with status $rc" >> "$log"
		tail -30 "$log" | sed 's/^/# /' >> "$log"
	fi
	count "$name"
done

for t in tests/*.test; do
	[ -f "$t" ] || continue
	name=${t##*/}
	selected "$name" || continue
	case $name in
	*-keyring.test) sh tests/lib/with-keyring.sh bash "$t" > "$log" 2>&1 ;;
	*) bash "$t" > "$log" 2>&1 ;;
	esac
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "FAIL: $name exited with status $rc" >> "$log"
	fi
	count "$name"
done

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
