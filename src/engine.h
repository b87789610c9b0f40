/*
 * engine.h: forward and back projection on a device's own buffers, the
 * operations that the streaming executors (stream_fp.c, stream_bp.c)
 * put in order.
 *
 * An engine owns volume buffers (slices of the volume) and projection
 * buffers (views of some detector rows), and does four things with
 * them: upload from a host buffer, clear, project, download to a host
 * buffer.  On a GPU they are queued on streams and return at once; the
 * engine orders them on the device by itself (a projection waits for the
 * uploads it reads, a download for the projection it copies, an upload
 * for the projection still reading the buffer it overwrites), and a host
 * buffer is safe to touch again after kk_hbuf_wait.  On the CPU each is
 * done when it returns.
 *
 * Data in host buffers: float32, or float16 where the engine says it
 * stores that type (the pipeline converts in its threads).  Volume
 * slices are (z, y, x); projections in the axis order the engine was
 * made for.
 */
#ifndef KK_ENGINE_H
#define KK_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "array.h"
#include "device.h"
#include "geometry.h"
#include "msg.h"

/* ---- forward projection -------------------------------------------- */

/* The most projection buffers an fp engine holds. */
#define KK_FP_MAX_PROJ 8

struct kk_fp_layout {
	int64_t slices;          /* slices a volume buffer holds */
	int nvol;                /* volume buffers */
	int64_t views;           /* views a projection buffer holds (all
				  * rows, float32) */
	int nproj;               /* projection buffers */
	struct kk_axes axes;     /* the projections' order */
};

/* One forward projection: the volume buffer holds slices [base, base +
 * slices); slices [zlo, zhi) count (the others are zero); rows [row_lo,
 * row_hi) of views [view0, view0 + nviews) are computed into the
 * projection buffer, added or stored. */
struct kk_fp_job {
	int vol, proj;
	int64_t base, zlo, zhi;
	int64_t view0, nviews;
	int64_t row_lo, row_hi;
	bool accumulate;
	struct kk_progress *progress;  /* given units as the work is done */
	double units;
};

struct kk_fp_engine;

struct kk_fp_engine_ops {
	int (*upload)(struct kk_fp_engine *e, int vol, int64_t at,
		      int64_t nz, struct kk_hbuf *hb, struct kk_error *err);
	int (*clear)(struct kk_fp_engine *e, int proj, int64_t nviews,
		     struct kk_error *err);
	int (*run)(struct kk_fp_engine *e, const struct kk_fp_job *job,
		   struct kk_error *err);
	int (*download)(struct kk_fp_engine *e, int proj, int64_t nviews,
			struct kk_hbuf *hb, struct kk_error *err);
	bool (*idle)(struct kk_fp_engine *e);
	void (*destroy)(struct kk_fp_engine *e);
};

struct kk_fp_engine {
	const struct kk_fp_engine_ops *ops;
	struct kk_device *dev;
	const struct kk_geometry *geo;
	struct kk_fp_layout layout;
	bool vol_half;           /* uploads are float16 */
	bool whole_volume;       /* runs need every slice uploaded (the
				  * texture projector): no slab by slab */
};

/* Allocate the buffers of the layout (KK_ENOMEM when they do not fit). */
int kk_fp_engine_create(struct kk_fp_engine **e, struct kk_device *d,
			const struct kk_geometry *g,
			const struct kk_fp_layout *l, struct kk_error *err);
void kk_fp_engine_free(struct kk_fp_engine *e);
/* Slices [at, at + nz) of volume buffer vol from hb. */
int kk_fp_upload(struct kk_fp_engine *e, int vol, int64_t at, int64_t nz,
		 struct kk_hbuf *hb, struct kk_error *err);
/* Zero the first nviews views of projection buffer proj. */
int kk_fp_clear(struct kk_fp_engine *e, int proj, int64_t nviews,
		struct kk_error *err);
int kk_fp_run(struct kk_fp_engine *e, const struct kk_fp_job *job,
	      struct kk_error *err);
/* The first nviews views of projection buffer proj into hb. */
int kk_fp_download(struct kk_fp_engine *e, int proj, int64_t nviews,
		   struct kk_hbuf *hb, struct kk_error *err);
/* Has every run queued so far finished (the device would wait)? */
bool kk_fp_idle(struct kk_fp_engine *e);

/* ---- backprojection ------------------------------------------------ */

struct kk_fbp;
struct kk_fresh_rows;

struct kk_bp_layout {
	int64_t slices;          /* slices a volume buffer holds */
	int nvol;
	int64_t views;           /* views a projection buffer holds */
	int64_t rows;            /* rows a projection buffer holds */
	int nproj;
	struct kk_axes axes;     /* the uploads' order: col last */
	const struct kk_fbp *fbp;/* not NULL: weight and filter every
				  * upload (fbp.h), and weight cone and
				  * fan beams alike, FDK's way */
	uint64_t fbp_budget;     /* device bytes the filtering may take
				  * (kk_gpu_fbp_bytes) */
};

/* One backprojection: views [view0, view0 + nviews) with rows [row0,
 * row0 + layout.rows) in projection buffer proj, added into slices [z0,
 * z0 + nz) held by volume buffer vol. */
struct kk_bp_job {
	int proj, vol;
	int64_t view0, nviews, row0;
	int64_t z0, nz;
	struct kk_progress *progress;
	double units;
};

struct kk_bp_engine;

struct kk_bp_engine_ops {
	int (*clear)(struct kk_bp_engine *e, int vol, struct kk_error *err);
	int (*upload)(struct kk_bp_engine *e, int proj, int64_t view0,
		      int64_t nviews, int64_t row0,
		      const struct kk_fresh_rows *fresh, struct kk_hbuf *hb,
		      struct kk_error *err);
	int (*run)(struct kk_bp_engine *e, const struct kk_bp_job *job,
		   struct kk_error *err);
	int (*download)(struct kk_bp_engine *e, int vol, int64_t at,
			int64_t nz, struct kk_hbuf *hb, struct kk_error *err);
	void (*destroy)(struct kk_bp_engine *e);
};

struct kk_bp_engine {
	const struct kk_bp_engine_ops *ops;
	struct kk_device *dev;
	const struct kk_geometry *geo;
	struct kk_bp_layout layout;
	bool proj_half;          /* uploads are float16 */
	bool vol_half;           /* downloads are float16 */
};

int kk_bp_engine_create(struct kk_bp_engine **e, struct kk_device *d,
			const struct kk_geometry *g,
			const struct kk_bp_layout *l, struct kk_error *err);
void kk_bp_engine_free(struct kk_bp_engine *e);
/* Zero volume buffer vol. */
int kk_bp_clear(struct kk_bp_engine *e, int vol, struct kk_error *err);
/* Views [view0, view0 + nviews), rows [row0, row0 + layout.rows) of
 * each, from hb into buffer proj.  fresh: the rows read for the first
 * time, where what fbp's --raw clips counts (flatfield.h; NULL: all). */
int kk_bp_upload(struct kk_bp_engine *e, int proj, int64_t view0,
		 int64_t nviews, int64_t row0,
		 const struct kk_fresh_rows *fresh, struct kk_hbuf *hb,
		 struct kk_error *err);
int kk_bp_run(struct kk_bp_engine *e, const struct kk_bp_job *job,
	      struct kk_error *err);
/* Slices [at, at + nz) of volume buffer vol into hb. */
int kk_bp_download(struct kk_bp_engine *e, int vol, int64_t at, int64_t nz,
		   struct kk_hbuf *hb, struct kk_error *err);

/* The implementations (cpu_engine.c, gpu_fp.c, gpu_bp.c). */
int kk_cpu_fp_engine(struct kk_fp_engine **e, struct kk_device *d,
		     const struct kk_geometry *g,
		     const struct kk_fp_layout *l, struct kk_error *err);
int kk_cpu_bp_engine(struct kk_bp_engine **e, struct kk_device *d,
		     const struct kk_geometry *g,
		     const struct kk_bp_layout *l, struct kk_error *err);
int kk_gpu_fp_engine(struct kk_fp_engine **e, struct kk_device *d,
		     const struct kk_geometry *g,
		     const struct kk_fp_layout *l, struct kk_error *err);
int kk_gpu_bp_engine(struct kk_bp_engine **e, struct kk_device *d,
		     const struct kk_geometry *g,
		     const struct kk_bp_layout *l, struct kk_error *err);

#endif
