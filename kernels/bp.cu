/*
 * bp.cu: backprojection, voxel-driven, with ASTRA's weights.
 *
 * One thread per (x, y) column of a slab of the volume (slices [z0, z0 +
 * nz), the buffer holding just those) and KK_ZSIZE voxels along z; each
 * loops over the views of the launch and reads the projections through
 * a 2D layered texture (a layer per view) with hardware bilinear
 * filtering, zero outside it.  The texture holds detector rows [row0,
 * row0 + its height): every row the slab's voxels see.
 *
 * Each view has three float4 in constant memory, affine functions of
 * the voxel index (x, y, z, 1) worked out on the host in double:
 *   U, V  texture coordinates times D (column, row; +0.5 included)
 *   D     the denominator, scaled so that the weight is 1 / D^KK_POWER
 *         (KK_POWER 2: cone beam; 1: fan beam and parallel beams, where
 *         D is constant) and D > 0 exactly for voxels in front of the
 *         source.
 *
 * Defines: KK_POWER, KK_ZSIZE (voxels per thread along z), KK_VOL_HALF.
 * The texture's format (float32 or float16) needs no define.
 */
#include "kk_common.cuh"

#ifndef KK_POWER
#define KK_POWER 2
#endif
#ifndef KK_ZSIZE
#define KK_ZSIZE 4
#endif

__constant__ float4 kk_bp_views[3 * KK_BATCH];

extern "C" __global__ void kk_bp(vol_t *vol, cudaTextureObject_t proj,
				 int nx, int ny, int z0, int nz, int nviews,
				 int first_layer, float row0)
{
	const int x = blockIdx.x * blockDim.x + threadIdx.x;
	const int y = blockIdx.y * blockDim.y + threadIdx.y;
	const int zl = blockIdx.z * KK_ZSIZE;       /* in the slab */
	const int zg = z0 + zl;                     /* in the volume */
	float acc[KK_ZSIZE];
	int i, k;

	if (x >= nx || y >= ny)
		return;
	for (i = 0; i < KK_ZSIZE; i++)
		acc[i] = 0.0f;
	for (k = 0; k < nviews; k++) {
		const float4 cu = kk_bp_views[3 * k];
		const float4 cv = kk_bp_views[3 * k + 1];
		const float4 cd = kk_bp_views[3 * k + 2];
		float u = cu.w + x * cu.x + y * cu.y + zg * cu.z;
		float v = cv.w + x * cv.x + y * cv.y + zg * cv.z;
		float d = cd.w + x * cd.x + y * cd.y + zg * cd.z;

		for (i = 0; i < KK_ZSIZE; i++) {
			if (d > 0.0f) {
				float r = 1.0f / d;
				float w = KK_POWER == 2 ? r * r : r;

				acc[i] += w * tex2DLayered<float>(
					proj, u * r, v * r - row0,
					first_layer + k);
			}
			u += cu.z;
			v += cv.z;
			d += cd.z;
		}
	}
	for (i = 0; i < KK_ZSIZE && zl + i < nz; i++) {
		vol_t *p = vol + ((long long)(zl + i) * ny + y) * nx + x;

		KK_VOL_STORE(p, KK_VOL_READ(p) + acc[i]);
	}
}
