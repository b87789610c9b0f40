/*
 * cmd_fbp.c: kkit fbp, filtered backprojection (parallel beams) and
 * FDK (circular cone and fan beams): the projections are weighted and
 * filtered on the device as they stream in, then backprojected
 * (fbp.h, stream_bp.c).
 */
#include "config.h"
#include "cmd.h"
#include "fbp.h"
#include "flatfield.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: kkit fbp -g GEOMETRY -i PROJECTIONS -o VOLUME [options]\n"
	"\n"
	"Reconstruct a volume from PROJECTIONS (line integrals) by filtered\n"
	"backprojection: FBP for parallel beams, FDK for circular cone and\n"
	"fan beams.  A uniform object comes out with its own value.\n"
	"\n"
	"  -g, --geometry FILE    geometry JSON (see kkit-geometry(5))\n"
	"  -i, --input SPEC       projections: file.h5[:/dataset],\n"
	"                         stack.tif, dir/ or 'proj_*.tif'\n"
	"  -o, --output SPEC      volume: file.h5[:/dataset], stack.tif or\n"
	"                         dir/ (z,y,x)\n"
	"      --filter NAME      ram-lak (default), shepp-logan, cosine,\n"
	"                         hamming, hann, parzen or tukey\n"
	"      --filter-cutoff F  the filter's cutoff, a fraction of the\n"
	"                         Nyquist frequency (default 1)\n"
	"      --padding F        pad rows with zeros to F times their\n"
	"                         length at least (default 2; 1: none)\n"
	"      --short-scan MODE  Parker's weights for a divergent beam\n"
	"                         covering less than a turn: auto (default),\n"
	"                         on or off\n"
	"      --slices A:B       reconstruct slices A to B-1 only\n"
	KK_RAW_USAGE
	KK_RUN_USAGE;

enum {
	OPT_FILTER = OPT_FIRST_OWN,
	OPT_CUTOFF,
	OPT_PADDING,
	OPT_SHORT_SCAN,
	OPT_SLICES,
};

static const struct option options[] = {
	KK_COMMON_LONGOPTS,
	KK_RAW_LONGOPTS,
	{"filter", required_argument, NULL, OPT_FILTER},
	{"filter-cutoff", required_argument, NULL, OPT_CUTOFF},
	{"padding", required_argument, NULL, OPT_PADDING},
	{"short-scan", required_argument, NULL, OPT_SHORT_SCAN},
	{"slices", required_argument, NULL, OPT_SLICES},
	{NULL, 0, NULL, 0},
};

struct fbp_cmd {
	struct kk_run_opts run;
	struct kk_fbp_opts fbp;
	struct kk_flatfield_opts raw;
	const char *slices;
};

static int parse_own(int opt, const char *arg, void *ctx,
		     struct kk_error *err)
{
	struct fbp_cmd *c = ctx;
	int rc = kk_parse_raw_opt(opt, arg, &c->raw, err);

	if (rc)
		return rc < 0 ? rc : 0;
	switch (opt) {
	case OPT_FILTER:
		return kk_filter_parse(arg, &c->fbp.filter, err);
	case OPT_CUTOFF:
		if (kk_parse_number("--filter-cutoff", arg, 0, 1,
				    &c->fbp.cutoff, err))
			return err->code;
		if (c->fbp.cutoff == 0)
			return kk_fail(err, KK_EUSAGE, "invalid "
				       "--filter-cutoff '%s': a filter with "
				       "cutoff 0 passes nothing", arg);
		return 0;
	case OPT_PADDING:
		return kk_parse_number("--padding", arg, 1, 16,
				       &c->fbp.padding, err);
	case OPT_SHORT_SCAN:
		return kk_short_scan_parse(arg, &c->fbp.short_scan, err);
	case OPT_SLICES:
		c->slices = arg;
		return 0;
	}
	return kk_fail(err, KK_EUSAGE, "unknown option");
}

static int run(const struct fbp_cmd *c, struct kk_error *err)
{
	struct kk_run_opts o = c->run;
	struct kk_geometry g;
	struct kk_fbp f;
	struct kk_flatfield ff;
	struct kk_reader *r = NULL;
	struct kk_writer *w = NULL;
	double t0 = kk_now();
	int64_t z0, z1;
	char desc[256];
	int rc;

	rc = kk_load_geometry(o.geometry, 0, &g, err);
	if (rc)
		return rc;
	if (c->slices) {
		rc = kk_parse_slices(c->slices, g.vol.nz, &z0, &z1, err);
		if (rc) {
			kk_geometry_release(&g);
			return rc;
		}
		kk_geometry_crop_slices(&g, z0, z1);
		kk_msg_verbose("slices %lld to %lld of the volume",
			       (long long)z0, (long long)z1 - 1);
	}
	rc = kk_fbp_setup(&f, &g, &c->fbp, err);
	if (rc) {
		kk_geometry_release(&g);
		return rc;
	}
	kk_fbp_describe(&f, desc, sizeof(desc));
	kk_msg_verbose("%s", desc);
	o.stream.fbp = &f;
	rc = kk_open_projections(o.input, &g, &o.axes, &r, err);
	if (!rc && c->raw.on)
		rc = kk_flatfield_setup(&ff, &c->raw, o.input, &g, &o.axes,
					err);
	else if (!rc)
		kk_flatfield_hint(o.input, r);
	if (!rc && c->raw.on)
		f.ff = &ff;
	if (!rc)
		rc = kk_create_volume(&o, &g, &w, err);
	if (!rc) {
		rc = kk_run_streamed(&o, &g, r, w, kk_stream_bp, t0, err);
	} else {
		kk_writer_abort(w);
		kk_reader_close(r);
	}
	if (f.ff) {
		if (!rc)
			kk_flatfield_report(&ff);
		kk_flatfield_release(&ff);
	}
	kk_fbp_release(&f);
	kk_geometry_release(&g);
	return rc;
}

int cmd_fbp(int argc, char **argv)
{
	struct fbp_cmd c;
	const struct kk_cmd_opts co = {usage, KK_COMMON_SHORTOPTS, options,
				       true, parse_own, &c};
	struct kk_error err = {0};
	int status;

	memset(&c, 0, sizeof(c));
	kk_fbp_opts_default(&c.fbp);
	kk_flatfield_opts_default(&c.raw);
	status = kk_parse_cmd_opts(argc, argv, &co, &c.run);
	if (status >= 0)
		return status;
	if (kk_check_raw_opts(&c.raw, &err))
		return kk_usage_error(argv[0], &err);
	run(&c, &err);
	return kk_finish(&err);
}
