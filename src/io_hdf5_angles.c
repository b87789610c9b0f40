/*
 * io_hdf5_angles.c: the rotation angles of a scan from an HDF5 file, for
 * a geometry's "angles": {"file": ...}: NXtomo's rotation_angle (of the
 * projection frames only) or Data Exchange's theta, in the unit their
 * attribute or the geometry gives.
 */
#include "config.h"
#include "io_hdf5.h"
#include "geomspec.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The unit attribute of an angle dataset -> radians per unit, or 0. */
static double unit_scale(const char *u)
{
	if (!strcmp(u, "degree") || !strcmp(u, "degrees") ||
	    !strcmp(u, "deg"))
		return M_PI / 180;
	if (!strcmp(u, "radian") || !strcmp(u, "radians") ||
	    !strcmp(u, "rad"))
		return 1;
	return 0;
}

static int read_units(hid_t d, char *buf, size_t n)
{
	hid_t a, t, mt;
	int rc = -1;

	buf[0] = '\0';
	if (H5Aexists(d, "units") <= 0)
		return -1;
	a = H5Aopen(d, "units", H5P_DEFAULT);
	t = a < 0 ? -1 : H5Aget_type(a);
	if (t >= 0 && H5Tget_class(t) == H5T_STRING) {
		if (H5Tis_variable_str(t) > 0) {
			char *s = NULL;

			mt = H5Tcopy(H5T_C_S1);
			H5Tset_size(mt, H5T_VARIABLE);
			if (H5Aread(a, mt, &s) >= 0 && s) {
				snprintf(buf, n, "%s", s);
				H5free_memory(s);
				rc = 0;
			}
			H5Tclose(mt);
		} else {
			size_t len = H5Tget_size(t);
			char *s = calloc(1, len + 1);

			mt = H5Tcopy(H5T_C_S1);
			H5Tset_size(mt, len + 1);
			if (s && H5Aread(a, mt, s) >= 0) {
				snprintf(buf, n, "%s", s);
				rc = 0;
			}
			free(s);
			H5Tclose(mt);
		}
	}
	if (t >= 0)
		H5Tclose(t);
	if (a >= 0)
		H5Aclose(a);
	return rc;
}

int kk_hdf5_read_angles(const char *spec, const char *unit,
			double **angles, int64_t *n, struct kk_error *err)
{
	static const char *const known[] = {"/entry/sample/rotation_angle",
					    "/exchange/theta", NULL};
	char file[1024], path[512], units[64];
	const char *colon = strstr(spec, ":/");
	hid_t f = -1, d = -1, s = -1;
	int64_t len = 0, i, k;
	struct kk_reader r;
	int64_t *frames;
	double scale, *v = NULL;
	hsize_t dim;
	int rc = 0, magic;
	struct kk_h5_error ws;

	kk_h5_quiet();
	*angles = NULL;
	snprintf(file, sizeof(file), "%.*s",
		 colon ? (int)(colon - spec) : (int)strlen(spec), spec);
	magic = kk_file_is_hdf5(file);
	if (magic <= 0)
		return magic < 0 ? kk_fail_errno(err, KK_EINPUT, errno,
						 "cannot open '%s'", file)
				 : kk_fail(err, KK_EINPUT, "'%s' is not an "
					   "HDF5 file", file);
	f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
	if (f < 0)
		return kk_fail(err, KK_EINPUT, "cannot open '%s': %s", file,
			       kk_h5_error(&ws));
	path[0] = '\0';
	if (colon)
		snprintf(path, sizeof(path), "%s", colon + 1);
	for (i = 0; !colon && known[i]; i++)
		if (kk_h5_exists(f, known[i]))
			snprintf(path, sizeof(path), "%s", known[i]);
	if (!path[0] || !kk_h5_exists(f, path)) {
		rc = kk_fail(err, KK_EINPUT, "'%s' has no dataset '%s'", file,
			     path[0] ? path : known[0]);
		goto out;
	}
	d = H5Dopen2(f, path, H5P_DEFAULT);
	s = d < 0 ? -1 : H5Dget_space(d);
	if (s < 0 || H5Sget_simple_extent_ndims(s) != 1) {
		rc = kk_fail(err, KK_EINPUT, "'%s:%s' is not a list of angles "
			     "(a 1-D dataset)", file, path);
		goto out;
	}
	H5Sget_simple_extent_dims(s, &dim, NULL);
	len = (int64_t)dim;
	if (!unit && read_units(d, units, sizeof(units)) == 0)
		unit = units;
	scale = unit ? unit_scale(unit) : 0;
	if (!unit || scale == 0) {
		rc = kk_fail(err, KK_EINPUT, unit ? "'%s:%s': unknown angle "
			     "unit '%s' (expected degree or radian)"
			     : "'%s:%s' does not say its unit: give \"unit\" "
			     "(\"degree\" or \"radian\")%s", file, path,
			     unit ? unit : "");
		goto out;
	}
	v = malloc((size_t)len * sizeof(*v));
	if (!v || H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
			  H5P_DEFAULT, v) < 0) {
		rc = v ? kk_fail(err, KK_EINPUT, "cannot read '%s:%s': %s",
				 file, path, kk_h5_error(&ws))
		       : kk_fail(err, KK_ENOMEM, "out of memory");
		goto out;
	}
	/* NXtomo: the angles of projections only, as for the data. */
	memset(&r, 0, sizeof(r));
	r.info.rank = 3;
	r.info.dims[0] = len;
	snprintf(r.name, sizeof(r.name), "%s", file);
	rc = kk_h5_nxtomo_frames(&r, f, "/entry/instrument/detector/data", 0,
				 &frames, err);
	if (rc)
		goto out;
	if (frames) {
		for (k = 0; k < r.info.dims[0]; k++)
			v[k] = v[frames[k]];
		len = r.info.dims[0];
		free(frames);
	}
	for (i = 0; i < len; i++) {
		if (!isfinite(v[i])) {
			rc = kk_fail(err, KK_EINPUT, "'%s:%s': angle %lld is "
				     "not a finite number", file, path,
				     (long long)i);
			goto out;
		}
		v[i] *= scale;
	}
	*angles = v;
	*n = len;
	v = NULL;
out:
	free(v);
	if (s >= 0)
		H5Sclose(s);
	if (d >= 0)
		H5Dclose(d);
	H5Fclose(f);
	return rc;
}
