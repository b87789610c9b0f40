#!/bin/bash
# example.sh: the README's example, as written there: a Shepp-Logan
# phantom on data/cone.json, its forward projection and backprojection.
. "$(dirname "$0")/lib.sh"
geom=$KKIT_DATA/cone.json

run phantom -g "$geom" -o phantom.h5
expect_status 0
run fp -g "$geom" -i phantom.h5 -o proj.h5
expect_status 0
run bp -g "$geom" -i proj.h5 -o bp.h5
expect_status 0
stat_of phantom.h5 >stat.out
expect_err_has "shape 128x128x128 dtype float32 min 0 max 1" stat.out
# The central ray crosses 117.8 of the skull at 1 and 111.9 of the brain
# at -0.8, plus 3.0 of the ellipse at 0.1: 31.2, seen by the cone at 31.5.
stat_of proj.h5 >stat.out
expect_err_has "shape 180x192x192 dtype float32 min 0 max 33.8" stat.out
stat_of bp.h5 >stat.out
expect_err_has "shape 128x128x128" stat.out
finish
