/*
 * array.c: element types, half floats, conversions and axis orders.
 *
 * Conversions count what they lose instead of warning themselves: the
 * caller knows the file name and says so once per file.
 */
#include "config.h"
#include "array.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	size_t size;
} dtypes[] = {
	[KK_U8] = {"uint8", 1},     [KK_I8] = {"int8", 1},
	[KK_U16] = {"uint16", 2},   [KK_I16] = {"int16", 2},
	[KK_U32] = {"uint32", 4},   [KK_I32] = {"int32", 4},
	[KK_F16] = {"float16", 2},  [KK_F32] = {"float32", 4},
	[KK_F64] = {"float64", 8},
};

const char *kk_dtype_name(enum kk_dtype t)
{
	return dtypes[t].name;
}

size_t kk_dtype_size(enum kk_dtype t)
{
	return dtypes[t].size;
}

int kk_dtype_parse(const char *s, enum kk_dtype *t)
{
	size_t i;

	for (i = 0; i < sizeof(dtypes) / sizeof(dtypes[0]); i++) {
		if (strcmp(s, dtypes[i].name) == 0) {
			*t = (enum kk_dtype)i;
			return 0;
		}
	}
	return KK_EUSAGE;
}

/* IEEE 754 binary16 <-> binary32, round to nearest even. */
uint16_t kk_f32_to_f16(float f)
{
	uint32_t x, sign, mant;
	int32_t exp;

	memcpy(&x, &f, 4);
	sign = (x >> 16) & 0x8000u;
	exp = (int32_t)((x >> 23) & 0xff);
	mant = x & 0x7fffffu;
	if (exp == 0xff) /* inf or nan; keep nan a nan */
		return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u : 0));
	exp = exp - 127 + 15;
	if (exp >= 0x1f)
		return (uint16_t)(sign | 0x7c00u);
	if (exp <= 0) {
		uint32_t shift, half, rest, h;

		if (exp < -10)
			return (uint16_t)sign;
		mant |= 0x800000u;
		shift = (uint32_t)(14 - exp);
		h = mant >> shift;
		rest = mant & ((1u << shift) - 1);
		half = 1u << (shift - 1);
		if (rest > half || (rest == half && (h & 1u)))
			h++;
		return (uint16_t)(sign | h);
	}
	{
		uint32_t h = ((uint32_t)exp << 10) | (mant >> 13);
		uint32_t rest = mant & 0x1fffu;

		/* A carry into the exponent is the correct rounding. */
		if (rest > 0x1000u || (rest == 0x1000u && (h & 1u)))
			h++;
		return (uint16_t)(sign | h);
	}
}

float kk_f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
	uint32_t exp = (h >> 10) & 0x1fu;
	uint32_t mant = h & 0x3ffu;
	uint32_t x;
	float f;

	if (exp == 0) {
		if (mant == 0) {
			x = sign;
		} else { /* subnormal: normalise */
			exp = 127 - 15 + 1;
			while (!(mant & 0x400u)) {
				mant <<= 1;
				exp--;
			}
			mant &= 0x3ffu;
			x = sign | (exp << 23) | (mant << 13);
		}
	} else if (exp == 0x1f) {
		x = sign | 0x7f800000u | (mant << 13);
	} else {
		x = sign | ((exp - 15 + 127) << 23) | (mant << 13);
	}
	memcpy(&f, &x, 4);
	return f;
}

/* Integers up to 2^24 are exact in float32. */
#define EXACT_INT 16777216LL

void kk_convert_to_f32(float *dst, const void *src, enum kk_dtype t,
		       size_t n, struct kk_convert_stats *stats)
{
	int64_t inexact = 0, nonfinite = 0;
	size_t i;

	switch (t) {
	case KK_U8:
		for (i = 0; i < n; i++)
			dst[i] = ((const uint8_t *)src)[i];
		break;
	case KK_I8:
		for (i = 0; i < n; i++)
			dst[i] = ((const int8_t *)src)[i];
		break;
	case KK_U16:
		for (i = 0; i < n; i++)
			dst[i] = ((const uint16_t *)src)[i];
		break;
	case KK_I16:
		for (i = 0; i < n; i++)
			dst[i] = ((const int16_t *)src)[i];
		break;
	case KK_U32:
		for (i = 0; i < n; i++) {
			uint32_t v = ((const uint32_t *)src)[i];

			inexact += v > EXACT_INT && (float)v != (double)v;
			dst[i] = (float)v;
		}
		break;
	case KK_I32:
		for (i = 0; i < n; i++) {
			int32_t v = ((const int32_t *)src)[i];

			inexact += (v > EXACT_INT || v < -EXACT_INT) &&
				   (float)v != (double)v;
			dst[i] = (float)v;
		}
		break;
	case KK_F16:
		for (i = 0; i < n; i++) {
			dst[i] = kk_f16_to_f32(((const uint16_t *)src)[i]);
			nonfinite += !isfinite(dst[i]);
		}
		break;
	case KK_F32:
		memcpy(dst, src, n * sizeof(float));
		for (i = 0; i < n; i++)
			nonfinite += !isfinite(dst[i]);
		break;
	case KK_F64:
		for (i = 0; i < n; i++) {
			double v = ((const double *)src)[i];

			dst[i] = (float)v;
			if (!isfinite(dst[i]))
				nonfinite++;
			else if ((double)dst[i] != v)
				inexact++;
		}
		break;
	}
	if (stats) {
		stats->inexact += inexact;
		stats->nonfinite += nonfinite;
	}
}

void kk_convert_from_f32(void *dst, enum kk_dtype t, const float *src,
			 size_t n, const struct kk_output_scale *scale,
			 int64_t *clipped)
{
	int64_t clip = 0;
	size_t i;

	switch (t) {
	case KK_F32:
		memcpy(dst, src, n * sizeof(float));
		break;
	case KK_F16:
		for (i = 0; i < n; i++) {
			uint16_t h = kk_f32_to_f16(src[i]);

			clip += isfinite(src[i]) && (h & 0x7c00u) == 0x7c00u;
			((uint16_t *)dst)[i] = h;
		}
		break;
	case KK_U16: {
		double lo = scale->lo, k = 65535.0 / (scale->hi - scale->lo);

		for (i = 0; i < n; i++) {
			double v = (src[i] - lo) * k;

			if (!(v >= 0)) { /* also NaN */
				clip++;
				v = 0;
			} else if (v > 65535) {
				clip++;
				v = 65535;
			}
			((uint16_t *)dst)[i] = (uint16_t)lrint(v);
		}
		break;
	}
	default:
		/* Only the output types above are offered on the CLI. */
		memset(dst, 0, n * kk_dtype_size(t));
		break;
	}
	if (clipped)
		*clipped += clip;
}

const struct kk_axes kk_axes_default = {{0, 1, 2}};
const struct kk_axes kk_axes_astra = {{1, 0, 2}};

static const char *const axis_names[3] = {"angle", "row", "col"};

int kk_axes_parse(const char *s, struct kk_axes *axes, struct kk_error *err)
{
	int seen[3] = {0, 0, 0}, pos = 0, a;
	const char *p = s;

	if (strcmp(s, "astra") == 0) {
		*axes = kk_axes_astra;
		return 0;
	}
	while (pos < 3) {
		size_t len = strcspn(p, ",");

		for (a = 0; a < 3; a++)
			if (len == strlen(axis_names[a]) &&
			    strncmp(p, axis_names[a], len) == 0)
				break;
		if (a == 3 || seen[a])
			break;
		seen[a] = 1;
		axes->where[a] = pos++;
		p += len;
		if (pos < 3) {
			if (*p != ',')
				break;
			p++;
		}
	}
	if (pos < 3 || *p != '\0')
		return kk_fail(err, KK_EUSAGE,
			       "invalid projection axis order '%s': expected "
			       "the three names angle, row and col in the "
			       "order they are stored, e.g. angle,row,col "
			       "or row,angle,col (ASTRA's, also 'astra')", s);
	return 0;
}

void kk_axes_format(const struct kk_axes *axes, char *buf, size_t n)
{
	const char *at[3];
	int a;

	for (a = 0; a < 3; a++)
		at[axes->where[a]] = axis_names[a];
	snprintf(buf, n, "%s,%s,%s", at[0], at[1], at[2]);
}

int64_t kk_count(const int64_t *dims, int n)
{
	int64_t c = 1;
	int i;

	for (i = 0; i < n; i++) {
		if (dims[i] < 0 || (dims[i] && c > INT64_MAX / dims[i]))
			return -1;
		c *= dims[i];
	}
	return c;
}

float *kk_alloc_floats(int64_t n, const char *what, struct kk_error *err)
{
	float *p = NULL;

	if (n >= 0 && (uint64_t)n <= SIZE_MAX / sizeof(float))
		p = malloc((size_t)(n ? n : 1) * sizeof(float));
	if (!p)
		kk_fail(err, KK_ENOMEM, "cannot allocate %.1f MiB for the %s",
			n * 4.0 / (1 << 20), what);
	return p;
}
