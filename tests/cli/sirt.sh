#!/bin/bash
# sirt.sh: kkit sirt and kkit cgls from the command line: they get
# closer to the phantom than a few iterations do; --log writes CSV and
# JSON Lines whose residuals fall; snapshots are PNG and TIFF images;
# a run stopped and resumed from its checkpoint ends where one run
# does; a memory limit gives what the whole run gives; a helix, which
# fbp refuses, is reconstructed; bad options are refused with exit 2
# and no output.  DEVICE (default cpu) chooses the device, so that
# scripts/gpu-check can run this on a GPU.
. "$(dirname "$0")/lib.sh"
device=${DEVICE:-cpu}

# 16 x 32 x 32 voxels, 60 cone views of 24 x 56 around a full turn.
cat >geom.json <<'JSON'
{"volume": {"shape": [16, 32, 32], "voxel_size": 1.0},
 "projection": {"type": "cone", "detector": {"shape": [24, 56],
  "pixel_size": 1.0},
  "angles": {"start": 0, "stop": 360, "count": 60, "unit": "degree"},
  "source_origin": 120, "origin_detector": 60}}
JSON
run phantom -g geom.json --supersample 2 -o ph.h5
expect_status 0
run fp -g geom.json -i ph.h5 -o p.h5 --device $device
expect_status 0

# The error falls with iterations; CGLS gets further than SIRT.
run sirt -g geom.json -i p.h5 -o s2.h5 -n 2 --device $device
expect_status 0
run sirt -g geom.json -i p.h5 -o s20.h5 -n 20 --device $device \
	--log s20.csv -v
expect_status 0
expect_err_has "20 iterations with the vectors in"
run cgls -g geom.json -i p.h5 -o c20.h5 -n 20 --device $device \
	--log c20.jsonl
expect_status 0
error_of() {
	"$KKCMP" "$1" ph.h5 1 | sed -n 's/.*rel_l2 \([^ ]*\) .*/\1/p'
}
e2=$(error_of s2.h5) e20=$(error_of s20.h5) c20=$(error_of c20.h5)
awk -v a="$e2" -v b="$e20" -v c="$c20" \
	'BEGIN { exit !(b < a && c < b && c < 0.1) }' ||
	fail "errors: sirt 2 iterations $e2, 20 $e20; cgls 20 $c20"

# The logs: a header and 20 lines; residuals fall.
[ "$(head -1 s20.csv)" = "iteration,residual,relative_change,seconds" ] ||
	fail "the CSV header is $(head -1 s20.csv)"
[ "$(wc -l <s20.csv)" -eq 21 ] || fail "s20.csv has $(wc -l <s20.csv) lines"
awk -F, 'NR > 2 && $2 >= prev { bad = 1 } NR > 1 { prev = $2 }
	END { exit bad }' s20.csv || fail "sirt's residual rose: $(cat s20.csv)"
[ "$(wc -l <c20.jsonl)" -eq 20 ] || fail "c20.jsonl: $(wc -l <c20.jsonl)"
head -1 c20.jsonl | grep -q '^{"iteration": 1, "residual": [0-9.e+-]*, "relative_change": [0-9.e+-]*, "seconds": [0-9.]*}$' ||
	fail "JSON line: $(head -1 c20.jsonl)"

# Snapshots: PNG by default beside the output, TIFF by name.
run sirt -g geom.json -i p.h5 -o snap.h5 -n 4 --device $device \
	--snapshot-every 2
expect_status 0
expect_file snap-0002.png
expect_file snap-0004.png
expect_no_file snap-0003.png
[ "$(head -c 8 snap-0004.png | od -An -tx1 | tr -d ' ')" = \
	"89504e470d0a1a0a" ] || fail "snap-0004.png is not a PNG"
run sirt -g geom.json -i p.h5 -o snap2.h5 -n 3 --device $device \
	--snapshot-every 3 --snapshot 'mid_%03d.tif' --min 0 --max 1
expect_status 0
stat_of mid_003.tif | grep -q "uint16" || fail "mid_003.tif: $(cat stat.tmp)"

# Stopped after 4 (the checkpoint of iteration 4), resumed to 8: as 8
# in one go.  Both methods.
for m in sirt cgls; do
	run $m -g geom.json -i p.h5 -o $m-8.h5 -n 8 --device $device
	expect_status 0
	run $m -g geom.json -i p.h5 -o $m-4.h5 -n 4 --device $device \
		--checkpoint $m-cp.h5 --checkpoint-every 2 --log $m.csv
	expect_status 0
	run $m -g geom.json -i p.h5 -o $m-r.h5 -n 8 --device $device \
		--checkpoint $m-cp.h5 --resume --log $m.csv -v
	expect_status 0
	expect_err_has "resuming after iteration 4 from '$m-cp.h5'"
	compare $m-r.h5 $m-8.h5 1e-5
	[ "$(wc -l <$m.csv)" -eq 9 ] || fail "$m.csv: $(cat $m.csv)"
	# The checkpoint says which run it is for.
	cp p.h5 p-copy.h5
	run $m -g geom.json -i p-copy.h5 -o other.h5 -n 8 --device $device \
		--checkpoint $m-cp.h5 --resume
	expect_status 2
	expect_err_has "was made by another run"
	expect_no_file other.h5
done
run cgls -g geom.json -i p.h5 -o x.h5 --checkpoint sirt-cp.h5 --resume
expect_status 2
expect_err_has "checkpoint 'sirt-cp.h5' is of kkit sirt, not of kkit cgls"

# Cut by a memory limit: the same.
run sirt -g geom.json -i p.h5 -o cut.h5 -n 20 --device $device \
	--mem-limit 100K --chunk 7 --in-core no
expect_status 0
compare cut.h5 s20.h5 1e-5

# A mask and a starting volume: outside the mask, the start stays.
run phantom -g geom.json -t ball --size 0.6 -o mask.h5
expect_status 0
run sirt -g geom.json -i p.h5 -o masked.h5 -n 3 --device $device \
	--mask mask.h5 --x0 s2.h5
expect_status 0
stat_of masked.h5 >/dev/null

# A helix: fbp refuses it, sirt reconstructs it.
python_free_helix() {
	awk 'BEGIN {
		printf "{\"volume\": {\"shape\": [16, 32, 32]}, "
		printf "\"projection\": {\"type\": \"cone_vec\", "
		printf "\"detector\": {\"shape\": [20, 56]}, \"vectors\": ["
		for (i = 0; i < 96; i++) {
			a = 6.283185307 * i / 48; c = cos(a); s = sin(a)
			z = -8 + 16 * i / 96
			printf "%s[%.6f, %.6f, %.6f, %.6f, %.6f, %.6f, %.6f, %.6f, 0, 0, 0, 1]",
				(i ? ", " : ""), 120 * s, -120 * c, z,
				-60 * s, 60 * c, z, c, s
		}
		print "]}}"
	}'
}
python_free_helix >helix.json
run fp -g helix.json -i ph.h5 -o hp.h5 --device $device
expect_status 0
run fbp -g helix.json -i hp.h5 -o hf.h5 --device $device
expect_status 2
expect_err_has "use kkit sirt or kkit cgls"
run cgls -g helix.json -i hp.h5 -o hc.h5 -n 15 --device $device
expect_status 0
e=$(error_of hc.h5)
awk -v e="$e" 'BEGIN { exit !(e < 0.15) }' || fail "helix cgls error $e"

# Bad options: exit 2, nothing written.
bad() {
	run "$@"
	expect_status 2
	expect_no_file bad.h5
	expect_no_temporaries
}
bad sirt -g geom.json -i p.h5 -o bad.h5 --resume
expect_err_has "--resume needs --checkpoint FILE"
bad sirt -g geom.json -i p.h5 -o bad.h5 --min 2 --max 1
expect_err_has "--min 2 is above --max 1"
bad sirt -g geom.json -i p.h5 -o bad.h5 --relaxation 3
expect_err_has "invalid --relaxation '3': expected a number from 1e-06 to 2"
bad sirt -g geom.json -i p.h5 -o bad.h5 -n -1
expect_err_has "invalid --iterations '-1'"
bad cgls -g geom.json -i p.h5 -o bad.h5 --min 0
expect_err_has "unknown option '--min'"
bad sirt -g geom.json -i p.h5 -o bad.h5 --snapshot-every 2 --snapshot x.jpg
expect_err_has "invalid --snapshot 'x.jpg': the name must end in .png"
bad sirt -g geom.json -i p.h5 -o bad.h5 --snapshot 'a%s.png' --snapshot-every 1
expect_err_has "the only conversion it may hold is one %d"
bad sirt -g geom.json -i p.h5 -o bad.h5 --checkpoint sirt-cp.h5
expect_err_has "checkpoint 'sirt-cp.h5' exists: use --resume"
bad sirt -g geom.json -i p.h5 -o bad.h5 --log s20.csv
expect_err_has "log 's20.csv' exists: use --force"
bad sirt -g geom.json -i p.h5 -o bad.h5 --x0 p.h5
expect_err_has "p.h5"
bad sirt -g geom.json -i p.h5 -o bad.h5 --checkpoint sirt-cp.h5 --resume -n 2
expect_err_has "is after iteration 8, beyond --iterations 2"

finish
