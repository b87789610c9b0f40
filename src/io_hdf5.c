/*
 * io_hdf5.c: HDF5 datasets as stacks, read by hyperslab, and the angles
 * of a scan.
 *
 * Finds the dataset when the user names only the file (kkit's /data,
 * NXtomo, Data Exchange, or the only candidate), skips NXtomo frames that
 * are not projections, and turns HDF5's error stack into one sentence.
 * HDF5's own printing is switched off.  Writing is in io_hdf5_write.c.
 */
#include "config.h"
#include "io_hdf5.h"
#include "geomspec.h"
#include "rawio.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <sys/stat.h>

#include <hdf5.h>

struct h5_reader {
	hid_t file, dset, fspace, memtype;
	hid_t half;        /* our float16 type, if memtype is it */
	int64_t *frames;   /* NXtomo: file frame of each projection */
	struct kk_raw raw; /* raw.fd >= 0: read around the library */
};

/* IEEE binary16, as h5py and numpy store it; the caller closes it. */
hid_t kk_h5_half_type(void)
{
	hid_t t = H5Tcopy(H5T_IEEE_F32LE);

	if (t < 0)
		return t;
	H5Tset_fields(t, 15, 10, 5, 0, 10);
	H5Tset_size(t, 2);
	H5Tset_ebias(t, 15);
	return t;
}

void kk_h5_quiet(void)
{
	/* HDF5's error stacks, and whether they print, are per thread. */
	static _Thread_local int done;

	if (!done) {
		H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
		done = 1;
	}
}

static pthread_mutex_t h5_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t h5_once = PTHREAD_ONCE_INIT;
static bool h5_serial;

static void check_threadsafe(void)
{
	hbool_t safe = 0;

	h5_serial = H5is_library_threadsafe(&safe) < 0 || !safe;
}

void kk_h5_lock(void)
{
	pthread_once(&h5_once, check_threadsafe);
	if (h5_serial)
		pthread_mutex_lock(&h5_mutex);
	kk_h5_quiet();
}

void kk_h5_unlock(void)
{
	if (h5_serial)
		pthread_mutex_unlock(&h5_mutex);
}

static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
	struct kk_h5_error *st = data;
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
const char *kk_h5_error(struct kk_h5_error *st)
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
bool kk_h5_exists(hid_t file, const char *path)
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
		if (kk_h5_exists(file, known[i])) {
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

hid_t kk_h5_slab(hid_t fspace, int rank, const hsize_t *start,
		 const hsize_t *count)
{
	hid_t mspace = H5Screate_simple(rank, count, NULL);

	if (mspace >= 0 && H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start,
					       NULL, count, NULL) < 0) {
		H5Sclose(mspace);
		return -1;
	}
	return mspace;
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
			*half = kk_h5_half_type();
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

/* NXtomo: keep the frames whose image_key is key (0 projections, 1
 * flats, 2 darks).  For projections, leaves *frames NULL when every
 * frame is one or the file is not NXtomo; for flats and darks, sets the
 * frame count to 0 when the file is not NXtomo or has none. */
int kk_h5_nxtomo_frames(struct kk_reader *r, hid_t file,
			const char *dpath, int key, int64_t **frames,
			struct kk_error *err)
{
	char kpath[1100], *slash;
	int64_t nframes = r->info.dims[0], nproj = 0, i;
	int32_t *keys = NULL;
	hid_t kd = -1, ks = -1;
	hsize_t klen;
	int rc = 0, nflat = 0, ndark = 0;
	struct kk_h5_error ws;

	*frames = NULL;
	if (key != 0)
		r->info.dims[0] = 0; /* until frames are found */
	snprintf(kpath, sizeof(kpath), "%s", dpath);
	slash = strrchr(kpath, '/');
	if (!slash || r->info.rank != 3)
		return 0;
	strcpy(slash + 1, "image_key");
	if (!kk_h5_exists(file, kpath))
		return 0;
	kd = H5Dopen2(file, kpath, H5P_DEFAULT);
	ks = kd < 0 ? -1 : H5Dget_space(kd);
	if (ks < 0 || H5Sget_simple_extent_ndims(ks) != 1 ||
	    H5Sget_simple_extent_dims(ks, &klen, NULL) < 0 ||
	    (int64_t)klen != nframes)
		goto out; /* not the NXtomo layout: leave the data alone */
	keys = malloc(klen * sizeof(*keys));
	*frames = malloc(klen * sizeof(**frames));
	if (!keys || !*frames) {
		rc = kk_fail(err, KK_ENOMEM, "out of memory");
		goto out;
	}
	if (H5Dread(kd, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT,
		    keys) < 0) {
		rc = kk_fail(err, KK_EINPUT, "cannot read '%s:%s': %s",
			     r->name, kpath, kk_h5_error(&ws));
		goto out;
	}
	for (i = 0; i < nframes; i++) {
		if (keys[i] == key)
			(*frames)[nproj++] = i;
		nflat += keys[i] == 1;
		ndark += keys[i] == 2;
	}
	if (key != 0) {
		r->info.dims[0] = nproj;
		if (nproj == 0) {
			free(*frames);
			*frames = NULL;
		}
		snprintf(r->note, sizeof(r->note), "%lld frames with "
			 "image_key %d", (long long)nproj, key);
		snprintf(r->name + strlen(r->name), sizeof(r->name) -
			 strlen(r->name), " (image_key %d)", key);
		goto out;
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
		free(*frames);
		*frames = NULL;
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
	struct kk_h5_error ws;
	hid_t mspace = kk_h5_slab(h->fspace, r->info.rank, start, count);
	herr_t st = -1;

	if (mspace >= 0)
		st = H5Dread(h->dset, h->memtype, mspace, h->fspace,
			     H5P_DEFAULT, buf);
	if (mspace >= 0)
		H5Sclose(mspace);
	if (st < 0)
		return kk_fail(err, KK_EINPUT, "cannot read '%s': %s",
			       r->name, kk_h5_error(&ws));
	return 0;
}

static int h5_read(struct kk_reader *r, const int64_t *start,
		   const int64_t *count, void *buf, struct kk_error *err)
{
	struct h5_reader *h = r->impl;
	size_t esize = kk_dtype_size(r->info.dtype);
	hsize_t s[3], c[3];
	int64_t v, run, per_frame = 1;
	int i, rc = 0;

	if (h->raw.fd >= 0)
		return kk_raw_io(&h->raw, start, count, buf, err);
	kk_h5_lock();
	for (i = 0; i < r->info.rank; i++) {
		s[i] = (hsize_t)start[i];
		c[i] = (hsize_t)count[i];
		if (i > 0)
			per_frame *= count[i];
	}
	if (!h->frames) {
		rc = read_block(r, h, s, c, buf, err);
		kk_h5_unlock();
		return rc;
	}
	/* NXtomo: runs of consecutive file frames, one hyperslab each. */
	for (v = 0; v < count[0] && !rc; v += run) {
		const int64_t *f = h->frames + start[0];

		for (run = 1; v + run < count[0] && f[v + run] == f[v] + run;
		     run++)
			;
		s[0] = (hsize_t)f[v];
		c[0] = (hsize_t)run;
		rc = read_block(r, h, s, c, (char *)buf +
				(size_t)(v * per_frame) * esize, err);
	}
	kk_h5_unlock();
	return rc;
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
	if (h->raw.fd >= 0)
		close(h->raw.fd);
	free(h->frames);
	free(h);
	r->impl = NULL;
}

static const struct kk_reader_ops h5_reader_ops = {h5_read, h5_close};

int kk_hdf5_open_read(struct kk_reader *r, const char *file,
		      const char *dataset, int key, struct kk_error *err)
{
	struct h5_reader *h;
	struct kk_h5_error ws;
	char path[1024];
	hsize_t dims[8];
	struct stat st;
	hid_t ftype;
	int rank, rc, magic, i;

	kk_h5_quiet();
	if (stat(file, &st) == 0 && S_ISDIR(st.st_mode))
		return kk_fail(err, KK_EINPUT, "'%s' is a directory, not an "
			       "HDF5 file", file);
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
	h->raw.fd = -1;
	r->impl = h;
	r->ops = &h5_reader_ops;
	h->file = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
	if (h->file < 0) {
		rc = kk_fail(err, KK_EINPUT, "cannot open '%s': %s", file,
			     kk_h5_error(&ws));
		goto fail;
	}
	if (dataset) {
		snprintf(path, sizeof(path), "%s", dataset);
		if (!kk_h5_exists(h->file, path)) {
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
			     "%s", r->name, kk_h5_error(&ws));
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
		rc = kk_h5_nxtomo_frames(r, h->file, path, key, &h->frames,
					 err);
	if (rc)
		goto fail;
	kk_h5_raw_setup(&h->raw, h->file, h->dset, h->memtype, file,
			r->name, rank, r->info.dims, kk_dtype_size(
				r->info.dtype), false);
	h->raw.frames = h->frames;
	if (h->raw.fd >= 0) {
		size_t len = strlen(r->note);

		snprintf(r->note + len, sizeof(r->note) - len, "%sread as "
			 "plain bytes (contiguous, stored as in memory)",
			 len ? "; " : "");
	}
	return 0;
fail:
	h5_close(r);
	r->ops = NULL;
	return rc;
}

void kk_h5_raw_setup(struct kk_raw *raw, hid_t file, hid_t dset,
		     hid_t memtype, const char *path, const char *name,
		     int rank, const int64_t *dims, size_t esize,
		     bool writing)
{
	hid_t dcpl = H5Dget_create_plist(dset);
	hid_t fapl = H5Fget_access_plist(file);
	hid_t ftype = H5Dget_type(dset);
	haddr_t offset = H5Dget_offset(dset);
	bool ok;
	int i;

	raw->fd = -1;
	/* Plain bytes at one place: contiguous, no filters or external
	 * files, in a plain file, stored as they are in memory. */
	ok = dcpl >= 0 && fapl >= 0 && ftype >= 0 &&
	     H5Pget_layout(dcpl) == H5D_CONTIGUOUS &&
	     H5Pget_external_count(dcpl) == 0 &&
	     H5Pget_driver(fapl) == H5FD_SEC2 &&
	     H5Tequal(ftype, memtype) > 0 && offset != HADDR_UNDEF &&
	     !getenv("KKIT_NO_RAW_HDF5");
	if (dcpl >= 0)
		H5Pclose(dcpl);
	if (fapl >= 0)
		H5Pclose(fapl);
	if (ftype >= 0)
		H5Tclose(ftype);
	H5Eclear2(H5E_DEFAULT);
	if (!ok)
		return;
	raw->fd = open(path, (writing ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
	raw->offset = (int64_t)offset;
	raw->rank = rank;
	for (i = 0; i < rank; i++)
		raw->dims[i] = dims[i];
	raw->esize = esize;
	raw->frames = NULL;
	raw->name = name;
	raw->writing = writing;
}
