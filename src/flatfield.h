/*
 * flatfield.h: --raw, the pre-processing of raw detector counts into the
 * line integrals the reconstructions take: flat-field and dark
 * correction, then -log, the transmission clipped (kernels/
 * kk_flatfield.cuh) and the clipped values counted.
 *
 * The flat fields (beam, no sample) and darks (no beam) come from the
 * projections' own NXtomo file (frames with image_key 1 and 2) or from
 * files of their own (--flats, --darks): each a stack of frames stored
 * like the projections, the frames along the angle axis (a 2-D file:
 * one frame, or for a one-row detector a stack of rows).  Each is
 * averaged over its frames.
 *
 * kkit fbp corrects on the GPU inside the stream (gpu_fbp.c) or on the
 * CPU (kk_flatfield_apply); kkit sirt and cgls correct the projections
 * once, as they read them.
 */
#ifndef KK_FLATFIELD_H
#define KK_FLATFIELD_H

#include <stdbool.h>
#include <stdint.h>

#include "array.h"
#include "geometry.h"
#include "io.h"
#include "msg.h"

#define KK_TRANSMISSION_FLOOR_DEFAULT 1e-6

struct kk_flatfield_opts {
	bool on;              /* --raw (or --flats, --darks, --no-darks) */
	const char *flats;    /* --flats SPEC; NULL: image_key 1 frames */
	const char *darks;    /* --darks SPEC; NULL: image_key 2 frames */
	bool no_darks;        /* --no-darks: the detector has no offset */
	double tmin;          /* --transmission-floor */
	bool tmin_set;        /* ... given */
};

void kk_flatfield_opts_default(struct kk_flatfield_opts *o);

/* What the correction needs for each detector pixel, and what it has
 * counted so far (engines add to the counts from several threads). */
struct kk_flatfield {
	int64_t nrows, ncols;
	float *dark, *gain;       /* nrows x ncols: gain = 1 / (flat -
				   * dark), 0 where flat <= dark */
	float tmin;
	int64_t nflats, ndarks;   /* frames averaged (0 darks: none) */
	int64_t dead;             /* pixels whose flat <= dark */
	char flats_from[1100], darks_from[1100];  /* for messages */
	int64_t clipped, seen;    /* values clipped / corrected so far */
};

/* Rows [lo, hi) less [xlo, xhi) of an upload are read for the first
 * time: only there do corrected values count (a cone beam's volume
 * slabs read some rows more than once).  NULL: every row counts. */
struct kk_fresh_rows {
	int64_t lo, hi, xlo, xhi;
};

bool kk_fresh_row(const struct kk_fresh_rows *f, int64_t row);
/* How many of rows [row0, row0 + nrows) are fresh. */
int64_t kk_fresh_count(const struct kk_fresh_rows *f, int64_t row0,
		       int64_t nrows);

/*
 * Read and average the flat fields and darks for the projections input
 * (stored in axes order) of geometry g.  KK_EINPUT names the file and
 * what did not fit: no flats, a shape other than the detector's.  Warns
 * about pixels whose flat is not above their dark, and when there are
 * no darks and --no-darks was not given; says what it read with -v.
 */
int kk_flatfield_setup(struct kk_flatfield *ff,
		       const struct kk_flatfield_opts *o, const char *input,
		       const struct kk_geometry *g, const struct kk_axes *axes,
		       struct kk_error *err);
void kk_flatfield_release(struct kk_flatfield *ff);

/* "--raw: 20 flat fields from 'scan.nxs:/entry/.../data (image_key
 * 1)', 10 darks from ..., transmission clipped to [1e-06, 1e+06]": -v. */
void kk_flatfield_describe(const struct kk_flatfield *ff, char *buf,
			   size_t n);

/*
 * Correct in place views [0, nviews) x rows [row0, row0 + nrows) x all
 * columns, stored in axes order (any), and count what fresh rows hold.
 */
int kk_flatfield_apply(struct kk_flatfield *ff, float *data,
		       const struct kk_axes *axes, int64_t nviews,
		       int64_t row0, int64_t nrows,
		       const struct kk_fresh_rows *fresh, int nthreads,
		       struct kk_error *err);

/* Add to the counts (thread safe). */
void kk_flatfield_count(struct kk_flatfield *ff, int64_t clipped,
			int64_t seen);

/* After a run: a warning when values were clipped, a -v line when
 * none were. */
void kk_flatfield_report(const struct kk_flatfield *ff);

/* Without --raw: warn when input looks like raw counts (integers, in an
 * NXtomo file with flat fields). */
void kk_flatfield_hint(const char *input, const struct kk_reader *proj);

#endif
