/*
 * fp.cu: forward projection, ASTRA's Joseph-style ray tracer.
 *
 * One thread per detector pixel of a view.  The ray steps through the
 * volume one slice at a time along KK_AXIS (0 x, 1 y, 2 z: the axis the
 * view's central ray follows most; the host groups views by it) and
 * samples each slice bilinearly, zero outside the volume; the sum times
 * the ray's length per slice is the line integral.
 *
 * The volume may come in slabs: the buffer holds slices [zbase, zbase +
 * its depth), only slices [zlo, zhi) count and the rest of the volume is
 * taken as zero, so that the projections of the slabs add up to the
 * whole volume's (KK_FP_ACCUMULATE adds to the output instead of
 * storing).  A launch computes detector rows [row_lo, row_hi) only: the
 * rows whose rays cross the slab.
 *
 * Coordinates are voxel indices (voxel centres at 0 .. n-1).  A ray is
 * described by where it crosses the middle slice jc of the volume along
 * KK_AXIS, (ac, bc), and by its slopes (da, db) per slice; all four are
 * ratios of affine functions of the pixel's column c and row r,
 *   ac = (Na . (1, c, r)) / m,  da = (Pa . (1, c, r)) / m,
 *   m = M . (1, c, r),
 * likewise bc and db.  The host works the coefficients out in double
 * and scales them so that m is about 1: a far source costs no float
 * precision.  Each view of a launch has five float4 in constant memory:
 *   [0] Na, source slice (cone)   [1] Nb, sign of the ray along the
 *   axis (cone; 0 parallel)       [2] Pa, the view's number (int bits)
 *   [3] Pb, unused                [4] M, unused
 *
 * Defines: KK_CONE, KK_AXIS, KK_FP_TEX (0: loads and bilinear arithmetic
 * in float32; 1: a 3D texture with hardware filtering, of the whole
 * volume), KK_VOL_HALF, KK_FP_ACCUMULATE, KK_WHERE_ANGLE / _ROW / _COL
 * (the position, 0 slowest, of each projection axis in the output).
 */
#include "kk_common.cuh"

#ifndef KK_CONE
#define KK_CONE 1
#endif
#ifndef KK_AXIS
#define KK_AXIS 1
#endif
#ifndef KK_FP_TEX
#define KK_FP_TEX 0
#endif
#ifndef KK_FP_ACCUMULATE
#define KK_FP_ACCUMULATE 0
#endif
#ifndef KK_WHERE_ANGLE
#define KK_WHERE_ANGLE 0
#define KK_WHERE_ROW 1
#define KK_WHERE_COL 2
#endif

/* The two axes of a slice: a and b, with a before b in x, y, z. */
#define KK_A (KK_AXIS == 0 ? 1 : 0)
#define KK_B (KK_AXIS == 2 ? 1 : 2)

#ifndef KK_FP_BATCH
#define KK_FP_BATCH 768
#endif

__constant__ float4 kk_fp_views[5 * KK_FP_BATCH];

struct kk_fp_dims {
	int n[3];           /* nx, ny, nz */
	float vox[3];       /* voxel size along x, y, z */
	int nrows, ncols;
	int nviews;         /* views the output holds */
	int view0;          /* the output's first view */
	int zbase;          /* the slice the volume buffer starts at */
	int zlo, zhi;       /* the slices that count */
	int row_lo, row_hi; /* the rows to compute */
};

#if KK_FP_TEX
__device__ __forceinline__ float sample(cudaTextureObject_t vol,
					const vol_t *unused,
					const kk_fp_dims &d, const int *lo,
					const int *hi, int j, float pa,
					float pb)
{
	float p[3];

	p[KK_AXIS] = j + 0.5f;
	p[KK_A] = pa + 0.5f;
	p[KK_B] = pb + 0.5f;
	p[2] -= d.zbase;
	return tex3D<float>(vol, p[0], p[1], p[2]);
}
#else
__device__ __forceinline__ float sample(cudaTextureObject_t unused,
					const vol_t *vol,
					const kk_fp_dims &d, const int *lo,
					const int *hi, int j, float pa,
					float pb)
{
	const long long sx = 1, sy = d.n[0], sz = (long long)d.n[0] * d.n[1];
	const long long s[3] = {sx, sy, sz};
	float fa = floorf(pa), fb = floorf(pb);
	int ia = (int)fa, ib = (int)fb;
	float wa = pa - fa, wb = pb - fb;
	const long long o = (long long)j * s[KK_AXIS] - d.zbase * sz;
	float v00 = 0.0f, v01 = 0.0f, v10 = 0.0f, v11 = 0.0f;
	bool a0 = ia >= lo[KK_A] && ia < hi[KK_A];
	bool a1 = ia + 1 >= lo[KK_A] && ia + 1 < hi[KK_A];
	bool b0 = ib >= lo[KK_B] && ib < hi[KK_B];
	bool b1 = ib + 1 >= lo[KK_B] && ib + 1 < hi[KK_B];

	if (a0 && b0)
		v00 = KK_VOL_LOAD(vol + o + ia * s[KK_A] + ib * s[KK_B]);
	if (a0 && b1)
		v01 = KK_VOL_LOAD(vol + o + ia * s[KK_A] + (ib + 1) * s[KK_B]);
	if (a1 && b0)
		v10 = KK_VOL_LOAD(vol + o + (ia + 1) * s[KK_A] + ib * s[KK_B]);
	if (a1 && b1)
		v11 = KK_VOL_LOAD(vol + o + (ia + 1) * s[KK_A] +
				  (ib + 1) * s[KK_B]);
	return (1.0f - wa) * ((1.0f - wb) * v00 + wb * v01) +
	       wa * ((1.0f - wb) * v10 + wb * v11);
}
#endif

__device__ __forceinline__ float affine(float4 f, float c, float r)
{
	return fmaf(f.y, c, fmaf(f.z, r, f.x));
}

extern "C" __global__ void kk_fp(float *proj, const vol_t *vol,
				 cudaTextureObject_t tex, kk_fp_dims d)
{
	const int col = blockIdx.x * blockDim.x + threadIdx.x;
	const int row = d.row_lo + blockIdx.y * blockDim.y + threadIdx.y;
	const int k = blockIdx.z;
	const int jc = d.n[KK_AXIS] / 2;
	const int lo3[3] = {0, 0, d.zlo}, hi3[3] = {d.n[0], d.n[1], d.zhi};
	float4 na, nb, pa4, pb4, m4;
	float m, ac, bc, da, db, lo, hi, len, sum = 0.0f;
	int j, j0, j1;

	if (col >= d.ncols || row >= d.row_hi)
		return;
	na = kk_fp_views[5 * k];
	nb = kk_fp_views[5 * k + 1];
	pa4 = kk_fp_views[5 * k + 2];
	pb4 = kk_fp_views[5 * k + 3];
	m4 = kk_fp_views[5 * k + 4];
	m = affine(m4, (float)col, (float)row);
	ac = affine(na, (float)col, (float)row) / m;
	bc = affine(nb, (float)col, (float)row) / m;
	da = affine(pa4, (float)col, (float)row) / m;
	db = affine(pb4, (float)col, (float)row) / m;
	{
		float wa = da * d.vox[KK_A], wb = db * d.vox[KK_B];

		len = sqrtf(wa * wa + wb * wb + d.vox[KK_AXIS] * d.vox[KK_AXIS]);
	}
	/* The slices where the sample is within a voxel of the slices that
	 * count, as the CPU reference clips them (j relative to jc). */
	lo = (float)(lo3[KK_AXIS] - jc);
	hi = (float)(hi3[KK_AXIS] - 1 - jc);
	if (da != 0.0f) {
		float s0 = (lo3[KK_A] - 1.0f - ac) / da;
		float s1 = (hi3[KK_A] - ac) / da;

		lo = fmaxf(lo, fminf(s0, s1));
		hi = fminf(hi, fmaxf(s0, s1));
	} else if (ac <= lo3[KK_A] - 1.0f || ac >= hi3[KK_A]) {
		hi = lo - 1.0f;
	}
	if (db != 0.0f) {
		float s0 = (lo3[KK_B] - 1.0f - bc) / db;
		float s1 = (hi3[KK_B] - bc) / db;

		lo = fmaxf(lo, fminf(s0, s1));
		hi = fminf(hi, fmaxf(s0, s1));
	} else if (bc <= lo3[KK_B] - 1.0f || bc >= hi3[KK_B]) {
		hi = lo - 1.0f;
	}
	j0 = lo > hi ? 1 : max((int)floorf(lo), lo3[KK_AXIS] - jc);
	j1 = lo > hi ? 0 : min((int)ceilf(hi), hi3[KK_AXIS] - 1 - jc);
#if KK_CONE
	/* Only in front of the source: slice na.w; the ray moves along the
	 * axis in the direction of sign(nb.w * m). */
	{
		float s = na.w - jc;

		if ((nb.w > 0.0f) == (m > 0.0f)) {
			j0 = max(j0, (int)floorf(s) + 1);
		} else {
			j1 = min(j1, (int)ceilf(s) - 1);
		}
	}
#endif
	for (j = j0; j <= j1; j++)
		sum += sample(tex, vol, d, lo3, hi3, j + jc,
			      fmaf((float)j, da, ac), fmaf((float)j, db, bc));
	sum *= len;
	{
		long long pos[3], dims[3], at;

		pos[KK_WHERE_ANGLE] = __float_as_int(pa4.w) - d.view0;
		pos[KK_WHERE_ROW] = row;
		pos[KK_WHERE_COL] = col;
		dims[KK_WHERE_ANGLE] = d.nviews;
		dims[KK_WHERE_ROW] = d.nrows;
		dims[KK_WHERE_COL] = d.ncols;
		at = (pos[0] * dims[1] + pos[1]) * dims[2] + pos[2];
#if KK_FP_ACCUMULATE
		proj[at] += sum;
#else
		proj[at] = sum;
#endif
	}
}
