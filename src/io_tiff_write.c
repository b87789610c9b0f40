/*
 * io_tiff_write.c: TIFF outputs: one multi-page file or a directory of
 * single-page files, with kkit's provenance as a JSON ImageDescription.
 *
 * A TIFF file wants its pages in order, and each page's strips before
 * its directory, but io.c may send slabs along any axis in any order.  A
 * page that arrives whole when it is due goes out at once; everything
 * else waits in a sparse "spill" file beside the temporary until its
 * page is complete and due.  A directory takes its page files in any
 * order, so there only slabs across pages need the spill.
 */
#include "config.h"
#include "io_tiff.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <tiffio.h>

/* Files holding more pixel bytes than this are written as BigTIFF:
 * classic TIFF's offsets end at 4 GiB, and tags and directories need
 * room too. */
#define BIGTIFF_BYTES (7LL << 29)

/* The most one read(2) or write(2) is asked to move (Linux stops at
 * about 2 GiB anyway). */
#define IO_CHUNK ((int64_t)1 << 30)

/* ---- writing ---------------------------------------------------------- */

struct tiff_writer {
	int64_t npages, height, width;
	size_t esize;
	int64_t page_elems, page_bytes;
	bool multi;             /* rank 3 in one file: SubfileType etc. */
	bool big;               /* BigTIFF */
	TIFF *tif;              /* the output file; NULL for a directory */
	int64_t next_page;      /* the file's next page due */
	unsigned char *done;    /* directory: page files written */
	int64_t *have;          /* elements of each page in the spill */
	int spill_fd;           /* -1 until something is spilled */
	char *spill_path;
	unsigned char *page;    /* a page read back from the spill */
	char *page_path;        /* directory: a page file's path */
	const char *prefix;
	int digits;
	cJSON *geometry;        /* for page 0's description, or NULL */
};

/* "page 3 of 'out.tif'", "'out.tif'" or "'out/proj_00003.tif'", by the
 * names the user will see after the rename. */
static void out_label(const struct kk_writer *w, int64_t p, char *buf,
		      size_t n)
{
	const struct tiff_writer *t = w->impl;
	size_t len = strlen(w->name);

	if (w->tmp_is_dir)
		snprintf(buf, n, "'%s%s%s_%0*lld.tif'", w->name,
			 len && w->name[len - 1] == '/' ? "" : "/", t->prefix,
			 t->digits, (long long)p);
	else if (t->multi)
		snprintf(buf, n, "page %lld of '%s'", (long long)p, w->name);
	else
		snprintf(buf, n, "'%s'", w->name);
}

/* errnum: errno after libtiff failed, which names the cause (ENOSPC)
 * where libtiff's own words ("Write error at ...") do not.  file: the
 * name libtiff knows the file by. */
static int write_fail(struct kk_error *err, int errnum, const char *label,
		      const char *file)
{
	if (kk_tiff_failed() && errnum)
		return kk_fail(err, KK_EIO, "cannot write %s: %s (%s)", label,
			       kk_tiff_msg(file), strerror(errnum));
	if (errnum)
		return kk_fail_errno(err, KK_EIO, errnum, "cannot write %s",
				     label);
	return kk_fail(err, KK_EIO, "cannot write %s: %s", label,
		       kk_tiff_msg(file));
}

static int add_number(cJSON *array, double v)
{
	cJSON *n = cJSON_CreateNumber(v);

	if (n && cJSON_AddItemToArray(array, n))
		return 1;
	cJSON_Delete(n);
	return 0;
}

/* ImageDescription: where the data came from, as JSON.  The geometry can
 * be megabytes, so only page 0 carries it. */
static char *describe(const struct kk_writer *w, int64_t page)
{
	const struct tiff_writer *t = w->impl;
	const struct kk_provenance *pv = &w->opts.prov;
	cJSON *o, *a;
	char *s = NULL;
	int ok, i;

	o = cJSON_CreateObject();
	ok = o && cJSON_AddStringToObject(o, "kkit", PACKAGE_VERSION);
	if (ok && pv->kind)
		ok = cJSON_AddStringToObject(o, "kind", pv->kind) != NULL;
	if (ok && pv->axes)
		ok = cJSON_AddStringToObject(o, "axes", pv->axes) != NULL;
	a = ok ? cJSON_AddArrayToObject(o, "shape") : NULL;
	ok = a != NULL;
	for (i = 0; ok && i < w->info.rank; i++)
		ok = add_number(a, (double)w->info.dims[i]);
	if (ok)
		ok = cJSON_AddStringToObject(o, "dtype",
			kk_dtype_name(w->info.dtype)) != NULL;
	if (ok)
		ok = cJSON_AddNumberToObject(o, "page", (double)page) != NULL;
	if (ok && w->created[0])
		ok = cJSON_AddStringToObject(o, "created", w->created) != NULL;
	if (ok && pv->command)
		ok = cJSON_AddStringToObject(o, "command", pv->command) !=
		     NULL;
	if (ok && w->info.dtype == KK_U16) {
		a = cJSON_AddArrayToObject(o, "range");
		ok = a && add_number(a, w->opts.scale.lo) &&
		     add_number(a, w->opts.scale.hi);
	}
	/* A reference: deleting o leaves our tree alone. */
	if (ok && page == 0 && t->geometry)
		ok = cJSON_AddItemReferenceToObject(o, "geometry",
						    t->geometry);
	if (ok)
		s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* Tags, strips and directory of page p, from data (one dense page). */
static int put_page(struct kk_writer *w, TIFF *tif, int64_t p,
		    const void *data, const char *label, struct kk_error *err)
{
	struct tiff_writer *t = w->impl;
	uint16_t fmt = w->info.dtype == KK_U16 ? SAMPLEFORMAT_UINT
					       : SAMPLEFORMAT_IEEEFP;
	int64_t row = t->width * (int64_t)t->esize, r, nr, rps;
	const unsigned char *src = data;
	char *desc;
	uint32_t v = 0;
	int ok;

	desc = describe(w, p);
	if (!desc)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	kk_tiff_clear();
	errno = 0;
	ok = TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, (uint32_t)t->width) &&
	     TIFFSetField(tif, TIFFTAG_IMAGELENGTH, (uint32_t)t->height) &&
	     TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE,
			  (uint16_t)(t->esize * 8)) &&
	     TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, fmt) &&
	     TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)1) &&
	     TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK) &&
	     TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) &&
	     TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_NONE) &&
	     TIFFSetField(tif, TIFFTAG_SOFTWARE, "kkit " PACKAGE_VERSION) &&
	     TIFFSetField(tif, TIFFTAG_IMAGEDESCRIPTION, desc);
	cJSON_free(desc);
	if (ok && t->multi) {
		ok = TIFFSetField(tif, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
		/* PageNumber is two SHORTs: leave it out where it
		 * cannot be told. */
		if (ok && t->npages <= 65535)
			ok = TIFFSetField(tif, TIFFTAG_PAGENUMBER, (uint16_t)p,
					  (uint16_t)t->npages);
	}
	if (ok) {
		/* After the size and type: it is computed from them. */
		v = TIFFDefaultStripSize(tif, 0);
		ok = TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, v);
	}
	if (!ok)
		return write_fail(err, errno, label, TIFFFileName(tif));
	rps = v ? v : 1;
	for (r = 0; r < t->height; r += rps) {
		nr = rps < t->height - r ? rps : t->height - r;
		kk_tiff_clear();
		errno = 0;
		/* Uncompressed and in host byte order, libtiff only
		 * copies from the buffer, so casting const away is
		 * safe. */
		if (TIFFWriteEncodedStrip(tif, (uint32_t)(r / rps),
					  (void *)(src + r * row),
					  (tmsize_t)(nr * row)) < 0)
			return write_fail(err, errno, label,
					  TIFFFileName(tif));
	}
	kk_tiff_clear();
	errno = 0;
	if (!TIFFWriteDirectory(tif))
		return write_fail(err, errno, label, TIFFFileName(tif));
	return 0;
}

static int create_tiff(const char *path, const char *mode, TIFF **out,
		       const char *label, struct kk_error *err)
{
	TIFF *tif;
	int fd, e;

	*out = NULL;
	/* Not O_TRUNC: the files here are new or empty temporaries, and
	 * truncating one (even an empty one) makes ext4 write it all back
	 * when it is closed (auto_da_alloc), seconds for a large stack. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0)
		return kk_fail_errno(err, KK_EIO, errno, "cannot create %s",
				     label);
	if (lseek(fd, 0, SEEK_END) > 0 && ftruncate(fd, 0) != 0) {
		e = errno;
		close(fd);
		return kk_fail_errno(err, KK_EIO, e, "cannot create %s",
				     label);
	}
	kk_tiff_clear();
	errno = 0;
	tif = TIFFFdOpen(fd, path, mode);
	if (!tif) {
		e = errno;
		close(fd);
		return write_fail(err, e, label, path);
	}
	*out = tif;
	return 0;
}

/* TIFFClose, but with the errors of the last flush and of close(2)
 * told: TIFFClose says nothing, and with NFS the close is where a full
 * disk shows. */
static int close_tiff(TIFF *tif, const char *label, struct kk_error *err)
{
	int fd = TIFFFileno(tif), rc = 0;

	kk_tiff_clear();
	errno = 0;
	if (!TIFFFlush(tif))
		rc = write_fail(err, errno, label, TIFFFileName(tif));
	TIFFCleanup(tif);
	if (close(fd) < 0 && !rc)
		rc = kk_fail_errno(err, KK_EIO, errno, "cannot write %s",
				   label);
	return rc;
}

/* Give up on tif: free it, and close the descriptor that TIFFCleanup
 * leaves open.  Whatever it still flushes goes to a file being removed. */
static void drop_tiff(TIFF *tif)
{
	int fd = TIFFFileno(tif);

	TIFFCleanup(tif);
	close(fd);
}

/* A directory's page p, as a file of its own. */
static int put_page_file(struct kk_writer *w, int64_t p, const void *data,
			 struct kk_error *err)
{
	struct tiff_writer *t = w->impl;
	char label[LABEL_MAX];
	TIFF *tif;
	int rc;

	out_label(w, p, label, sizeof(label));
	sprintf(t->page_path, "%s/%s_%0*lld.tif", w->tmp, t->prefix,
		t->digits, (long long)p);
	rc = create_tiff(t->page_path, t->big ? "w8" : "w", &tif, label,
			 err);
	if (rc)
		return rc;
	rc = put_page(w, tif, p, data, label, err);
	if (rc) {
		drop_tiff(tif);
		return rc;
	}
	rc = close_tiff(tif, label, err);
	if (rc)
		return rc;
	t->done[p] = 1;
	return 0;
}

static int emit_page(struct kk_writer *w, int64_t p, const void *data,
		     struct kk_error *err)
{
	struct tiff_writer *t = w->impl;
	char label[LABEL_MAX];
	int rc;

	if (w->tmp_is_dir)
		return put_page_file(w, p, data, err);
	out_label(w, p, label, sizeof(label));
	rc = put_page(w, t->tif, p, data, label, err);
	if (rc)
		return rc;
	t->next_page++;
	return 0;
}

static bool can_emit(const struct tiff_writer *t, int64_t p, bool dir)
{
	if (t->have[p])
		return false;
	return dir ? !t->done[p] : p == t->next_page;
}

static int spill_fail(const struct kk_writer *w, int errnum,
		      const char *what, struct kk_error *err)
{
	const struct tiff_writer *t = w->impl;

	return kk_fail_errno(err, KK_EIO, errnum, "cannot %s '%s' "
			     "(data waiting to go into '%s')", what,
			     t->spill_path, w->name);
}

static int spill_put(struct kk_writer *w, const unsigned char *src,
		     int64_t len, int64_t off, struct kk_error *err)
{
	struct tiff_writer *t = w->impl;
	ssize_t n;

	while (len > 0) {
		n = pwrite(t->spill_fd, src,
			   (size_t)(len < IO_CHUNK ? len : IO_CHUNK),
			   (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return spill_fail(w, n < 0 ? errno : ENOSPC, "write",
					  err);
		src += n;
		len -= n;
		off += n;
	}
	return 0;
}

/* Block [lo, hi) of the (pages, rows, cols) array, dense in src, into
 * the spill, as few runs as its shape allows. */
static int spill_write(struct kk_writer *w, const int64_t lo[3],
		       const int64_t hi[3], const void *buf,
		       struct kk_error *err)
{
	struct tiff_writer *t = w->impl;
	const unsigned char *src = buf;
	int64_t es = (int64_t)t->esize, len = (hi[2] - lo[2]) * es, p, r, off;
	int rc = 0;

	if (t->spill_fd < 0) {
		t->spill_fd = open(t->spill_path,
				   O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
				   0600);
		if (t->spill_fd < 0)
			return spill_fail(w, errno, "create", err);
	}
	if (lo[1] == 0 && hi[1] == t->height && lo[2] == 0 &&
	    hi[2] == t->width) {
		rc = spill_put(w, src, (hi[0] - lo[0]) * t->page_bytes,
			       lo[0] * t->page_bytes, err);
	} else if (lo[2] == 0 && hi[2] == t->width) {
		for (p = lo[0]; !rc && p < hi[0]; p++) {
			rc = spill_put(w, src, (hi[1] - lo[1]) * len,
				       (p * t->height + lo[1]) * len, err);
			src += (hi[1] - lo[1]) * len;
		}
	} else {
		for (p = lo[0]; !rc && p < hi[0]; p++) {
			for (r = lo[1]; !rc && r < hi[1]; r++) {
				off = (p * t->height + r) * t->width + lo[2];
				rc = spill_put(w, src, len, off * es, err);
				src += len;
			}
		}
	}
	if (rc)
		return rc;
	for (p = lo[0]; p < hi[0]; p++)
		t->have[p] += (hi[1] - lo[1]) * (hi[2] - lo[2]);
	return 0;
}

/* Read page p back from the spill into t->page. */
static int spill_get(struct kk_writer *w, int64_t p, struct kk_error *err)
{
	struct tiff_writer *t = w->impl;
	int64_t len = t->page_bytes, off = p * t->page_bytes;
	unsigned char *dst;
	ssize_t n;

	if (!t->page) {
		t->page = malloc((size_t)t->page_bytes);
		if (!t->page)
			return kk_fail(err, KK_ENOMEM, "out of memory");
	}
	dst = t->page;
	while (len > 0) {
		n = pread(t->spill_fd, dst,
			  (size_t)(len < IO_CHUNK ? len : IO_CHUNK),
			  (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return spill_fail(w, n < 0 ? errno : EIO, "read", err);
		dst += n;
		len -= n;
		off += n;
	}
	return 0;
}

/* Write out what the spill has completed: for a file, pages from the
 * next one due while they are whole; for a directory, any whole page
 * in [p0, p1). */
static int settle(struct kk_writer *w, int64_t p0, int64_t p1,
		  struct kk_error *err)
{
	struct tiff_writer *t = w->impl;
	int64_t p;
	int rc;

	if (w->tmp_is_dir) {
		for (p = p0; p < p1; p++) {
			if (t->done[p] || t->have[p] < t->page_elems)
				continue;
			rc = spill_get(w, p, err);
			if (!rc)
				rc = put_page_file(w, p, t->page, err);
			if (rc)
				return rc;
		}
		return 0;
	}
	while (t->next_page < t->npages &&
	       t->have[t->next_page] >= t->page_elems) {
		rc = spill_get(w, t->next_page, err);
		if (!rc)
			rc = emit_page(w, t->next_page, t->page, err);
		if (rc)
			return rc;
	}
	return 0;
}

static int tw_write(struct kk_writer *w, int axis, int64_t start,
		    int64_t count, const void *buf, struct kk_error *err)
{
	struct tiff_writer *t = w->impl;
	int64_t dims[3] = {t->npages, t->height, t->width};
	int64_t lo[3] = {0, 0, 0}, hi[3] = {t->npages, t->height, t->width};
	const unsigned char *src = buf;
	int64_t p;
	int rc;

	if (w->info.rank == 2)
		axis++;
	if (axis < 0 || axis > 2 || start < 0 || count < 0 ||
	    start > dims[axis] - count)
		return kk_fail(err, KK_ERUNTIME, "internal error: writing "
			       "%lld + %lld along axis %d of '%s'",
			       (long long)start, (long long)count, axis,
			       w->name);
	if (count == 0)
		return 0;
	lo[axis] = start;
	hi[axis] = start + count;
	if (lo[1] != 0 || hi[1] != t->height || lo[2] != 0 ||
	    hi[2] != t->width) {
		rc = spill_write(w, lo, hi, buf, err);
		return rc ? rc : settle(w, lo[0], hi[0], err);
	}
	/* Whole pages: each goes out now if it is its turn. */
	for (p = lo[0]; p < hi[0]; p++, src += t->page_bytes) {
		if (can_emit(t, p, w->tmp_is_dir)) {
			rc = emit_page(w, p, src, err);
		} else {
			int64_t plo[3] = {p, 0, 0};
			int64_t phi[3] = {p + 1, t->height, t->width};

			rc = spill_write(w, plo, phi, src, err);
		}
		if (!rc)
			rc = settle(w, p, p + 1, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* Free everything, closing without finishing what is still open. */
static void free_writer(struct kk_writer *w)
{
	struct tiff_writer *t = w->impl;

	if (!t)
		return;
	if (t->tif)
		drop_tiff(t->tif);
	if (t->spill_fd >= 0) {
		close(t->spill_fd);
		if (unlink(t->spill_path) < 0 && errno != ENOENT)
			kk_msg_warn("cannot remove '%s': %s", t->spill_path,
				    strerror(errno));
	}
	cJSON_Delete(t->geometry);
	free(t->done);
	free(t->have);
	free(t->spill_path);
	free(t->page);
	free(t->page_path);
	free(t);
	w->impl = NULL;
}

static int tw_finish(struct kk_writer *w, struct kk_error *err)
{
	struct tiff_writer *t = w->impl;
	char label[LABEL_MAX];
	int64_t p, missing = 0;
	int rc;

	rc = settle(w, 0, t->npages, err);
	for (p = 0; !rc && p < t->npages; p++)
		missing += w->tmp_is_dir ? !t->done[p] : p >= t->next_page;
	if (!rc && missing)
		rc = kk_fail(err, KK_ERUNTIME, "internal error: %lld of %lld "
			     "pages of '%s' were never complete",
			     (long long)missing, (long long)t->npages,
			     w->name);
	if (!rc && t->tif) {
		snprintf(label, sizeof(label), "'%s'", w->name);
		rc = close_tiff(t->tif, label, err);
		t->tif = NULL;
	}
	free_writer(w);
	return rc;
}

static void tw_discard(struct kk_writer *w)
{
	free_writer(w);
}

static const struct kk_writer_ops tiff_writer_ops = {
	.write = tw_write,
	.finish = tw_finish,
	.discard = tw_discard,
};

int kk_tiff_create(struct kk_writer *w, struct kk_error *err)
{
	struct tiff_writer *t;
	const char *geom = w->opts.prov.geometry;
	char label[LABEL_MAX];
	int64_t dims[3], total, n;
	int rc;

	kk_tiff_init();
	if (w->info.dtype != KK_F32 && w->info.dtype != KK_F16 &&
	    w->info.dtype != KK_U16)
		return kk_fail(err, KK_ERUNTIME, "internal error: TIFF output "
			       "of %s", kk_dtype_name(w->info.dtype));
	t = calloc(1, sizeof(*t));
	if (!t)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	t->spill_fd = -1;
	w->impl = t;
	if (w->info.rank == 3) {
		memcpy(dims, w->info.dims, sizeof(dims));
	} else {
		dims[0] = 1;
		dims[1] = w->info.dims[0];
		dims[2] = w->info.dims[1];
	}
	t->npages = dims[0];
	t->height = dims[1];
	t->width = dims[2];
	t->multi = w->info.rank == 3 && !w->tmp_is_dir;
	t->esize = kk_dtype_size(w->info.dtype);
	t->prefix = w->opts.page_prefix ? w->opts.page_prefix : "page";
	for (n = t->npages - 1, t->digits = 1; n >= 10; n /= 10)
		t->digits++;
	if (t->digits < 5)
		t->digits = 5;
	total = kk_count(dims, 3);
	if (t->npages < 1 || t->height < 1 || t->width < 1 ||
	    t->height > UINT32_MAX || t->width > UINT32_MAX || total < 0 ||
	    total > INT64_MAX / (int64_t)t->esize) {
		rc = kk_fail(err, KK_EINPUT, "cannot write %lld x %lld x %lld "
			     "as TIFF: pages must be 1 to 4294967295 pixels "
			     "each way", (long long)dims[0],
			     (long long)dims[1], (long long)dims[2]);
		goto fail;
	}
	t->page_elems = t->height * t->width;
	t->page_bytes = t->page_elems * (int64_t)t->esize;
	total *= (int64_t)t->esize;
	/* One file holds all the pages, or a directory's file one. */
	t->big = (t->multi ? total : t->page_bytes) > BIGTIFF_BYTES;

	t->have = calloc((size_t)t->npages, sizeof(*t->have));
	t->spill_path = malloc(strlen(w->tmp) + sizeof(".spill"));
	if (!t->have || !t->spill_path) {
		rc = kk_fail(err, KK_ENOMEM, "out of memory");
		goto fail;
	}
	sprintf(t->spill_path, "%s.spill", w->tmp);
	if (geom) {
		/* The geometry was checked when it was read; should it
		 * still not parse, keep the text rather than lose it. */
		t->geometry = cJSON_Parse(geom);
		if (!t->geometry)
			t->geometry = cJSON_CreateString(geom);
		if (!t->geometry) {
			rc = kk_fail(err, KK_ENOMEM, "out of memory");
			goto fail;
		}
	}
	if (w->tmp_is_dir) {
		t->done = calloc((size_t)t->npages, 1);
		t->page_path = malloc(strlen(w->tmp) + strlen(t->prefix) + 32);
		if (!t->done || !t->page_path) {
			rc = kk_fail(err, KK_ENOMEM, "out of memory");
			goto fail;
		}
	} else {
		snprintf(label, sizeof(label), "'%s'", w->name);
		rc = create_tiff(w->tmp, t->big ? "w8" : "w", &t->tif, label,
				 err);
		if (rc)
			goto fail;
	}
	w->ops = &tiff_writer_ops;
	return 0;
fail:
	free_writer(w);
	return rc;
}
