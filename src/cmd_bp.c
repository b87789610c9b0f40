/*
 * cmd_bp.c: kkit bp, backprojection of a projection stack into a volume,
 * streamed through the device (stream_bp.c).
 */
#include "config.h"
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>

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
	KK_RUN_USAGE;

static int run(const struct kk_run_opts *o, struct kk_error *err)
{
	struct kk_geometry g;
	struct kk_reader *r = NULL;
	struct kk_writer *w = NULL;
	double t0 = kk_now();
	int rc;

	rc = kk_load_geometry(o->geometry, 0, &g, err);
	if (rc)
		return rc;
	rc = kk_open_projections(o->input, &g, &o->axes, &r, err);
	if (!rc)
		rc = kk_create_volume(o, &g, &w, err);
	if (!rc) {
		rc = kk_run_streamed(o, &g, r, w, kk_stream_bp, t0, err);
	} else {
		kk_writer_abort(w);
		kk_reader_close(r);
	}
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
