/*
 * filter.h: the ramp filters of filtered backprojection, as frequency
 * responses for rows zero-padded to an FFT length.
 *
 * The ramp is the DFT of the band-limited spatial ramp (Ram-Lak's
 * h[0] = 1/4, h[n] = -1/(pi n)^2 for odd n, 0 for even n, with unit
 * sample spacing) rather than |f| sampled in frequency: that keeps the
 * response right at low frequencies, where a sampled |f| makes the
 * mean level of a reconstruction drift with the padding.  A window
 * then shapes it, zero above the cutoff.  Rows are padded with zeros to
 * at least twice their length, so that the circular convolution of the
 * FFT is the linear one on every sample that is kept.
 */
#ifndef KK_FILTER_H
#define KK_FILTER_H

#include <stdint.h>

#include "msg.h"

enum kk_filter_kind {
	KK_FILTER_RAM_LAK,
	KK_FILTER_SHEPP_LOGAN,
	KK_FILTER_COSINE,
	KK_FILTER_HAMMING,
	KK_FILTER_HANN,
	KK_FILTER_PARZEN,
	KK_FILTER_TUKEY,
};

/* "ram-lak" (also "ramp"), "shepp-logan", ...; KK_EUSAGE with the list
 * of names when unknown. */
int kk_filter_parse(const char *name, enum kk_filter_kind *kind,
		    struct kk_error *err);
const char *kk_filter_name(enum kk_filter_kind kind);

/* The window at x = frequency / cutoff, both as fractions of Nyquist:
 * 1 at x = 0, 0 for x > 1. */
double kk_filter_window(enum kk_filter_kind kind, double x);

/* The smallest even length >= n with no prime factor above 7 (fast for
 * FFTW and cuFFT). */
int64_t kk_fft_length(int64_t n);

/*
 * The response for rows padded to length (even), unit sample spacing:
 * h[k], k = 0 .. length / 2, real, with the inverse FFT's 1/length
 * included, so that ifft(fft(row) * h) is the filtered row.  cutoff is
 * a fraction of Nyquist in (0, 1].  Worked out in double precision by
 * FFTW; KK_ENOMEM if its buffers cannot be had.
 */
int kk_filter_response(enum kk_filter_kind kind, double cutoff,
		       int64_t length, float *h, struct kk_error *err);

#endif
