/*
 * vec3.h: the three-vector arithmetic that geometry and projectors share,
 * in double precision.
 */
#ifndef KK_VEC3_H
#define KK_VEC3_H

#include <math.h>

static inline double kk_dot(const double *a, const double *b)
{
	return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static inline void kk_cross(const double *a, const double *b, double *c)
{
	c[0] = a[1] * b[2] - a[2] * b[1];
	c[1] = a[2] * b[0] - a[0] * b[2];
	c[2] = a[0] * b[1] - a[1] * b[0];
}

static inline double kk_norm(const double *a)
{
	return sqrt(kk_dot(a, a));
}

#endif
