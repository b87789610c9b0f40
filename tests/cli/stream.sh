#!/bin/bash
# stream.sh: fp and bp cut to a tenth of the memory their data takes
# give what the uncut runs give; the memory options' errors; progress and
# the -v report; an interrupted run exits 130 (143) and leaves nothing.
# DEVICE (default cpu) chooses the device, so that scripts/gpu-check can
# run this on a GPU.
. "$(dirname "$0")/lib.sh"
device=${DEVICE:-cpu}

# 40^3 voxels, 48 views of 36 x 56: 256 KB of volume, 387 KB of views.
cat >geom.json <<'EOF'
{"volume": {"shape": [40, 40, 40], "voxel_size": 1.0},
 "projection": {"type": "cone", "detector": {"shape": [36, 56],
  "pixel_size": 1.6, "offset": [2.0, -1.5]},
  "angles": {"start": 0, "stop": 360, "count": 48, "unit": "degree"},
  "source_origin": 100, "origin_detector": 60}}
EOF
run phantom -g geom.json -o vol.h5
expect_status 0

for axes in angle,row,col astra; do
	run fp -g geom.json -i vol.h5 -o "p-$axes.h5" --proj-axes $axes \
		--device $device
	expect_status 0
	# A tenth of the data: the volume in slabs, read again a chunk.
	run fp -g geom.json -i vol.h5 -o "pc-$axes.h5" --proj-axes $axes \
		--device $device --mem-limit 64K -v
	expect_status 0
	expect_err_has "slabs of"
	compare "pc-$axes.h5" "p-$axes.h5" 1e-6
	run bp -g geom.json -i "p-$axes.h5" -o "b-$axes.h5" \
		--proj-axes $axes --device $device
	expect_status 0
	run bp -g geom.json -i "p-$axes.h5" -o "bc-$axes.h5" \
		--proj-axes $axes --device $device --mem-limit 64K -v
	expect_status 0
	expect_err_has "slabs of"
	# Each chunk's sum is added to the volume in float32: a few more
	# roundings on the GPU (measured 2.1e-6 with 48 chunks on an H200).
	compare "bc-$axes.h5" "b-$axes.h5" 1e-5
done

# HDF5 through the library instead of as plain bytes: the same files.
KKIT_NO_RAW_HDF5=1 run fp -g geom.json -i vol.h5 -o p-lib.h5 --device $device
expect_status 0
compare p-lib.h5 p-angle,row,col.h5 0
KKIT_NO_RAW_HDF5=1 run bp -g geom.json -i p-lib.h5 -o b-lib.h5 \
	--device $device --mem-limit 64K
expect_status 0
compare b-lib.h5 bc-angle,row,col.h5 0

# The device runs out of memory for what was planned: kkit plans for
# less and tries again, and the result is the same.
KKIT_TEST_ENGINE_LIMIT=300K run fp -g geom.json -i vol.h5 -o p-oom.h5 \
	--device $device -v
expect_status 0
expect_err_has "trying again with"
compare p-oom.h5 p-angle,row,col.h5 1e-6
KKIT_TEST_ENGINE_LIMIT=150K run bp -g geom.json -i p-oom.h5 -o b-oom.h5 \
	--device $device -v
expect_status 0
expect_err_has "trying again with"
compare b-oom.h5 b-angle,row,col.h5 1e-5
# ...until not even a slice fits: then it says so.
KKIT_TEST_ENGINE_LIMIT=1K run bp -g geom.json -i p-oom.h5 -o x.h5 \
	--device $device
expect_status 1
expect_err_has "KKIT_TEST_ENGINE_LIMIT"
expect_no_file x.h5

# Chunks of 5 views, TIFF pages in and out.
run fp -g geom.json -i vol.h5 -o proj/ --chunk 5 --device $device -v
expect_status 0
expect_err_has "chunks of 5 views"
compare proj/ p-angle,row,col.h5 1e-6
run bp -g geom.json -i proj/ -o back.tif --chunk 7 --device $device -v
expect_status 0
expect_err_has "chunks of 7 views"
compare back.tif b-angle,row,col.h5 1e-6

# The report: speed, where the time went, peak memory.
run bp -g geom.json -i p-astra.h5 --proj-axes astra -o b2.h5 -v \
	--device $device
expect_status 0
expect_err_has "GUPS"
expect_err_has "peak host memory"
expect_err_has "plan: 1 slab of 40 slices"

# Progress into a log: a plain line, no escape codes.
run fp -g geom.json -i vol.h5 -o p3.h5 --progress --device $device
expect_status 0
expect_err_has "48/48 views (100%)"
if grep -q $'\033' err; then
	fail "progress into a file has escape codes: $(cat -v err)"
fi

# The options' errors: bad values are usage errors (2), too little
# memory is a run-time one (1); nothing is written either way.
run fp -g geom.json -i vol.h5 -o x.h5 --mem-limit lots
expect_status 2
expect_err_has "invalid --mem-limit 'lots': expected a size such as 512M"
run fp -g geom.json -i vol.h5 -o x.h5 --mem-limit 0
expect_status 2
run bp -g geom.json -i p3.h5 -o x.h5 --chunk 0
expect_status 2
expect_err_has "invalid --chunk '0'"
run bp -g geom.json -i p3.h5 -o x.h5 --host-mem-limit 1M
expect_status 2
expect_err_has "--host-mem-limit 1.0 MiB leaves nothing for buffers"
run fp -g geom.json -i vol.h5 -o x.h5 --mem-limit 2K --device $device
expect_status 1
expect_err_has "not even two slices and one view fit in the 2.0 KiB"
run bp -g geom.json -i p3.h5 -o x.h5 --mem-limit 2K --device $device
expect_status 1
expect_err_has "not even one slice and two views fit"
expect_no_file x.h5
expect_no_temporaries

# Interrupted: a long backprojection, one thread; SIGINT, then SIGTERM.
cat >big.json <<'EOF'
{"volume": {"shape": [128, 128, 128]},
 "projection": {"type": "cone", "detector": {"shape": [160, 160],
  "pixel_size": 1.5},
  "angles": {"start": 0, "stop": 360, "count": 360, "unit": "degree"},
  "source_origin": 300, "origin_detector": 200}}
EOF
# Any numbers will do: a phantom of the projections' shape.
cat >bigproj.json <<'EOF'
{"volume": {"shape": [360, 160, 160]}}
EOF
run phantom -g bigproj.json -o bigproj.h5
expect_status 0
for sig in INT TERM; do
	"$KKIT" bp -g big.json -i bigproj.h5 -o int.h5 -j 1 --device cpu \
		>out 2>err &
	pid=$!
	sleep 1
	kill -$sig $pid
	wait $pid
	status=$?
	if [ $sig = INT ]; then
		expect_status 130
		expect_err_has "interrupted by SIGINT"
	else
		expect_status 143
		expect_err_has "interrupted by SIGTERM"
	fi
	expect_no_file int.h5
	expect_no_temporaries
done

finish
