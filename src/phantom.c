/*
 * phantom.c: analytic phantoms on the volume grid (see phantom.h).
 *
 * The Shepp-Logan ellipses are the modified (Toft) version of Shepp and
 * Logan's head, as MATLAB's phantom('Modified Shepp-Logan') draws it; the
 * 3D ellipsoids take their third semi-axis and z centre from Schabel's
 * phantom3d, with the rotations about z only.  Values add up where
 * ellipsoids overlap.
 */
#include "config.h"
#include "phantom.h"
#include "parallel.h"

#include <math.h>
#include <string.h>

struct ellipsoid {
	double value;
	double a, b, c;        /* semi-axes along x, y, z */
	double x0, y0, z0;
	double phi;            /* degrees, about z */
};

static const struct ellipsoid shepp_logan[] = {
	{1.0, 0.6900, 0.9200, 0.810, 0.00, 0.0000, 0.00, 0},
	{-0.8, 0.6624, 0.8740, 0.780, 0.00, -0.0184, 0.00, 0},
	{-0.2, 0.1100, 0.3100, 0.220, 0.22, 0.0000, 0.00, -18},
	{-0.2, 0.1600, 0.4100, 0.280, -0.22, 0.0000, 0.00, 18},
	{0.1, 0.2100, 0.2500, 0.410, 0.00, 0.3500, -0.15, 0},
	{0.1, 0.0460, 0.0460, 0.050, 0.00, 0.1000, 0.25, 0},
	{0.1, 0.0460, 0.0460, 0.050, 0.00, -0.1000, 0.25, 0},
	{0.1, 0.0460, 0.0230, 0.050, -0.08, -0.6050, 0.00, 0},
	{0.1, 0.0230, 0.0230, 0.020, 0.00, -0.6060, 0.00, 0},
	{0.1, 0.0230, 0.0460, 0.020, 0.06, -0.6050, 0.00, 0},
};

static const char *const names[] = {
	[KK_PHANTOM_SHEPP_LOGAN] = "shepp-logan",
	[KK_PHANTOM_BALL] = "ball",
	[KK_PHANTOM_CUBE] = "cube",
	[KK_PHANTOM_RANDOM] = "random",
};

int kk_phantom_parse(const char *name, enum kk_phantom_kind *kind)
{
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i]) == 0) {
			*kind = (enum kk_phantom_kind)i;
			return 0;
		}
	}
	return KK_EUSAGE;
}

const char *kk_phantom_name(enum kk_phantom_kind kind)
{
	return names[kind];
}

/* splitmix64: a well-mixed 64-bit hash of the seed and an index. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

struct fill_ctx {
	const struct kk_geometry *g;
	const struct kk_phantom_opts *o;
	int64_t z0;
	float *slab;
	double cos_phi[10], sin_phi[10];
};

/* The phantom's value at a point in normalised coordinates. */
static double value_at(const struct fill_ctx *c, double x, double y,
		       double z)
{
	const struct kk_phantom_opts *o = c->o;
	double v = 0, r;
	size_t i;

	switch (o->kind) {
	case KK_PHANTOM_BALL:
		return x * x + y * y + z * z <= o->size * o->size;
	case KK_PHANTOM_CUBE:
		return fabs(x) <= o->size && fabs(y) <= o->size &&
		       fabs(z) <= o->size;
	default:
		break;
	}
	for (i = 0; i < sizeof(shepp_logan) / sizeof(shepp_logan[0]); i++) {
		const struct ellipsoid *e = &shepp_logan[i];
		double dx = x - e->x0, dy = y - e->y0;
		double dz = c->g->is_2d ? 0 : z - e->z0;
		double px = c->cos_phi[i] * dx + c->sin_phi[i] * dy;
		double py = -c->sin_phi[i] * dx + c->cos_phi[i] * dy;

		r = (px * px) / (e->a * e->a) + (py * py) / (e->b * e->b) +
		    (dz * dz) / (e->c * e->c);
		if (r <= 1)
			v += e->value;
	}
	/* 1 - 0.8 - 0.2 is not quite 0 in binary: do not leave -5e-17. */
	return fabs(v) < 1e-9 ? 0 : v;
}

/* Items are (z, y) lines of the slab. */
static void fill_lines(void *arg, int64_t begin, int64_t end)
{
	const struct fill_ctx *c = arg;
	const struct kk_volume_geom *v = &c->g->vol;
	const struct kk_phantom_opts *o = c->o;
	int s = o->supersample, sz = c->g->is_2d ? 1 : s;
	double hx = 0.5 * v->nx * v->dx, hy = 0.5 * v->ny * v->dy;
	double hz = 0.5 * v->nz * v->dz, h = fmin(hx, hy);
	double cx = v->xmin + hx, cy = v->ymin + hy, cz = v->zmin + hz;
	int64_t item, ix;

	if (!c->g->is_2d)
		h = fmin(h, hz);
	for (item = begin; item < end; item++) {
		int64_t iz = c->z0 + item / v->ny, iy = item % v->ny;
		float *out = c->slab + item * v->nx;

		for (ix = 0; ix < v->nx; ix++) {
			uint64_t index = ((uint64_t)iz * v->ny + iy) * v->nx +
					 ix;
			double sum = 0;
			int i, j, k;

			if (o->kind == KK_PHANTOM_RANDOM) {
				out[ix] = (float)((mix(o->seed ^ mix(index)) >>
						   11) * 0x1.0p-53);
				continue;
			}
			for (k = 0; k < sz; k++)
			for (j = 0; j < s; j++)
			for (i = 0; i < s; i++) {
				double x = v->xmin + (ix + (i + 0.5) / s) *
					   v->dx;
				double y = v->ymin + (iy + (j + 0.5) / s) *
					   v->dy;
				double z = v->zmin + (iz + (k + 0.5) / sz) *
					   v->dz;

				if (o->kind == KK_PHANTOM_SHEPP_LOGAN) {
					/* The head fills the window. */
					x = (x - cx) / hx;
					y = (y - cy) / hy;
					z = c->g->is_2d ? 0 : (z - cz) / hz;
				} else {
					/* Round shapes stay round. */
					x = (x - cx) / h;
					y = (y - cy) / h;
					z = c->g->is_2d ? 0 : (z - cz) / h;
				}
				if (c->g->is_2d)
					y = -y; /* ASTRA 2D: row 0 on top */
				sum += value_at(c, x, y, z);
			}
			out[ix] = (float)(sum / ((double)s * s * sz));
		}
	}
}

int kk_phantom_fill(const struct kk_geometry *g,
		    const struct kk_phantom_opts *o, int64_t z0, int64_t z1,
		    float *slab, int nthreads, struct kk_error *err)
{
	struct fill_ctx c;
	size_t i;

	if (z0 < 0 || z1 > g->vol.nz || z0 > z1)
		return kk_fail(err, KK_ERUNTIME, "slices %lld to %lld are not "
			       "in the volume", (long long)z0,
			       (long long)z1);
	if (o->supersample < 1)
		return kk_fail(err, KK_EUSAGE, "supersampling must be at "
			       "least 1, got %d", o->supersample);
	memset(&c, 0, sizeof(c));
	c.g = g;
	c.o = o;
	c.z0 = z0;
	c.slab = slab;
	for (i = 0; i < sizeof(shepp_logan) / sizeof(shepp_logan[0]); i++) {
		c.cos_phi[i] = cos(shepp_logan[i].phi * M_PI / 180);
		c.sin_phi[i] = sin(shepp_logan[i].phi * M_PI / 180);
	}
	return kk_parallel_for((z1 - z0) * g->vol.ny, nthreads, fill_lines,
			       &c, err);
}
