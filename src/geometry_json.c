/*
 * geometry_json.c: read a geometry file, tell its two spellings apart,
 * and parse kkit's own readable keys (man kkit-geometry(5)):
 *
 *   {"volume": {"shape": [z, y, x], "voxel_size": 1.0},
 *    "projection": {"type": "cone",
 *                   "detector": {"shape": [rows, cols], "pixel_size": 1.5},
 *                   "angles": {"start": 0, "stop": 360, "count": 180,
 *                              "unit": "degree"},
 *                   "source_origin": 300, "origin_detector": 150}}
 *
 * ASTRA's dictionary keys are parsed in geometry_astra.c.
 */
#include "config.h"
#include "geomspec.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DIM 2147483647LL

/* ASTRA's keys are capitalised (GridRowCount, DetectorSpacingX). */
static bool astra_spelling(const cJSON *obj)
{
	const cJSON *it;

	if (!cJSON_IsObject(obj))
		return false;
	for (it = obj->child; it; it = it->next)
		if (isupper((unsigned char)it->string[0]) ||
		    strcmp(it->string, "option") == 0)
			return true;
	return false;
}

int kk_geom_parse_volume_kkit(const cJSON *vol, struct kk_geom_spec *s,
			      const struct kk_jsrc *src)
{
	static const char *const keys[] = {"shape", "voxel_size", "center",
					   "window", NULL};
	const cJSON *shape, *voxel, *center, *window;
	double size[3], mid[3] = {0, 0, 0}, *v;
	char p[128], q[128];
	int nd, i, rc;

	rc = kkj_object(vol, "volume", keys, src);
	if (rc)
		return rc;
	rc = kkj_require(vol, "volume", "shape", &shape, src);
	if (rc)
		return rc;
	if (!cJSON_IsArray(shape) || (cJSON_GetArraySize(shape) != 2 &&
				      cJSON_GetArraySize(shape) != 3))
		return kkj_fail(src, "volume.shape", "expected [z, y, x] (3D) "
				"or [y, x] (2D), got %s", kkj_kind(shape));
	nd = cJSON_GetArraySize(shape);
	s->vol_is_2d = nd == 2;
	s->shape[0] = 1;
	for (i = 0; i < nd; i++) {
		kkj_path_index(p, sizeof(p), "volume.shape", i);
		rc = kkj_integer(cJSON_GetArrayItem(shape, i), p, 1, MAX_DIM,
				 &s->shape[3 - nd + i], src);
		if (rc)
			return rc;
	}

	voxel = kkj_get(vol, "voxel_size");
	center = kkj_get(vol, "center");
	window = kkj_get(vol, "window");
	if (window && (voxel || center))
		return kkj_fail(src, "volume", "give either 'window' or "
				"'voxel_size' and 'center', not both");
	if (window) {
		static const char *const wkeys[] = {"min", "max", NULL};
		const cJSON *lo, *hi;
		double *vmin, *vmax;

		rc = kkj_object(window, "volume.window", wkeys, src);
		if (!rc)
			rc = kkj_require(window, "volume.window", "min", &lo,
					 src);
		if (!rc)
			rc = kkj_require(window, "volume.window", "max", &hi,
					 src);
		if (!rc)
			rc = kkj_numbers(lo, "volume.window.min", nd, &vmin,
					 NULL, src);
		if (rc)
			return rc;
		rc = kkj_numbers(hi, "volume.window.max", nd, &vmax, NULL,
				 src);
		if (rc) {
			free(vmin);
			return rc;
		}
		for (i = 0; i < nd && !rc; i++) {
			s->wmin[3 - nd + i] = vmin[i];
			s->wmax[3 - nd + i] = vmax[i];
			if (!(vmax[i] > vmin[i])) {
				kkj_path_index(p, sizeof(p),
					       "volume.window.max", i);
				kkj_path_index(q, sizeof(q),
					       "volume.window.min", i);
				rc = kkj_fail(src, p, "must be greater than "
					      "%s (%g), got %g", q, vmin[i],
					      vmax[i]);
			}
		}
		free(vmin);
		free(vmax);
		if (nd == 2) {
			s->wmin[0] = -0.5;
			s->wmax[0] = 0.5;
		}
		return rc;
	}

	for (i = 0; i < nd; i++)
		size[i] = 1;
	if (voxel) {
		rc = kkj_number_or_array(voxel, "volume.voxel_size", nd, size,
					 src);
		for (i = 0; i < nd && !rc; i++) {
			if (!(size[i] > 0)) {
				if (cJSON_IsArray(voxel))
					kkj_path_index(p, sizeof(p),
						       "volume.voxel_size", i);
				else
					snprintf(p, sizeof(p),
						 "volume.voxel_size");
				rc = kkj_fail(src, p, "expected a positive "
					      "number, got %g", size[i]);
			}
		}
		if (rc)
			return rc;
	}
	if (center) {
		rc = kkj_numbers(center, "volume.center", nd, &v, NULL, src);
		if (rc)
			return rc;
		memcpy(mid, v, nd * sizeof(double));
		free(v);
	}
	for (i = 0; i < nd; i++) {
		int a = 3 - nd + i;

		s->wmin[a] = mid[i] - 0.5 * size[i] * s->shape[a];
		s->wmax[a] = mid[i] + 0.5 * size[i] * s->shape[a];
	}
	if (nd == 2) {
		s->wmin[0] = -0.5;
		s->wmax[0] = 0.5;
	}
	return 0;
}

static int parse_unit(const cJSON *item, const char *path, double *scale,
		      const struct kk_jsrc *src)
{
	static const char *const deg[] = {"degree", "degrees", "deg", NULL};
	static const char *const rad[] = {"radian", "radians", "rad", NULL};
	const char *u;
	int i, rc = kkj_string(item, path, &u, src);

	if (rc)
		return rc;
	for (i = 0; deg[i]; i++)
		if (strcmp(u, deg[i]) == 0) {
			*scale = M_PI / 180;
			return 0;
		}
	for (i = 0; rad[i]; i++)
		if (strcmp(u, rad[i]) == 0) {
			*scale = 1;
			return 0;
		}
	return kkj_fail(src, path, "unknown angle unit '%s' (expected "
			"\"degree\" or \"radian\")", u);
}

/* "file": a dataset of angles, relative to the geometry file. */
static int angles_from_file(const cJSON *file, const cJSON *unit,
			    const char *base_dir, struct kk_geom_spec *s,
			    const struct kk_jsrc *src)
{
	const char *name, *u = NULL;
	char *spec;
	int rc;

	rc = kkj_string(file, "projection.angles.file", &name, src);
	if (!rc && unit)
		rc = kkj_string(unit, "projection.angles.unit", &u, src);
	if (rc)
		return rc;
	if (name[0] != '/' && base_dir && base_dir[0]) {
		spec = malloc(strlen(base_dir) + strlen(name) + 2);
		if (spec)
			sprintf(spec, "%s/%s", base_dir, name);
	} else {
		spec = strdup(name);
	}
	if (!spec)
		return kk_fail(src->err, KK_ENOMEM, "out of memory");
	rc = kk_hdf5_read_angles(spec, u, &s->angles, &s->nangles, src->err);
	free(spec);
	if (rc)
		kk_error_prefix(src->err, "'%s': projection.angles.file",
				src->name);
	return rc;
}

static int parse_angles(const cJSON *a, const char *base_dir,
			struct kk_geom_spec *s, const struct kk_jsrc *src)
{
	static const char *const keys[] = {"values", "start", "stop", "count",
					   "endpoint", "unit", "file", NULL};
	const char *path = "projection.angles";
	const cJSON *values, *start, *stop, *count, *unit, *file, *endp;
	double scale = 1, a0, a1, step;
	int64_t i, n;
	int rc, endpoint = 0;

	if (cJSON_IsArray(a))
		return kkj_fail(src, path, "say which unit the angles are in: "
				"{\"values\": [...], \"unit\": \"degree\"} "
				"(or \"radian\")");
	rc = kkj_object(a, path, keys, src);
	if (rc)
		return rc;
	values = kkj_get(a, "values");
	start = kkj_get(a, "start");
	stop = kkj_get(a, "stop");
	count = kkj_get(a, "count");
	endp = kkj_get(a, "endpoint");
	unit = kkj_get(a, "unit");
	file = kkj_get(a, "file");
	if (!!values + !!(start || stop || count) + !!file != 1)
		return kkj_fail(src, path, "give the angles one way: "
				"'values', or 'start', 'stop' and 'count', or "
				"'file'");
	if (endp && !(start || stop || count))
		return kkj_fail(src, path, "'endpoint' goes with 'start', "
				"'stop' and 'count'");
	if (file)
		return angles_from_file(file, unit, base_dir, s, src);
	if (!unit)
		return kkj_fail(src, path, "missing key 'unit' (\"degree\" or "
				"\"radian\")");
	rc = parse_unit(unit, "projection.angles.unit", &scale, src);
	if (rc)
		return rc;
	if (values) {
		rc = kkj_numbers(values, "projection.angles.values", -1,
				 &s->angles, &s->nangles, src);
		for (i = 0; !rc && i < s->nangles; i++)
			s->angles[i] *= scale;
		return rc;
	}
	rc = kkj_require(a, path, "start", &start, src);
	if (!rc)
		rc = kkj_require(a, path, "stop", &stop, src);
	if (!rc)
		rc = kkj_require(a, path, "count", &count, src);
	if (!rc)
		rc = kkj_number(start, "projection.angles.start", &a0, src);
	if (!rc)
		rc = kkj_number(stop, "projection.angles.stop", &a1, src);
	if (!rc)
		rc = kkj_integer(count, "projection.angles.count", 1,
				 MAX_DIM, &n, src);
	if (!rc && endp)
		rc = kkj_bool(endp, "projection.angles.endpoint", &endpoint,
			      src);
	if (rc)
		return rc;
	s->angles = malloc((size_t)n * sizeof(double));
	if (!s->angles)
		return kk_fail(src->err, KK_ENOMEM, "out of memory");
	step = endpoint ? (n > 1 ? (a1 - a0) / (n - 1) : 0) : (a1 - a0) / n;
	for (i = 0; i < n; i++)
		s->angles[i] = (a0 + i * step) * scale;
	s->nangles = n;
	return 0;
}

static int parse_detector(const cJSON *det, struct kk_geom_spec *s,
			  const struct kk_jsrc *src)
{
	static const char *const keys[] = {"shape", "pixel_size", "offset",
					   NULL};
	const char *path = "projection.detector";
	bool is_2d = kk_geom_type_is_2d(s->type);
	bool vec = kk_geom_type_is_vec(s->type);
	int nd = is_2d ? 1 : 2, rc, i;
	const cJSON *shape, *pix, *off;
	char p[96];

	rc = kkj_object(det, path, keys, src);
	if (!rc)
		rc = kkj_require(det, path, "shape", &shape, src);
	if (rc)
		return rc;
	pix = kkj_get(det, "pixel_size");
	off = kkj_get(det, "offset");
	s->nrows = 1;
	if (is_2d && cJSON_IsNumber(shape)) {
		rc = kkj_integer(shape, "projection.detector.shape", 1,
				 MAX_DIM, &s->ncols, src);
	} else if (!cJSON_IsArray(shape) ||
		   cJSON_GetArraySize(shape) != nd) {
		return kkj_fail(src, "projection.detector.shape",
				"expected %s, got %s", is_2d ? "the number of "
				"columns" : "[rows, cols]", kkj_kind(shape));
	} else {
		for (i = 0; i < nd && !rc; i++) {
			kkj_path_index(p, sizeof(p),
				       "projection.detector.shape", i);
			rc = kkj_integer(cJSON_GetArrayItem(shape, i), p, 1,
					 MAX_DIM,
					 i == nd - 1 ? &s->ncols : &s->nrows,
					 src);
		}
	}
	if (rc)
		return rc;
	if (vec && (pix || off))
		return kkj_fail(src, path, "'%s' does not apply to type '%s': "
				"its vectors u and v give the pixels' size "
				"and place", pix ? "pixel_size" : "offset",
				kk_geom_type_name(s->type));
	if (vec)
		return 0;
	if (!pix)
		return kkj_fail(src, path, "missing key 'pixel_size'");
	rc = kkj_number_or_array(pix, "projection.detector.pixel_size", nd,
				 s->pixel + 2 - nd, src);
	if (is_2d)
		s->pixel[0] = 1;
	for (i = 0; i < 2 && !rc; i++)
		if (!(s->pixel[i] > 0))
			rc = kkj_fail(src, "projection.detector.pixel_size",
				      "expected positive sizes, got %g",
				      s->pixel[i]);
	if (!rc && off)
		rc = kkj_number_or_array(off, "projection.detector.offset",
					 nd, s->offset + 2 - nd, src);
	return rc;
}

int kk_geom_parse_type(const cJSON *proj, struct kk_geom_spec *s,
		       const struct kk_jsrc *src)
{
	const cJSON *type;
	const char *name;
	int rc, t;

	rc = kkj_require(proj, "projection", "type", &type, src);
	if (!rc)
		rc = kkj_string(type, "projection.type", &name, src);
	if (rc)
		return rc;
	t = kk_geom_type_parse(name);
	if (t < 0)
		return kkj_fail(src, "projection.type", "unknown geometry "
				"type '%s' (expected parallel3d, "
				"parallel3d_vec, cone, cone_vec, parallel, "
				"parallel_vec, fanflat or fanflat_vec)", name);
	s->type = (enum kk_geom_type)t;
	return 0;
}

int kk_geom_parse_projection_kkit(const cJSON *proj, const char *base_dir,
				  struct kk_geom_spec *s,
				  const struct kk_jsrc *src)
{
	static const char *const keys[] = {"type", "detector", "angles",
					   "vectors", "source_origin",
					   "origin_detector", NULL};
	const cJSON *det, *angles, *vecs, *dso, *odd;
	const char *name;
	bool vec, cone, is_2d;
	int rc;

	rc = kkj_object(proj, "projection", keys, src);
	if (!rc)
		rc = kk_geom_parse_type(proj, s, src);
	if (rc)
		return rc;
	name = kk_geom_type_name(s->type);
	vec = kk_geom_type_is_vec(s->type);
	cone = kk_geom_type_is_cone(s->type);
	is_2d = kk_geom_type_is_2d(s->type);

	angles = kkj_get(proj, "angles");
	vecs = kkj_get(proj, "vectors");
	dso = kkj_get(proj, "source_origin");
	odd = kkj_get(proj, "origin_detector");
	if (vec && angles)
		return kkj_fail(src, "projection", "'angles' does not apply "
				"to type '%s': its views are given by "
				"'vectors'", name);
	if (!vec && vecs)
		return kkj_fail(src, "projection", "'vectors' does not apply "
				"to type '%s' (use '%s_vec')", name, name);
	if ((!cone || vec) && (dso || odd))
		return kkj_fail(src, "projection", "'%s' does not apply to "
				"type '%s'", dso ? "source_origin"
						 : "origin_detector", name);

	rc = kkj_require(proj, "projection", "detector", &det, src);
	if (!rc)
		rc = parse_detector(det, s, src);
	if (rc)
		return rc;
	if (vec) {
		rc = kkj_require(proj, "projection", "vectors", &vecs, src);
		if (!rc)
			rc = kkj_matrix(vecs, "projection.vectors",
					is_2d ? 6 : 12, &s->vecs, &s->nvecs,
					src);
		snprintf(s->vec_path, sizeof(s->vec_path),
			 "projection.vectors");
		return rc;
	}
	rc = kkj_require(proj, "projection", "angles", &angles, src);
	if (!rc)
		rc = parse_angles(angles, base_dir, s, src);
	if (rc || !cone)
		return rc;
	rc = kkj_require(proj, "projection", "source_origin", &dso, src);
	if (!rc)
		rc = kkj_require(proj, "projection", "origin_detector", &odd,
				 src);
	if (!rc)
		rc = kkj_positive(dso, "projection.source_origin", &s->dso,
				  src);
	if (!rc)
		rc = kkj_number(odd, "projection.origin_detector", &s->odd,
				src);
	return rc;
}

static void spec_free(struct kk_geom_spec *s)
{
	free(s->angles);
	free(s->vecs);
}

int kk_geometry_parse(const char *text, size_t len, const char *name,
		      const char *base_dir, unsigned flags,
		      struct kk_geometry *g, struct kk_error *err)
{
	static const char *const keys[] = {"volume", "projection", NULL};
	struct kk_jsrc src = {name, err};
	struct kk_geom_spec s;
	const cJSON *vol, *proj;
	cJSON *root;
	int rc;

	memset(g, 0, sizeof(*g));
	memset(&s, 0, sizeof(s));
	root = kkj_parse(text, len, &src);
	if (!root)
		return err->code;
	rc = kkj_object(root, "", keys, &src);
	if (rc)
		goto out;
	rc = kkj_require(root, "", "volume", &vol, &src);
	if (rc)
		goto out;
	rc = astra_spelling(vol) ? kk_geom_parse_volume_astra(vol, &s, &src)
				 : kk_geom_parse_volume_kkit(vol, &s, &src);
	if (rc)
		goto out;
	proj = kkj_get(root, "projection");
	if (!proj && !(flags & KK_GEOM_VOLUME_ONLY)) {
		rc = kkj_fail(&src, NULL, "missing key 'projection'");
		goto out;
	}
	if (proj) {
		s.has_projection = true;
		rc = astra_spelling(proj)
			? kk_geom_parse_projection_astra(proj, &s, &src)
			: kk_geom_parse_projection_kkit(proj, base_dir, &s,
							&src);
		if (rc)
			goto out;
		if (kk_geom_type_is_2d(s.type) != s.vol_is_2d) {
			rc = kkj_fail(&src, "projection.type", "'%s' is a %s "
				      "geometry but the volume is %s",
				      kk_geom_type_name(s.type),
				      s.vol_is_2d ? "3D" : "2D",
				      s.vol_is_2d ? "2D" : "3D");
			goto out;
		}
	}
	rc = kk_geom_build(&s, g, err, name);
	if (rc)
		goto out;
	g->name = strdup(name);
	g->json = malloc(len + 1);
	if (!g->name || !g->json) {
		rc = kk_fail(err, KK_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(g->json, text, len);
	g->json[len] = '\0';
out:
	if (rc)
		kk_geometry_release(g);
	spec_free(&s);
	cJSON_Delete(root);
	return rc;
}

int kk_geometry_load(const char *path, unsigned flags,
		     struct kk_geometry *g, struct kk_error *err)
{
	char *text = NULL, *dir, *slash;
	size_t len = 0, cap = 0, got;
	FILE *f;
	int rc;

	memset(g, 0, sizeof(*g));
	f = fopen(path, "rb");
	if (!f)
		return kk_fail_errno(err, KK_EINPUT, errno, "cannot open "
				     "geometry '%s'", path);
	do {
		if (len == cap) {
			char *t;

			cap = cap ? 2 * cap : 65536;
			t = realloc(text, cap);
			if (!t) {
				free(text);
				fclose(f);
				return kk_fail(err, KK_ENOMEM, "out of memory "
					       "reading '%s'", path);
			}
			text = t;
		}
		got = fread(text + len, 1, cap - len, f);
		len += got;
	} while (got > 0);
	if (ferror(f)) {
		rc = kk_fail_errno(err, KK_EINPUT, errno, "cannot read "
				   "geometry '%s'", path);
		free(text);
		fclose(f);
		return rc;
	}
	fclose(f);
	dir = strdup(path);
	if (!dir) {
		free(text);
		return kk_fail(err, KK_ENOMEM, "out of memory");
	}
	/* Relative names inside the file are relative to its directory. */
	slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		dir[0] = '\0';
	rc = kk_geometry_parse(text, len, path, dir, flags, g, err);
	free(dir);
	free(text);
	return rc;
}
