#!/bin/bash
# raw.sh: --raw from the command line: fbp, sirt and cgls of raw uint16
# counts in an NXtomo file (flats and darks from its image_key) give what
# they give from the line integrals; flats and darks from files of their
# own give the same; clipped values are counted and reported; --slices
# reads the same; integers with flat fields and no --raw draw a warning;
# bad uses are refused with exit 2 and no output.  DEVICE (default cpu)
# chooses the device, so that scripts/gpu-check can run this on a GPU.
. "$(dirname "$0")/lib.sh"
: "${MKRAW:?}"
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
"$MKRAW" p.h5 scan.nxs flats.tif darks.h5 || fail "mkraw failed"
"$MKRAW" -z 7 p.h5 bad.nxs || fail "mkraw -z failed"
"$MKRAW" -n p.h5 nodark.nxs || fail "mkraw -n failed"

# fbp: raw counts give the line integrals' result, but for the counts'
# rounding to integers (the deepest rays keep 8 counts of 20000; numpy's
# -log of the same counts, reconstructed, agrees with --raw to 1.2e-7).
run fbp -g geom.json -i p.h5 -o ref.h5 --device $device
expect_status 0
run fbp -g geom.json -i scan.nxs -o raw.h5 --raw --device $device -v
expect_status 0
expect_err_has "--raw: 5 flat fields from 'scan.nxs:/entry/instrument/detector/data (image_key 1)', 2 darks from"
expect_err_has "using 60 of 67 frames (image_key 0; 5 flats, 2 darks"
expect_err_has "--raw: no value clipped among 80640"
compare raw.h5 ref.h5 3e-3

# The same from flats and darks in files of their own (not rounded to
# integers: a little closer to ref.h5).
run fbp -g geom.json -i scan.nxs -o files.h5 --flats flats.tif \
	--darks darks.h5 --device $device
expect_status 0
compare files.h5 raw.h5 1e-5
run fbp -g geom.json -i nodark.nxs -o files2.h5 --flats flats.tif \
	--darks darks.h5 --device $device
expect_status 0
compare files2.h5 files.h5 0

# Without darks the offset is missing: a warning, and a larger error;
# --no-darks says so on purpose and is quiet.
run fbp -g geom.json -i nodark.nxs -o nodark.h5 --raw --device $device
expect_status 0
expect_err_has "no darks ('nodark.nxs' has no frames with image_key 2, and no --darks): the dark is taken as 0; say --no-darks if the detector has no offset"
run fbp -g geom.json -i nodark.nxs -o nodark2.h5 --raw --no-darks \
	--device $device
expect_status 0
[ ! -s err ] || fail "--no-darks printed: $(cat err)"
compare nodark2.h5 nodark.h5 0
"$KKCMP" nodark.h5 ref.h5 3e-3 >/dev/null &&
	fail "no darks made no difference"

# Clipped values are counted, once, also when slabs re-read rows.
run fbp -g geom.json -i bad.nxs -o bad.h5 --raw --device $device
expect_status 0
expect_err_has "kkit: fbp: warning: --raw clipped 7 of 80640 values (0.00868%)"
limit=80K
[ "$device" = cpu ] || limit=120K
run fbp -g geom.json -i bad.nxs -o bad2.h5 --raw --device $device \
	--mem-limit $limit -v
expect_status 0
grep -q "plan: [2-9][0-9]* slabs" err || fail "one slab: $(grep plan: err)"
expect_err_has "--raw clipped 7 of 80640 values"
# cuFFT batches of another size round a little differently on a GPU
compare bad2.h5 bad.h5 2e-5

# --slices reads only the rows it needs, corrected alike.
run fbp -g geom.json -i scan.nxs -o part.h5 --raw --slices 4:12 \
	--device $device
expect_status 0
run fbp -g geom.json -i p.h5 -o partref.h5 --slices 4:12 --device $device
expect_status 0
compare part.h5 partref.h5 3e-3

# An NXtomo file given as --flats gives its flat frames, not its
# projections.
run fbp -g geom.json -i scan.nxs -o nx.h5 --flats scan.nxs --device $device
expect_status 0
compare nx.h5 raw.h5 0

# Integers and flat fields without --raw: a warning.
run fbp -g geom.json -i scan.nxs -o plain.h5 --device $device
expect_status 0
expect_err_has "holds integers and flat fields (image_key 1): if they are raw counts, reconstruct with --raw"

# sirt and cgls correct once as they read.
run sirt -g geom.json -i p.h5 -o s.h5 -n 5 --device $device
expect_status 0
run sirt -g geom.json -i scan.nxs -o sraw.h5 -n 5 --raw --device $device
expect_status 0
compare sraw.h5 s.h5 1e-3
run cgls -g geom.json -i p.h5 -o c.h5 -n 5 --device $device
expect_status 0
run cgls -g geom.json -i bad.nxs -o craw.h5 -n 5 --raw --device $device
expect_status 0
expect_err_has "--raw clipped 7 of 80640 values"

# A checkpoint records --raw: one of a run without it is refused.
run sirt -g geom.json -i scan.nxs -o ck.h5 -n 2 --raw --checkpoint ck.ckpt \
	--device $device
expect_status 0
run sirt -g geom.json -i scan.nxs -o ck2.h5 -n 4 --checkpoint ck.ckpt \
	--resume --device $device
expect_status 2
expect_err_has "raw: flats"
expect_no_file ck2.h5

# Refusals: exit 2, no output.
run phantom -g geom.json -o ph.tif
expect_status 0
run fp -g geom.json -i ph.h5 -o ptif/ --device $device
expect_status 0
run fbp -g geom.json -i ptif/ -o x.h5 --raw --device $device
expect_status 2
expect_err_has "--raw needs flat fields: 'ptif/' has no frames with image_key 1 (NXtomo); give them with --flats FILE"
expect_no_file x.h5
cat >small.json <<'JSON'
{"volume": {"shape": [4, 8, 8]},
 "projection": {"type": "parallel3d", "detector": {"shape": [4, 8],
  "pixel_size": 1.0},
  "angles": {"start": 0, "stop": 180, "count": 5, "unit": "degree"}}}
JSON
run phantom -g small.json -o small.h5
expect_status 0
run fbp -g geom.json -i scan.nxs -o x.h5 --flats small.h5 --device $device
expect_status 2
expect_err_has "'small.h5:/data' holds flat fields of shape 4 x 8 x 8 but the geometry needs 4 x 24 x 56 (frame,row,col)"
expect_no_file x.h5
run fbp -g geom.json -i scan.nxs -o x.h5 --darks darks.h5 --no-darks
expect_status 2
expect_err_has "--darks and --no-darks contradict each other"
run fbp -g geom.json -i scan.nxs -o x.h5 --flats darks.h5 \
	--darks flats.tif --device $device
expect_status 2
expect_err_has "no detector pixel's flat field ('darks.h5:/data') is above its dark ('flats.tif'): are they flat fields and darks, and not swapped?"
expect_no_file x.h5
run fbp -g geom.json -i p.h5 -o x.h5 --transmission-floor 1e-3
expect_status 2
expect_err_has "--transmission-floor needs --raw (or --flats or --darks)"
run sirt -g geom.json -i p.h5 -o x.h5 --no-darks
expect_status 2
expect_err_has "--no-darks needs --raw (or --flats or --darks)"
expect_no_file x.h5
run fbp -g geom.json -i scan.nxs -o x.h5 --raw --transmission-floor 0
expect_status 2
expect_err_has "invalid --transmission-floor '0': expected a number from 1e-30 to 0.5"
run fbp -g geom.json -i scan.nxs -o x.h5 --flats nope.h5
expect_status 2
expect_err_has "nope.h5"
expect_no_file x.h5
run bp -g geom.json -i scan.nxs -o x.h5 --raw
expect_status 2
expect_err_has "unknown option '--raw'"
expect_no_temporaries

finish
