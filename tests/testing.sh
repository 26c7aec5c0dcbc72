# testing.sh - toybox-style shell test helpers, sourced by tests/*.test.
#
#   testing "name" "command" "expected stdout" "input file content" "stdin"
#
# The command runs under bash -c in a scratch directory ($TESTDIR, also the
# cwd); "input file content", when non-empty, is written to ./input first.
# Expected output is interpreted by printf %b, so "\n" means a newline.
# Only stdout is compared: add 2>&1 or "; echo \$?" to the command to check
# stderr or the exit status.  Results are printed as PASS:/FAIL:/SKIP: lines
# that tests/run.sh counts.

: "${APCORE:?APCORE must name the apcore binary}"
: "${SRCDIR:=$(pwd)}"
export APCORE SRCDIR

TESTDIR=$(mktemp -d "${TMPDIR:-/tmp}/apcore-test.XXXXXX")
trap 'rm -rf "$TESTDIR"' EXIT
cd "$TESTDIR" || exit 1

# A directory of applet links so tests can call apcore-* by name.
mkdir -p "$TESTDIR/.bin"
"$APCORE" --install -s "$TESTDIR/.bin" >/dev/null 2>&1
ln -sf "$APCORE" "$TESTDIR/.bin/apcore"
PATH=$TESTDIR/.bin:$PATH
export PATH

testing()
{
	name=$1 cmd=$2 expect=$3 infile=$4 stdin=$5
	if [ -n "$infile" ]; then printf '%b' "$infile" > input; else rm -f input; fi
	actual=$(printf '%b' "$stdin" | bash -c "$cmd" 2>"$TESTDIR/.stderr"; echo x)
	actual=${actual%x}
	want=$(printf '%b' "$expect"; echo x)
	want=${want%x}
	if [ "$actual" = "$want" ]; then
		echo "PASS: $name"
	else
		echo "FAIL: $name"
		echo "  command:  $cmd"
		printf '%s\n' "$want" | sed 's/^/  expected| /'
		printf '%s\n' "$actual" | sed 's/^/  actual  | /'
		sed 's/^/  stderr  | /' "$TESTDIR/.stderr" | head -20
	fi
}

# skip "name" "reason": only for things that cannot run here; say why.
skip()
{
	echo "SKIP: $1: $2"
}
