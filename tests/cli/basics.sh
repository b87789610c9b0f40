#!/bin/bash
# basics.sh: help, version, info, and phantom -> fp -> bp on small 3D
# and 2D geometries, with the exit statuses and files a script relies on.
. "$(dirname "$0")/lib.sh"
cone=$KKIT_TESTDATA/small_cone.json
par2d=$KKIT_TESTDATA/small_par2d.json

run --version
expect_status 0
grep -qx "kkit [0-9.]*" out || fail "--version printed: $(cat out)"

run --help
expect_status 0
for c in phantom fp bp info; do
	grep -q "^  $c " out || fail "--help does not list '$c'"
done

run
expect_status 2
run frobnicate
expect_status 2
expect_err_has "kkit: 'frobnicate' is not a kkit command"

for c in phantom fp bp info; do
	run "$c" --help
	expect_status 0
	grep -q "^usage: kkit $c" out || fail "$c --help: $(head -1 out)"
	[ ! -s err ] || fail "$c --help wrote to stderr: $(cat err)"
done
run help fp
expect_status 0
grep -q "^usage: kkit fp" out || fail "'kkit help fp' printed: $(head -1 out)"

run info
expect_status 0
expect_err_has "HDF5" out
expect_err_has "cpu" out
run info --json
expect_status 0
expect_err_has '"version":' out
expect_err_has '"devices":' out

# 3D: phantom, fp, bp; quiet on success, nothing half-written around.
run phantom -g "$cone" -o vol.h5
expect_status 0
[ ! -s err ] || fail "phantom printed: $(cat err)"
run fp -g "$cone" -i vol.h5 -o proj.h5
expect_status 0
run bp -g "$cone" -i proj.h5 -o back.h5
expect_status 0
expect_no_temporaries
stat_of proj.h5 >stat.out
expect_err_has "shape 16x20x28 dtype float32" stat.out
stat_of back.h5 >stat.out
expect_err_has "shape 24x24x24 dtype float32" stat.out

# The same with one thread: the reference projectors are deterministic.
run fp -g "$cone" -i vol.h5 -o proj1.h5 -j 1
expect_status 0
compare proj1.h5 proj.h5 0

# -v says what it does; -q says nothing; --progress draws progress.
run fp -g "$cone" -i vol.h5 -o proj.h5 -f -v
expect_status 0
expect_err_has "kkit: fp: geometry '$cone': cone, 16 views of 20 x 28"
expect_err_has "kkit: fp: device: cpu"
run fp -g "$cone" -i vol.h5 -o proj.h5 -f -q --progress
expect_status 0
[ ! -s err ] || fail "-q printed: $(cat err)"
run fp -g "$cone" -i vol.h5 -o proj.h5 -f --progress
expect_status 0
expect_err_has "16/16 views"

# 2D: a 2D image and a 2D sinogram, stored as 2-D arrays.
run phantom -g "$par2d" -o img.h5
expect_status 0
run fp -g "$par2d" -i img.h5 -o sino.h5
expect_status 0
run bp -g "$par2d" -i sino.h5 -o back2d.h5
expect_status 0
stat_of img.h5 >stat.out
expect_err_has "shape 32x40 dtype float32" stat.out
stat_of sino.h5 >stat.out
expect_err_has "shape 20x48 dtype float32" stat.out
stat_of back2d.h5 >stat.out
expect_err_has "shape 32x40 dtype float32" stat.out

# --force replaces; without it the output is refused and kept.
cp proj.h5 keep.h5
run fp -g "$cone" -i vol.h5 -o proj.h5
expect_status 2
expect_err "kkit: fp: 'proj.h5' exists: use --force to replace it"
compare proj.h5 keep.h5 0
run fp -g "$cone" -i vol.h5 -o proj.h5 --force
expect_status 0

# Phantom options.
run phantom -g "$cone" -o ball.h5 --type ball --size 0.5 --supersample 2
expect_status 0
run phantom -g "$cone" -o rnd.h5 --type random --seed 3
expect_status 0
run phantom -g "$cone" -o rnd2.h5 --type random --seed 3
expect_status 0
compare rnd.h5 rnd2.h5 0
finish
