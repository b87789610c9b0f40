/*
 * geometry.h: the volume and projection geometry of a run, as ASTRA
 * defines them, expanded to one vector set per view.
 *
 * Inside kkit every problem is three-dimensional.  The volume is a box of
 * nz x ny x nx voxels (C order z, y, x) of size dz, dy, dx whose lower
 * corner is (xmin, ymin, zmin); voxel (iz, iy, ix) has its centre at
 * x = xmin + (ix + 0.5) dx and likewise for y and z, as in ASTRA 3D.
 *
 * Each view is ASTRA's 12-vector: src (the source position for cone beams,
 * the ray direction for parallel beams), det (the centre of the
 * detector), u (from one column to the next) and v (from one row to the
 * next).  Detector pixel (row r, col c) has its centre at
 *   det + (c - ncols/2 + 0.5) u + (r - nrows/2 + 0.5) v.
 *
 * A 2D geometry (parallel, fanflat, and their _vec forms) becomes a volume
 * of one slice of thickness 1 and a detector of one row with v = (0,0,1).
 * ASTRA's 2D images have row 0 at the largest y, its 3D volumes at the
 * smallest; 2D geometries are therefore mirrored in y on the way in, so
 * that a 2D image and sinogram match ASTRA's 2D ones element by element.
 */
#ifndef KK_GEOMETRY_H
#define KK_GEOMETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "array.h"
#include "msg.h"

enum kk_geom_type {
	KK_GEOM_PARALLEL3D,
	KK_GEOM_PARALLEL3D_VEC,
	KK_GEOM_CONE,
	KK_GEOM_CONE_VEC,
	KK_GEOM_PARALLEL,
	KK_GEOM_PARALLEL_VEC,
	KK_GEOM_FANFLAT,
	KK_GEOM_FANFLAT_VEC,
};

/* ASTRA's name of a type ("cone_vec"); parse returns -1 if unknown. */
const char *kk_geom_type_name(enum kk_geom_type t);
int kk_geom_type_parse(const char *name);

struct kk_volume_geom {
	int64_t nx, ny, nz;
	double dx, dy, dz;
	double xmin, ymin, zmin;
};

struct kk_view {
	double src[3]; /* source (cone) or ray direction (parallel) */
	double det[3];
	double u[3];
	double v[3];
};

struct kk_geometry {
	enum kk_geom_type type;
	bool is_2d;
	bool cone;            /* divergent rays: cone or fanflat */
	struct kk_volume_geom vol;

	bool has_projection;  /* a phantom needs the volume alone */
	int64_t nviews, nrows, ncols;
	struct kk_view *views;    /* nviews of them, kkit's 3D frame */
	double *angles;           /* radians, or NULL for _vec types */

	char *name;           /* the file it came from, for messages */
	char *json;           /* its text, for provenance in outputs */
};

/* Parse flags. */
enum {
	KK_GEOM_VOLUME_ONLY = 1, /* a missing "projection" is fine */
};

/*
 * Read and check a geometry file.  On success *g owns its memory (release
 * it with kk_geometry_release); on failure g is left empty and err says
 * what is wrong, with the JSON path of the value (KK_EINPUT), or why the
 * file could not be read (KK_EINPUT too: it is the user's input).
 */
int kk_geometry_load(const char *path, unsigned flags,
		     struct kk_geometry *g, struct kk_error *err);
/* The same from text in memory; name is used in messages, base_dir to
 * resolve relative file names inside it (NULL: the current directory). */
int kk_geometry_parse(const char *text, size_t len, const char *name,
		      const char *base_dir, unsigned flags,
		      struct kk_geometry *g, struct kk_error *err);
void kk_geometry_release(struct kk_geometry *g);

/* Volume shape as stored: (nz, ny, nx). */
void kk_geometry_volume_dims(const struct kk_geometry *g, int64_t dims[3]);
/* Projection shape as stored in the given axis order. */
void kk_geometry_proj_dims(const struct kk_geometry *g,
			   const struct kk_axes *axes, int64_t dims[3]);
/* One line for -v: "cone, 180 views of 192x192, volume 128x128x128". */
void kk_geometry_describe(const struct kk_geometry *g, char *buf,
			  size_t n);

/* Parse "A:B" (slices A to B - 1; either may be left out, and negative
 * ones count from the end, as in Python) against nz slices; KK_EUSAGE
 * when it is not that or selects nothing. */
int kk_parse_slices(const char *s, int64_t nz, int64_t *z0, int64_t *z1,
		    struct kk_error *err);
/* Keep slices [z0, z1) of the volume: its window shrinks to them, so
 * every voxel stays where it was in the world. */
void kk_geometry_crop_slices(struct kk_geometry *g, int64_t z0, int64_t z1);

#endif
