/*
 * jsonutil.h: typed access to a cJSON tree that names the JSON path of a
 * bad value in its error ("projection.vectors[17][3]: expected a finite
 * number, got a string").
 *
 * Every getter takes the path of the item it reads and the struct
 * kk_jsrc of the document, and fails with KK_EINPUT.
 */
#ifndef KK_JSONUTIL_H
#define KK_JSONUTIL_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "msg.h"

struct kk_jsrc {
	const char *name;   /* file name for messages */
	struct kk_error *err;
};

/* A JSON document; NULL on a syntax error, with line and column. */
cJSON *kkj_parse(const char *text, size_t len, const struct kk_jsrc *src);

/* Fail with "'name': path: <message>". */
int kkj_fail(const struct kk_jsrc *src, const char *path, const char *fmt,
	     ...) KK_PRINTF(3, 4);

/* "a string", "an array", ... for messages. */
const char *kkj_kind(const cJSON *item);

/* Child paths: "a.b" and "a[3]" (a may be empty: "b"). */
void kkj_path_key(char *buf, size_t n, const char *path, const char *key);
void kkj_path_index(char *buf, size_t n, const char *path, int64_t i);

/* obj must be an object whose keys are all in allowed (NULL-terminated)
 * and appear once; an unknown key is named with the nearest allowed. */
int kkj_object(const cJSON *obj, const char *path,
	       const char *const *allowed, const struct kk_jsrc *src);
/* The member key of obj, or NULL. */
const cJSON *kkj_get(const cJSON *obj, const char *key);
/* The member key of obj; missing is an error. */
int kkj_require(const cJSON *obj, const char *path, const char *key,
		const cJSON **item, const struct kk_jsrc *src);

int kkj_number(const cJSON *item, const char *path, double *out,
	       const struct kk_jsrc *src);
int kkj_positive(const cJSON *item, const char *path, double *out,
		 const struct kk_jsrc *src);
/* An integer in [min, max]. */
int kkj_integer(const cJSON *item, const char *path, int64_t min,
		int64_t max, int64_t *out, const struct kk_jsrc *src);
int kkj_string(const cJSON *item, const char *path, const char **out,
	       const struct kk_jsrc *src);
int kkj_bool(const cJSON *item, const char *path, int *out,
	     const struct kk_jsrc *src);

/* An array of exactly n numbers (n < 0: any length >= 1, *count set);
 * *out is malloc'ed; the caller frees it. */
int kkj_numbers(const cJSON *item, const char *path, int64_t n,
		double **out, int64_t *count, const struct kk_jsrc *src);
/* A number, copied n times, or an array of exactly n numbers. */
int kkj_number_or_array(const cJSON *item, const char *path, int n,
			double *out, const struct kk_jsrc *src);
/* An array of arrays of exactly width numbers each, at least one row. */
int kkj_matrix(const cJSON *item, const char *path, int width,
	       double **out, int64_t *rows, const struct kk_jsrc *src);

#endif
