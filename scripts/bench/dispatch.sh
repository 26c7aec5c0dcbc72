#!/bin/sh
# Dispatch overhead: what the multi-call binary costs before an applet runs.
. "$(dirname "$0")/lib.sh"

true_ms=$(median_ms /bin/true)
row "dispatch: apcore --version" "$(median_ms "$APCORE --version")" "/bin/true" "$true_ms" ms
row "dispatch: apcore-audit --help (link)" "$(median_ms "$BENCH_TMP/bin/apcore-audit --help")" "/bin/true" "$true_ms" ms
if command -v busybox >/dev/null 2>&1; then
	row "dispatch: apcore --version" "$(median_ms "$APCORE --version")" "busybox true" "$(median_ms "busybox true")" ms
fi
