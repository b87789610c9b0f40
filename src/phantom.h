/*
 * phantom.h: analytic test objects sampled on the volume grid.
 *
 * Shapes are defined in coordinates normalised to the volume's window
 * ([-1, 1] along each axis); 2D phantoms follow ASTRA's 2D image
 * orientation (row 0 at the top), so the Shepp-Logan head stands upright
 * in an image viewer.  Volumes are made slab by slab, and the random
 * phantom depends only on the seed and the voxel's index, so any slab
 * size gives the same volume.
 */
#ifndef KK_PHANTOM_H
#define KK_PHANTOM_H

#include <stdint.h>

#include "geometry.h"
#include "msg.h"

enum kk_phantom_kind {
	KK_PHANTOM_SHEPP_LOGAN, /* modified (Toft) Shepp-Logan head */
	KK_PHANTOM_BALL,        /* ball of value 1 */
	KK_PHANTOM_CUBE,        /* axis-aligned cube of value 1 */
	KK_PHANTOM_RANDOM,      /* uniform in [0, 1), seeded */
};

struct kk_phantom_opts {
	enum kk_phantom_kind kind;
	double size;        /* ball radius, cube half side: a fraction of
			     * the smallest half-extent of the window */
	int supersample;    /* samples per voxel along each axis */
	uint64_t seed;
};

/* "shepp-logan", "ball", "cube", "random"; KK_EUSAGE if unknown. */
int kk_phantom_parse(const char *name, enum kk_phantom_kind *kind);
const char *kk_phantom_name(enum kk_phantom_kind kind);

/* Fill slices [z0, z1) of the volume into slab ((z1-z0) x ny x nx). */
int kk_phantom_fill(const struct kk_geometry *g,
		    const struct kk_phantom_opts *o, int64_t z0, int64_t z1,
		    float *slab, int nthreads, struct kk_error *err);

#endif
