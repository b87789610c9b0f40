/*
 * fbp.h: filtered backprojection (parallel beams) and FDK (circular
 * cone and fan beams): what the projections go through before kkit's
 * backprojector sums them.
 *
 * Each pixel is multiplied by a weight (kernels/kk_fbp.cuh: the view's
 * angular step and redundancy, FDK's cosine, Parker's short-scan
 * weight, and the backprojector's own weight undone), each detector row
 * is padded with zeros and ramp filtered (filter.h), and bp then sums
 * the rows with its interpolation; for cone and fan beams it weights
 * by (distance to the detector / distance along the normal)^2, which is
 * FDK's (source to axis / source to voxel)^2 once the weights have
 * divided out the magnification.  So a uniform object of value mu is
 * reconstructed as mu, whatever the pixel sizes, voxel sizes or number
 * of views.
 *
 * The angular weights come from where the views are, not their order:
 * each view gets half the angle between its neighbours (so uneven
 * spacing, repeated turns and interleaved scans are weighted by their
 * density), parallel beams modulo 180 degrees, divergent beams modulo
 * 360 with a factor 1/2 for a full turn and Parker's weights (Parker
 * 1982, for a scan of any length from 180 degrees plus the fan angle up
 * to a turn) for a shorter one.
 */
#ifndef KK_FBP_H
#define KK_FBP_H

#include <stdbool.h>
#include <stdint.h>

#include "array.h"
#include "filter.h"
#include "geometry.h"
#include "msg.h"

struct kk_flatfield;

enum kk_short_scan {
	KK_SHORT_SCAN_AUTO,  /* Parker's weights when a divergent beam's
			      * views cover less than a turn */
	KK_SHORT_SCAN_ON,    /* the same, and a warning on a full turn */
	KK_SHORT_SCAN_OFF,   /* never: views weighted by pi / coverage */
};

struct kk_fbp_opts {
	enum kk_filter_kind filter;
	double cutoff;           /* fraction of Nyquist, (0, 1] */
	double padding;          /* rows padded to >= padding x columns */
	enum kk_short_scan short_scan;
};

void kk_fbp_opts_default(struct kk_fbp_opts *o);
/* "auto", "on", "off"; KK_EUSAGE if none. */
int kk_short_scan_parse(const char *s, enum kk_short_scan *m,
			struct kk_error *err);

/* What a reconstruction of a geometry needs; built by kk_fbp_setup,
 * read only afterwards (the engines share it). */
struct kk_fbp {
	struct kk_fbp_opts opts;
	bool cone;               /* FDK weights (cone and fan beams) */
	int64_t ncols;
	int64_t length;          /* padded row length, even */
	int64_t nfreq;           /* length / 2 + 1 */
	float *response;         /* nfreq: the filter, 1/length in it */
	float *params;           /* KK_FBP_NPAR floats a view */
	int64_t nviews;
	bool parker;             /* Parker's weights apply */
	double delta;            /* Parker's: (coverage - pi) / 2 */
	double coverage;         /* radians the views cover */
	double fan;              /* the fan's half angle (0: parallel) */
	struct kk_flatfield *ff; /* --raw: correct first (flatfield.h);
				  * set by the caller, NULL: off */
};

/*
 * Check that g can be reconstructed this way (parallel rays across the
 * z axis; a source circling the z axis at one height), warn about
 * missing angles, and work out the weights and the filter.  KK_EINPUT
 * names the view that does not fit.  Release with kk_fbp_release.
 */
int kk_fbp_setup(struct kk_fbp *f, const struct kk_geometry *g,
		 const struct kk_fbp_opts *o, struct kk_error *err);
void kk_fbp_release(struct kk_fbp *f);

/* "ram-lak filter, rows padded to 512, views cover 360.0 degrees": for
 * -v. */
void kk_fbp_describe(const struct kk_fbp *f, char *buf, size_t n);

/*
 * Weight and filter in place, on the CPU, rows [row0, row0 + nrows) of
 * views [view0, view0 + nviews), stored in axes order with the columns
 * last (the layout of a bp projection buffer).
 */
int kk_fbp_filter_cpu(const struct kk_fbp *f, float *data,
		      const struct kk_axes *axes, int64_t view0,
		      int64_t nviews, int64_t row0, int64_t nrows,
		      int nthreads, struct kk_error *err);

#endif
