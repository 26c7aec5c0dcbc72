#!/bin/bash
# concurrent.sh LOG: 8 concurrent writers x 2000 records into LOG (keyed):
# 2 loops of one `apcore-audit log` process per record (as shells use it),
# 6 `log --stream` writers fed in bursts, and a seal every second
# meanwhile.  Prints the number of writer records, then each writer's
# count (deduplicated: one line when all are equal).
log=$1
for w in 1 2; do
	(
		for i in $(seq 2000); do
			apcore-audit log --file "$log" --module "p$w" --status success --exit-code 0 \
				--duration-ms "$i" --sync none || echo "writer p$w: append $i failed"
		done
	) &
done
for w in 1 2 3 4 5 6; do
	(
		for i in $(seq 2000); do
			printf '{"module_id": "s%s", "status": "success", "exit_code": 0, "duration_ms": %s}\n' "$w" "$i"
			[ $((i % 100)) = 0 ] && sleep 0.05
		done | apcore-audit log --stream --file "$log" || echo "writer s$w failed"
	) &
done
sealer()
{
	for s in 1 2 3 4 5; do
		sleep 1
		apcore-audit seal --file "$log" >/dev/null || echo "seal failed"
	done
}
sealer &
wait
grep -c '"module_id": "[ps][1-6]"' "$log"
for w in p1 p2 s1 s2 s3 s4 s5 s6; do
	grep -c "\"module_id\": \"$w\"" "$log"
done | sort -u
