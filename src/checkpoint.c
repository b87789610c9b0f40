/*
 * checkpoint.c: an iterative method's state in an HDF5 file, so that an
 * interrupted run can go on (kkit sirt --checkpoint FILE --resume).
 *
 * The file holds /x (the iterate, z,y,x float32), for CGLS /p (the
 * search direction), and attributes: kkit_checkpoint (the format, 1),
 * method, iteration and run, a line naming what the state depends on
 * (geometry, projections, options).  It is written beside its name and
 * renamed into place, so a crash while saving keeps the last one whole.
 */
#include "config.h"
#include "checkpoint.h"
#include "io_hdf5.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FORMAT 1

static int put_int(hid_t obj, const char *name, long long value)
{
	hid_t s = H5Screate(H5S_SCALAR), a;
	herr_t st = -1;

	a = H5Acreate2(obj, name, H5T_STD_I64LE, s, H5P_DEFAULT, H5P_DEFAULT);
	if (a >= 0) {
		st = H5Awrite(a, H5T_NATIVE_LLONG, &value);
		H5Aclose(a);
	}
	H5Sclose(s);
	return st < 0 ? -1 : 0;
}

static int put_array(hid_t file, const char *name, const int64_t dims[3],
		     const float *data)
{
	hsize_t d[3] = {(hsize_t)dims[0], (hsize_t)dims[1], (hsize_t)dims[2]};
	hid_t s = H5Screate_simple(3, d, NULL), ds;
	herr_t st = -1;

	ds = H5Dcreate2(file, name, H5T_IEEE_F32LE, s, H5P_DEFAULT,
			H5P_DEFAULT, H5P_DEFAULT);
	if (ds >= 0) {
		st = H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL,
			      H5P_DEFAULT, data);
		H5Dclose(ds);
	}
	H5Sclose(s);
	return st < 0 ? -1 : 0;
}

int kk_checkpoint_save(const char *path, const struct kk_checkpoint *c,
		       struct kk_error *err)
{
	size_t n = strlen(path) + 16;
	char *tmp = malloc(n);
	hid_t file;
	int fd, bad;

	if (!tmp)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	snprintf(tmp, n, "%s.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		bad = kk_fail_errno(err, KK_EIO, errno, "cannot write the "
				    "checkpoint '%s'", path);
		free(tmp);
		return bad;
	}
	close(fd);
	kk_h5_lock();
	file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	bad = file < 0;
	if (!bad) {
		bad |= put_int(file, "kkit_checkpoint", FORMAT);
		bad |= kk_h5_put_string(file, "method", c->method);
		bad |= put_int(file, "iteration", c->iteration);
		bad |= kk_h5_put_string(file, "run", c->run);
		bad |= put_array(file, "x", c->dims, c->x);
		if (c->p)
			bad |= put_array(file, "p", c->dims, c->p);
		bad |= H5Fclose(file) < 0;
	}
	kk_h5_unlock();
	if (!bad && rename(tmp, path) != 0)
		bad = 1;
	if (bad) {
		unlink(tmp);
		free(tmp);
		return kk_fail(err, KK_EIO, "cannot write the checkpoint '%s' "
			       "(is the disk full?)", path);
	}
	free(tmp);
	return 0;
}

static char *get_string(hid_t obj, const char *name)
{
	hid_t a, t;
	char *v = NULL, *copy = NULL;

	if (H5Aexists(obj, name) <= 0)
		return NULL;
	a = H5Aopen(obj, name, H5P_DEFAULT);
	t = H5Tcopy(H5T_C_S1);
	H5Tset_size(t, H5T_VARIABLE);
	H5Tset_cset(t, H5T_CSET_UTF8);
	if (a >= 0 && H5Aread(a, t, &v) >= 0 && v) {
		copy = strdup(v);
		H5free_memory(v);
	}
	H5Tclose(t);
	if (a >= 0)
		H5Aclose(a);
	return copy;
}

static int get_int(hid_t obj, const char *name, long long *out)
{
	hid_t a;
	herr_t st = -1;

	if (H5Aexists(obj, name) <= 0)
		return -1;
	a = H5Aopen(obj, name, H5P_DEFAULT);
	if (a >= 0) {
		st = H5Aread(a, H5T_NATIVE_LLONG, out);
		H5Aclose(a);
	}
	return st < 0 ? -1 : 0;
}

/* Read the array name of shape dims into a new buffer, or fail. */
static int get_array(hid_t file, const char *path, const char *name,
		     const int64_t dims[3], float **out, struct kk_error *err)
{
	hsize_t d[3] = {0, 0, 0};
	hid_t ds, s;
	int rank = -1;
	herr_t st = -1;

	*out = NULL;
	if (H5Lexists(file, name, H5P_DEFAULT) <= 0)
		return kk_fail(err, KK_EINPUT, "checkpoint '%s' has no /%s",
			       path, name);
	ds = H5Dopen2(file, name, H5P_DEFAULT);
	if (ds < 0)
		return kk_fail(err, KK_EINPUT, "cannot read /%s of the "
			       "checkpoint '%s'", name, path);
	s = H5Dget_space(ds);
	rank = H5Sget_simple_extent_ndims(s);
	if (rank == 3)
		H5Sget_simple_extent_dims(s, d, NULL);
	H5Sclose(s);
	if (rank != 3 || d[0] != (hsize_t)dims[0] ||
	    d[1] != (hsize_t)dims[1] || d[2] != (hsize_t)dims[2]) {
		H5Dclose(ds);
		return kk_fail(err, KK_EINPUT, "checkpoint '%s': /%s is not of "
			       "the volume's shape %lld x %lld x %lld", path,
			       name, (long long)dims[0], (long long)dims[1],
			       (long long)dims[2]);
	}
	*out = kk_alloc_floats(kk_count(dims, 3), "checkpoint", err);
	if (*out)
		st = H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL,
			     H5P_DEFAULT, *out);
	H5Dclose(ds);
	if (!*out)
		return err->code;
	if (st < 0) {
		free(*out);
		*out = NULL;
		return kk_fail(err, KK_EINPUT, "cannot read /%s of the "
			       "checkpoint '%s'", name, path);
	}
	return 0;
}

int kk_checkpoint_load(const char *path, struct kk_checkpoint *c,
		       struct kk_error *err)
{
	long long format = 0, iteration = -1;
	char *method = NULL, *run = NULL;
	bool cgls;
	hid_t file;
	int rc = 0;

	if (access(path, R_OK) != 0)
		return kk_fail_errno(err, KK_EINPUT, errno, "cannot resume "
				     "from '%s'", path);
	kk_h5_lock();
	H5E_BEGIN_TRY {
		file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	} H5E_END_TRY;
	if (file < 0) {
		kk_h5_unlock();
		return kk_fail(err, KK_EINPUT, "cannot resume from '%s': not "
			       "an HDF5 file", path);
	}
	if (get_int(file, "kkit_checkpoint", &format) || format != FORMAT)
		rc = kk_fail(err, KK_EINPUT, "cannot resume from '%s': not a "
			     "kkit checkpoint (of format %d)", path, FORMAT);
	if (!rc) {
		method = get_string(file, "method");
		run = get_string(file, "run");
		if (!method || !run || get_int(file, "iteration", &iteration) ||
		    iteration < 0 || iteration > 1000000000)
			rc = kk_fail(err, KK_EINPUT, "checkpoint '%s' is "
				     "damaged: its method, run or iteration "
				     "is missing", path);
	}
	if (!rc && strcmp(method, c->method) != 0)
		rc = kk_fail(err, KK_EINPUT, "checkpoint '%s' is of kkit %s, "
			     "not of kkit %s", path, method, c->method);
	if (!rc && strcmp(run, c->run) != 0)
		rc = kk_fail(err, KK_EINPUT, "checkpoint '%s' was made by "
			     "another run: it records \"%s\", this run is "
			     "\"%s\"", path, run, c->run);
	cgls = !strcmp(c->method, "cgls");
	if (!rc)
		rc = get_array(file, path, "x", c->dims, &c->x, err);
	if (!rc && cgls)
		rc = get_array(file, path, "p", c->dims, &c->p, err);
	if (!rc)
		c->iteration = (int)iteration;
	H5Fclose(file);
	kk_h5_unlock();
	free(method);
	free(run);
	if (rc)
		kk_checkpoint_release(c);
	return rc;
}

void kk_checkpoint_release(struct kk_checkpoint *c)
{
	free(c->x);
	free(c->p);
	c->x = c->p = NULL;
}
