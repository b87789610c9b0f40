/*
 * cmd_fp.c: kkit fp, forward projection of a volume file into a
 * projection stack, streamed through the device (stream_fp.c).
 */
#include "config.h"
#include "cmd.h"
#include "cpu_proj.h"

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
	KK_RUN_USAGE;

static int run(const struct kk_run_opts *o, struct kk_error *err)
{
	struct kk_geometry g;
	struct kk_reader *r = NULL;
	struct kk_writer *w = NULL;
	double t0 = kk_now();
	int64_t n;
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
	if (!rc) {
		rc = kk_run_streamed(o, &g, r, w, kk_stream_fp, t0, err);
	} else {
		kk_writer_abort(w);
		kk_reader_close(r);
	}
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
