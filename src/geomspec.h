/*
 * geomspec.h: a geometry as a file states it, before it is expanded to
 * vectors.  Both spellings (kkit's keys and ASTRA's) parse into this, and
 * geometry.c builds the struct kk_geometry from it; nothing outside the
 * geometry_*.c files sees it.
 *
 * All arrays are in the user's frame and in (z, y, x) order; a 2D
 * geometry leaves the z entries at their defaults (1 slice of size 1).
 */
#ifndef KK_GEOMSPEC_H
#define KK_GEOMSPEC_H

#include <stdbool.h>
#include <stdint.h>

#include "geometry.h"
#include "jsonutil.h"

struct kk_geom_spec {
	/* volume: shape and the window it covers */
	bool vol_is_2d;         /* two axes given: y and x */
	int64_t shape[3];       /* nz, ny, nx (nz = 1 in 2D) */
	double wmin[3], wmax[3];

	/* projection */
	bool has_projection;
	enum kk_geom_type type;
	int64_t nrows, ncols;
	double pixel[2];        /* row spacing (v), column spacing (u) */
	double offset[2];       /* detector centre moved along v and u */
	double dso, odd;        /* origin-source, origin-detector */
	int64_t nangles;
	double *angles;         /* radians, malloc'ed */
	int64_t nvecs;
	double *vecs;           /* 12 (3D) or 6 (2D) per view, malloc'ed */
	char vec_path[64];      /* "projection.Vectors", for messages */
};

bool kk_geom_type_is_2d(enum kk_geom_type t);
bool kk_geom_type_is_vec(enum kk_geom_type t);
bool kk_geom_type_is_cone(enum kk_geom_type t);

/* projection.type, the same in both spellings. */
int kk_geom_parse_type(const cJSON *proj, struct kk_geom_spec *s,
		       const struct kk_jsrc *src);

/* The two spellings: each parses the "volume" or "projection" member. */
int kk_geom_parse_volume_kkit(const cJSON *vol, struct kk_geom_spec *s,
			      const struct kk_jsrc *src);
int kk_geom_parse_projection_kkit(const cJSON *proj, const char *base_dir,
				  struct kk_geom_spec *s,
				  const struct kk_jsrc *src);
int kk_geom_parse_volume_astra(const cJSON *vol, struct kk_geom_spec *s,
			       const struct kk_jsrc *src);
int kk_geom_parse_projection_astra(const cJSON *proj,
				   struct kk_geom_spec *s,
				   const struct kk_jsrc *src);

/* Expand a spec into vectors, check every view, fill g. */
int kk_geom_build(const struct kk_geom_spec *s, struct kk_geometry *g,
		  struct kk_error *err, const char *name);

/* Angles from a 1-D dataset, NXtomo-aware (io_hdf5.c). */
int kk_hdf5_read_angles(const char *spec, const char *unit,
			double **angles, int64_t *n, struct kk_error *err);

#endif
