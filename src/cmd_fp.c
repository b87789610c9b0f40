/*
 * cmd_fp.c: kkit fp, forward projection of a volume file into a
 * projection stack, computed and written a chunk of views at a time.
 */
#include "config.h"
#include "cmd.h"
#include "cpu_proj.h"
#include "projector.h"

#include <stdio.h>
#include <stdlib.h>

static const char usage[] =
	"usage: kkit fp -g GEOMETRY -i VOLUME -o PROJECTIONS [options]\n"
	"\n"
	"Forward project VOLUME: line integrals along the rays of GEOMETRY,\n"
	"in the volume's length unit, as ASTRA computes them.\n"
	"\n"
	"  -g, --geometry FILE    geometry JSON (see kkit-geometry(5))\n"
	"  -i, --input SPEC       volume: file.h5[:/dataset], stack.tif,\n"
	"                         dir/ or 'slice_*.tif' (z,y,x)\n"
	"  -o, --output SPEC      projections: file.h5[:/dataset],\n"
	"                         stack.tif or dir/\n"
	"      --proj-axes ORDER  axis order of the projections:\n"
	"                         angle,row,col (default) or row,angle,col\n"
	"                         (ASTRA's, also 'astra')\n"
	"      --dtype TYPE       float32 (default), float16 or uint16\n"
	"      --range LO:HI      uint16: the values stored as 0 and 65535\n"
	"      --device DEV       auto (default), gpu or cpu\n"
	"      --gpu N            the GPU to use (default 0; kkit info)\n"
	"      --storage TYPE     GPU storage: float32 (default) or float16\n"
	"      --kernel-dir DIR   edited kernels to use instead of kkit's\n"
	"      --no-cache         compile the GPU kernels afresh\n"
	"  -j, --threads N        CPU threads (default: all)\n"
	"  -f, --force            replace an existing output\n"
	"  -q, --quiet            print errors only\n"
	"  -v, --verbose          say what is done\n"
	"      --progress         show progress even when not on a terminal\n"
	"  -h, --help             show this help\n";

/* The whole volume, read slab by slab. */
static float *read_volume(struct kk_reader *r, const struct kk_geometry *g,
			  struct kk_error *err)
{
	int64_t dims[3], per_slice, slab = kk_slab_slices(g), z;
	float *vol;

	kk_geometry_volume_dims(g, dims);
	per_slice = dims[1] * dims[2];
	vol = kk_alloc_floats(dims[0] * per_slice, "volume", err);
	if (!vol)
		return NULL;
	for (z = 0; z < dims[0]; z += slab) {
		int64_t n = dims[0] - z < slab ? dims[0] - z : slab;

		if (kk_reader_read(r, 0, z, n, vol + z * per_slice, err)) {
			free(vol);
			return NULL;
		}
	}
	return vol;
}

static int run(const struct kk_run_opts *o, struct kk_error *err)
{
	struct kk_geometry g;
	struct kk_projector *p = NULL;
	struct kk_reader *r = NULL;
	struct kk_writer *w = NULL;
	struct kk_progress progress;
	struct kk_proj_chunk chunk;
	float *vol = NULL, *buf = NULL;
	int64_t n, v0;
	double t0 = kk_now();
	int rc;

	rc = kk_load_geometry(o->geometry, 0, &g, err);
	if (rc)
		return rc;
	n = kk_fp_steep_views(&g);
	if (n)
		kk_msg_warn("%lld of %lld views have rays that cross more "
			    "than 4 voxels sideways for each slice the "
			    "projector steps through: their line integrals "
			    "are coarse", (long long)n, (long long)g.nviews);
	rc = kk_open_volume(o->input, &g, &r, err);
	if (!rc)
		rc = kk_create_projections(o, &g, &w, err);
	if (!rc)
		rc = kk_open_projector(o, &g, &p, err);
	if (rc)
		goto out;
	vol = read_volume(r, &g, err);
	if (!vol) {
		rc = err->code;
		goto out;
	}
	kk_reader_close(r);
	r = NULL;
	rc = kk_projector_fp_begin(p, vol, err);
	if (rc)
		goto out;

	n = kk_slab_views(&g);
	buf = kk_alloc_floats(n * g.nrows * g.ncols, "projection chunk", err);
	if (!buf) {
		rc = err->code;
		goto out;
	}
	chunk.data = buf;
	chunk.axes = o->axes;
	kk_progress_start(&progress, "views", (double)g.nviews);
	for (v0 = 0; v0 < g.nviews && !rc; v0 += n) {
		chunk.view0 = v0;
		chunk.nviews = g.nviews - v0 < n ? g.nviews - v0 : n;
		rc = kk_projector_fp(p, &chunk, &progress, err);
		if (!rc)
			rc = kk_writer_write(w, o->axes.where[KK_ANGLE], v0,
					     chunk.nviews, buf, err);
	}
	kk_progress_end(&progress);
	if (!rc) {
		rc = kk_commit_output(w, o->output, t0, err);
		w = NULL;
	}
out:
	kk_projector_close(p);
	kk_writer_abort(w);
	kk_reader_close(r);
	free(buf);
	free(vol);
	kk_geometry_release(&g);
	return rc;
}

int cmd_fp(int argc, char **argv)
{
	struct kk_run_opts o;
	struct kk_error err = {0};
	int status = kk_parse_run_opts(argc, argv, usage, true, &o);

	if (status >= 0)
		return status;
	run(&o, &err);
	return kk_finish(&err);
}
