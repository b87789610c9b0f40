/*
 * io_hdf5_write.c: HDF5 outputs: one dataset (its groups made as needed)
 * written by hyperslab, with kkit's provenance as attributes of it.
 */
#include "config.h"
#include "io_hdf5.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct h5_writer {
	hid_t file, dset, fspace, memtype;
	hid_t half;
	struct kk_raw raw;     /* raw.fd >= 0: write around the library */
};

int kk_h5_put_string(hid_t obj, const char *name, const char *value)
{
	hid_t t, s, a;
	herr_t st = -1;

	if (!value)
		return 0;
	t = H5Tcopy(H5T_C_S1);
	H5Tset_size(t, H5T_VARIABLE);
	H5Tset_cset(t, H5T_CSET_UTF8);
	s = H5Screate(H5S_SCALAR);
	a = H5Acreate2(obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
	if (a >= 0) {
		st = H5Awrite(a, t, &value);
		H5Aclose(a);
	}
	H5Sclose(s);
	H5Tclose(t);
	return st < 0 ? -1 : 0;
}

static int put_provenance(struct kk_writer *w, hid_t d)
{
	const struct kk_provenance *p = &w->opts.prov;
	int rc = 0;

	rc |= kk_h5_put_string(d, "kkit_version", PACKAGE_VERSION);
	rc |= kk_h5_put_string(d, "kkit_kind", p->kind);
	rc |= kk_h5_put_string(d, "kkit_axes", p->axes);
	rc |= kk_h5_put_string(d, "kkit_command", p->command);
	rc |= kk_h5_put_string(d, "kkit_created", w->created);
	rc |= kk_h5_put_string(d, "kkit_geometry", p->geometry);
	if (w->info.dtype == KK_U16) {
		double range[2] = {w->opts.scale.lo, w->opts.scale.hi};
		hsize_t two = 2;
		hid_t s = H5Screate_simple(1, &two, NULL);
		hid_t a = H5Acreate2(d, "kkit_range", H5T_IEEE_F64LE, s,
				     H5P_DEFAULT, H5P_DEFAULT);

		rc |= a < 0 || H5Awrite(a, H5T_NATIVE_DOUBLE, range) < 0;
		if (a >= 0)
			H5Aclose(a);
		H5Sclose(s);
	}
	return rc;
}

static int h5_write(struct kk_writer *w, int axis, int64_t start,
		    int64_t count, const void *buf, struct kk_error *err)
{
	struct h5_writer *h = w->impl;
	hsize_t s[3] = {0, 0, 0}, c[3];
	struct kk_h5_error ws;
	hid_t mspace;
	herr_t st;
	int i;

	for (i = 0; i < w->info.rank; i++)
		c[i] = w->info.dims[i];
	s[axis] = start;
	c[axis] = count;
	if (h->raw.fd >= 0) {
		int64_t rs[3], rcount[3];

		for (i = 0; i < w->info.rank; i++) {
			rs[i] = (int64_t)s[i];
			rcount[i] = (int64_t)c[i];
		}
		return kk_raw_io(&h->raw, rs, rcount, (void *)buf, err);
	}
	kk_h5_lock();
	mspace = kk_h5_slab(h->fspace, w->info.rank, s, c);
	st = -1;
	if (mspace >= 0)
		st = H5Dwrite(h->dset, h->memtype, mspace, h->fspace,
			      H5P_DEFAULT, buf);
	if (mspace >= 0)
		H5Sclose(mspace);
	if (st < 0)
		kk_fail(err, KK_EIO, "cannot write '%s': %s", w->name,
			kk_h5_error(&ws));
	kk_h5_unlock();
	return st < 0 ? err->code : 0;
}

static void h5_release(struct h5_writer *h)
{
	if (h->raw.fd >= 0)
		close(h->raw.fd);
	if (h->half >= 0)
		H5Tclose(h->half);
	if (h->fspace >= 0)
		H5Sclose(h->fspace);
	if (h->dset >= 0)
		H5Dclose(h->dset);
	free(h);
}

static int h5_finish(struct kk_writer *w, struct kk_error *err)
{
	struct h5_writer *h = w->impl;
	struct kk_h5_error ws;
	hid_t file = h->file;
	herr_t st;

	h5_release(h);
	w->impl = NULL;
	/* Data still cached is written here: a full disk shows now. */
	st = H5Fclose(file);
	if (st < 0)
		return kk_fail(err, KK_EIO, "cannot write '%s': %s", w->name,
			       kk_h5_error(&ws));
	return 0;
}

static void h5_discard(struct kk_writer *w)
{
	struct h5_writer *h = w->impl;
	hid_t file;

	if (!h)
		return;
	file = h->file;
	h5_release(h);
	w->impl = NULL;
	if (file >= 0)
		H5Fclose(file);
	H5Eclear2(H5E_DEFAULT);
}

static const struct kk_writer_ops h5_writer_ops = {h5_write, h5_finish,
						   h5_discard};

int kk_hdf5_create(struct kk_writer *w, struct kk_error *err)
{
	struct h5_writer *h;
	struct kk_h5_error ws;
	hsize_t dims[3];
	hid_t lcpl = -1, dcpl = -1, ftype;
	int i;

	kk_h5_quiet();
	h = calloc(1, sizeof(*h));
	if (!h)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	h->file = h->dset = h->fspace = h->half = -1;
	h->raw.fd = -1;
	w->impl = h;
	w->ops = &h5_writer_ops;
	for (i = 0; i < w->info.rank; i++)
		dims[i] = (hsize_t)w->info.dims[i];
	switch (w->info.dtype) {
	case KK_U16:
		ftype = H5T_STD_U16LE;
		h->memtype = H5T_NATIVE_UINT16;
		break;
	case KK_F16:
		h->half = kk_h5_half_type();
		ftype = h->memtype = h->half;
		break;
	default:
		ftype = H5T_IEEE_F32LE;
		h->memtype = H5T_NATIVE_FLOAT;
		break;
	}
	/* The temporary's name is reserved by an empty file; HDF5 makes
	 * the file anew rather than truncating it, which would make ext4
	 * write all of it back when it is closed (auto_da_alloc): seconds
	 * for gigabytes. */
	unlink(w->tmp);
	h->file = H5Fcreate(w->tmp, H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT);
	if (h->file < 0 || ftype < 0)
		goto fail;
	h->fspace = H5Screate_simple(w->info.rank, dims, NULL);
	lcpl = H5Pcreate(H5P_LINK_CREATE);
	/* Contiguous, its place in the file fixed now and never filled:
	 * the data can then be written as plain bytes (kk_h5_raw_setup). */
	dcpl = H5Pcreate(H5P_DATASET_CREATE);
	if (h->fspace < 0 || lcpl < 0 || dcpl < 0 ||
	    H5Pset_create_intermediate_group(lcpl, 1) < 0 ||
	    H5Pset_layout(dcpl, H5D_CONTIGUOUS) < 0 ||
	    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY) < 0 ||
	    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER) < 0)
		goto fail;
	h->dset = H5Dcreate2(h->file, w->dataset, ftype, h->fspace, lcpl,
			     dcpl, H5P_DEFAULT);
	H5Pclose(lcpl);
	H5Pclose(dcpl);
	lcpl = dcpl = -1;
	if (h->dset < 0 || put_provenance(w, h->dset) < 0)
		goto fail;
	/* The metadata on disk before the raw data goes around it. */
	if (H5Fflush(h->file, H5F_SCOPE_LOCAL) < 0)
		goto fail;
	kk_h5_raw_setup(&h->raw, h->file, h->dset, h->memtype, w->tmp,
			w->name, w->info.rank, w->info.dims,
			kk_dtype_size(w->info.dtype), true);
	return 0;
fail:
	kk_fail(err, KK_EIO, "cannot create '%s': %s", w->name,
		kk_h5_error(&ws));
	if (lcpl >= 0)
		H5Pclose(lcpl);
	if (dcpl >= 0)
		H5Pclose(dcpl);
	h5_discard(w);
	w->ops = NULL;
	return err->code;
}

struct other_data {
	const char *keep;  /* without its leading '/' */
	char list[300];
	int count;
};

static herr_t other_cb(hid_t obj, const char *name, const H5O_info_t *info,
		       void *data)
{
	struct other_data *o = data;
	size_t len = strlen(o->list);

	(void)obj;
	if (info->type != H5O_TYPE_DATASET || !strcmp(name, o->keep))
		return 0;
	if (o->count++ < 4)
		snprintf(o->list + len, sizeof(o->list) - len, "%s/%s",
			 len ? ", " : "", name);
	else if (o->count == 5)
		snprintf(o->list + len, sizeof(o->list) - len, ", ...");
	return 0;
}

int kk_hdf5_check_replace(const char *file, const char *dataset,
			  struct kk_error *err)
{
	struct other_data o;
	hid_t f;

	kk_h5_quiet();
	if (kk_file_is_hdf5(file) <= 0)
		return 0; /* nothing HDF5 can hold to lose */
	f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
	if (f < 0) {
		H5Eclear2(H5E_DEFAULT);
		return 0;
	}
	memset(&o, 0, sizeof(o));
	o.keep = dataset + strspn(dataset, "/");
	H5Ovisit(f, H5_INDEX_NAME, H5_ITER_INC, other_cb, &o);
	H5Fclose(f);
	H5Eclear2(H5E_DEFAULT);
	if (!o.count)
		return 0;
	return kk_fail(err, KK_EINPUT, "'%s' holds other datasets (%s): kkit "
		       "writes whole files, so replacing it would lose them; "
		       "write '%s' to another file", file, o.list, dataset);
}
