/*
 * geometry_astra.c: parse ASTRA's own dictionary keys, as made by
 * astra.create_vol_geom / create_proj_geom and dumped to JSON:
 *
 *   {"volume": {"GridRowCount": 128, "GridColCount": 128,
 *               "GridSliceCount": 128,
 *               "option": {"WindowMinX": -64, "WindowMaxX": 64, ...}},
 *    "projection": {"type": "cone", "DetectorSpacingX": 1.5, ...}}
 *
 * ProjectionAngles are radians, as in ASTRA.
 */
#include "config.h"
#include "geomspec.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define MAX_DIM 2147483647LL

static int astra_count(const cJSON *obj, const char *path, const char *key,
		       int64_t *out, const struct kk_jsrc *src)
{
	const cJSON *item;
	char p[128];
	int rc = kkj_require(obj, path, key, &item, src);

	if (rc)
		return rc;
	kkj_path_key(p, sizeof(p), path, key);
	return kkj_integer(item, p, 1, MAX_DIM, out, src);
}

static int astra_positive(const cJSON *obj, const char *path,
			  const char *key, double *out,
			  const struct kk_jsrc *src)
{
	const cJSON *item;
	char p[128];
	int rc = kkj_require(obj, path, key, &item, src);

	if (rc)
		return rc;
	kkj_path_key(p, sizeof(p), path, key);
	return kkj_positive(item, p, out, src);
}

int kk_geom_parse_volume_astra(const cJSON *vol, struct kk_geom_spec *s,
			       const struct kk_jsrc *src)
{
	static const char *const keys[] = {"GridRowCount", "GridColCount",
					   "GridSliceCount", "option", NULL};
	static const char *const okeys[] = {"WindowMinX", "WindowMaxX",
					    "WindowMinY", "WindowMaxY",
					    "WindowMinZ", "WindowMaxZ", NULL};
	static const char axis_name[3] = {'Z', 'Y', 'X'};
	const cJSON *opt, *item;
	char key[16], p[128];
	int rc, a;

	rc = kkj_object(vol, "volume", keys, src);
	if (!rc)
		rc = astra_count(vol, "volume", "GridRowCount", &s->shape[1],
				 src);
	if (!rc)
		rc = astra_count(vol, "volume", "GridColCount", &s->shape[2],
				 src);
	if (rc)
		return rc;
	s->vol_is_2d = !kkj_get(vol, "GridSliceCount");
	s->shape[0] = 1;
	if (!s->vol_is_2d) {
		rc = astra_count(vol, "volume", "GridSliceCount",
				 &s->shape[0], src);
		if (rc)
			return rc;
	}
	/* ASTRA's default window: centred, voxels of size 1. */
	for (a = 0; a < 3; a++) {
		s->wmin[a] = -0.5 * s->shape[a];
		s->wmax[a] = 0.5 * s->shape[a];
	}
	opt = kkj_get(vol, "option");
	if (!opt)
		return 0;
	rc = kkj_object(opt, "volume.option", okeys, src);
	if (rc)
		return rc;
	for (a = s->vol_is_2d ? 1 : 0; a < 3; a++) {
		snprintf(key, sizeof(key), "WindowMin%c", axis_name[a]);
		item = kkj_get(opt, key);
		kkj_path_key(p, sizeof(p), "volume.option", key);
		if (item && (rc = kkj_number(item, p, &s->wmin[a], src)))
			return rc;
		snprintf(key, sizeof(key), "WindowMax%c", axis_name[a]);
		item = kkj_get(opt, key);
		kkj_path_key(p, sizeof(p), "volume.option", key);
		if (item && (rc = kkj_number(item, p, &s->wmax[a], src)))
			return rc;
		if (!(s->wmax[a] > s->wmin[a]))
			return kkj_fail(src, p, "must be greater than "
					"WindowMin%c (%g), got %g",
					axis_name[a], s->wmin[a], s->wmax[a]);
	}
	if (s->vol_is_2d && (kkj_get(opt, "WindowMinZ") ||
			     kkj_get(opt, "WindowMaxZ")))
		return kkj_fail(src, "volume.option", "a 2D volume (no "
				"GridSliceCount) takes no WindowMinZ or "
				"WindowMaxZ");
	if (s->vol_is_2d) {
		s->wmin[0] = -0.5;
		s->wmax[0] = 0.5;
	}
	return 0;
}

/* The keys each ASTRA projection type takes, besides "type". */
static const char *const *keys_for(enum kk_geom_type t)
{
	static const char *const par3d[] = {
		"type", "DetectorSpacingX", "DetectorSpacingY",
		"DetectorRowCount", "DetectorColCount", "ProjectionAngles",
		NULL};
	static const char *const cone[] = {
		"type", "DetectorSpacingX", "DetectorSpacingY",
		"DetectorRowCount", "DetectorColCount", "ProjectionAngles",
		"DistanceOriginSource", "DistanceOriginDetector", NULL};
	static const char *const vec3d[] = {
		"type", "DetectorRowCount", "DetectorColCount", "Vectors",
		NULL};
	static const char *const par2d[] = {
		"type", "DetectorWidth", "DetectorCount", "ProjectionAngles",
		NULL};
	static const char *const fan[] = {
		"type", "DetectorWidth", "DetectorCount", "ProjectionAngles",
		"DistanceOriginSource", "DistanceOriginDetector", NULL};
	static const char *const vec2d[] = {
		"type", "DetectorCount", "Vectors", NULL};

	switch (t) {
	case KK_GEOM_PARALLEL3D:
		return par3d;
	case KK_GEOM_CONE:
		return cone;
	case KK_GEOM_PARALLEL3D_VEC:
	case KK_GEOM_CONE_VEC:
		return vec3d;
	case KK_GEOM_PARALLEL:
		return par2d;
	case KK_GEOM_FANFLAT:
		return fan;
	default:
		return vec2d;
	}
}

int kk_geom_parse_projection_astra(const cJSON *proj,
				   struct kk_geom_spec *s,
				   const struct kk_jsrc *src)
{
	const char *path = "projection";
	const cJSON *item;
	bool is_2d, vec;
	int rc;

	if (!cJSON_IsObject(proj))
		return kkj_fail(src, path, "expected an object, got %s",
				kkj_kind(proj));
	rc = kk_geom_parse_type(proj, s, src);
	if (rc)
		return rc;
	rc = kkj_object(proj, path, keys_for(s->type), src);
	if (rc)
		return rc;
	is_2d = kk_geom_type_is_2d(s->type);
	vec = kk_geom_type_is_vec(s->type);

	s->nrows = 1;
	s->pixel[0] = 1;
	if (is_2d) {
		rc = astra_count(proj, path, "DetectorCount", &s->ncols, src);
		if (!rc && !vec)
			rc = astra_positive(proj, path, "DetectorWidth",
					    &s->pixel[1], src);
	} else {
		rc = astra_count(proj, path, "DetectorRowCount", &s->nrows,
				 src);
		if (!rc)
			rc = astra_count(proj, path, "DetectorColCount",
					 &s->ncols, src);
		if (!rc && !vec)
			rc = astra_positive(proj, path, "DetectorSpacingX",
					    &s->pixel[1], src);
		if (!rc && !vec)
			rc = astra_positive(proj, path, "DetectorSpacingY",
					    &s->pixel[0], src);
	}
	if (rc)
		return rc;
	if (vec) {
		rc = kkj_require(proj, path, "Vectors", &item, src);
		if (!rc)
			rc = kkj_matrix(item, "projection.Vectors",
					is_2d ? 6 : 12, &s->vecs, &s->nvecs,
					src);
		snprintf(s->vec_path, sizeof(s->vec_path),
			 "projection.Vectors");
		return rc;
	}
	rc = kkj_require(proj, path, "ProjectionAngles", &item, src);
	if (!rc)
		rc = kkj_numbers(item, "projection.ProjectionAngles", -1,
				 &s->angles, &s->nangles, src);
	if (rc || !kk_geom_type_is_cone(s->type))
		return rc;
	rc = astra_positive(proj, path, "DistanceOriginSource", &s->dso,
			    src);
	if (rc)
		return rc;
	rc = kkj_require(proj, path, "DistanceOriginDetector", &item, src);
	if (!rc)
		rc = kkj_number(item, "projection.DistanceOriginDetector",
				&s->odd, src);
	return rc;
}
