/*
 * plan.h: how a streamed fp or bp is cut to fit the memory there is.
 *
 * The volume is cut into slabs along z and the views into chunks.  A
 * forward projection keeps the whole volume on the device when it fits
 * (else it sums the projections of the slabs, re-reading the volume for
 * every chunk of views); a backprojection sums each slab over every chunk
 * and writes it out.  For each (slab, chunk) pair the plan knows the
 * detector rows that matter, so that a cone-beam slab reads only the
 * rows its voxels project to and computes only the rays that cross it.
 *
 * Device buffers: nvol volume buffers of slab slices and nproj
 * projection buffers of chunk views by rows rows.  Host buffers: nin for
 * reading and nout for writing, in_bytes and out_bytes each (float32).
 */
#ifndef KK_PLAN_H
#define KK_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "geometry.h"
#include "msg.h"

struct kk_plan_limits {
	uint64_t device;      /* bytes the device buffers may take */
	const char *device_what; /* "GPU memory", for messages */
	uint64_t host;        /* bytes the host buffers may take */
	int64_t chunk;        /* views per chunk the user asked for; 0 */
	int64_t max_chunk;    /* bp: the most views a buffer holds (a
			       * GPU's texture layers); 0: no limit */
	size_t vol_es;        /* bytes of a voxel on the device */
	size_t proj_es;       /* bytes of a projection pixel (bp input) */
	bool overlap;         /* bp: cut a large volume into slabs even
			       * when it fits, so that writing one slab
			       * overlaps computing the next */
	double in_extra;      /* scratch the reading thread needs, in
			       * input buffers (conversions, gathers) */
	double out_extra;     /* likewise for writing */
};

struct kk_plan {
	bool fp;
	int64_t slab, nslabs;   /* slices a compute slab has; how many */
	int nvol;               /* device volume buffers */
	bool resident;          /* fp: the whole volume in one buffer */
	int64_t chunk, nchunks; /* views a chunk has; how many */
	int64_t rows;           /* rows a projection buffer holds */
	int nproj;              /* device projection buffers (fp with
				 * the whole volume: up to 8) */
	int64_t piece;          /* slices a host volume buffer holds */
	int nin, nout;          /* host buffers */
	uint64_t in_bytes, out_bytes;
	uint64_t device_bytes;  /* what the device buffers take */
	const char *device_what;/* of what: "GPU memory" */
	uint64_t host_bytes;    /* what the host buffers take */
	double read_factor;     /* bp: bytes read / the projections' size */
	int64_t *windows;       /* rows [lo, hi) of (slab s, chunk c) at
				 * [2 * (s * nchunks + c)]; lo == hi: none;
				 * bp's are all rows tall, slid to stay
				 * on the detector */
	bool chunk_shrunk;      /* the chunk asked for did not fit */
};

/*
 * Cut an fp or a bp of g to the limits.  Fails with KK_ENOMEM, saying
 * what would be needed, when not even one slice and one view fit.
 * Release with kk_plan_release.
 */
int kk_plan_fp(struct kk_plan *p, const struct kk_geometry *g,
	       const struct kk_plan_limits *l, struct kk_error *err);
int kk_plan_bp(struct kk_plan *p, const struct kk_geometry *g,
	       const struct kk_plan_limits *l, struct kk_error *err);
void kk_plan_release(struct kk_plan *p);

/* Rows [*lo, *hi) of slab s, chunk c (see windows). */
void kk_plan_window(const struct kk_plan *p, int64_t s, int64_t c,
		    int64_t *lo, int64_t *hi);

/* "8 slabs of 128 slices x 16 chunks of 64 views": for -v. */
void kk_plan_describe(const struct kk_plan *p, char *buf, size_t n);

/*
 * The detector rows [*lo, *hi) that views [v0, v0 + n) need for slices
 * [z0, z1) of the volume: every row that a voxel's backprojection
 * samples, and every row whose rays pass within a voxel of the slices
 * (so their forward projections see them).  A little wider than needed;
 * all rows when some voxel is at or behind a cone's source.
 */
void kk_rows_window(const struct kk_geometry *g, int64_t v0, int64_t n,
		    int64_t z0, int64_t z1, int64_t *lo, int64_t *hi);

#endif
