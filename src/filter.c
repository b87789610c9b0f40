/*
 * filter.c: ramp filter responses and FFT lengths for kkit fbp (see
 * filter.h).
 */
#include "config.h"
#include "filter.h"

#include <fftw3.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

static const struct {
	const char *name;
	enum kk_filter_kind kind;
} names[] = {
	{"ram-lak", KK_FILTER_RAM_LAK},
	{"ramp", KK_FILTER_RAM_LAK},
	{"shepp-logan", KK_FILTER_SHEPP_LOGAN},
	{"cosine", KK_FILTER_COSINE},
	{"hamming", KK_FILTER_HAMMING},
	{"hann", KK_FILTER_HANN},
	{"parzen", KK_FILTER_PARZEN},
	{"tukey", KK_FILTER_TUKEY},
};

#define NNAMES (sizeof(names) / sizeof(names[0]))

int kk_filter_parse(const char *name, enum kk_filter_kind *kind,
		    struct kk_error *err)
{
	size_t i;

	for (i = 0; i < NNAMES; i++)
		if (!strcmp(name, names[i].name)) {
			*kind = names[i].kind;
			return 0;
		}
	return kk_fail(err, KK_EUSAGE, "unknown filter '%s' (expected "
		       "ram-lak, shepp-logan, cosine, hamming, hann, parzen "
		       "or tukey)", name);
}

const char *kk_filter_name(enum kk_filter_kind kind)
{
	size_t i;

	for (i = 0; i < NNAMES; i++)
		if (names[i].kind == kind)
			return names[i].name;
	return "?";
}

double kk_filter_window(enum kk_filter_kind kind, double x)
{
	const double pi = M_PI;

	x = fabs(x);
	if (x > 1)
		return 0;
	switch (kind) {
	case KK_FILTER_RAM_LAK:
		return 1;
	case KK_FILTER_SHEPP_LOGAN:
		return x == 0 ? 1 : sin(pi * x / 2) / (pi * x / 2);
	case KK_FILTER_COSINE:
		return cos(pi * x / 2);
	case KK_FILTER_HAMMING:
		return 0.54 + 0.46 * cos(pi * x);
	case KK_FILTER_HANN:
		return 0.5 + 0.5 * cos(pi * x);
	case KK_FILTER_PARZEN:
		/* The de la Vallee Poussin window, from 1 to 0 over [0, 1]. */
		return x <= 0.5 ? 1 - 6 * x * x * (1 - x)
				: 2 * (1 - x) * (1 - x) * (1 - x);
	case KK_FILTER_TUKEY:
		/* Flat to half the cutoff, then a cosine taper (alpha 0.5). */
		return x <= 0.5 ? 1 : 0.5 * (1 + cos(pi * (x - 0.5) / 0.5));
	}
	return 0;
}

static bool smooth(int64_t n)
{
	static const int primes[] = {2, 3, 5, 7};
	int i;

	for (i = 0; i < 4; i++)
		while (n % primes[i] == 0)
			n /= primes[i];
	return n == 1;
}

int64_t kk_fft_length(int64_t n)
{
	if (n < 2)
		n = 2;
	n += n & 1;
	while (!smooth(n))
		n += 2;
	return n;
}

int kk_filter_response(enum kk_filter_kind kind, double cutoff,
		       int64_t length, float *h, struct kk_error *err)
{
	int64_t n, k, half = length / 2;
	double *ramp = fftw_malloc((size_t)length * sizeof(double));
	fftw_complex *spec = fftw_malloc((size_t)(half + 1) *
					 sizeof(fftw_complex));
	fftw_plan plan = NULL;

	if (ramp && spec)
		plan = fftw_plan_dft_r2c_1d((int)length, ramp, spec,
					    FFTW_ESTIMATE);
	if (!plan) {
		fftw_free(ramp);
		fftw_free(spec);
		return kk_fail(err, KK_ENOMEM, "out of memory for a filter "
			       "of %lld samples", (long long)length);
	}
	/* The spatial ramp, one period of the circular convolution:
	 * symmetric, h[length - n] = h[n]. */
	memset(ramp, 0, (size_t)length * sizeof(double));
	ramp[0] = 0.25;
	for (n = 1; n <= half; n += 2) {
		double t = -1 / (M_PI * M_PI * (double)n * (double)n);

		ramp[n] = t;
		ramp[length - n] = t;
	}
	fftw_execute(plan);
	for (k = 0; k <= half; k++) {
		double w = kk_filter_window(kind, (double)k / half / cutoff);

		/* Real: the imaginary part is rounding only. */
		h[k] = (float)(spec[k][0] * w / (double)length);
	}
	fftw_destroy_plan(plan);
	fftw_free(ramp);
	fftw_free(spec);
	return 0;
}
