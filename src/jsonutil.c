/*
 * jsonutil.c: typed, path-naming access to cJSON trees (see jsonutil.h).
 */
#include "config.h"
#include "jsonutil.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kkj_fail(const struct kk_jsrc *src, const char *path, const char *fmt,
	     ...)
{
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (path && path[0])
		return kk_fail(src->err, KK_EINPUT, "'%s': %s: %s", src->name,
			       path, what);
	return kk_fail(src->err, KK_EINPUT, "'%s': %s", src->name, what);
}

cJSON *kkj_parse(const char *text, size_t len, const struct kk_jsrc *src)
{
	const char *end = NULL, *p;
	int line = 1, col = 1;
	char near[24];
	size_t i;
	cJSON *root;

	for (i = 0; i < len && isspace((unsigned char)text[i]); i++)
		;
	if (i == len) {
		kkj_fail(src, NULL, "the file is empty: expected a JSON "
			 "object with members \"volume\" and \"projection\"");
		return NULL;
	}
	root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (root) {
		/* Only white space may follow the document. */
		p = end;
		while (p < text + len && isspace((unsigned char)*p))
			p++;
		if (p == text + len)
			return root;
		cJSON_Delete(root);
		end = p;
	}
	if (!end || end < text || end > text + len)
		end = text + len;
	/* cJSON points at the last thing it read: when nothing but white
	 * space follows, the document simply ended too soon. */
	for (p = end < text + len ? end + 1 : end;
	     p < text + len && isspace((unsigned char)*p); p++)
		;
	if (p == text + len)
		end = text + len;
	for (p = text; p < end; p++) {
		if (*p == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	for (i = 0; i + 1 < sizeof(near) && end + i < text + len &&
		    end[i] != '\n'; i++)
		near[i] = end[i];
	near[i] = '\0';
	if (end == text + len)
		kkj_fail(src, NULL, "JSON syntax error at line %d, column %d: "
			 "unexpected end of file", line, col);
	else
		kkj_fail(src, NULL, "JSON syntax error at line %d, column %d, "
			 "near '%s'", line, col, near);
	return NULL;
}

const char *kkj_kind(const cJSON *item)
{
	if (!item)
		return "nothing";
	if (cJSON_IsNumber(item))
		return "a number";
	if (cJSON_IsString(item))
		return "a string";
	if (cJSON_IsArray(item))
		return "an array";
	if (cJSON_IsObject(item))
		return "an object";
	if (cJSON_IsBool(item))
		return cJSON_IsTrue(item) ? "true" : "false";
	if (cJSON_IsNull(item))
		return "null";
	return "an invalid value";
}

void kkj_path_key(char *buf, size_t n, const char *path, const char *key)
{
	if (path && path[0])
		snprintf(buf, n, "%s.%s", path, key);
	else
		snprintf(buf, n, "%s", key);
}

void kkj_path_index(char *buf, size_t n, const char *path, int64_t i)
{
	snprintf(buf, n, "%s[%lld]", path, (long long)i);
}

/* Edit distance, for "did you mean"; strings here are short. */
static int distance(const char *a, const char *b)
{
	int la = (int)strlen(a), lb = (int)strlen(b), i, j;
	int row[64], prev, tmp;

	if (la >= 63 || lb >= 63)
		return 99;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			int cost = tolower((unsigned char)a[i - 1]) !=
				   tolower((unsigned char)b[j - 1]);

			tmp = row[j];
			row[j] = prev + cost;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			if (tmp + 1 < row[j])
				row[j] = tmp + 1;
			prev = tmp;
		}
	}
	return row[lb];
}

int kkj_object(const cJSON *obj, const char *path,
	       const char *const *allowed, const struct kk_jsrc *src)
{
	const cJSON *it, *other;
	int i;

	if (!cJSON_IsObject(obj))
		return kkj_fail(src, path, "expected an object, got %s",
				kkj_kind(obj));
	for (it = obj->child; it; it = it->next) {
		for (i = 0; allowed[i]; i++)
			if (strcmp(it->string, allowed[i]) == 0)
				break;
		if (!allowed[i]) {
			char list[512] = "";
			const char *best = NULL;
			int bestd = 3, d;

			for (i = 0; allowed[i]; i++) {
				d = distance(it->string, allowed[i]);
				if (d < bestd) {
					bestd = d;
					best = allowed[i];
				}
				snprintf(list + strlen(list),
					 sizeof(list) - strlen(list), "%s%s",
					 i ? ", " : "", allowed[i]);
			}
			if (best)
				return kkj_fail(src, path, "unknown key '%s' "
						"(did you mean '%s'?)",
						it->string, best);
			return kkj_fail(src, path, "unknown key '%s' "
					"(expected one of: %s)", it->string,
					list);
		}
		for (other = obj->child; other != it; other = other->next)
			if (strcmp(other->string, it->string) == 0)
				return kkj_fail(src, path,
						"key '%s' appears twice",
						it->string);
	}
	return 0;
}

const cJSON *kkj_get(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

int kkj_require(const cJSON *obj, const char *path, const char *key,
		const cJSON **item, const struct kk_jsrc *src)
{
	*item = kkj_get(obj, key);
	if (!*item)
		return kkj_fail(src, path, "missing key '%s'", key);
	return 0;
}

int kkj_number(const cJSON *item, const char *path, double *out,
	       const struct kk_jsrc *src)
{
	if (!cJSON_IsNumber(item))
		return kkj_fail(src, path, "expected a number, got %s",
				kkj_kind(item));
	if (!isfinite(item->valuedouble))
		return kkj_fail(src, path, "expected a finite number, got "
				"one too large for double precision");
	*out = item->valuedouble;
	return 0;
}

int kkj_positive(const cJSON *item, const char *path, double *out,
		 const struct kk_jsrc *src)
{
	int rc = kkj_number(item, path, out, src);

	if (rc)
		return rc;
	if (!(*out > 0))
		return kkj_fail(src, path, "expected a positive number, got "
				"%g", *out);
	return 0;
}

int kkj_integer(const cJSON *item, const char *path, int64_t min,
		int64_t max, int64_t *out, const struct kk_jsrc *src)
{
	double v;
	int rc = kkj_number(item, path, &v, src);

	if (rc)
		return rc;
	if (v != floor(v))
		return kkj_fail(src, path, "expected a whole number, got %g",
				v);
	if (v < (double)min || v > (double)max)
		return kkj_fail(src, path, "expected a whole number from "
				"%lld to %lld, got %.0f", (long long)min,
				(long long)max, v);
	*out = (int64_t)v;
	return 0;
}

int kkj_string(const cJSON *item, const char *path, const char **out,
	       const struct kk_jsrc *src)
{
	if (!cJSON_IsString(item))
		return kkj_fail(src, path, "expected a string, got %s",
				kkj_kind(item));
	*out = item->valuestring;
	return 0;
}

int kkj_bool(const cJSON *item, const char *path, int *out,
	     const struct kk_jsrc *src)
{
	if (!cJSON_IsBool(item))
		return kkj_fail(src, path, "expected true or false, got %s",
				kkj_kind(item));
	*out = cJSON_IsTrue(item);
	return 0;
}

int kkj_numbers(const cJSON *item, const char *path, int64_t n,
		double **out, int64_t *count, const struct kk_jsrc *src)
{
	const cJSON *it;
	int64_t len, i = 0;
	char p[256];
	double *v;
	int rc;

	*out = NULL;
	if (!cJSON_IsArray(item))
		return kkj_fail(src, path, "expected an array of numbers, "
				"got %s", kkj_kind(item));
	len = cJSON_GetArraySize(item);
	if (n >= 0 && len != n)
		return kkj_fail(src, path, "expected %lld numbers, got %lld",
				(long long)n, (long long)len);
	if (len == 0)
		return kkj_fail(src, path, "expected at least one number, "
				"got an empty array");
	v = malloc((size_t)len * sizeof(*v));
	if (!v)
		return kk_fail(src->err, KK_ENOMEM, "out of memory");
	for (it = item->child; it; it = it->next, i++) {
		kkj_path_index(p, sizeof(p), path, i);
		rc = kkj_number(it, p, &v[i], src);
		if (rc) {
			free(v);
			return rc;
		}
	}
	*out = v;
	if (count)
		*count = len;
	return 0;
}

int kkj_number_or_array(const cJSON *item, const char *path, int n,
			double *out, const struct kk_jsrc *src)
{
	double *v;
	int rc, i;

	if (cJSON_IsNumber(item)) {
		rc = kkj_number(item, path, &out[0], src);
		for (i = 1; !rc && i < n; i++)
			out[i] = out[0];
		return rc;
	}
	if (!cJSON_IsArray(item))
		return kkj_fail(src, path, "expected a number or an array of "
				"%d numbers, got %s", n, kkj_kind(item));
	rc = kkj_numbers(item, path, n, &v, NULL, src);
	if (rc)
		return rc;
	memcpy(out, v, (size_t)n * sizeof(*out));
	free(v);
	return 0;
}

int kkj_matrix(const cJSON *item, const char *path, int width,
	       double **out, int64_t *rows, const struct kk_jsrc *src)
{
	const cJSON *it;
	int64_t n, i = 0;
	double *m, *row;
	char p[256];
	int rc;

	*out = NULL;
	if (!cJSON_IsArray(item))
		return kkj_fail(src, path, "expected an array of arrays of "
				"%d numbers, got %s", width, kkj_kind(item));
	n = cJSON_GetArraySize(item);
	if (n == 0)
		return kkj_fail(src, path, "expected at least one row, got "
				"an empty array");
	m = malloc((size_t)n * width * sizeof(*m));
	if (!m)
		return kk_fail(src->err, KK_ENOMEM, "out of memory");
	for (it = item->child; it; it = it->next, i++) {
		kkj_path_index(p, sizeof(p), path, i);
		rc = kkj_numbers(it, p, width, &row, NULL, src);
		if (rc) {
			free(m);
			return rc;
		}
		memcpy(m + i * width, row, (size_t)width * sizeof(*row));
		free(row);
	}
	*out = m;
	*rows = n;
	return 0;
}
