#!/bin/sh
# run.sh - run every benchmark in scripts/bench/ and print one table:
# benchmark, apcore figure, peer, peer figure, ratio (apcore / peer for
# times; peer / apcore for rates, so < 1 always means apcore is faster...
# see the "better" column).  Peers are measured in the same run.
#   APCORE=./apcore sh scripts/bench/run.sh [NAME...]
set -u
dir=$(cd "$(dirname "$0")" && pwd)
: "${APCORE:=$(pwd)/apcore}"
export APCORE
command -v hyperfine >/dev/null || { echo "bench: hyperfine missing (scripts/install-deps.sh)" >&2; exit 1; }

out=$(mktemp)
trap 'rm -f "$out"' EXIT
for b in "$dir"/*.sh; do
	name=$(basename "$b" .sh)
	case $name in run|lib) continue ;; esac
	if [ $# -gt 0 ]; then
		case " $* " in *" $name "*) ;; *) continue ;; esac
	fi
	echo "bench: $name ..." >&2
	sh "$b" | grep '^ROW|' >> "$out"
done

printf '%-48s %14s  %-34s %14s  %8s\n' benchmark apcore peer "peer figure" "ratio"
awk -F'|' '{
	a = $3 + 0; p = $5 + 0; unit = $6; lower = $7 + 0
	if ($3 == "NA" || $5 == "NA" || a == 0 || p == 0) r = "n/a"
	else if (lower) r = sprintf("%.2fx", a / p)      # time: apcore / peer
	else r = sprintf("%.2fx", a / p)                # rate: apcore / peer
	printf "%-48s %11s %-2s  %-34s %11s %-2s  %8s %s\n", $2, $3, unit, $4, $5, unit, r,
		(r == "n/a" ? "" : (lower ? "(time; <1 = apcore faster)" : "(rate; >1 = apcore faster)"))
}' "$out"
