/*
 * recon_watch.c: what an iterative run shows while it goes: one --log
 * line per iteration (CSV, or JSON Lines for a name ending in .jsonl or
 * .json), and --snapshot images of the middle slice, 16-bit grayscale
 * PNG (written here with zlib) or TIFF (libtiff) by the pattern's
 * suffix.
 */
#include "config.h"
#include "recon_watch.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>
#include <unistd.h>
#include <zlib.h>

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

int kk_log_open(struct kk_log *l, const char *path, bool append, bool force,
		struct kk_error *err)
{
	bool exists = strcmp(path, "-") != 0 && access(path, F_OK) == 0;

	l->json = has_suffix(path, ".jsonl") || has_suffix(path, ".json");
	l->path = path;
	if (!strcmp(path, "-")) {
		l->f = stdout;
		l->own = false;
	} else {
		if (exists && !append && !force)
			return kk_fail(err, KK_EUSAGE, "log '%s' exists: use "
				       "--force to replace it", path);
		l->f = fopen(path, append ? "a" : "w");
		if (!l->f)
			return kk_fail_errno(err, KK_EIO, errno, "cannot "
					     "write the log '%s'", path);
		l->own = true;
	}
	if (!l->json && !(append && exists))
		fprintf(l->f, "iteration,residual,relative_change,seconds\n");
	fflush(l->f);
	return 0;
}

int kk_log_step(struct kk_log *l, const struct kk_recon_step *s,
		struct kk_error *err)
{
	if (!l->f)
		return 0;
	if (l->json)
		fprintf(l->f, "{\"iteration\": %d, \"residual\": %.9g, "
			"\"relative_change\": %.9g, \"seconds\": %.3f}\n",
			s->iteration, s->residual, s->rel_change, s->seconds);
	else
		fprintf(l->f, "%d,%.9g,%.9g,%.3f\n", s->iteration, s->residual,
			s->rel_change, s->seconds);
	if (fflush(l->f) != 0 || ferror(l->f))
		return kk_fail_errno(err, KK_EIO, errno, "cannot write the "
				     "log '%s'", l->path);
	return 0;
}

int kk_log_close(struct kk_log *l, struct kk_error *err)
{
	int bad = 0;

	if (l->f && l->own)
		bad = fclose(l->f) != 0;
	l->f = NULL;
	if (bad && err)
		return kk_fail_errno(err, KK_EIO, errno, "cannot write the "
				     "log '%s'", l->path);
	return 0;
}

int kk_snapshot_check(const char *pattern, struct kk_error *err)
{
	const char *p;
	int conv = 0;

	for (p = pattern; *p; p++) {
		if (*p != '%')
			continue;
		if (p[1] == '%') {
			p++;
			continue;
		}
		p++;
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p != 'd')
			return kk_fail(err, KK_EUSAGE, "invalid --snapshot '%s': "
				       "the only conversion it may hold is "
				       "one %%d (e.g. %%04d) for the "
				       "iteration", pattern);
		conv++;
	}
	if (conv > 1)
		return kk_fail(err, KK_EUSAGE, "invalid --snapshot '%s': one "
			       "%%d for the iteration at most", pattern);
	if (!has_suffix(pattern, ".png") && !has_suffix(pattern, ".tif") &&
	    !has_suffix(pattern, ".tiff"))
		return kk_fail(err, KK_EUSAGE, "invalid --snapshot '%s': the "
			       "name must end in .png, .tif or .tiff",
			       pattern);
	return 0;
}

/* ---- PNG ----------------------------------------------------------- */

static void be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static int chunk(FILE *f, const char *type, const unsigned char *data,
		 uint32_t n)
{
	unsigned char head[8], tail[4];
	uLong crc = crc32(0, (const Bytef *)type, 4);

	be32(head, n);
	memcpy(head + 4, type, 4);
	if (n)
		crc = crc32(crc, data, n);
	be32(tail, (uint32_t)crc);
	return fwrite(head, 1, 8, f) != 8 ||
	       (n && fwrite(data, 1, n, f) != n) ||
	       fwrite(tail, 1, 4, f) != 4;
}

/* text: "key value", stored as a tEXt chunk key\0value. */
static int write_png(FILE *f, const uint16_t *px, int64_t ny, int64_t nx,
		     const char *text)
{
	char key_value[128];
	static const unsigned char sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
	size_t row = 1 + 2 * (size_t)nx, raw_n = row * (size_t)ny;
	unsigned char ihdr[13], *raw = malloc(raw_n), *z;
	uLongf zn = compressBound(raw_n);
	int64_t i, j;
	int bad;

	z = malloc(zn);
	if (!raw || !z) {
		free(raw);
		free(z);
		return -1;
	}
	for (i = 0; i < ny; i++) {
		unsigned char *r = raw + i * row;

		r[0] = 0;      /* no filter */
		for (j = 0; j < nx; j++) {
			r[1 + 2 * j] = (unsigned char)(px[i * nx + j] >> 8);
			r[2 + 2 * j] = (unsigned char)px[i * nx + j];
		}
	}
	bad = compress2(z, &zn, raw, raw_n, 6) != Z_OK;
	snprintf(key_value, sizeof(key_value), "%s", text);
	*strchr(key_value, ' ') = '\0';
	be32(ihdr, (uint32_t)nx);
	be32(ihdr + 4, (uint32_t)ny);
	ihdr[8] = 16;          /* bits */
	ihdr[9] = 0;           /* grayscale */
	ihdr[10] = ihdr[11] = ihdr[12] = 0;
	bad = bad || fwrite(sig, 1, 8, f) != 8 ||
	      chunk(f, "IHDR", ihdr, 13) ||
	      chunk(f, "tEXt", (const unsigned char *)key_value,
		    (uint32_t)strlen(text)) ||
	      chunk(f, "IDAT", z, (uint32_t)zn) || chunk(f, "IEND", NULL, 0);
	free(raw);
	free(z);
	return bad ? -1 : 0;
}

/* ---- TIFF ---------------------------------------------------------- */

static int write_tiff(const char *path, const uint16_t *px, int64_t ny,
		      int64_t nx, const char *text)
{
	TIFF *t = TIFFOpen(path, "w");
	int64_t i;
	int bad = 0;

	if (!t)
		return -1;
	TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)nx);
	TIFFSetField(t, TIFFTAG_IMAGELENGTH, (uint32_t)ny);
	TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 16);
	TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
	TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_UINT);
	TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
	TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
	TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, (uint32_t)ny);
	TIFFSetField(t, TIFFTAG_IMAGEDESCRIPTION, text);
	for (i = 0; i < ny && !bad; i++)
		bad = TIFFWriteScanline(t, (void *)(px + i * nx),
					(uint32_t)i, 0) < 0;
	TIFFClose(t);
	return bad ? -1 : 0;
}

/* The range a snapshot maps onto 0..65535: lo..hi when both are
 * finite, else the slice's own. */
static void snapshot_range(const float *s, int64_t n, float *lo, float *hi)
{
	float a = INFINITY, b = -INFINITY;
	int64_t i;

	if (isfinite(*lo) && isfinite(*hi) && *hi > *lo)
		return;
	for (i = 0; i < n; i++) {
		if (!isfinite(s[i]))
			continue;
		a = fminf(a, s[i]);
		b = fmaxf(b, s[i]);
	}
	if (!(a <= b))
		a = b = 0;
	if (b <= a)
		b = a + 1;
	*lo = a;
	*hi = b;
}

int kk_snapshot_write(const char *pattern, int iteration, const float *slice,
		      int64_t ny, int64_t nx, float lo, float hi,
		      struct kk_error *err)
{
	size_t n = strlen(pattern) + 32;
	char *path = malloc(n), *tmp = malloc(n + 8), text[96];
	uint16_t *px = malloc((size_t)(ny * nx) * sizeof(*px));
	bool tiff = !has_suffix(pattern, ".png");
	int64_t i;
	FILE *f;
	int bad = -1;

	if (!path || !tmp || !px) {
		free(path);
		free(tmp);
		free(px);
		return kk_fail(err, KK_ENOMEM, "out of memory");
	}
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(path, n, pattern, iteration);
#pragma GCC diagnostic pop
	snprintf(tmp, n + 8, "%s.part", path);
	snapshot_range(slice, ny * nx, &lo, &hi);
	for (i = 0; i < ny * nx; i++) {
		float v = isfinite(slice[i]) ? (slice[i] - lo) / (hi - lo) : 0;

		px[i] = (uint16_t)lrintf(fminf(fmaxf(v, 0), 1) * 65535.0f);
	}
	snprintf(text, sizeof(text), "kkit_range %.9g:%.9g", lo, hi);
	if (tiff) {
		bad = write_tiff(tmp, px, ny, nx, text);
	} else if ((f = fopen(tmp, "wb"))) {
		bad = write_png(f, px, ny, nx, text);
		bad |= fclose(f) != 0;
	}
	if (!bad && rename(tmp, path) != 0)
		bad = -1;
	if (bad) {
		unlink(tmp);
		kk_fail(err, KK_EIO, "cannot write the snapshot '%s'", path);
	}
	free(path);
	free(tmp);
	free(px);
	return bad ? err->code : 0;
}
