/*
 * flatfield.c: --raw's flat fields and darks, read and averaged, the
 * correction on the CPU, and the counts it reports (flatfield.h).
 */
#include "config.h"
#include "flatfield.h"
#include "kk_flatfield.cuh"
#include "parallel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kk_flatfield_opts_default(struct kk_flatfield_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->tmin = KK_TRANSMISSION_FLOOR_DEFAULT;
}

bool kk_fresh_row(const struct kk_fresh_rows *f, int64_t row)
{
	return !f || (row >= f->lo && row < f->hi &&
		      !(row >= f->xlo && row < f->xhi));
}

static int64_t overlap(int64_t a0, int64_t a1, int64_t b0, int64_t b1)
{
	int64_t lo = a0 > b0 ? a0 : b0, hi = a1 < b1 ? a1 : b1;

	return hi > lo ? hi - lo : 0;
}

int64_t kk_fresh_count(const struct kk_fresh_rows *f, int64_t row0,
		       int64_t nrows)
{
	int64_t lo, hi;

	if (!f)
		return nrows;
	lo = f->lo > row0 ? f->lo : row0;
	hi = f->hi < row0 + nrows ? f->hi : row0 + nrows;
	if (hi <= lo)
		return 0;
	return hi - lo - overlap(lo, hi, f->xlo, f->xhi);
}

/* "frame,row,col": the projections' order, frames for angles. */
static void frame_axes(const struct kk_axes *axes, char *buf, size_t n)
{
	static const char *const names[3] = {"frame", "row", "col"};
	const char *at[3];
	int a;

	for (a = 0; a < 3; a++)
		at[axes->where[a]] = names[a];
	snprintf(buf, n, "%s,%s,%s", at[0], at[1], at[2]);
}

/* Check r's shape against g's detector: a stack of frames along the
 * angle axis, or one 2-D frame (a one-row detector: 2-D is a stack of
 * rows).  *nframes: how many. */
static int expect_frames(struct kk_reader *r, const struct kk_geometry *g,
			 const struct kk_axes *axes, const char *what,
			 int64_t *nframes, struct kk_error *err)
{
	const struct kk_stack_info *info = kk_reader_info(r);
	const int *where = axes->where;
	int64_t want[3];
	char names[32];
	int squeeze = where[KK_ANGLE];

	frame_axes(axes, names, sizeof(names));
	want[where[KK_ROW]] = g->nrows;
	want[where[KK_COL]] = g->ncols;
	if (info->rank == 3) {
		want[where[KK_ANGLE]] = info->dims[where[KK_ANGLE]];
	} else if (g->nrows == 1 && info->dims[where[KK_ANGLE] <
					       where[KK_COL] ? 1 : 0] ==
				    g->ncols) {
		squeeze = where[KK_ROW];
		want[where[KK_ANGLE]] =
			info->dims[where[KK_ANGLE] < where[KK_COL] ? 0 : 1];
	} else {
		want[where[KK_ANGLE]] = 1;
	}
	*nframes = want[where[KK_ANGLE]];
	if (*nframes < 1)
		return kk_fail(err, KK_EINPUT, "'%s' holds no %s",
			       kk_reader_name(r), what);
	if (kk_reader_expect(r, want, squeeze, what, names, err) == 0)
		return 0;
	if (info->rank == 3 && where[KK_ANGLE] != 0) {
		size_t len = strlen(err->msg);

		snprintf(err->msg + len, sizeof(err->msg) - len, "; they are "
			 "stored like the projections (--proj-axes), with "
			 "frames where the views are");
	}
	return err->code;
}

/* The mean of r's frames into mean (nrows x ncols, row major). */
static int average(struct kk_reader *r, const struct kk_geometry *g,
		   const struct kk_axes *axes, const char *what,
		   float *mean, int64_t *nframes, struct kk_error *err)
{
	const int64_t npix = g->nrows * g->ncols;
	const bool row_first = axes->where[KK_ROW] < axes->where[KK_COL];
	double *sum = NULL;
	float *frame = NULL;
	int64_t f, i, rr, c;
	int rc;

	rc = expect_frames(r, g, axes, what, nframes, err);
	if (rc)
		return rc;
	sum = calloc((size_t)npix, sizeof(*sum));
	frame = malloc((size_t)npix * sizeof(*frame));
	if (!sum || !frame) {
		rc = kk_fail(err, KK_ENOMEM, "out of memory for the %s", what);
		goto out;
	}
	for (f = 0; f < *nframes && !rc; f++) {
		rc = kk_reader_read(r, axes->where[KK_ANGLE], f, 1, frame,
				    err);
		for (i = 0; i < npix && !rc; i++)
			sum[i] += frame[i];
	}
	for (rr = 0; rr < g->nrows && !rc; rr++)
		for (c = 0; c < g->ncols; c++)
			mean[rr * g->ncols + c] = (float)(
				sum[row_first ? rr * g->ncols + c
					      : c * g->nrows + rr] /
				(double)*nframes);
out:
	free(sum);
	free(frame);
	return rc;
}

/* The frames with image_key key of spec (an NXtomo file's), or all of
 * spec (another file), or (spec NULL) input's frames with that key; *r
 * NULL when there are none. */
static int open_frames(struct kk_reader **r, const char *spec,
		       const char *input, int key, char *from, size_t n,
		       struct kk_error *err)
{
	int rc = kk_reader_open_key(r, spec ? spec : input, key, err);

	if (!rc && !*r && spec)
		rc = kk_reader_open(r, spec, err);

	if (!rc && *r)
		snprintf(from, n, "%s", kk_reader_name(*r));
	return rc;
}

/* gain = 1 / (flat - dark) where that is positive, else 0; none
 * positive is an error. */
static int make_gain(struct kk_flatfield *ff, const float *flat,
		     struct kk_error *err)
{
	int64_t i, npix = ff->nrows * ff->ncols, first = -1;
	const char *darks = ff->ndarks ? ff->darks_from : "none";

	for (i = 0; i < npix; i++) {
		float d = flat[i] - ff->dark[i];

		ff->gain[i] = d > 0 && 1.0f / d < 3.4e38f ? 1.0f / d : 0.0f;
		if (ff->gain[i] == 0 && ff->dead++ == 0)
			first = i;
	}
	if (ff->dead == npix)
		return kk_fail(err, KK_EINPUT, "no detector pixel's flat field "
			       "('%s') is above its dark ('%s'): are they "
			       "flat fields and darks, and not swapped?",
			       ff->flats_from, darks);
	if (ff->dead)
		kk_msg_warn("%lld detector pixel%s ha%s a flat field ('%s') "
			    "not above the dark ('%s'), the first at row %lld, "
			    "column %lld: clipped in every view",
			    (long long)ff->dead, ff->dead == 1 ? "" : "s",
			    ff->dead == 1 ? "s" : "ve", ff->flats_from, darks,
			    (long long)(first / ff->ncols),
			    (long long)(first % ff->ncols));
	return 0;
}

int kk_flatfield_setup(struct kk_flatfield *ff,
		       const struct kk_flatfield_opts *o, const char *input,
		       const struct kk_geometry *g, const struct kk_axes *axes,
		       struct kk_error *err)
{
	const int64_t npix = g->nrows * g->ncols;
	struct kk_reader *r = NULL;
	float *flat = NULL;
	char desc[2500];
	int rc;

	memset(ff, 0, sizeof(*ff));
	ff->nrows = g->nrows;
	ff->ncols = g->ncols;
	ff->tmin = (float)o->tmin;
	rc = open_frames(&r, o->flats, input, 1, ff->flats_from,
			 sizeof(ff->flats_from), err);
	if (!rc && !r)
		return kk_fail(err, KK_EINPUT, "--raw needs flat fields: "
			       "'%s' has no frames with image_key 1 (NXtomo); "
			       "give them with --flats FILE", input);
	flat = malloc((size_t)npix * sizeof(*flat));
	ff->dark = calloc((size_t)npix, sizeof(*ff->dark));
	ff->gain = malloc((size_t)npix * sizeof(*ff->gain));
	if (!rc && (!flat || !ff->dark || !ff->gain))
		rc = kk_fail(err, KK_ENOMEM, "out of memory for the flat "
			     "fields of %lld pixels", (long long)npix);
	if (!rc)
		rc = average(r, g, axes, "flat fields", flat, &ff->nflats,
			     err);
	kk_reader_close(r);
	r = NULL;
	if (!rc && !o->no_darks)
		rc = open_frames(&r, o->darks, input, 2, ff->darks_from,
				 sizeof(ff->darks_from), err);
	if (!rc && r)
		rc = average(r, g, axes, "darks", ff->dark, &ff->ndarks, err);
	kk_reader_close(r);
	if (!rc && !o->no_darks && !ff->ndarks)
		kk_msg_warn("no darks ('%s' has no frames with image_key 2, "
			    "and no --darks): the dark is taken as 0; say "
			    "--no-darks if the detector has no offset", input);
	if (!rc)
		rc = make_gain(ff, flat, err);
	free(flat);
	if (rc) {
		kk_flatfield_release(ff);
		return rc;
	}
	kk_flatfield_describe(ff, desc, sizeof(desc));
	kk_msg_verbose("%s", desc);
	return 0;
}

void kk_flatfield_release(struct kk_flatfield *ff)
{
	free(ff->dark);
	free(ff->gain);
	ff->dark = ff->gain = NULL;
}

void kk_flatfield_describe(const struct kk_flatfield *ff, char *buf,
			   size_t n)
{
	int len = snprintf(buf, n, "--raw: %lld flat field%s from '%s', ",
			   (long long)ff->nflats, ff->nflats == 1 ? "" : "s",
			   ff->flats_from);

	if (len < 0 || (size_t)len >= n)
		return;
	if (ff->ndarks)
		len += snprintf(buf + len, n - (size_t)len, "%lld dark%s from "
				"'%s'", (long long)ff->ndarks,
				ff->ndarks == 1 ? "" : "s", ff->darks_from);
	else
		len += snprintf(buf + len, n - (size_t)len, "no darks");
	if (len > 0 && (size_t)len < n)
		snprintf(buf + len, n - (size_t)len, ", transmission clipped "
			 "to [%g, %g]", ff->tmin, 1.0 / ff->tmin);
}

/* ---- on the CPU ---------------------------------------------------- */

struct apply_ctx {
	struct kk_flatfield *ff;
	float *data;
	int64_t dims[3];      /* as stored */
	int axis_at[3];       /* the logical axis stored at position i */
	int64_t row0;
	const struct kk_fresh_rows *fresh;
	int64_t clipped;
};

/* Lines of the stored array: fixed first two indices, the last runs. */
static void apply_lines(void *arg, int64_t begin, int64_t end)
{
	struct apply_ctx *c = arg;
	const struct kk_flatfield *ff = c->ff;
	int64_t line, i, at[3], clipped = 0;

	for (line = begin; line < end; line++) {
		float *p = c->data + line * c->dims[2];

		at[c->axis_at[0]] = line / c->dims[1];
		at[c->axis_at[1]] = line % c->dims[1];
		for (i = 0; i < c->dims[2]; i++) {
			int64_t row, pix;
			int n = 0;

			at[c->axis_at[2]] = i;
			row = c->row0 + at[KK_ROW];
			pix = row * ff->ncols + at[KK_COL];
			p[i] = kk_flatfield(p[i], ff->dark[pix], ff->gain[pix],
					    ff->tmin, &n);
			if (n && kk_fresh_row(c->fresh, row))
				clipped++;
		}
	}
	__atomic_fetch_add(&c->clipped, clipped, __ATOMIC_RELAXED);
}

int kk_flatfield_apply(struct kk_flatfield *ff, float *data,
		       const struct kk_axes *axes, int64_t nviews,
		       int64_t row0, int64_t nrows,
		       const struct kk_fresh_rows *fresh, int nthreads,
		       struct kk_error *err)
{
	struct apply_ctx c;
	int a, rc;

	memset(&c, 0, sizeof(c));
	c.ff = ff;
	c.data = data;
	c.row0 = row0;
	c.fresh = fresh;
	for (a = 0; a < 3; a++) {
		c.axis_at[axes->where[a]] = a;
		c.dims[axes->where[a]] = a == KK_ANGLE ? nviews
					 : a == KK_ROW ? nrows : ff->ncols;
	}
	rc = kk_parallel_for(c.dims[0] * c.dims[1], nthreads, apply_lines, &c,
			     err);
	if (!rc)
		kk_flatfield_count(ff, c.clipped, nviews * ff->ncols *
				   kk_fresh_count(fresh, row0, nrows));
	return rc;
}

void kk_flatfield_count(struct kk_flatfield *ff, int64_t clipped,
			int64_t seen)
{
	__atomic_fetch_add(&ff->clipped, clipped, __ATOMIC_RELAXED);
	__atomic_fetch_add(&ff->seen, seen, __ATOMIC_RELAXED);
}

void kk_flatfield_report(const struct kk_flatfield *ff)
{
	if (!ff->clipped) {
		kk_msg_verbose("--raw: no value clipped among %lld",
			       (long long)ff->seen);
		return;
	}
	kk_msg_warn("--raw clipped %lld of %lld values (%.3g%%): their "
		    "transmission (raw - dark) / (flat - dark) was below %g, "
		    "above %g or not a number", (long long)ff->clipped,
		    (long long)ff->seen,
		    100.0 * (double)ff->clipped / (double)(ff->seen ? ff->seen
								      : 1),
		    ff->tmin, 1.0 / ff->tmin);
}

void kk_flatfield_hint(const char *input, const struct kk_reader *proj)
{
	enum kk_dtype t = kk_reader_info(proj)->dtype;
	struct kk_reader *flats = NULL;
	struct kk_error err = {0};

	if (t == KK_F16 || t == KK_F32 || t == KK_F64)
		return;
	if (kk_reader_open_key(&flats, input, 1, &err) || !flats)
		return;
	kk_reader_close(flats);
	kk_msg_warn("'%s' holds integers and flat fields (image_key 1): if "
		    "they are raw counts, reconstruct with --raw",
		    kk_reader_name(proj));
}
