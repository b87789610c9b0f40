/*
 * io.c: what every format shares (see io.h): telling formats apart from a
 * spec, the 3-D view of 2-D files and the conversion to float32; and the
 * reading side of that.  Writing is in io_write.c.
 */
#include "config.h"
#include "io_impl.h"
#include "signals.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static bool has_suffix(const char *s, const char *const *suffixes)
{
	size_t n = strlen(s), k;
	int i;

	for (i = 0; suffixes[i]; i++) {
		k = strlen(suffixes[i]);
		if (n > k && strcasecmp(s + n - k, suffixes[i]) == 0)
			return true;
	}
	return false;
}

static const char *const hdf5_suffixes[] = {".h5", ".hdf5", ".hdf", ".he5",
					    ".nxs", ".nx5", ".nx", ".cxi",
					    NULL};
static const char *const tiff_suffixes[] = {".tif", ".tiff", NULL};

/*
 * Split a spec into a file and an HDF5 dataset path and say what it is.
 * *file and *dataset are malloc'ed (dataset may be NULL).
 */
int kk_io_classify(const char *spec, bool output, char **file,
		   char **dataset, enum kk_spec_kind *kind,
		   struct kk_error *err)
{
	const char *colon = NULL, *p;
	struct stat st;
	bool exists;
	int magic;

	*file = NULL;
	*dataset = NULL;
	if (!spec[0])
		return kk_fail(err, KK_EUSAGE, "empty file name");
	for (p = spec; (p = strstr(p, ":/")); p++)
		colon = p;
	if (colon && colon > spec) {
		*file = strndup(spec, colon - spec);
		*dataset = strdup(colon + 1);
		if (!*file || !*dataset)
			return kk_fail(err, KK_ENOMEM, "out of memory");
		if (has_suffix(*file, tiff_suffixes))
			return kk_fail(err, KK_EUSAGE, "'%s': a dataset path "
				       "(':%s') applies to HDF5 files only",
				       spec, *dataset);
		*kind = KK_SPEC_HDF5;
		return 0;
	}
	*file = strdup(spec);
	if (!*file)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	exists = stat(spec, &st) == 0;
	if (spec[strlen(spec) - 1] == '/') {
		*kind = KK_SPEC_TIFF_DIR;
		return 0;
	}
	/* A pattern only if no file has that very name (scan[1].h5). */
	if (!output && !exists && strpbrk(spec, "*?[")) {
		*kind = KK_SPEC_TIFF_GLOB;
		return 0;
	}
	/* The name says the format; a directory so named is an error the
	 * reader or writer reports. */
	if (has_suffix(spec, hdf5_suffixes)) {
		*kind = KK_SPEC_HDF5;
		return 0;
	}
	if (has_suffix(spec, tiff_suffixes)) {
		*kind = KK_SPEC_TIFF_FILE;
		return 0;
	}
	if (exists && S_ISDIR(st.st_mode)) {
		*kind = KK_SPEC_TIFF_DIR;
		return 0;
	}
	if (!output) {
		if (access(spec, F_OK) != 0)
			return kk_fail_errno(err, KK_EINPUT, errno, "cannot "
					     "open '%s'", spec);
		magic = kk_file_is_hdf5(spec);
		if (magic > 0) {
			*kind = KK_SPEC_HDF5;
			return 0;
		}
		if (kk_file_is_tiff(spec) > 0) {
			*kind = KK_SPEC_TIFF_FILE;
			return 0;
		}
		if (magic < 0)
			return kk_fail_errno(err, KK_EINPUT, errno, "cannot "
					     "read '%s'", spec);
		return kk_fail(err, KK_EINPUT, "'%s' is neither an HDF5 nor "
			       "a TIFF file", spec);
	}
	return kk_fail(err, KK_EUSAGE, "cannot tell the format of '%s' from "
		       "its name: use .h5 (HDF5), .tif (multi-page TIFF) or a "
		       "directory ending in / (single-page TIFFs)", spec);
}

/* Open spec; key != 0: only its NXtomo frames with that image_key,
 * and *out NULL when it has none. */
static int open_reader(struct kk_reader **out, const char *spec, int key,
		       struct kk_error *err)
{
	struct kk_reader *r;
	char *file, *dataset;
	enum kk_spec_kind kind;
	int rc;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	r->squeeze = -1;
	r->count_axis = -1;
	rc = kk_io_classify(spec, false, &file, &dataset, &kind, err);
	if (!rc && kind == KK_SPEC_HDF5)
		rc = kk_hdf5_open_read(r, file, dataset, key, err);
	else if (!rc && key == 0)
		rc = kk_tiff_open_read(r, file,
				       kind == KK_SPEC_TIFF_FILE ? 'f'
				       : kind == KK_SPEC_TIFF_DIR ? 'd' : 'g',
				       err);
	free(file);
	free(dataset);
	if (rc || (key != 0 && (!r->ops || r->info.dims[0] == 0))) {
		if (!rc && r->ops)
			r->ops->close(r);
		free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int kk_reader_open(struct kk_reader **out, const char *spec,
		   struct kk_error *err)
{
	return open_reader(out, spec, 0, err);
}

int kk_reader_open_key(struct kk_reader **out, const char *spec, int key,
		       struct kk_error *err)
{
	return open_reader(out, spec, key, err);
}

const struct kk_stack_info *kk_reader_info(const struct kk_reader *r)
{
	return &r->info;
}

const char *kk_reader_name(const struct kk_reader *r)
{
	return r->name;
}

const char *kk_reader_note(const struct kk_reader *r)
{
	return r->note;
}

static void format_dims(char *buf, size_t n, const int64_t *dims, int rank)
{
	if (rank == 2)
		snprintf(buf, n, "%lld x %lld", (long long)dims[0],
			 (long long)dims[1]);
	else
		snprintf(buf, n, "%lld x %lld x %lld", (long long)dims[0],
			 (long long)dims[1], (long long)dims[2]);
}

/* Does the 2-D stored shape equal want without axis s? */
static bool fits_without(const int64_t *stored, const int64_t *want, int s)
{
	int i, j = 0;

	if (want[s] != 1)
		return false;
	for (i = 0; i < 3; i++)
		if (i != s && stored[j++] != want[i])
			return false;
	return true;
}

int kk_reader_expect(struct kk_reader *r, const int64_t want[3],
		     int squeeze, const char *what, const char *axes,
		     struct kk_error *err)
{
	const int64_t *d = r->info.dims;
	char have[80], need[80];
	int s;

	if (r->info.rank == 3 && d[0] == want[0] && d[1] == want[1] &&
	    d[2] == want[2]) {
		r->squeeze = -1;
		r->expected = true;
		return 0;
	}
	if (r->info.rank == 2) {
		if (squeeze >= 0 && fits_without(d, want, squeeze)) {
			r->squeeze = squeeze;
			r->expected = true;
			return 0;
		}
		for (s = 0; s < 3; s++) {
			if (fits_without(d, want, s)) {
				r->squeeze = s;
				r->expected = true;
				return 0;
			}
		}
	}
	format_dims(have, sizeof(have), d, r->info.rank);
	format_dims(need, sizeof(need), want, 3);
	return kk_fail(err, KK_EINPUT, "'%s' holds %s of shape %s but the "
		       "geometry needs %s (%s)", r->name, what, have, need,
		       axes);
}

int kk_io_stored_axis(int squeeze, int a)
{
	if (squeeze < 0)
		return a;
	if (a == squeeze)
		return -1;
	return a < squeeze ? a : a - 1;
}

int kk_io_reserve(void **buf, size_t *size, size_t need,
		  struct kk_error *err)
{
	void *p;

	if (need <= *size)
		return 0;
	p = realloc(*buf, need);
	if (!p)
		return kk_fail(err, KK_ENOMEM, "out of memory for a %zu-byte "
			       "I/O buffer", need);
	*buf = p;
	*size = need;
	return 0;
}

/* Values of the stored type that float32 changes, among n at raw. */
static void count_inexact(struct kk_reader *r, const void *raw, int64_t n)
{
	struct kk_convert_stats st = {0, 0};
	size_t esize = kk_dtype_size(r->info.dtype);
	float tmp[1024];
	int64_t i, m;

	for (i = 0; i < n; i += m) {
		m = n - i < 1024 ? n - i : 1024;
		kk_convert_to_f32(tmp, (const char *)raw + i * (int64_t)esize,
				  r->info.dtype, (size_t)m, &st);
	}
	r->stats.inexact += st.inexact;
}

/* NaNs and infinities among n floats: all exponent bits set (a pass
 * over every value read, so kept to bit tests that vectorise). */
static int64_t count_nonfinite(const float *a, int64_t n)
{
	const uint32_t *u = (const uint32_t *)a;
	int64_t i, bad = 0;

	for (i = 0; i < n; i++)
		bad += (u[i] & 0x7f800000u) == 0x7f800000u;
	return bad;
}

/* The stats of the elements of a box (start, count; dst as float32,
 * raw as stored, or NULL) whose index along r->count_axis is counted. */
static void count_part(struct kk_reader *r, const int64_t *start,
		       const int64_t *count, const float *dst,
		       const void *raw)
{
	const int a = r->count_axis;
	size_t esize = kk_dtype_size(r->info.dtype);
	int64_t lo[2], hi[2], from[3], to[3], i0, i1, k;
	int j;

	/* [lo, hi) less [xlo, xhi): up to two ranges, in the box. */
	lo[0] = r->count_lo;
	hi[0] = r->count_xlo > r->count_lo ? r->count_xlo : r->count_lo;
	if (hi[0] > r->count_hi)
		hi[0] = r->count_hi;
	lo[1] = r->count_xhi > r->count_lo ? r->count_xhi : r->count_lo;
	hi[1] = r->count_hi;
	if (r->count_xhi <= r->count_xlo) {
		hi[0] = r->count_hi;
		lo[1] = hi[1];
	}
	for (k = 0; k < 2; k++) {
		int64_t l = lo[k] > start[a] ? lo[k] : start[a];
		int64_t h = hi[k] < start[a] + count[a] ? hi[k]
							 : start[a] + count[a];

		if (l >= h)
			continue;
		for (j = 0; j < 3; j++) {
			from[j] = 0;
			to[j] = count[j];
		}
		from[a] = l - start[a];
		to[a] = h - start[a];
		for (i0 = from[0]; i0 < to[0]; i0++)
			for (i1 = from[1]; i1 < to[1]; i1++) {
				int64_t at = (i0 * count[1] + i1) * count[2] +
					     from[2], len = to[2] - from[2];

				r->stats.nonfinite += count_nonfinite(dst + at,
								      len);
				if (raw)
					count_inexact(r, (const char *)raw +
						      at * (int64_t)esize,
						      len);
			}
	}
}

/* The box of the 3-D view as a box of the stored array. */
static int map_box(const struct kk_reader *r, const int64_t start[3],
		   const int64_t count[3], int64_t *sstart, int64_t *scount,
		   struct kk_error *err)
{
	int a, s = 0;

	for (a = 0; a < 3; a++) {
		int64_t len = a == r->squeeze ? 1
			      : r->info.dims[kk_io_stored_axis(r->squeeze, a)];

		if (start[a] < 0 || count[a] < 0 || start[a] > len - count[a])
			return kk_fail(err, KK_ERUNTIME, "'%s': indices %lld "
				       "to %lld are outside axis %d of length "
				       "%lld", r->name, (long long)start[a],
				       (long long)(start[a] + count[a] - 1), a,
				       (long long)len);
		if (a == r->squeeze)
			continue;
		sstart[s] = start[a];
		scount[s++] = count[a];
	}
	return 0;
}

int kk_reader_read_box(struct kk_reader *r, const int64_t start[3],
		       const int64_t count[3], float *dst,
		       struct kk_error *err)
{
	size_t esize = kk_dtype_size(r->info.dtype);
	int64_t sstart[3], scount[3], n;
	void *raw;
	int rc;

	if (!r->expected)
		return kk_fail(err, KK_ERUNTIME, "'%s': read before its shape "
			       "was checked", r->name);
	if (kk_interrupted())
		return kk_fail_interrupted(err);
	rc = map_box(r, start, count, sstart, scount, err);
	n = count[0] * count[1] * count[2];
	if (rc || n == 0)
		return rc;
	if (r->info.dtype == KK_F32) {
		/* No conversion: read in place, count what is not finite. */
		rc = r->ops->read(r, sstart, scount, dst, err);
		if (!rc && r->count_axis < 0)
			r->stats.nonfinite += count_nonfinite(dst, n);
		else if (!rc)
			count_part(r, start, count, dst, NULL);
		return rc;
	}
	if (esize < sizeof(float)) {
		/* Read into the end of dst and widen front to back: each
		 * element is read before its float overwrites it. */
		raw = (char *)dst + (size_t)n * (sizeof(float) - esize);
	} else {
		rc = kk_io_reserve(&r->scratch, &r->scratch_size,
				   (size_t)n * esize, err);
		if (rc)
			return rc;
		raw = r->scratch;
	}
	rc = r->ops->read(r, sstart, scount, raw, err);
	if (rc)
		return rc;
	if (r->count_axis < 0) {
		kk_convert_to_f32(dst, raw, r->info.dtype, (size_t)n,
				  &r->stats);
	} else {
		kk_convert_to_f32(dst, raw, r->info.dtype, (size_t)n, NULL);
		/* Only 4- and 8-byte types can be inexact, and they were
		 * read into the scratch, which still holds them. */
		count_part(r, start, count, dst, esize < sizeof(float) ? NULL
								       : raw);
	}
	if (r->range.set) {
		double lo = r->range.lo, k = (r->range.hi - lo) / 65535;
		int64_t i;

		for (i = 0; i < n; i++)
			dst[i] = (float)(lo + dst[i] * k);
	}
	return 0;
}

const struct kk_convert_stats *kk_reader_stats(const struct kk_reader *r)
{
	return &r->stats;
}

void kk_reader_count_only(struct kk_reader *r, int axis, int64_t lo,
			  int64_t hi, int64_t xlo, int64_t xhi)
{
	r->count_axis = axis;
	r->count_lo = lo;
	r->count_hi = hi;
	r->count_xlo = xlo;
	r->count_xhi = xhi;
}

int kk_reader_read(struct kk_reader *r, int axis, int64_t start,
		   int64_t count, float *dst, struct kk_error *err)
{
	int64_t s[3] = {0, 0, 0}, c[3];
	int a;

	if (axis < 0 || axis > 2)
		return kk_fail(err, KK_ERUNTIME, "'%s': no axis %d", r->name,
			       axis);
	for (a = 0; a < 3; a++)
		c[a] = a == r->squeeze ? 1
		       : r->info.dims[kk_io_stored_axis(r->squeeze, a)];
	s[axis] = start;
	c[axis] = count;
	return kk_reader_read_box(r, s, c, dst, err);
}

void kk_reader_close(struct kk_reader *r)
{
	if (!r)
		return;
	if (r->stats.inexact)
		kk_msg_warn("'%s': %lld %s value%s rounded to float32",
			    r->name, (long long)r->stats.inexact,
			    kk_dtype_name(r->info.dtype),
			    r->stats.inexact == 1 ? " was" : "s were");
	if (r->stats.nonfinite)
		kk_msg_warn("'%s' holds %lld value%s NaN or infinite",
			    r->name, (long long)r->stats.nonfinite,
			    r->stats.nonfinite == 1 ? " that is" : "s that are");
	if (r->ops)
		r->ops->close(r);
	free(r->scratch);
	free(r);
}
