/*
 * geometry.c: expand a parsed geometry into one ASTRA vector set per view
 * (exactly as ASTRA's geom_2vec does), mirror 2D geometries into kkit's
 * 3D frame, and check every view before any work is done.
 */
#include "config.h"
#include "geomspec.h"
#include "vec3.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[] = {
	[KK_GEOM_PARALLEL3D] = "parallel3d",
	[KK_GEOM_PARALLEL3D_VEC] = "parallel3d_vec",
	[KK_GEOM_CONE] = "cone",
	[KK_GEOM_CONE_VEC] = "cone_vec",
	[KK_GEOM_PARALLEL] = "parallel",
	[KK_GEOM_PARALLEL_VEC] = "parallel_vec",
	[KK_GEOM_FANFLAT] = "fanflat",
	[KK_GEOM_FANFLAT_VEC] = "fanflat_vec",
};

const char *kk_geom_type_name(enum kk_geom_type t)
{
	return type_names[t];
}

int kk_geom_type_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strcmp(name, type_names[i]) == 0)
			return (int)i;
	return -1;
}

bool kk_geom_type_is_2d(enum kk_geom_type t)
{
	return t >= KK_GEOM_PARALLEL;
}

bool kk_geom_type_is_vec(enum kk_geom_type t)
{
	return t == KK_GEOM_PARALLEL3D_VEC || t == KK_GEOM_CONE_VEC ||
	       t == KK_GEOM_PARALLEL_VEC || t == KK_GEOM_FANFLAT_VEC;
}

bool kk_geom_type_is_cone(enum kk_geom_type t)
{
	return t == KK_GEOM_CONE || t == KK_GEOM_CONE_VEC ||
	       t == KK_GEOM_FANFLAT || t == KK_GEOM_FANFLAT_VEC;
}

static void set3(double *a, double x, double y, double z)
{
	a[0] = x;
	a[1] = y;
	a[2] = z;
}

/* One view from the parameters of a circular geometry, ASTRA's geom_2vec
 * in the user's frame (2D ones in the x-y plane, mirrored later). */
static void circular_view(const struct kk_geom_spec *s, double theta,
			  struct kk_view *w)
{
	double c = cos(theta), sn = sin(theta);
	double du = s->pixel[1], dv = s->pixel[0];

	memset(w, 0, sizeof(*w));
	if (s->type == KK_GEOM_CONE || s->type == KK_GEOM_FANFLAT) {
		set3(w->src, sn * s->dso, -c * s->dso, 0);
		set3(w->det, -sn * s->odd, c * s->odd, 0);
	} else {
		set3(w->src, sn, -c, 0);
		set3(w->det, 0, 0, 0);
	}
	set3(w->u, c * du, sn * du, 0);
	set3(w->v, 0, 0, kk_geom_type_is_2d(s->type) ? 1 : dv);
}

/* A view as the user gave it in a _vec geometry. */
static void vector_view(const struct kk_geom_spec *s, int64_t i,
			struct kk_view *w)
{
	const double *a;

	memset(w, 0, sizeof(*w));
	if (kk_geom_type_is_2d(s->type)) {
		a = s->vecs + 6 * i;
		set3(w->src, a[0], a[1], 0);
		set3(w->det, a[2], a[3], 0);
		set3(w->u, a[4], a[5], 0);
		set3(w->v, 0, 0, 1);
	} else {
		a = s->vecs + 12 * i;
		memcpy(w->src, a, 3 * sizeof(double));
		memcpy(w->det, a + 3, 3 * sizeof(double));
		memcpy(w->u, a + 6, 3 * sizeof(double));
		memcpy(w->v, a + 9, 3 * sizeof(double));
	}
}

/* 2D: ASTRA's image rows run towards -y; kkit's 3D frame towards +y. */
static void mirror_y(struct kk_view *w)
{
	w->src[1] = -w->src[1];
	w->det[1] = -w->det[1];
	w->u[1] = -w->u[1];
}

static int check_view(const struct kk_geometry *g, const struct kk_view *w,
		      const char *name, const char *path,
		      struct kk_error *err)
{
	const struct kk_volume_geom *vol = &g->vol;
	double n[3], sd[3], lu = kk_norm(w->u), lv = kk_norm(w->v), ln;

	if (lu == 0)
		return kk_fail(err, KK_EINPUT, "'%s': %s: the detector "
			       "column step u is zero", name, path);
	if (lv == 0)
		return kk_fail(err, KK_EINPUT, "'%s': %s: the detector row "
			       "step v is zero", name, path);
	kk_cross(w->u, w->v, n);
	ln = kk_norm(n);
	if (ln <= 1e-9 * lu * lv)
		return kk_fail(err, KK_EINPUT, "'%s': %s: the detector "
			       "vectors u and v are parallel", name, path);
	if (!g->cone) {
		double lr = kk_norm(w->src);

		if (lr == 0)
			return kk_fail(err, KK_EINPUT, "'%s': %s: the ray "
				       "direction is zero", name, path);
		if (fabs(kk_dot(n, w->src)) <= 1e-9 * ln * lr)
			return kk_fail(err, KK_EINPUT, "'%s': %s: the rays "
				       "run parallel to the detector plane",
				       name, path);
		return 0;
	}
	sd[0] = w->det[0] - w->src[0];
	sd[1] = w->det[1] - w->src[1];
	sd[2] = w->det[2] - w->src[2];
	if (fabs(kk_dot(n, sd)) <= 1e-9 * ln * kk_norm(sd) || kk_norm(sd) == 0)
		return kk_fail(err, KK_EINPUT, "'%s': %s: the source lies on "
			       "the detector plane", name, path);
	if (w->src[0] > vol->xmin &&
	    w->src[0] < vol->xmin + vol->nx * vol->dx &&
	    w->src[1] > vol->ymin &&
	    w->src[1] < vol->ymin + vol->ny * vol->dy &&
	    w->src[2] > vol->zmin &&
	    w->src[2] < vol->zmin + vol->nz * vol->dz)
		return kk_fail(err, KK_EINPUT, "'%s': %s: the source lies "
			       "inside the volume", name, path);
	return 0;
}

static void build_volume(const struct kk_geom_spec *s, bool is_2d,
			 struct kk_volume_geom *v)
{
	v->nz = s->shape[0];
	v->ny = s->shape[1];
	v->nx = s->shape[2];
	v->dx = (s->wmax[2] - s->wmin[2]) / v->nx;
	v->dy = (s->wmax[1] - s->wmin[1]) / v->ny;
	v->xmin = s->wmin[2];
	if (is_2d) {
		v->nz = 1;
		v->dz = 1;
		v->zmin = -0.5;
		v->ymin = -s->wmax[1];
	} else {
		v->dz = (s->wmax[0] - s->wmin[0]) / v->nz;
		v->zmin = s->wmin[0];
		v->ymin = s->wmin[1];
	}
}

/* Sizes whose products, in bytes of doubles, stay far inside int64_t:
 * 2^59 elements (4 EiB of float32) is beyond any machine. */
#define MAX_ELEMENTS ((int64_t)1 << 59)

static int check_size(const int64_t *dims, const char *name,
		      const char *what, struct kk_error *err)
{
	int64_t n = kk_count(dims, 3);

	if (n >= 0 && n <= MAX_ELEMENTS)
		return 0;
	return kk_fail(err, KK_EINPUT, "'%s': %s %lld x %lld x %lld: more "
		       "values than kkit can address (2^59)", name, what,
		       (long long)dims[0], (long long)dims[1],
		       (long long)dims[2]);
}

int kk_geom_build(const struct kk_geom_spec *s, struct kk_geometry *g,
		  struct kk_error *err, const char *name)
{
	bool vec = kk_geom_type_is_vec(s->type);
	int64_t i, dims[3];
	char path[96];
	int rc;

	g->is_2d = s->vol_is_2d;
	build_volume(s, g->is_2d, &g->vol);
	g->has_projection = s->has_projection;
	rc = check_size(s->shape, name, "a volume of", err);
	if (rc || !s->has_projection)
		return rc;
	dims[0] = vec ? s->nvecs : s->nangles;
	dims[1] = g->is_2d ? 1 : s->nrows;
	dims[2] = s->ncols;
	rc = check_size(dims, name, "projections of", err);
	if (rc)
		return rc;

	g->type = s->type;
	g->cone = kk_geom_type_is_cone(s->type);
	g->nrows = g->is_2d ? 1 : s->nrows;
	g->ncols = s->ncols;
	g->nviews = vec ? s->nvecs : s->nangles;
	g->views = calloc((size_t)g->nviews, sizeof(*g->views));
	if (!g->views)
		return kk_fail(err, KK_ENOMEM, "out of memory for %lld views",
			       (long long)g->nviews);
	if (!vec) {
		g->angles = malloc((size_t)g->nviews * sizeof(double));
		if (!g->angles)
			return kk_fail(err, KK_ENOMEM, "out of memory");
		memcpy(g->angles, s->angles,
		       (size_t)g->nviews * sizeof(double));
	}
	for (i = 0; i < g->nviews; i++) {
		struct kk_view *w = &g->views[i];

		if (vec) {
			vector_view(s, i, w);
		} else {
			double lu, lv;
			int k;

			circular_view(s, s->angles[i], w);
			lu = kk_norm(w->u);
			lv = kk_norm(w->v);
			for (k = 0; k < 3; k++)
				w->det[k] += s->offset[1] * w->u[k] / lu +
					     s->offset[0] * w->v[k] / lv;
		}
		if (g->is_2d)
			mirror_y(w);
		if (vec)
			kkj_path_index(path, sizeof(path), s->vec_path, i);
		else
			snprintf(path, sizeof(path), "projection (view %lld)",
				 (long long)i);
		rc = check_view(g, w, name, path, err);
		if (rc)
			return rc;
	}
	return 0;
}

void kk_geometry_release(struct kk_geometry *g)
{
	free(g->views);
	free(g->angles);
	free(g->name);
	free(g->json);
	memset(g, 0, sizeof(*g));
}

void kk_geometry_volume_dims(const struct kk_geometry *g, int64_t dims[3])
{
	dims[0] = g->vol.nz;
	dims[1] = g->vol.ny;
	dims[2] = g->vol.nx;
}

void kk_geometry_proj_dims(const struct kk_geometry *g,
			   const struct kk_axes *axes, int64_t dims[3])
{
	dims[axes->where[KK_ANGLE]] = g->nviews;
	dims[axes->where[KK_ROW]] = g->nrows;
	dims[axes->where[KK_COL]] = g->ncols;
}

void kk_geometry_describe(const struct kk_geometry *g, char *buf, size_t n)
{
	int len = 0;

	if (g->has_projection) {
		if (g->is_2d)
			len = snprintf(buf, n, "%s, %lld views of %lld "
				       "columns, ", type_names[g->type],
				       (long long)g->nviews,
				       (long long)g->ncols);
		else
			len = snprintf(buf, n, "%s, %lld views of %lld x %lld "
				       "(rows x cols), ", type_names[g->type],
				       (long long)g->nviews,
				       (long long)g->nrows,
				       (long long)g->ncols);
	}
	if (len < 0 || (size_t)len >= n)
		return;
	if (g->is_2d)
		snprintf(buf + len, n - len, "image %lld x %lld (y x)",
			 (long long)g->vol.ny, (long long)g->vol.nx);
	else
		snprintf(buf + len, n - len, "volume %lld x %lld x %lld "
			 "(z y x)", (long long)g->vol.nz,
			 (long long)g->vol.ny, (long long)g->vol.nx);
}

static int parse_bound(const char *s, size_t len, int64_t nz, int64_t dflt,
		       int64_t *out)
{
	char buf[32], *end;
	long long v;

	if (len == 0) {
		*out = dflt;
		return 0;
	}
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = 0;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (*end || errno)
		return -1;
	if (v < 0)
		v += nz;
	*out = v < 0 ? 0 : v > nz ? nz : v;
	return 0;
}

int kk_parse_slices(const char *s, int64_t nz, int64_t *z0, int64_t *z1,
		    struct kk_error *err)
{
	const char *colon = strchr(s, ':');

	if (!colon || parse_bound(s, (size_t)(colon - s), nz, 0, z0) ||
	    parse_bound(colon + 1, strlen(colon + 1), nz, nz, z1))
		return kk_fail(err, KK_EUSAGE, "--slices '%s': expected "
			       "FIRST:END, e.g. 100:200", s);
	if (*z0 >= *z1)
		return kk_fail(err, KK_EUSAGE, "--slices '%s' selects no "
			       "slice of the %lld the volume has", s,
			       (long long)nz);
	return 0;
}

void kk_geometry_crop_slices(struct kk_geometry *g, int64_t z0, int64_t z1)
{
	g->vol.zmin += (double)z0 * g->vol.dz;
	g->vol.nz = z1 - z0;
}
