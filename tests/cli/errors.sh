#!/bin/bash
# errors.sh: what a script at a beamline sees when something is wrong:
# the exit status (2 bad usage or input, 1 failure at run time, 130/143
# interrupted), one message naming the file and the value, and no output
# file, complete-looking or not.
. "$(dirname "$0")/lib.sh"
cone=$KKIT_TESTDATA/small_cone.json
"$KKIT" phantom -g "$cone" -o vol.h5 || fail "phantom failed"
"$KKIT" fp -g "$cone" -i vol.h5 -o proj.h5 || fail "fp failed"

# Usage.
run fp -g "$cone" -i vol.h5 -o out.h5 --frob
expect_status 2
expect_err "kkit: fp: unknown option '--frob'
Try 'kkit fp --help' for more information."
run fp -g "$cone" -i vol.h5 -o out.h5 -x
expect_status 2
expect_err_has "kkit: fp: unknown option '-x'"
run fp -g
expect_status 2
expect_err_has "kkit: fp: option '-g' needs a value"
run fp -g "$cone" -i vol.h5
expect_status 2
expect_err_has "kkit: fp: missing the output (-o FILE)"
run bp -i proj.h5 -o out.h5
expect_status 2
expect_err_has "kkit: bp: missing the geometry (-g FILE.json)"
run fp -g "$cone" -i vol.h5 -o out.h5 extra
expect_status 2
expect_err_has "kkit: fp: unexpected argument 'extra'"
run fp -g "$cone" -i vol.h5 -o out.h5 --dtype uint16
expect_status 2
expect_err_has "--dtype uint16 needs --range LO:HI"
run fp -g "$cone" -i vol.h5 -o out.h5 --dtype int8
expect_status 2
expect_err_has "invalid --dtype 'int8': expected float32, float16 or uint16"
run fp -g "$cone" -i vol.h5 -o out.h5 --dtype uint16 --range 5:1
expect_status 2
expect_err_has "invalid --range '5:1'"
run fp -g "$cone" -i vol.h5 -o out.h5 --proj-axes angle,col
expect_status 2
expect_err_has "invalid projection axis order 'angle,col'"
run fp -g "$cone" -i vol.h5 -o out.h5 -j 0
expect_status 2
expect_err_has "invalid --threads '0'"
run phantom -g "$cone" -o out.h5 --type sheep
expect_status 2
expect_err_has "unknown phantom 'sheep'"
run fp -g "$cone" -i vol.h5 -o out.dat
expect_status 2
expect_err_has "cannot tell the format of 'out.dat' from its name"
run fp -g "$cone" -i vol.h5 -o out.h5 --device nvidia
expect_status 2
expect_err_has "invalid --device 'nvidia': expected auto, gpu or cpu"
# Without a GPU, --device gpu fails (1) and auto computes on the CPU.
if ! "$KKIT" info | grep -q '^  gpu [0-9]'; then
	run fp -g "$cone" -i vol.h5 -o out.h5 --device gpu
	expect_status 1
	expect_err_has "kkit: fp: no CUDA driver ("
	expect_no_file out.h5
	run fp -g "$cone" -i vol.h5 -o out.h5 --device auto
	expect_status 0
	expect_err_has "; computing on the CPU"
	rm -f out.h5
fi
run fp -g "$cone" -i vol.h5 -o out.h5 --gpu x
expect_status 2
expect_err_has "invalid --gpu 'x'"
run fp -g "$cone" -i vol.h5 -o out.h5 --storage float64
expect_status 2
expect_err_has "invalid --storage 'float64'"
expect_no_file out.h5

# Geometry.
run fp -g nope.json -i vol.h5 -o out.h5
expect_status 2
expect_err "kkit: fp: cannot open geometry 'nope.json': No such file or directory"
run fp -g "$KKIT_TESTDATA/bad_syntax.json" -i vol.h5 -o out.h5
expect_status 2
expect_err "kkit: fp: '$KKIT_TESTDATA/bad_syntax.json': JSON syntax error at line 5, column 5, near '\"detector\": {\"shape\": ['"
printf '{"volume": {"shape": [24, 24, 24]}, "projection": {"type": "cone",
 "detector": {"shape": [20, 28], "pixel_size": 1.5},
 "angles": {"start": 0, "stop": 360, "count": 16, "unit": "degree"},
 "source_origin": 80, "origin_detector": -80}}\n' >ondet.json
run fp -g ondet.json -i vol.h5 -o out.h5
expect_status 2
expect_err "kkit: fp: 'ondet.json': projection (view 0): the source lies on the detector plane"

# Input files.
run fp -g "$cone" -i missing.h5 -o out.h5
expect_status 2
expect_err "kkit: fp: cannot open 'missing.h5': No such file or directory"
echo "plain text" >fake.h5
run fp -g "$cone" -i fake.h5 -o out.h5
expect_status 2
expect_err "kkit: fp: 'fake.h5' is not an HDF5 file"
run fp -g "$cone" -i vol.h5:/entry/nothing -o out.h5
expect_status 2
expect_err "kkit: fp: 'vol.h5' has no dataset '/entry/nothing'"
run fp -g "$cone" -i proj.h5 -o out.h5
expect_status 2
expect_err "kkit: fp: 'proj.h5:/data' holds a volume of shape 16 x 20 x 28 but the geometry needs 24 x 24 x 24 (z,y,x)"
run bp -g "$cone" -i vol.h5 -o out.h5
expect_status 2
expect_err_has "'vol.h5:/data' holds projections of shape 24 x 24 x 24 but the geometry needs 16 x 20 x 28 (angle,row,col)"
# Projections in ASTRA's order, read as kkit's: the message says so.
"$KKIT" fp -g "$cone" -i vol.h5 -o astra.h5 --proj-axes row,angle,col ||
	fail "fp in ASTRA's order failed"
run bp -g "$cone" -i astra.h5 -o out.h5
expect_status 2
expect_err_has "; they fit as row,angle,col: try --proj-axes row,angle,col"
mkdir emptydir
run bp -g "$cone" -i emptydir/ -o out.h5
expect_status 2
expect_err "kkit: bp: 'emptydir/' holds no .tif or .tiff files"
expect_no_file out.h5

# Outputs.
run fp -g "$cone" -i vol.h5 -o nodir/out.h5
expect_status 2
expect_err "kkit: fp: cannot write output 'nodir/out.h5': No such file or directory"
expect_no_file nodir
run fp -g "$cone" -i vol.h5 -o proj.h5
expect_status 2
expect_err "kkit: fp: 'proj.h5' exists: use --force to replace it"
expect_no_temporaries

# Interrupted: exit 130 (SIGINT) or 143 (SIGTERM); the temporary is gone
# and no output appears.  The run is made long enough to be caught.
big=$KKIT_DATA/cone.json
"$KKIT" phantom -g "$big" -o bigvol.h5 || fail "phantom failed"
for sig in INT TERM; do
	"$KKIT" fp -g "$big" -i bigvol.h5 -o sig.h5 -j 1 2>sig.err &
	pid=$!
	for _ in $(seq 100); do
		ls -a | grep -q '^\.sig\.h5\.kkit' && break
		sleep 0.05
	done
	sleep 0.2
	kill -s "$sig" "$pid"
	wait "$pid"
	status=$?
	want=$([ "$sig" = INT ] && echo 130 || echo 143)
	[ "$status" -eq "$want" ] ||
		fail "SIG$sig: exit status $status, expected $want"
	grep -qF "kkit: fp: interrupted by SIG$sig" sig.err ||
		fail "SIG$sig: stderr was $(cat sig.err)"
	expect_no_file sig.h5
	expect_no_temporaries
done
finish
