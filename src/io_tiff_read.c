/*
 * io_tiff_read.c: TIFF stacks as kkit inputs: one multi-page file, a
 * directory of single-page files or the files a pattern matches.
 *
 * Every page is checked at open (same size, same type, one channel), so
 * a bad stack stops kkit before any work.  Reading decodes only the
 * strips or tiles that hold the rows asked for, keeps the last one
 * decoded (slabs along the rows come in small pieces) and holds one TIFF
 * open at a time, since a list can be 20000 files.
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

/* ---- reading: pages and their format ---------------------------------- */

struct page_fmt {
	uint32_t height, width;
	uint16_t spp, bits, format, photometric;
	enum kk_dtype dtype;
};

static int dtype_of(uint16_t format, uint16_t bits, enum kk_dtype *t)
{
	static const struct {
		uint16_t format, bits;
		enum kk_dtype t;
	} types[] = {
		{SAMPLEFORMAT_UINT, 8, KK_U8},
		{SAMPLEFORMAT_UINT, 16, KK_U16},
		{SAMPLEFORMAT_UINT, 32, KK_U32},
		{SAMPLEFORMAT_INT, 8, KK_I8},
		{SAMPLEFORMAT_INT, 16, KK_I16},
		{SAMPLEFORMAT_INT, 32, KK_I32},
		{SAMPLEFORMAT_IEEEFP, 16, KK_F16},
		{SAMPLEFORMAT_IEEEFP, 32, KK_F32},
		{SAMPLEFORMAT_IEEEFP, 64, KK_F64},
	};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (types[i].format == format && types[i].bits == bits) {
			*t = types[i].t;
			return 0;
		}
	}
	return -1;
}

static void describe_type(char *buf, size_t n, uint16_t format,
			  uint16_t bits)
{
	const char *what;

	switch (format) {
	case SAMPLEFORMAT_UINT:
		what = "unsigned integers";
		break;
	case SAMPLEFORMAT_INT:
		what = "signed integers";
		break;
	case SAMPLEFORMAT_IEEEFP:
		what = "floating-point numbers";
		break;
	case SAMPLEFORMAT_VOID:
		what = "untyped samples";
		break;
	case SAMPLEFORMAT_COMPLEXINT:
		what = "complex integers";
		break;
	case SAMPLEFORMAT_COMPLEXIEEEFP:
		what = "complex floating-point numbers";
		break;
	default:
		snprintf(buf, n, "%u-bit samples of unknown format %u",
			 (unsigned)bits, (unsigned)format);
		return;
	}
	snprintf(buf, n, "%u-bit %s", (unsigned)bits, what);
}

/* The current directory's format; label names the page in messages. */
static int read_fmt(TIFF *tif, const char *label, struct page_fmt *f,
		    struct kk_error *err)
{
	char type[96];

	memset(f, 0, sizeof(*f));
	if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &f->width) ||
	    !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &f->height) ||
	    f->width == 0 || f->height == 0)
		return kk_fail(err, KK_EINPUT, "%s has no image size "
			       "(ImageWidth and ImageLength)", label);
	if (!TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &f->spp) ||
	    !TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &f->bits) ||
	    !TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &f->format))
		return kk_fail(err, KK_EINPUT, "%s: cannot read its sample "
			       "format tags", label);
	if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &f->photometric))
		f->photometric = PHOTOMETRIC_MINISBLACK;
	if (f->spp != 1)
		return kk_fail(err, KK_EINPUT, "%s has %u samples per pixel: "
			       "kkit reads single-channel (grayscale) images",
			       label, (unsigned)f->spp);
	/* Palette indices would pass for intensities; they are not. */
	if (f->photometric == PHOTOMETRIC_PALETTE)
		return kk_fail(err, KK_EINPUT, "%s is a palette (indexed "
			       "color) image: kkit reads single-channel "
			       "(grayscale) images", label);
	if (dtype_of(f->format, f->bits, &f->dtype)) {
		describe_type(type, sizeof(type), f->format, f->bits);
		return kk_fail(err, KK_EINPUT, "%s holds %s: kkit reads 8, 16 "
			       "and 32-bit integers (signed or unsigned) and "
			       "16, 32 and 64-bit floating-point numbers",
			       label, type);
	}
	return 0;
}

struct tiff_reader {
	char *path;             /* 'f': the file */
	char **files;           /* 'd', 'g': one single-page file a page */
	uint64_t *ifd;          /* 'f': where each page's directory is */
	int64_t npages;
	int64_t height, width;
	size_t esize;
	struct page_fmt ref;    /* page 0's, which every page must match */
	bool have_ref;
	TIFF *tif;              /* the one TIFF open, or NULL */
	int64_t cur;            /* the page tif is at, or -1 */
	unsigned char *chunk;   /* the strip or tile last decoded */
	size_t chunk_cap;
	int64_t chunk_id;       /* its number in page cur, or -1 */
};

static void page_label(const struct tiff_reader *t, int64_t p, char *buf,
		       size_t n)
{
	if (t->files)
		snprintf(buf, n, "'%s'", t->files[p]);
	else if (t->npages > 1)
		snprintf(buf, n, "page %lld of '%s'", (long long)p, t->path);
	else
		snprintf(buf, n, "'%s'", t->path);
}

/* Check the page tif is at against page 0 (or make it the reference):
 * io.c sizes its buffers from page 0, and so do we. */
static int check_page(struct tiff_reader *t, int64_t p, struct kk_error *err)
{
	char label[LABEL_MAX], ref[LABEL_MAX], a[96], b[96];
	struct page_fmt f;
	int rc;

	page_label(t, p, label, sizeof(label));
	rc = read_fmt(t->tif, label, &f, err);
	if (rc)
		return rc;
	if (!t->have_ref) {
		t->ref = f;
		t->have_ref = true;
		return 0;
	}
	if (t->files)
		snprintf(ref, sizeof(ref), "'%s'", t->files[0]);
	else
		snprintf(ref, sizeof(ref), "page 0");
	if (f.height != t->ref.height || f.width != t->ref.width)
		return kk_fail(err, KK_EINPUT, "%s is %u x %u (rows x cols) "
			       "but %s is %u x %u", label, f.height, f.width,
			       ref, t->ref.height, t->ref.width);
	if (f.dtype != t->ref.dtype) {
		describe_type(a, sizeof(a), f.format, f.bits);
		describe_type(b, sizeof(b), t->ref.format, t->ref.bits);
		return kk_fail(err, KK_EINPUT, "%s holds %s but %s holds %s",
			       label, a, ref, b);
	}
	return 0;
}

/* open(2) ourselves, so that a missing file is told in strerror's
 * words rather than libtiff's. */
static int open_tiff(const char *path, TIFF **out, struct kk_error *err)
{
	struct stat st;
	TIFF *tif;
	int fd, e;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return kk_fail_errno(err, KK_EINPUT, errno, "cannot open '%s'",
				     path);
	if (fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		return kk_fail_errno(err, KK_EINPUT, e, "cannot open '%s'",
				     path);
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return kk_fail(err, KK_EINPUT, "'%s' is a directory, not a "
			       "TIFF file", path);
	}
	kk_tiff_clear();
	/* No memory mapping: a file cut short under us must fail a read,
	 * not raise SIGBUS. */
	tif = TIFFFdOpen(fd, path, "rm");
	if (!tif) {
		close(fd);
		return kk_fail(err, KK_EINPUT, "cannot read '%s' as TIFF: %s",
			       path, kk_tiff_msg(path));
	}
	*out = tif;
	return 0;
}

static int open_file(struct tiff_reader *t, const char *spec,
		     struct kk_error *err)
{
	char label[LABEL_MAX];
	tdir_t n, i;
	int rc;

	t->path = strdup(spec);
	if (!t->path)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	rc = open_tiff(spec, &t->tif, err);
	if (rc)
		return rc;
	/* Counting first tells a broken directory chain (a truncated
	 * file) from its end, which TIFFReadDirectory cannot. */
	kk_tiff_clear();
	n = TIFFNumberOfDirectories(t->tif);
	if (n == 0 || kk_tiff_failed())
		return kk_fail(err, KK_EINPUT, "cannot read '%s': %s", spec,
			       kk_tiff_msg(spec));
	t->npages = n;
	t->ifd = malloc((size_t)n * sizeof(*t->ifd));
	if (!t->ifd)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		kk_tiff_clear();
		if (i > 0 && !TIFFReadDirectory(t->tif)) {
			page_label(t, i, label, sizeof(label));
			return kk_fail(err, KK_EINPUT, "cannot read %s: %s",
				       label, kk_tiff_msg(spec));
		}
		t->ifd[i] = TIFFCurrentDirOffset(t->tif);
		rc = check_page(t, i, err);
		if (rc)
			return rc;
	}
	t->cur = n - 1;
	return 0;
}

static int open_list(struct tiff_reader *t, const char *spec, int kind,
		     struct kk_error *err)
{
	tdir_t n;
	int64_t i;
	int rc;

	rc = kk_tiff_list(spec, kind, &t->files, &t->npages, err);
	if (rc)
		return rc;
	/* Only one open at a time: there may be more files than fds. */
	for (i = 0; i < t->npages; i++) {
		rc = open_tiff(t->files[i], &t->tif, err);
		if (rc)
			return rc;
		kk_tiff_clear();
		n = TIFFNumberOfDirectories(t->tif);
		if (n == 0 || kk_tiff_failed())
			return kk_fail(err, KK_EINPUT, "cannot read '%s': %s",
				       t->files[i], kk_tiff_msg(t->files[i]));
		if (n != 1)
			return kk_fail(err, KK_EINPUT, "'%s' holds %u pages, "
				       "but each file of a directory or "
				       "pattern must hold one image",
				       t->files[i], (unsigned)n);
		rc = check_page(t, i, err);
		if (rc)
			return rc;
		TIFFClose(t->tif);
		t->tif = NULL;
	}
	return 0;
}

static void free_reader(struct tiff_reader *t)
{
	int64_t i;

	if (!t)
		return;
	if (t->tif)
		TIFFClose(t->tif);
	if (t->files)
		for (i = 0; i < t->npages; i++)
			free(t->files[i]);
	free(t->files);
	free(t->path);
	free(t->ifd);
	free(t->chunk);
	free(t);
}

/* ---- reading: pixels -------------------------------------------------- */

/* Put tif at page p (opening its file, for lists). */
static int select_page(struct tiff_reader *t, int64_t p, struct kk_error *err)
{
	char label[LABEL_MAX];
	int rc;

	if (t->cur == p)
		return 0;
	t->cur = -1;
	t->chunk_id = -1;
	if (t->files) {
		if (t->tif)
			TIFFClose(t->tif);
		t->tif = NULL;
		rc = open_tiff(t->files[p], &t->tif, err);
		if (rc)
			return rc;
	} else {
		kk_tiff_clear();
		if (!TIFFSetSubDirectory(t->tif, t->ifd[p])) {
			page_label(t, p, label, sizeof(label));
			return kk_fail(err, KK_EINPUT, "cannot read %s: %s",
				       label, kk_tiff_msg(t->path));
		}
	}
	/* The file may have changed since we opened it: our buffers are
	 * sized from page 0, so look again before decoding. */
	rc = check_page(t, p, err);
	if (rc)
		return rc;
	t->cur = p;
	return 0;
}

static int grow_chunk(struct tiff_reader *t, int64_t size,
		      struct kk_error *err)
{
	unsigned char *c;

	if ((uint64_t)size <= t->chunk_cap)
		return 0;
	if ((uint64_t)size > SIZE_MAX)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	c = realloc(t->chunk, (size_t)size);
	if (!c)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	t->chunk = c;
	t->chunk_cap = (size_t)size;
	t->chunk_id = -1;
	return 0;
}

static int decode_fail(struct tiff_reader *t, const char *what, int64_t id,
		       int64_t got, int64_t want, struct kk_error *err)
{
	char label[LABEL_MAX];

	t->chunk_id = -1;
	page_label(t, t->cur, label, sizeof(label));
	if (got < 0)
		return kk_fail(err, KK_EINPUT, "cannot read %s: %s", label,
			       kk_tiff_msg(TIFFFileName(t->tif)));
	return kk_fail(err, KK_EINPUT, "cannot read %s: %s %lld holds %lld "
		       "bytes, expected %lld", label, what, (long long)id,
		       (long long)got, (long long)want);
}

/* Rows [r0, r1) and columns [c0, c1) of the current page into dst
 * (dense, (c1 - c0) elements a row), from a striped page. */
static int read_strips(struct tiff_reader *t, int64_t r0, int64_t r1,
		       int64_t c0, int64_t c1, unsigned char *dst,
		       struct kk_error *err)
{
	int64_t es = (int64_t)t->esize, row = t->width * es;
	int64_t len = (c1 - c0) * es, rps, s, sr0, nr, want, got, r;
	uint32_t v;
	int rc;

	if (!TIFFGetFieldDefaulted(t->tif, TIFFTAG_ROWSPERSTRIP, &v) ||
	    v == 0 || v > t->height)
		v = (uint32_t)t->height;
	rps = v;
	rc = grow_chunk(t, rps * row, err);
	if (rc)
		return rc;
	for (s = r0 / rps; s * rps < r1; s++) {
		sr0 = s * rps;
		nr = rps < t->height - sr0 ? rps : t->height - sr0;
		want = nr * row;
		if (t->chunk_id != s) {
			kk_tiff_clear();
			t->chunk_id = -1;
			got = TIFFReadEncodedStrip(t->tif, (uint32_t)s,
						   t->chunk, (tmsize_t)want);
			if (got != want)
				return decode_fail(t, "strip", s, got, want,
						   err);
			t->chunk_id = s;
		}
		for (r = sr0 > r0 ? sr0 : r0; r < r1 && r < sr0 + nr; r++)
			memcpy(dst + (r - r0) * len,
			       t->chunk + (r - sr0) * row + c0 * es,
			       (size_t)len);
	}
	return 0;
}

/* As read_strips, from a tiled page.  Tiles are always whole, also those
 * that hang over the right and bottom edges. */
static int read_tiles(struct tiff_reader *t, int64_t r0, int64_t r1,
		      int64_t c0, int64_t c1, unsigned char *dst,
		      struct kk_error *err)
{
	int64_t es = (int64_t)t->esize, len = (c1 - c0) * es;
	int64_t tw, th, want, got, ty, tx, ra, rb, ca, cb, r, id;
	char label[LABEL_MAX];
	uint32_t vw, vh;
	int rc;

	if (!TIFFGetField(t->tif, TIFFTAG_TILEWIDTH, &vw) ||
	    !TIFFGetField(t->tif, TIFFTAG_TILELENGTH, &vh) ||
	    vw == 0 || vh == 0) {
		page_label(t, t->cur, label, sizeof(label));
		return kk_fail(err, KK_EINPUT, "%s is tiled but gives no "
			       "tile size", label);
	}
	tw = vw;
	th = vh;
	want = tw * th * es;
	rc = grow_chunk(t, want, err);
	if (rc)
		return rc;
	for (ty = r0 - r0 % th; ty < r1; ty += th) {
		for (tx = c0 - c0 % tw; tx < c1; tx += tw) {
			id = TIFFComputeTile(t->tif, (uint32_t)tx,
					     (uint32_t)ty, 0, 0);
			if (t->chunk_id != id) {
				kk_tiff_clear();
				t->chunk_id = -1;
				got = TIFFReadEncodedTile(t->tif, (uint32_t)id,
							  t->chunk,
							  (tmsize_t)want);
				if (got != want)
					return decode_fail(t, "tile", id, got,
							   want, err);
				t->chunk_id = id;
			}
			ra = ty > r0 ? ty : r0;
			rb = ty + th < r1 ? ty + th : r1;
			ca = tx > c0 ? tx : c0;
			cb = tx + tw < c1 ? tx + tw : c1;
			for (r = ra; r < rb; r++)
				memcpy(dst + (r - r0) * len + (ca - c0) * es,
				       t->chunk +
				       ((r - ty) * tw + ca - tx) * es,
				       (size_t)((cb - ca) * es));
		}
	}
	return 0;
}

static int tr_read(struct kk_reader *r, const int64_t *start,
		   const int64_t *count, void *buf, struct kk_error *err)
{
	struct tiff_reader *t = r->impl;
	int64_t lo[3] = {0, 0, 0}, hi[3] = {1, t->height, t->width};
	unsigned char *dst = buf;
	int64_t p, step;
	int a, rc;

	/* A 2-D stack is one page: its axes are the rows and columns. */
	for (a = 0; a < r->info.rank; a++) {
		int k = a + 3 - r->info.rank;

		lo[k] = start[a];
		hi[k] = start[a] + count[a];
	}
	step = (hi[1] - lo[1]) * (hi[2] - lo[2]) * (int64_t)t->esize;
	for (p = lo[0]; p < hi[0]; p++, dst += step) {
		rc = select_page(t, p, err);
		if (rc)
			return rc;
		if (TIFFIsTiled(t->tif))
			rc = read_tiles(t, lo[1], hi[1], lo[2], hi[2], dst,
					err);
		else
			rc = read_strips(t, lo[1], hi[1], lo[2], hi[2], dst,
					 err);
		if (rc)
			return rc;
	}
	return 0;
}

static void tr_close(struct kk_reader *r)
{
	free_reader(r->impl);
	r->impl = NULL;
}

static const struct kk_reader_ops tiff_reader_ops = {
	.read = tr_read,
	.close = tr_close,
};

/* kkit's uint16 outputs carry the range that 0..65535 stands for in
 * their description (see io_tiff_write.c): read it back. */
static int read_range(struct kk_reader *r, struct tiff_reader *t,
		      struct kk_error *err)
{
	const cJSON *range, *lo, *hi;
	char *desc = NULL;
	cJSON *json;
	int rc;

	rc = select_page(t, 0, err);
	if (rc)
		return rc;
	if (!TIFFGetField(t->tif, TIFFTAG_IMAGEDESCRIPTION, &desc) || !desc)
		return 0;
	json = cJSON_Parse(desc);
	range = cJSON_GetObjectItemCaseSensitive(json, "range");
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(json, "kkit")) &&
	    cJSON_GetArraySize(range) == 2) {
		lo = cJSON_GetArrayItem(range, 0);
		hi = cJSON_GetArrayItem(range, 1);
		if (cJSON_IsNumber(lo) && cJSON_IsNumber(hi) &&
		    hi->valuedouble > lo->valuedouble) {
			r->range.set = true;
			r->range.lo = lo->valuedouble;
			r->range.hi = hi->valuedouble;
			snprintf(r->note, sizeof(r->note), "uint16 values "
				 "stand for %g to %g (kkit's range)",
				 lo->valuedouble, hi->valuedouble);
		}
	}
	cJSON_Delete(json);
	return 0;
}

int kk_tiff_open_read(struct kk_reader *r, const char *spec, int kind,
		      struct kk_error *err)
{
	struct tiff_reader *t;
	size_t len;
	int rc;

	kk_tiff_init();
	if (kind != 'f' && kind != 'd' && kind != 'g')
		return kk_fail(err, KK_ERUNTIME, "internal error: TIFF input "
			       "kind '%c'", kind);
	t = calloc(1, sizeof(*t));
	if (!t)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	t->cur = -1;
	t->chunk_id = -1;
	rc = kind == 'f' ? open_file(t, spec, err)
			 : open_list(t, spec, kind, err);
	if (rc)
		goto fail;
	t->height = t->ref.height;
	t->width = t->ref.width;
	t->esize = kk_dtype_size(t->ref.dtype);

	r->ops = &tiff_reader_ops;
	r->impl = t;
	r->note[0] = '\0';
	r->info.dtype = t->ref.dtype;
	if (kind == 'f' && t->npages == 1) {
		r->info.rank = 2;
		r->info.dims[0] = t->height;
		r->info.dims[1] = t->width;
		r->info.dims[2] = 0;
	} else {
		r->info.rank = 3;
		r->info.dims[0] = t->npages;
		r->info.dims[1] = t->height;
		r->info.dims[2] = t->width;
	}
	len = strlen(spec);
	snprintf(r->name, sizeof(r->name), "%s%s", spec,
		 kind == 'd' && len && spec[len - 1] != '/' ? "/" : "");
	if (t->ref.dtype == KK_U16) {
		rc = read_range(r, t, err);
		if (rc)
			goto fail;
	}
	return 0;
fail:
	free_reader(t);
	return rc;
}
