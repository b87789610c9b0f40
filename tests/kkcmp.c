/*
 * kkcmp.c: a test tool for the CLI tests (not installed).
 *
 *   kkcmp --stat FILE        shape, type and statistics of a stack, and
 *                            how many values are NaN or infinite
 *   kkcmp A B [TOLERANCE]    compare two stacks of the same shape: prints
 *                            the largest difference and the relative L2
 *                            error; exit 0 if that is <= TOLERANCE
 *                            (default 0), 1 if not, 2 on errors
 *
 * Stacks are read through kkit's own io.h, so any spec kkit takes works.
 */
#include "config.h"
#include "io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *load(const char *spec, struct kk_stack_info *info)
{
	struct kk_error err = {0};
	struct kk_reader *r;
	int64_t dims[3], n;
	float *v;

	if (kk_reader_open(&r, spec, &err)) {
		fprintf(stderr, "kkcmp: %s\n", err.msg);
		exit(2);
	}
	*info = *kk_reader_info(r);
	dims[0] = info->rank == 3 ? info->dims[0] : 1;
	dims[1] = info->rank == 3 ? info->dims[1] : info->dims[0];
	dims[2] = info->rank == 3 ? info->dims[2] : info->dims[1];
	n = dims[0] * dims[1] * dims[2];
	v = malloc((size_t)n * sizeof(float));
	if (!v || kk_reader_expect(r, dims, 0, "data", "", &err) ||
	    kk_reader_read(r, 0, 0, dims[0], v, &err)) {
		fprintf(stderr, "kkcmp: %s\n", err.msg);
		exit(2);
	}
	kk_reader_close(r);
	return v;
}

static int64_t count(const struct kk_stack_info *info)
{
	return info->rank == 3 ? info->dims[0] * info->dims[1] * info->dims[2]
			       : info->dims[0] * info->dims[1];
}

static void print_shape(const struct kk_stack_info *info)
{
	if (info->rank == 3)
		printf("shape %lldx%lldx%lld", (long long)info->dims[0],
		       (long long)info->dims[1], (long long)info->dims[2]);
	else
		printf("shape %lldx%lld", (long long)info->dims[0],
		       (long long)info->dims[1]);
	printf(" dtype %s", kk_dtype_name(info->dtype));
}

int main(int argc, char **argv)
{
	struct kk_stack_info ia, ib;
	double tol = 0, maxd = 0, d2 = 0, r2 = 0, sum = 0, lo, hi;
	float *a, *b;
	int64_t i, n, bad = 0;

	kk_msg_set_verbosity(KK_QUIET);
	if (argc == 3 && !strcmp(argv[1], "--stat")) {
		a = load(argv[2], &ia);
		n = count(&ia);
		lo = INFINITY;
		hi = -INFINITY;
		for (i = 0; i < n; i++) {
			if (!isfinite(a[i])) {
				bad++;
				continue;
			}
			lo = fmin(lo, a[i]);
			hi = fmax(hi, a[i]);
			sum += a[i];
		}
		print_shape(&ia);
		printf(" min %.6g max %.6g mean %.6g nonfinite %lld\n", lo, hi,
		       sum / n, (long long)bad);
		free(a);
		return 0;
	}
	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: kkcmp --stat FILE | kkcmp A B "
			"[TOLERANCE]\n");
		return 2;
	}
	if (argc == 4)
		tol = atof(argv[3]);
	a = load(argv[1], &ia);
	b = load(argv[2], &ib);
	n = count(&ia);
	if (ia.rank != ib.rank || ia.dims[0] != ib.dims[0] ||
	    ia.dims[1] != ib.dims[1] ||
	    (ia.rank == 3 && ia.dims[2] != ib.dims[2])) {
		fprintf(stderr, "kkcmp: shapes differ: ");
		print_shape(&ia);
		printf(" and ");
		print_shape(&ib);
		printf("\n");
		return 2;
	}
	for (i = 0; i < n; i++) {
		double d = (double)a[i] - b[i];

		if (!isfinite(d))
			bad++;
		maxd = fmax(maxd, fabs(d));
		d2 += d * d;
		r2 += (double)b[i] * b[i];
	}
	printf("max_abs %.6g rel_l2 %.6g nonfinite %lld\n", maxd,
	       r2 > 0 ? sqrt(d2 / r2) : sqrt(d2), (long long)bad);
	free(a);
	free(b);
	return !bad && (r2 > 0 ? sqrt(d2 / r2) : sqrt(d2)) <= tol ? 0 : 1;
}
