#!/bin/sh
# summary.sh [BUILDDIR]: one closing line "N passed, N failed" counted from
# the test logs of the last `make check` (criterion's summaries and the
# end-to-end scripts' own counts; a test program that crashed or printed no
# summary counts as one failure).
dir=${1:-.}/tests
pass=0 fail=0
for log in "$dir"/unit/*.log "$dir"/e2e/*.log; do
	[ -f "$log" ] || continue
	trs=${log%.log}.trs
	line=$(grep -E 'Synthesis: Tested: [0-9]+' "$log" | tail -n 1)
	if [ -n "$line" ]; then
		p=$(echo "$line" | sed -E 's/.*Passing: ([0-9]+).*/\1/')
		f=$(echo "$line" | sed -E 's/.*Failing: ([0-9]+).*/\1/')
		c=$(echo "$line" | sed -E 's/.*Crashing: ([0-9]+).*/\1/')
		pass=$((pass + p)); fail=$((fail + f + c))
		continue
	fi
	line=$(grep -E '^[a-z0-9-]+: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -n "$line" ]; then
		p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
		f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
		pass=$((pass + p)); fail=$((fail + f))
		continue
	fi
	if [ -f "$trs" ] && grep -q ':test-result: SKIP' "$trs"; then
		echo "skipped: $log" >&2
		continue
	fi
	echo "no summary in $log: counted as a failure" >&2
	fail=$((fail + 1))
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
