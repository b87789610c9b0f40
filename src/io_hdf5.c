/*
 * io_hdf5.c: HDF5 datasets as stacks, read and written by hyperslab.
 *
 * Finds the dataset when the user names only the file (kkit's /data,
 * NXtomo, Data Exchange, or the only candidate), skips NXtomo frames that
 * are not projections, writes provenance as attributes, and turns HDF5's
 * error stack into one sentence.  HDF5's own printing is switched off.
 */
#include "config.h"
#include "io_impl.h"
#include "geomspec.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

struct h5_reader {
	hid_t file, dset, fspace, memtype;
	hid_t half;        /* our float16 type, if memtype is it */
	int64_t *frames;   /* NXtomo: file frame of each projection */
};

struct h5_writer {
	hid_t file, dset, fspace, memtype;
	hid_t half;
};

/* IEEE binary16, as h5py and numpy store it; the caller closes it. */
static hid_t make_half_type(void)
{
	hid_t t = H5Tcopy(H5T_IEEE_F32LE);

	if (t < 0)
		return t;
	H5Tset_fields(t, 15, 10, 5, 0, 10);
	H5Tset_size(t, 2);
	H5Tset_ebias(t, 15);
	return t;
}

static void h5_quiet(void)
{
	static int done;

	if (!done) {
		H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
		done = 1;
	}
}

struct walk_state {
	char text[400];
};

static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
	struct walk_state *st = data;
	char minor[128] = "";

	H5Eget_msg(e->min_num, NULL, minor, sizeof(minor));
	/* Walking downward, the last entry is the most specific one. */
	if (e->desc && e->desc[0])
		snprintf(st->text, sizeof(st->text), "%s (%s)", e->desc,
			 minor);
	else
		snprintf(st->text, sizeof(st->text), "%s", minor);
	return 0;
}

/* HDF5's innermost error, e.g. "truncated file: eof = 96 (...)". */
static const char *h5_error(struct walk_state *st)
{
	st->text[0] = '\0';
	H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_cb, st);
	H5Eclear2(H5E_DEFAULT);
	if (!st->text[0])
		snprintf(st->text, sizeof(st->text), "HDF5 error");
	return st->text;
}

int kk_file_is_hdf5(const char *path)
{
	static const unsigned char sig[8] = {0x89, 'H', 'D', 'F',
					     '\r', '\n', 0x1a, '\n'};
	unsigned char buf[8];
	FILE *f = fopen(path, "rb");
	long off;
	int found = 0;

	if (!f)
		return -1;
	/* The superblock sits at 0 or after a user block of 512 * 2^k. */
	for (off = 0; off <= (1L << 20) && !found; off = off ? 2 * off : 512)
		found = fseek(f, off, SEEK_SET) == 0 &&
			fread(buf, 1, 8, f) == 8 && !memcmp(buf, sig, 8);
	fclose(f);
	return found;
}

/* Does the object at path exist?  Walks the components so that a missing
 * group is "no", not an error. */
static bool h5_exists(hid_t file, const char *path)
{
	char buf[1024], *p;
	htri_t ok;

	if (strlen(path) >= sizeof(buf) || path[0] != '/')
		return false;
	strcpy(buf, path);
	for (p = buf + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			ok = H5Lexists(file, buf, H5P_DEFAULT);
			if (ok <= 0)
				return false;
			ok = H5Oexists_by_name(file, buf, H5P_DEFAULT);
			if (ok <= 0)
				return false;
			if (c == '\0')
				return true;
			*p = c;
		}
	}
}

struct list_state {
	char text[600];
	int count;
	char only[512];
};

static herr_t list_cb(hid_t obj, const char *name, const H5O_info_t *info,
		      void *data)
{
	struct list_state *st = data;
	size_t len = strlen(st->text);
	hid_t d, s;
	int rank;

	if (info->type != H5O_TYPE_DATASET)
		return 0;
	d = H5Dopen2(obj, name, H5P_DEFAULT);
	if (d < 0)
		return 0;
	s = H5Dget_space(d);
	rank = H5Sget_simple_extent_ndims(s);
	H5Sclose(s);
	H5Dclose(d);
	if (rank != 2 && rank != 3)
		return 0;
	if (st->count++ < 8)
		snprintf(st->text + len, sizeof(st->text) - len, "%s/%s",
			 len ? ", " : "", name);
	else if (st->count == 9)
		snprintf(st->text + len, sizeof(st->text) - len, ", ...");
	snprintf(st->only, sizeof(st->only), "/%s", name);
	return 0;
}

/* The dataset to read when the spec names none. */
static int find_dataset(hid_t file, const char *fname, char *path,
			size_t n, struct kk_error *err)
{
	static const char *const known[] = {
		"/data", "/entry/instrument/detector/data", "/exchange/data",
		"/entry/data/data", NULL};
	struct list_state st;
	int i;

	for (i = 0; known[i]; i++) {
		if (h5_exists(file, known[i])) {
			snprintf(path, n, "%s", known[i]);
			return 0;
		}
	}
	memset(&st, 0, sizeof(st));
	H5Ovisit(file, H5_INDEX_NAME, H5_ITER_INC, list_cb, &st);
	if (st.count == 1) {
		snprintf(path, n, "%s", st.only);
		return 0;
	}
	if (st.count == 0)
		return kk_fail(err, KK_EINPUT, "'%s' holds no 2-D or 3-D "
			       "dataset", fname);
	return kk_fail(err, KK_EINPUT, "'%s' holds several datasets (%s): "
		       "name one, e.g. '%s:%s'", fname, st.text, fname,
		       st.only);
}

/* The kkit type of a stored HDF5 type, and the memory type to read it
 * (*half is set when that is a type made here, to be closed). */
static int map_type(hid_t ftype, enum kk_dtype *t, hid_t *mem, hid_t *half,
		    const char *name, struct kk_error *err)
{
	H5T_class_t cls = H5Tget_class(ftype);
	size_t size = H5Tget_size(ftype);

	if (cls == H5T_INTEGER) {
		bool sign = H5Tget_sign(ftype) == H5T_SGN_2;

		switch (size) {
		case 1:
			*t = sign ? KK_I8 : KK_U8;
			*mem = sign ? H5T_NATIVE_INT8 : H5T_NATIVE_UINT8;
			return 0;
		case 2:
			*t = sign ? KK_I16 : KK_U16;
			*mem = sign ? H5T_NATIVE_INT16 : H5T_NATIVE_UINT16;
			return 0;
		case 4:
			*t = sign ? KK_I32 : KK_U32;
			*mem = sign ? H5T_NATIVE_INT32 : H5T_NATIVE_UINT32;
			return 0;
		}
		return kk_fail(err, KK_EINPUT, "'%s' holds %zu-bit integers: "
			       "kkit reads 8-, 16- and 32-bit integers and "
			       "16-, 32- and 64-bit floats", name, 8 * size);
	}
	if (cls == H5T_FLOAT && (size == 2 || size == 4 || size == 8)) {
		*t = size == 2 ? KK_F16 : size == 4 ? KK_F32 : KK_F64;
		*mem = size == 8 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT;
		if (size == 2) {
			*half = make_half_type();
			*mem = *half;
			if (*half < 0)
				return kk_fail(err, KK_ERUNTIME, "cannot make "
					       "an HDF5 float16 type");
		}
		return 0;
	}
	if (cls == H5T_FLOAT)
		return kk_fail(err, KK_EINPUT, "'%s' holds %zu-bit floats: "
			       "kkit reads 16-, 32- and 64-bit floats", name,
			       8 * size);
	return kk_fail(err, KK_EINPUT, "'%s' holds neither integers nor "
		       "floats: kkit reads numeric arrays", name);
}

/* kkit's uint16 outputs say which values 0 and 65535 stand for. */
static void read_range(struct kk_reader *r, hid_t dset)
{
	double range[2];
	hid_t a, s;

	if (r->info.dtype != KK_U16 || H5Aexists(dset, "kkit_range") <= 0)
		return;
	a = H5Aopen(dset, "kkit_range", H5P_DEFAULT);
	s = a < 0 ? -1 : H5Aget_space(a);
	if (s >= 0 && H5Sget_simple_extent_npoints(s) == 2 &&
	    H5Aread(a, H5T_NATIVE_DOUBLE, range) >= 0 &&
	    isfinite(range[0]) && isfinite(range[1]) && range[1] > range[0]) {
		r->range.set = true;
		r->range.lo = range[0];
		r->range.hi = range[1];
		snprintf(r->note, sizeof(r->note), "uint16 values stand for "
			 "%g to %g (kkit_range)", range[0], range[1]);
	}
	if (s >= 0)
		H5Sclose(s);
	if (a >= 0)
		H5Aclose(a);
	H5Eclear2(H5E_DEFAULT);
}

/* NXtomo: keep the frames whose image_key is 0 (projections). */
static int nxtomo_frames(struct kk_reader *r, struct h5_reader *h,
			 const char *dpath, struct kk_error *err)
{
	char kpath[1100], *slash;
	int64_t nframes = r->info.dims[0], nproj = 0, i;
	int32_t *keys = NULL;
	hid_t kd = -1, ks = -1;
	hsize_t klen;
	int rc = 0, nflat = 0, ndark = 0;
	struct walk_state ws;

	snprintf(kpath, sizeof(kpath), "%s", dpath);
	slash = strrchr(kpath, '/');
	if (!slash || r->info.rank != 3)
		return 0;
	strcpy(slash + 1, "image_key");
	if (!h5_exists(h->file, kpath))
		return 0;
	kd = H5Dopen2(h->file, kpath, H5P_DEFAULT);
	ks = kd < 0 ? -1 : H5Dget_space(kd);
	if (ks < 0 || H5Sget_simple_extent_ndims(ks) != 1 ||
	    H5Sget_simple_extent_dims(ks, &klen, NULL) < 0 ||
	    (int64_t)klen != nframes)
		goto out; /* not the NXtomo layout: leave the data alone */
	keys = malloc(klen * sizeof(*keys));
	h->frames = malloc(klen * sizeof(*h->frames));
	if (!keys || !h->frames) {
		rc = kk_fail(err, KK_ENOMEM, "out of memory");
		goto out;
	}
	if (H5Dread(kd, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT,
		    keys) < 0) {
		rc = kk_fail(err, KK_EINPUT, "cannot read '%s:%s': %s",
			     r->name, kpath, h5_error(&ws));
		goto out;
	}
	for (i = 0; i < nframes; i++) {
		if (keys[i] == 0)
			h->frames[nproj++] = i;
		nflat += keys[i] == 1;
		ndark += keys[i] == 2;
	}
	if (nproj == 0) {
		rc = kk_fail(err, KK_EINPUT, "'%s' holds no projections: no "
			     "frame has image_key 0", r->name);
		goto out;
	}
	if (nproj < nframes) {
		snprintf(r->note, sizeof(r->note), "using %lld of %lld "
			 "frames (image_key 0; %d flats, %d darks and %lld "
			 "others skipped)", (long long)nproj,
			 (long long)nframes, nflat, ndark,
			 (long long)(nframes - nproj - nflat - ndark));
		r->info.dims[0] = nproj;
	} else {
		free(h->frames);
		h->frames = NULL;
	}
out:
	free(keys);
	if (ks >= 0)
		H5Sclose(ks);
	if (kd >= 0)
		H5Dclose(kd);
	return rc;
}

/* One hyperslab of the file into buf. */
static int read_block(struct kk_reader *r, struct h5_reader *h,
		      const hsize_t *start, const hsize_t *count, void *buf,
		      struct kk_error *err)
{
	struct walk_state ws;
	hid_t mspace;
	herr_t st;

	mspace = H5Screate_simple(r->info.rank, count, NULL);
	st = mspace < 0 ? -1 :
	     H5Sselect_hyperslab(h->fspace, H5S_SELECT_SET, start, NULL,
				 count, NULL);
	if (st >= 0)
		st = H5Dread(h->dset, h->memtype, mspace, h->fspace,
			     H5P_DEFAULT, buf);
	if (mspace >= 0)
		H5Sclose(mspace);
	if (st < 0)
		return kk_fail(err, KK_EINPUT, "cannot read '%s': %s",
			       r->name, h5_error(&ws));
	return 0;
}

static int h5_read(struct kk_reader *r, int axis, int64_t start,
		   int64_t count, void *buf, struct kk_error *err)
{
	struct h5_reader *h = r->impl;
	size_t esize = kk_dtype_size(r->info.dtype);
	hsize_t s[3] = {0, 0, 0}, c[3];
	int64_t v0, v1, v, run, per_frame;
	int i, rc;

	for (i = 0; i < r->info.rank; i++)
		c[i] = r->info.dims[i];
	s[axis] = start;
	c[axis] = count;
	if (!h->frames)
		return read_block(r, h, s, c, buf, err);
	/* NXtomo: runs of consecutive file frames, one hyperslab each. */
	v0 = axis == 0 ? start : 0;
	v1 = axis == 0 ? start + count : r->info.dims[0];
	per_frame = (int64_t)c[1] * c[2];
	for (v = v0; v < v1; v += run) {
		for (run = 1; v + run < v1 &&
		     h->frames[v + run] == h->frames[v] + run; run++)
			;
		s[0] = h->frames[v];
		c[0] = run;
		rc = read_block(r, h, s, c, (char *)buf +
				(size_t)((v - v0) * per_frame) * esize, err);
		if (rc)
			return rc;
	}
	return 0;
}

static void h5_close(struct kk_reader *r)
{
	struct h5_reader *h = r->impl;

	if (!h)
		return;
	if (h->half >= 0)
		H5Tclose(h->half);
	if (h->fspace >= 0)
		H5Sclose(h->fspace);
	if (h->dset >= 0)
		H5Dclose(h->dset);
	if (h->file >= 0)
		H5Fclose(h->file);
	free(h->frames);
	free(h);
	r->impl = NULL;
}

static const struct kk_reader_ops h5_reader_ops = {h5_read, h5_close};

int kk_hdf5_open_read(struct kk_reader *r, const char *file,
		      const char *dataset, struct kk_error *err)
{
	struct h5_reader *h;
	struct walk_state ws;
	char path[1024];
	hsize_t dims[8];
	hid_t ftype;
	int rank, rc, magic, i;

	h5_quiet();
	magic = kk_file_is_hdf5(file);
	if (magic < 0)
		return kk_fail_errno(err, KK_EINPUT, errno, "cannot open "
				     "'%s'", file);
	if (magic == 0)
		return kk_fail(err, KK_EINPUT, "'%s' is not an HDF5 file",
			       file);
	h = calloc(1, sizeof(*h));
	if (!h)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	h->file = h->dset = h->fspace = h->memtype = h->half = -1;
	r->impl = h;
	r->ops = &h5_reader_ops;
	h->file = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
	if (h->file < 0) {
		rc = kk_fail(err, KK_EINPUT, "cannot open '%s': %s", file,
			     h5_error(&ws));
		goto fail;
	}
	if (dataset) {
		snprintf(path, sizeof(path), "%s", dataset);
		if (!h5_exists(h->file, path)) {
			rc = kk_fail(err, KK_EINPUT, "'%s' has no dataset "
				     "'%s'", file, path);
			goto fail;
		}
	} else if ((rc = find_dataset(h->file, file, path, sizeof(path),
				      err))) {
		goto fail;
	}
	snprintf(r->name, sizeof(r->name), "%s:%s", file, path);
	h->dset = H5Dopen2(h->file, path, H5P_DEFAULT);
	if (h->dset < 0) {
		rc = kk_fail(err, KK_EINPUT, "cannot open '%s' as a dataset: "
			     "%s", r->name, h5_error(&ws));
		goto fail;
	}
	h->fspace = H5Dget_space(h->dset);
	rank = h->fspace < 0 ? -1 : H5Sget_simple_extent_ndims(h->fspace);
	if (rank != 2 && rank != 3) {
		rc = kk_fail(err, KK_EINPUT, "'%s' has %d dimensions: kkit "
			     "reads 2-D and 3-D arrays", r->name, rank);
		goto fail;
	}
	H5Sget_simple_extent_dims(h->fspace, dims, NULL);
	r->info.rank = rank;
	for (i = 0; i < rank; i++)
		r->info.dims[i] = (int64_t)dims[i];
	ftype = H5Dget_type(h->dset);
	rc = map_type(ftype, &r->info.dtype, &h->memtype, &h->half, r->name,
		      err);
	H5Tclose(ftype);
	if (!rc)
		read_range(r, h->dset);
	if (!rc)
		rc = nxtomo_frames(r, h, path, err);
	if (rc)
		goto fail;
	return 0;
fail:
	h5_close(r);
	r->ops = NULL;
	return rc;
}

/* A UTF-8 string attribute on obj; NULL values are skipped. */
static int put_string(hid_t obj, const char *name, const char *value)
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

	rc |= put_string(d, "kkit_version", PACKAGE_VERSION);
	rc |= put_string(d, "kkit_kind", p->kind);
	rc |= put_string(d, "kkit_axes", p->axes);
	rc |= put_string(d, "kkit_command", p->command);
	rc |= put_string(d, "kkit_created", w->created);
	rc |= put_string(d, "kkit_geometry", p->geometry);
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
	struct walk_state ws;
	hid_t mspace;
	herr_t st;
	int i;

	for (i = 0; i < w->info.rank; i++)
		c[i] = w->info.dims[i];
	s[axis] = start;
	c[axis] = count;
	mspace = H5Screate_simple(w->info.rank, c, NULL);
	st = mspace < 0 ? -1 :
	     H5Sselect_hyperslab(h->fspace, H5S_SELECT_SET, s, NULL, c,
				 NULL);
	if (st >= 0)
		st = H5Dwrite(h->dset, h->memtype, mspace, h->fspace,
			      H5P_DEFAULT, buf);
	if (mspace >= 0)
		H5Sclose(mspace);
	if (st < 0)
		return kk_fail(err, KK_EIO, "cannot write '%s': %s", w->name,
			       h5_error(&ws));
	return 0;
}

static void h5_release(struct h5_writer *h)
{
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
	struct walk_state ws;
	hid_t file = h->file;
	herr_t st;

	h5_release(h);
	w->impl = NULL;
	/* Data still cached is written here: a full disk shows now. */
	st = H5Fclose(file);
	if (st < 0)
		return kk_fail(err, KK_EIO, "cannot write '%s': %s", w->name,
			       h5_error(&ws));
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
	struct walk_state ws;
	hsize_t dims[3];
	hid_t lcpl = -1, ftype;
	int i;

	h5_quiet();
	h = calloc(1, sizeof(*h));
	if (!h)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	h->file = h->dset = h->fspace = h->half = -1;
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
		h->half = make_half_type();
		ftype = h->memtype = h->half;
		break;
	default:
		ftype = H5T_IEEE_F32LE;
		h->memtype = H5T_NATIVE_FLOAT;
		break;
	}
	h->file = H5Fcreate(w->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	if (h->file < 0 || ftype < 0)
		goto fail;
	h->fspace = H5Screate_simple(w->info.rank, dims, NULL);
	lcpl = H5Pcreate(H5P_LINK_CREATE);
	if (h->fspace < 0 || lcpl < 0 ||
	    H5Pset_create_intermediate_group(lcpl, 1) < 0)
		goto fail;
	h->dset = H5Dcreate2(h->file, w->dataset, ftype, h->fspace, lcpl,
			     H5P_DEFAULT, H5P_DEFAULT);
	H5Pclose(lcpl);
	lcpl = -1;
	if (h->dset < 0 || put_provenance(w, h->dset) < 0)
		goto fail;
	return 0;
fail:
	kk_fail(err, KK_EIO, "cannot create '%s': %s", w->name,
		h5_error(&ws));
	if (lcpl >= 0)
		H5Pclose(lcpl);
	h5_discard(w);
	w->ops = NULL;
	return err->code;
}

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
	struct h5_reader h;
	double scale, *v = NULL;
	hsize_t dim;
	int rc = 0, magic;
	struct walk_state ws;

	h5_quiet();
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
			       h5_error(&ws));
	path[0] = '\0';
	if (colon)
		snprintf(path, sizeof(path), "%s", colon + 1);
	for (i = 0; !colon && known[i]; i++)
		if (h5_exists(f, known[i]))
			snprintf(path, sizeof(path), "%s", known[i]);
	if (!path[0] || !h5_exists(f, path)) {
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
				 file, path, h5_error(&ws))
		       : kk_fail(err, KK_ENOMEM, "out of memory");
		goto out;
	}
	/* NXtomo: the angles of projections only, as for the data. */
	memset(&r, 0, sizeof(r));
	memset(&h, 0, sizeof(h));
	h.file = f;
	r.info.rank = 3;
	r.info.dims[0] = len;
	snprintf(r.name, sizeof(r.name), "%s", file);
	rc = nxtomo_frames(&r, &h, "/entry/instrument/detector/data", err);
	if (rc)
		goto out;
	if (h.frames) {
		for (k = 0; k < r.info.dims[0]; k++)
			v[k] = v[h.frames[k]];
		len = r.info.dims[0];
		free(h.frames);
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
