/*
 * cmd_phantom.c: kkit phantom, a test volume on a geometry's grid,
 * written slab by slab.
 */
#include "config.h"
#include "cmd.h"
#include "phantom.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: kkit phantom -g GEOMETRY -o OUTPUT [options]\n"
	"\n"
	"Sample an analytic phantom on the volume grid of GEOMETRY (its\n"
	"\"projection\" member may be left out).\n"
	"\n"
	"  -g, --geometry FILE    geometry JSON (see kkit-geometry(5))\n"
	"  -o, --output SPEC      file.h5[:/dataset], stack.tif or dir/\n"
	"  -t, --type NAME        shepp-logan (default), ball, cube, random\n"
	"      --size F           ball radius or cube half side, as a\n"
	"                         fraction of the volume's half width "
	"(0.5)\n"
	"      --supersample N    average N^3 samples per voxel (1)\n"
	"      --seed N           seed of the random phantom (0)\n"
	"      --dtype TYPE       float32 (default), float16 or uint16\n"
	"      --range LO:HI      uint16: the values stored as 0 and 65535\n"
	"  -f, --force            replace an existing output\n"
	"  -j, --threads N        CPU threads (default: all)\n"
	"  -q, --quiet            print errors only\n"
	"  -v, --verbose          say what is done\n"
	"      --progress         show progress even when not on a terminal\n"
	"  -h, --help             show this help\n";

enum { OPT_SIZE = OPT_FIRST_OWN, OPT_SUPERSAMPLE, OPT_SEED };

static const struct option options[] = {
	{"geometry", required_argument, NULL, 'g'},
	{"output", required_argument, NULL, 'o'},
	{"type", required_argument, NULL, 't'},
	{"size", required_argument, NULL, OPT_SIZE},
	{"supersample", required_argument, NULL, OPT_SUPERSAMPLE},
	{"seed", required_argument, NULL, OPT_SEED},
	{"dtype", required_argument, NULL, OPT_DTYPE},
	{"range", required_argument, NULL, OPT_RANGE},
	{"force", no_argument, NULL, 'f'},
	{"threads", required_argument, NULL, 'j'},
	{"quiet", no_argument, NULL, 'q'},
	{"verbose", no_argument, NULL, 'v'},
	{"progress", no_argument, NULL, OPT_PROGRESS},
	{"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static int parse_own(int opt, const char *arg, void *ctx,
		     struct kk_error *err)
{
	struct kk_phantom_opts *p = ctx;
	char *end;
	double d;

	errno = 0;
	switch (opt) {
	case 't':
		if (kk_phantom_parse(arg, &p->kind) == 0)
			return 0;
		return kk_fail(err, KK_EUSAGE, "unknown phantom '%s' "
			       "(expected shepp-logan, ball, cube or random)",
			       arg);
	case OPT_SIZE:
		d = strtod(arg, &end);
		if (end == arg || *end || !(d > 0 && d <= 1e6))
			return kk_fail(err, KK_EUSAGE, "invalid --size '%s': "
				       "expected a positive number", arg);
		p->size = d;
		return 0;
	case OPT_SUPERSAMPLE:
		d = strtod(arg, &end);
		if (end == arg || *end || d < 1 || d > 64 || d != (int)d)
			return kk_fail(err, KK_EUSAGE, "invalid --supersample "
				       "'%s': expected a whole number from 1 "
				       "to 64", arg);
		p->supersample = (int)d;
		return 0;
	case OPT_SEED:
		p->seed = strtoull(arg, &end, 10);
		if (end == arg || *end || errno || arg[0] == '-')
			return kk_fail(err, KK_EUSAGE, "invalid --seed '%s': "
				       "expected a whole number >= 0", arg);
		return 0;
	}
	return kk_fail(err, KK_EUSAGE, "unknown option");
}

static int make(const struct kk_run_opts *o, const struct kk_phantom_opts *p,
		struct kk_error *err)
{
	struct kk_geometry g;
	struct kk_writer *w = NULL;
	struct kk_progress progress;
	int64_t dims[3], per_slice, slab, z;
	double t0 = kk_now();
	float *buf = NULL;
	int rc;

	rc = kk_load_geometry(o->geometry, KK_GEOM_VOLUME_ONLY, &g, err);
	if (rc)
		return rc;
	kk_geometry_volume_dims(&g, dims);
	per_slice = dims[1] * dims[2];
	slab = kk_slab_slices(&g);
	buf = kk_alloc_floats(slab * per_slice, "volume slab", err);
	if (!buf) {
		rc = err->code;
		goto out;
	}
	rc = kk_create_volume(o, &g, &w, err);
	if (rc)
		goto out;
	kk_progress_start(&progress, "slices", (double)dims[0]);
	for (z = 0; z < dims[0] && !rc; z += slab) {
		int64_t n = dims[0] - z < slab ? dims[0] - z : slab;

		rc = kk_phantom_fill(&g, p, z, z + n, buf, o->threads, err);
		if (!rc)
			rc = kk_writer_write(w, 0, z, n, buf, err);
		kk_progress_add(&progress, (double)n);
	}
	kk_progress_end(&progress);
	if (!rc) {
		kk_msg_verbose("%s phantom", kk_phantom_name(p->kind));
		rc = kk_commit_output(w, o->output, t0, err);
		w = NULL;
	}
out:
	kk_writer_abort(w);
	free(buf);
	kk_geometry_release(&g);
	return rc;
}

int cmd_phantom(int argc, char **argv)
{
	struct kk_phantom_opts p = {KK_PHANTOM_SHEPP_LOGAN, 0.5, 1, 0};
	const struct kk_cmd_opts co = {usage, "g:o:t:fj:qvh", options, false,
				       parse_own, &p};
	struct kk_run_opts o;
	struct kk_error err = {0};
	int status = kk_parse_cmd_opts(argc, argv, &co, &o);

	if (status >= 0)
		return status;
	make(&o, &p, &err);
	return kk_finish(&err);
}
