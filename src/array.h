/*
 * array.h: element types, axis orders and the conversions between the
 * types stored in files and the float32 that kkit computes in.
 *
 * A volume is always (z, y, x) in C order.  Projections are three axes,
 * angle, row and col, in any order (kkit's default angle,row,col; ASTRA's
 * row,angle,col); struct kk_axes says which one is stored where.
 */
#ifndef KK_ARRAY_H
#define KK_ARRAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"

enum kk_dtype {
	KK_U8,
	KK_I8,
	KK_U16,
	KK_I16,
	KK_U32,
	KK_I32,
	KK_F16,
	KK_F32,
	KK_F64,
};

const char *kk_dtype_name(enum kk_dtype t);
size_t kk_dtype_size(enum kk_dtype t);
/* Accepts the names kk_dtype_name gives; 0 or KK_EUSAGE. */
int kk_dtype_parse(const char *s, enum kk_dtype *t);

/* What a conversion to float32 could not keep exactly. */
struct kk_convert_stats {
	int64_t inexact;   /* values float32 cannot hold exactly */
	int64_t nonfinite; /* NaN and infinities, in the source or made */
};

/* dst[i] = (float)src[i] for n elements of type t; stats is added to. */
void kk_convert_to_f32(float *dst, const void *src, enum kk_dtype t,
		       size_t n, struct kk_convert_stats *stats);

/*
 * How float32 results become an integer output: the value lo is stored as
 * 0 and hi as the type's largest value, linearly, rounded and clipped.
 * Float outputs ignore it.
 */
struct kk_output_scale {
	bool set;
	double lo, hi;
};
/* dst = src converted to t (F16, F32 or U16); clipped counts values that
 * fell outside [lo, hi] (U16) or overflowed to infinity (F16). */
void kk_convert_from_f32(void *dst, enum kk_dtype t, const float *src,
			 size_t n, const struct kk_output_scale *scale,
			 int64_t *clipped);

uint16_t kk_f32_to_f16(float f);
float kk_f16_to_f32(uint16_t h);

/* Logical projection axes. */
enum { KK_ANGLE = 0, KK_ROW = 1, KK_COL = 2 };

/* where[a] = position (0 slowest .. 2 fastest) of logical axis a. */
struct kk_axes {
	int where[3];
};

extern const struct kk_axes kk_axes_default; /* angle,row,col */
extern const struct kk_axes kk_axes_astra;   /* row,angle,col */

/* "angle,row,col", "row,angle,col", ... or "astra"; any permutation. */
int kk_axes_parse(const char *s, struct kk_axes *axes,
		  struct kk_error *err);
/* Writes e.g. "angle,row,col" into buf. */
void kk_axes_format(const struct kk_axes *axes, char *buf, size_t n);

/* Product of n dimensions; -1 if it would overflow int64. */
int64_t kk_count(const int64_t *dims, int n);

/* Memory for n floats, or NULL and a KK_ENOMEM error that says what
 * for. */
float *kk_alloc_floats(int64_t n, const char *what, struct kk_error *err);

#endif
