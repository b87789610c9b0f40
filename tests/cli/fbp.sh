#!/bin/bash
# fbp.sh: kkit fbp from the command line: a ball of 1 comes back as 1;
# filters, padding and short scans are taken; a memory limit and
# --slices give what the whole run gives; bad options and geometries FDK
# cannot do are refused with exit 2 and no output.  DEVICE (default cpu)
# chooses the device, so that scripts/gpu-check can run this on a GPU.
. "$(dirname "$0")/lib.sh"
device=${DEVICE:-cpu}

# 40^3 voxels, 90 views of 48 x 72 around a full turn.
cat >geom.json <<'JSON'
{"volume": {"shape": [40, 40, 40], "voxel_size": 1.0},
 "projection": {"type": "cone", "detector": {"shape": [48, 72],
  "pixel_size": [1.3, 1.1], "offset": [0.5, 2.0]},
  "angles": {"start": 0, "stop": 360, "count": 90, "unit": "degree"},
  "source_origin": 100, "origin_detector": 60}}
JSON
run phantom -g geom.json -t ball --size 0.5 --supersample 2 -o ball.h5
expect_status 0
run fp -g geom.json -i ball.h5 -o p.h5 --device $device
expect_status 0
run fbp -g geom.json -i p.h5 -o r.h5 --device $device -v
expect_status 0
expect_err_has "ram-lak filter, rows padded to 144, views cover 360.0"
# The ball's centre slices: their mean is the ball's value, 1.
run fbp -g geom.json -i p.h5 -o centre.h5 --device $device --slices 18:22
expect_status 0
stat_of centre.h5 >/dev/null
"$KKCMP" --stat centre.h5 | awk '{print $10}' >mean.txt
# Four slices of 40 x 40 through a ball of radius 10: pi 10^2 / 1600 =
# 0.196 of them is 1 (the edges blur a little; check_fbp holds the
# inside of the ball to 1%).
mean=$(cat mean.txt)
awk -v m="$mean" 'BEGIN { exit !(m > 0.19 && m < 0.20) }' ||
	fail "the centre slices' mean is $mean"

# In slabs and chunks: the same.
run fbp -g geom.json -i p.h5 -o rc.h5 --device $device --mem-limit 200K \
	--chunk 7 -v
expect_status 0
expect_err_has "slabs of"
compare rc.h5 r.h5 1e-5

# --slices: slices 10 to 29 of the whole, as TIFF pages.
run fbp -g geom.json -i p.h5 -o whole/ --device $device
expect_status 0
run fbp -g geom.json -i p.h5 -o part/ --device $device --slices 10:30
expect_status 0
n=$(ls part | wc -l)
[ "$n" -eq 20 ] || fail "--slices 10:30 wrote $n slices"
# (the GPU's texture coordinates differ with the rows read: 1.7e-5)
compare part/slice_00000.tif whole/slice_00010.tif 5e-5
compare part/slice_00019.tif whole/slice_00029.tif 5e-5

# Every filter, a cutoff and padding.
for f in ram-lak shepp-logan cosine hamming hann parzen tukey; do
	run fbp -g geom.json -i p.h5 -o "f-$f.h5" --device $device \
		--filter $f --filter-cutoff 0.8 --padding 1.5
	expect_status 0
	stat_of "f-$f.h5" >/dev/null
done

# A short scan: Parker's weights, and a warning when it is too short.
sed 's/"stop": 360, "count": 90/"stop": 200, "count": 50/' geom.json \
	>short.json
run fp -g short.json -i ball.h5 -o ps.h5 --device $device
expect_status 0
run fbp -g short.json -i ps.h5 -o rs.h5 --device $device -v
expect_status 0
expect_err_has "Parker's short-scan weights"
expect_err_has "less than 180 plus the fan angle"
run fbp -g short.json -i ps.h5 -o rs-off.h5 --device $device \
	--short-scan off -v
expect_status 0
expect_err_has "views cover 200.0 degrees"

# Bad options: exit 2, nothing written.
run fbp -g geom.json -i p.h5 -o bad.h5 --filter gauss
expect_status 2
expect_err_has "unknown filter 'gauss'"
run fbp -g geom.json -i p.h5 -o bad.h5 --filter-cutoff 0
expect_status 2
expect_err_has "cutoff 0 passes nothing"
run fbp -g geom.json -i p.h5 -o bad.h5 --padding 0.5
expect_status 2
expect_err_has "invalid --padding '0.5'"
run fbp -g geom.json -i p.h5 -o bad.h5 --short-scan maybe
expect_status 2
expect_err_has "--short-scan 'maybe'"
run fbp -g geom.json -i p.h5 -o bad.h5 --slices 30:10
expect_status 2
expect_err_has "--slices '30:10' selects no slice"
expect_no_file bad.h5

# A helix is not a circle: FDK refuses it, naming the view.
run fbp -g "$KKIT_DATA/cone_vec.json" -i p.h5 -o bad.h5
expect_status 2
expect_err_has "view 1's source"
expect_err_has "use kkit sirt or kkit cgls"
expect_no_file bad.h5
expect_no_temporaries

finish
