#!/bin/sh
# Build the configurations Kconfig must never rot in, each in its own
# output folder, and run `apcore --list` of each:
#   allnoconfig, every applet alone, allyesconfig, static (allyes, no keyring)
# Prints one line per configuration and fails if any build or run fails.
set -eu
cd "$(dirname "$0")/.."
make -s generated/Kconfig.applets >/dev/null

applets=$(sed -n 's|^//applet:APPLET(\([a-z_0-9]*\), *\([A-Z_0-9]*\).*|\2|p' applets/*.c)
fails=0

build()  # build NAME KCONF-MODE FRAGMENT-LINES
{
	name=$1 mode=$2 frag=$3
	out=generated/cfg-$name
	rm -rf "$out"
	mkdir -p "$out"
	printf '%b' "$frag" > "$out/fragment"
	cp generated/Kconfig.applets "$out/" 2>/dev/null || true
	if ! KCONFIG_ALLCONFIG=$out/fragment KCONFIG_CONFIG=$out/.config \
		kconfig-conf --"$mode" Kconfig > "$out/kconfig.log" 2>&1; then
		echo "FAIL $name: kconfig-conf"; cat "$out/kconfig.log"; fails=$((fails + 1)); return
	fi
	if ! make -s -j2 O="$out" CONFIG="$out/.config" BIN="$out/apcore" "$out/apcore" \
		> "$out/build.log" 2>&1; then
		echo "FAIL $name: build"; tail -20 "$out/build.log"; fails=$((fails + 1)); return
	fi
	list=$("$out/apcore" --list | tr '\n' ' ')
	size=$(strip -o "$out/apcore.stripped" "$out/apcore" && stat -c %s "$out/apcore.stripped")
	libs=$(readelf -d "$out/apcore" 2>/dev/null | sed -n 's/.*NEEDED.*\[\(lib[^]]*\)\.so[^]]*\]/\1/p' | grep -v -x -e libc -e libm | tr '\n' ' ')
	[ -n "$libs" ] || libs="(libc only or static)"
	printf '%-14s %8s bytes stripped  applets: %-44s libs: %s\n' "$name" "$size" "${list:-(none)}" "$libs"
	if [ -n "${4:-}" ] && [ "$list" != "$4" ]; then
		echo "FAIL $name: expected applets '$4'"; fails=$((fails + 1))
	fi
	# Every applet that is not compiled in must say so, with exit 127.
	for a in audit auth encrypt sandbox; do
		case " $list " in *" apcore-$a "*) continue ;; esac
		rc=0; msg=$("$out/apcore" "$a" --help 2>&1) || rc=$?
		case $rc:$msg in
		"127:apcore-$a: this apcore was built without apcore-$a (enable APCORE_"*) ;;
		*) echo "FAIL $name: compiled-out apcore-$a answered $rc: $msg"; fails=$((fails + 1)) ;;
		esac
	done
}

build allnoconfig allnoconfig "" ""
for sym in $applets; do
	name=$(echo "$sym" | sed 's/^APCORE_//' | tr 'A-Z' 'a-z')
	build "$name-only" allnoconfig "CONFIG_$sym=y\n" "apcore-$name "
done
build allyesconfig allyesconfig "" "apcore-audit apcore-auth apcore-encrypt apcore-sandbox "
build static allyesconfig "CONFIG_STATIC=y\n# CONFIG_APCORE_KEYRING is not set\n" \
	"apcore-audit apcore-auth apcore-encrypt apcore-sandbox "
if file generated/cfg-static/apcore | grep -q 'statically linked'; then
	echo "static: statically linked"
else
	echo "FAIL static: not statically linked"; fails=$((fails + 1))
fi

[ "$fails" -eq 0 ] && echo "test-configs: all configurations built and ran" || {
	echo "test-configs: $fails failed"; exit 1; }
