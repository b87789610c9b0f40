/*
 * cmd_bp.c: kkit bp, backprojection of a projection stack into a volume,
 * read a chunk of views at a time and accumulated in memory.
 */
#include "config.h"
#include "cmd.h"
#include "cpu_proj.h"
#include "projector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: kkit bp -g GEOMETRY -i PROJECTIONS -o VOLUME [options]\n"
	"\n"
	"Backproject PROJECTIONS onto the volume grid of GEOMETRY with\n"
	"ASTRA's default weighting (close to the adjoint of kkit fp).\n"
	"\n"
	"  -g, --geometry FILE    geometry JSON (see kkit-geometry(5))\n"
	"  -i, --input SPEC       projections: file.h5[:/dataset],\n"
	"                         stack.tif, dir/ or 'proj_*.tif'\n"
	"  -o, --output SPEC      volume: file.h5[:/dataset], stack.tif or\n"
	"                         dir/ (z,y,x)\n"
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

/* Write the volume slab by slab. */
static int write_volume(struct kk_writer *w, const float *vol,
			const struct kk_geometry *g, struct kk_error *err)
{
	int64_t dims[3], per_slice, slab = kk_slab_slices(g), z;
	int rc = 0;

	kk_geometry_volume_dims(g, dims);
	per_slice = dims[1] * dims[2];
	for (z = 0; z < dims[0] && !rc; z += slab)
		rc = kk_writer_write(w, 0, z, dims[0] - z < slab ?
				     dims[0] - z : slab,
				     vol + z * per_slice, err);
	return rc;
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
	int64_t n, v0, nvox;
	double t0 = kk_now();
	int rc;

	rc = kk_load_geometry(o->geometry, 0, &g, err);
	if (rc)
		return rc;
	rc = kk_open_projections(o->input, &g, &o->axes, &r, err);
	if (!rc)
		rc = kk_create_volume(o, &g, &w, err);
	if (!rc)
		rc = kk_open_projector(o, &g, &p, err);
	if (rc)
		goto out;
	nvox = g.vol.nx * g.vol.ny * g.vol.nz;
	vol = kk_alloc_floats(nvox, "volume", err);
	n = kk_slab_views(&g);
	buf = vol ? kk_alloc_floats(n * g.nrows * g.ncols,
				    "projection chunk", err) : NULL;
	if (!buf) {
		rc = err->code;
		goto out;
	}
	rc = kk_projector_bp_begin(p, vol, err);
	if (rc)
		goto out;
	chunk.data = buf;
	chunk.axes = o->axes;
	kk_progress_start(&progress, "views", (double)g.nviews);
	for (v0 = 0; v0 < g.nviews && !rc; v0 += n) {
		chunk.view0 = v0;
		chunk.nviews = g.nviews - v0 < n ? g.nviews - v0 : n;
		rc = kk_reader_read(r, o->axes.where[KK_ANGLE], v0,
				    chunk.nviews, buf, err);
		if (!rc)
			rc = kk_projector_bp(p, &chunk, &progress, err);
	}
	kk_progress_end(&progress);
	if (!rc)
		rc = kk_projector_bp_end(p, vol, err);
	if (!rc)
		rc = write_volume(w, vol, &g, err);
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

int cmd_bp(int argc, char **argv)
{
	struct kk_run_opts o;
	struct kk_error err = {0};
	int status = kk_parse_run_opts(argc, argv, usage, true, &o);

	if (status >= 0)
		return status;
	run(&o, &err);
	return kk_finish(&err);
}
