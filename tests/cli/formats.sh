#!/bin/bash
# formats.sh: the same numbers through every file layout: HDF5 (with a
# dataset path), multi-page TIFF, directories and patterns of single-page
# TIFFs, ASTRA's projection axis order, and float16/uint16 outputs.
. "$(dirname "$0")/lib.sh"
cone=$KKIT_TESTDATA/small_cone.json
par2d=$KKIT_TESTDATA/small_par2d.json

run phantom -g "$cone" -o vol.h5
expect_status 0
run phantom -g "$cone" -o vol.tif
expect_status 0
run phantom -g "$cone" -o slices/
expect_status 0
[ -f slices/slice_00000.tif ] && [ -f slices/slice_00023.tif ] ||
	fail "slices/ holds: $(ls slices | head -3)"
run phantom -g "$cone" -o nested.h5:/entry/recon/volume
expect_status 0
# Into the current directory, and through a link to a directory: it is
# filled in place (the directory itself stays).
mkdir here && cd here || fail "mkdir here"
run phantom -g "$cone" -o ./
expect_status 0
cd .. || exit 99
compare here/ vol.h5
ln -s here there
run phantom -g "$cone" -o there/ --type ball
expect_status 2
expect_err_has "directory 'there' holds TIFF files: use --force"
run phantom -g "$cone" -o there/ --force
expect_status 0
[ -L there ] || fail "the link 'there' was replaced"
compare there/ vol.h5
compare vol.tif vol.h5
compare slices/ vol.h5
compare 'slices/slice_*.tif' vol.h5
compare nested.h5:/entry/recon/volume vol.h5

# fp from each layout, to each layout: the same projections.
run fp -g "$cone" -i vol.h5 -o proj.h5
expect_status 0
run fp -g "$cone" -i vol.tif -o proj.tif
expect_status 0
run fp -g "$cone" -i 'slices/slice_*.tif' -o proj_tiffs/
expect_status 0
[ "$(ls proj_tiffs | wc -l)" -eq 16 ] || fail "proj_tiffs/ holds $(ls proj_tiffs | wc -l) files"
[ -f proj_tiffs/proj_00015.tif ] || fail "proj_tiffs/: $(ls proj_tiffs | head -3)"
compare proj.tif proj.h5
compare proj_tiffs/ proj.h5
run bp -g "$cone" -i proj_tiffs/ -o back.h5
expect_status 0
run bp -g "$cone" -i proj.h5 -o back_ref.h5
expect_status 0
compare back.h5 back_ref.h5

# ASTRA's order: the file is (row, angle, col); bp reads it directly.
run fp -g "$cone" -i vol.h5 -o astra.h5 --proj-axes row,angle,col
expect_status 0
stat_of astra.h5 >stat.out
expect_err_has "shape 20x16x28" stat.out
run bp -g "$cone" -i astra.h5 -o back_astra.h5 --proj-axes astra
expect_status 0
compare back_astra.h5 back_ref.h5 1e-6
# ... also as TIFF sinograms, one file per detector row.
run fp -g "$cone" -i vol.h5 -o sinos/ --proj-axes row,angle,col
expect_status 0
[ -f sinos/sino_00019.tif ] || fail "sinos/: $(ls sinos | head -3)"
compare sinos/ astra.h5

# float16 and uint16 outputs, read back in the original units.
run fp -g "$cone" -i vol.h5 -o half.h5 --dtype float16
expect_status 0
stat_of half.h5 >stat.out
expect_err_has "dtype float16" stat.out
compare half.h5 proj.h5 1e-3
run fp -g "$cone" -i vol.h5 -o u16.h5 --dtype uint16 --range 0:40
expect_status 0
compare u16.h5 proj.h5 1e-4
run fp -g "$cone" -i vol.h5 -o u16.tif --dtype uint16 --range 0:40
expect_status 0
compare u16.tif proj.h5 1e-4
# Values outside the range are clipped, and kkit says how many.
run fp -g "$cone" -i vol.h5 -o clip.h5 --dtype uint16 --range 0:1
expect_status 0
expect_err_has "values outside the range 0:1 were clipped"

# 2D: a single-page TIFF image and sinogram.
run phantom -g "$par2d" -o img.tif
expect_status 0
run fp -g "$par2d" -i img.tif -o sino.tif
expect_status 0
run phantom -g "$par2d" -o img.h5
expect_status 0
run fp -g "$par2d" -i img.h5 -o sino.h5
expect_status 0
compare sino.tif sino.h5
stat_of sino.tif >stat.out
expect_err_has "shape 20x48" stat.out
expect_no_temporaries
finish
