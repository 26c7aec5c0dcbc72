# lib.sh - helpers for benchmark scripts (sourced).
# A benchmark prints rows:  ROW|benchmark|apcore figure|peer name|peer figure|unit|lower-is-better(1/0)
# run.sh turns them into one table with ratios.

: "${APCORE:?}"
BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/apcore-bench.XXXXXX")
trap 'rm -rf "$BENCH_TMP"' EXIT
mkdir -p "$BENCH_TMP/bin"
"$APCORE" --install -s "$BENCH_TMP/bin" >/dev/null
ln -sf "$APCORE" "$BENCH_TMP/bin/apcore"
PATH=$BENCH_TMP/bin:$PATH

# median_ms CMD... : median wall time in ms of a command (hyperfine, no shell)
median_ms()
{
	hyperfine -N --style none --warmup "${WARMUP:-20}" --runs "${RUNS:-200}" \
		--export-csv "$BENCH_TMP/h.csv" "$@" >/dev/null 2>&1 || { echo NA; return; }
	awk -F, 'NR == 2 { printf "%.3f", $4 * 1000 }' "$BENCH_TMP/h.csv"
}

row()
{
	echo "ROW|$1|$2|$3|$4|$5|${6:-1}"
}
