/*
 * cmd_common.c: options and chores that every command shares, so that
 * -g, -i, -o, --dtype and the rest mean the same everywhere.
 */
#include "config.h"
#include "cmd.h"
#include "flatfield.h"
#include "budget.h"
#include "parallel.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kk_run_opts_init(struct kk_run_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->axes = kk_axes_default;
	o->write.dtype = KK_F32;
	o->threads = kk_cpu_count();
	kk_device_opts_default(&o->dev);
	kk_stream_opts_default(&o->stream);
}

/* "LO:HI" with LO < HI, both finite. */
static int parse_range(const char *arg, struct kk_output_scale *s,
		       struct kk_error *err)
{
	const char *hi;
	char *end;

	errno = 0;
	s->lo = strtod(arg, &end);
	if (end == arg || *end != ':')
		goto bad;
	hi = end + 1;
	s->hi = strtod(hi, &end);
	if (end == hi || *end != '\0' || errno || !isfinite(s->lo) ||
	    !isfinite(s->hi) || !(s->hi > s->lo))
		goto bad;
	s->set = true;
	return 0;
bad:
	return kk_fail(err, KK_EUSAGE, "invalid --range '%s': expected "
		       "LO:HI, two numbers with LO < HI (LO is stored as 0, "
		       "HI as 65535)", arg);
}

static int parse_threads(const char *arg, int *n, struct kk_error *err)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (end == arg || *end || errno || v < 1 || v > 4096)
		return kk_fail(err, KK_EUSAGE, "invalid --threads '%s': "
			       "expected a whole number from 1 to 4096", arg);
	*n = (int)v;
	return 0;
}

int kk_run_opt(int opt, const char *arg, struct kk_run_opts *o,
	       struct kk_error *err)
{
	int rc;

	switch (opt) {
	case 'g':
		o->geometry = arg;
		return 1;
	case 'i':
		o->input = arg;
		return 1;
	case 'o':
		o->output = arg;
		return 1;
	case 'f':
		o->write.force = true;
		return 1;
	case 'j':
		rc = parse_threads(arg, &o->threads, err);
		o->dev.threads = o->threads;
		return rc ? rc : 1;
	case 'q':
		kk_msg_set_verbosity(KK_QUIET);
		return 1;
	case 'v':
		kk_msg_set_verbosity(KK_VERBOSE);
		return 1;
	case 'h':
		o->help = true;
		return 1;
	case OPT_PROJ_AXES:
		rc = kk_axes_parse(arg, &o->axes, err);
		o->stream.axes = o->axes;
		return rc ? rc : 1;
	case OPT_DTYPE:
		if (kk_dtype_parse(arg, &o->write.dtype) != 0 ||
		    (o->write.dtype != KK_F32 && o->write.dtype != KK_F16 &&
		     o->write.dtype != KK_U16))
			return kk_fail(err, KK_EUSAGE, "invalid --dtype '%s': "
				       "expected float32, float16 or uint16",
				       arg);
		return 1;
	case OPT_RANGE:
		rc = parse_range(arg, &o->write.scale, err);
		return rc ? rc : 1;
	case OPT_DEVICE:
		if (strcmp(arg, "auto") == 0)
			o->dev.device = KK_DEVICE_AUTO;
		else if (strcmp(arg, "gpu") == 0)
			o->dev.device = KK_DEVICE_GPU;
		else if (strcmp(arg, "cpu") == 0)
			o->dev.device = KK_DEVICE_CPU;
		else
			return kk_fail(err, KK_EUSAGE, "invalid --device '%s': "
				       "expected auto, gpu or cpu", arg);
		return 1;
	case OPT_GPU: {
		char *end;
		long v;

		errno = 0;
		v = strtol(arg, &end, 10);
		if (end == arg || *end || errno || v < 0 || v > 1023)
			return kk_fail(err, KK_EUSAGE, "invalid --gpu '%s': "
				       "expected a device number (kkit info "
				       "lists them)", arg);
		o->dev.gpu = (int)v;
		return 1;
	}
	case OPT_KERNEL_DIR:
		o->dev.kernels.dir = arg;
		return 1;
	case OPT_NO_CACHE:
		o->dev.kernels.no_cache = true;
		return 1;
	case OPT_STORAGE:
		if (!strcmp(arg, "float32") || !strcmp(arg, "float16")) {
			bool half = !strcmp(arg, "float16");

			o->dev.gpu_opts.vol_half = half;
			o->dev.gpu_opts.proj_half = half;
			return 1;
		}
		return kk_fail(err, KK_EUSAGE, "invalid --storage '%s': "
			       "expected float32 or float16", arg);
	case OPT_MEM_LIMIT:
		rc = kk_parse_size(arg, "--mem-limit", &o->stream.mem_limit,
				   err);
		if (!rc && !o->stream.mem_limit)
			rc = kk_fail(err, KK_EUSAGE, "invalid --mem-limit "
				     "'%s': expected more than nothing", arg);
		return rc ? rc : 1;
	case OPT_HOST_MEM_LIMIT:
		rc = kk_parse_size(arg, "--host-mem-limit",
				   &o->stream.host_mem_limit, err);
		if (!rc && !o->stream.host_mem_limit)
			rc = kk_fail(err, KK_EUSAGE, "invalid "
				     "--host-mem-limit '%s': expected more "
				     "than nothing", arg);
		return rc ? rc : 1;
	case OPT_CHUNK: {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(arg, &end, 10);
		if (end == arg || *end || errno || v < 1)
			return kk_fail(err, KK_EUSAGE, "invalid --chunk '%s': "
				       "expected a number of views, 1 or more",
				       arg);
		o->stream.chunk = v;
		return 1;
	}
	case OPT_NO_PINNED:
		o->stream.pinned = false;
		return 1;
	case OPT_PROGRESS:
		kk_msg_set_progress(1);
		return 1;
	case OPT_NO_PROGRESS:
		kk_msg_set_progress(-1);
		return 1;
	}
	return 0;
}

int kk_run_opts_check(struct kk_run_opts *o, int argc, char **argv,
		      bool need_input, struct kk_error *err)
{
	if (optind < argc)
		return kk_fail(err, KK_EUSAGE, "unexpected argument '%s'",
			       argv[optind]);
	if (!o->geometry)
		return kk_fail(err, KK_EUSAGE, "missing the geometry "
			       "(-g FILE.json)");
	if (need_input && !o->input)
		return kk_fail(err, KK_EUSAGE, "missing the input (-i FILE)");
	if (!o->output)
		return kk_fail(err, KK_EUSAGE, "missing the output (-o FILE)");
	if (o->write.dtype == KK_U16 && !o->write.scale.set)
		return kk_fail(err, KK_EUSAGE, "--dtype uint16 needs --range "
			       "LO:HI, the values stored as 0 and 65535");
	if (o->write.dtype != KK_U16 && o->write.scale.set)
		return kk_fail(err, KK_EUSAGE, "--range applies to --dtype "
			       "uint16 only");
	return 0;
}

int kk_usage_error(const char *cmd, const struct kk_error *err)
{
	kk_error_print(err);
	fprintf(stderr, "Try 'kkit %s --help' for more information.\n", cmd);
	return 2;
}

int kk_parse_number(const char *opt, const char *arg, double lo,
		    double hi, double *out, struct kk_error *err)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(arg, &end);
	if (end == arg || *end || errno || !(d >= lo && d <= hi))
		return kk_fail(err, KK_EUSAGE, "invalid %s '%s': expected a "
			       "number from %g to %g", opt, arg, lo, hi);
	*out = d;
	return 0;
}

int kk_parse_raw_opt(int opt, const char *arg, struct kk_flatfield_opts *o,
		     struct kk_error *err)
{
	switch (opt) {
	case OPT_RAW:
		o->on = true;
		break;
	case OPT_FLATS:
		o->flats = arg;
		o->on = true;
		break;
	case OPT_DARKS:
		o->darks = arg;
		o->on = true;
		break;
	case OPT_NO_DARKS:
		o->no_darks = true;
		break;
	case OPT_TRANSMISSION_FLOOR:
		if (kk_parse_number("--transmission-floor", arg, 1e-30, 0.5,
				    &o->tmin, err))
			return err->code;
		o->tmin_set = true;
		break;
	default:
		return 0;
	}
	return 1;
}

int kk_check_raw_opts(const struct kk_flatfield_opts *o, struct kk_error *err)
{
	if (o->darks && o->no_darks)
		return kk_fail(err, KK_EUSAGE, "--darks and --no-darks "
			       "contradict each other");
	if (!o->on && (o->no_darks || o->tmin_set))
		return kk_fail(err, KK_EUSAGE, "%s needs --raw (or --flats "
			       "or --darks)", o->no_darks ? "--no-darks"
			       : "--transmission-floor");
	return 0;
}

int kk_finish(const struct kk_error *err)
{
	if (err->code)
		kk_error_print(err);
	return kk_exit_status(err);
}

int kk_open_device(const struct kk_run_opts *o, struct kk_device **d,
		   struct kk_error *err)
{
	double t0 = kk_now();
	int rc = kk_device_open(d, &o->dev, err);

	if (!rc)
		kk_msg_verbose("device: %s, ready in %.2f s", (*d)->name,
			       kk_now() - t0);
	return rc;
}

int kk_run_streamed(const struct kk_run_opts *o, const struct kk_geometry *g,
		    struct kk_reader *r, struct kk_writer *w,
		    kk_stream_fn stream, double t0, struct kk_error *err)
{
	struct kk_device *d = NULL;
	struct kk_progress progress;
	struct kk_stream_stats st;
	double t1, t2;
	int rc;

	rc = kk_open_device(o, &d, err);
	if (!rc) {
		t1 = kk_now();
		kk_progress_start(&progress, "views", (double)g->nviews);
		rc = stream(d, g, r, w, &o->stream, &progress, &st, err);
		kk_progress_end(&progress);
	}
	if (!rc) {
		kk_stream_report(g, &st);
		t2 = kk_now();
		rc = kk_commit_output(w, o->output, t0, err);
		w = NULL;
		kk_msg_verbose("opening the files and the device took %.2f s, "
			       "closing the output %.2f s", t1 - t0,
			       kk_now() - t2);
	}
	kk_writer_abort(w);
	kk_reader_close(r);
	kk_device_close(d);
	return rc;
}

int kk_load_geometry(const char *path, unsigned flags,
		     struct kk_geometry *g, struct kk_error *err)
{
	char desc[256];
	int rc = kk_geometry_load(path, flags, g, err);

	if (rc)
		return rc;
	kk_geometry_describe(g, desc, sizeof(desc));
	kk_msg_verbose("geometry '%s': %s", path, desc);
	return 0;
}

int kk_commit_output(struct kk_writer *w, const char *output, double t0,
		     struct kk_error *err)
{
	int rc = kk_writer_commit(w, err);

	if (!rc)
		kk_msg_verbose("wrote '%s' in %.2f s", output, kk_now() - t0);
	return rc;
}

static int64_t per_slab(int64_t bytes_each, int64_t count)
{
	int64_t n = KK_SLAB_BYTES / bytes_each;

	return n < 1 ? 1 : n > count ? count : n;
}

int64_t kk_slab_slices(const struct kk_geometry *g)
{
	return per_slab(4 * g->vol.nx * g->vol.ny, g->vol.nz);
}

int kk_parse_run_opts(int argc, char **argv, const char *usage,
		      bool need_input, struct kk_run_opts *o)
{
	static const struct option options[] = {
		KK_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	const struct kk_cmd_opts c = {usage, KK_COMMON_SHORTOPTS, options,
				      need_input, NULL, NULL};

	return kk_parse_cmd_opts(argc, argv, &c, o);
}

int kk_parse_cmd_opts(int argc, char **argv, const struct kk_cmd_opts *c,
		      struct kk_run_opts *o)
{
	struct kk_error err = {0};
	char shortopts[64];
	int opt, rc;

	snprintf(shortopts, sizeof(shortopts), ":%s", c->shortopts);
	kk_run_opts_init(o);
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, shortopts, c->options,
				  NULL)) != -1) {
		if (opt == '?' || opt == ':') {
			kk_option_error(opt, argv, &err);
			return kk_usage_error(argv[0], &err);
		}
		rc = kk_run_opt(opt, optarg, o, &err);
		if (rc == 0 && c->own)
			rc = c->own(opt, optarg, c->arg, &err);
		if (rc < 0 && err.code == KK_EUSAGE)
			return kk_usage_error(argv[0], &err);
		if (rc < 0)
			return kk_finish(&err);
	}
	if (o->help) {
		fputs(c->usage, stdout);
		return 0;
	}
	if (kk_run_opts_check(o, argc, argv, c->need_input, &err))
		return kk_usage_error(argv[0], &err);
	return -1;
}

struct kk_error *kk_option_error(int opt, char **argv, struct kk_error *err)
{
	/* A short option is in optopt (it may sit in a group like -xf);
	 * a long one is the word getopt_long just passed. */
	const char *arg = argv[optind - 1];
	bool is_long = !strncmp(arg, "--", 2);
	int len = (int)strcspn(arg, "=");

	if (opt == ':' && is_long)
		kk_fail(err, KK_EUSAGE, "option '%.*s' needs a value", len,
			arg);
	else if (opt == ':')
		kk_fail(err, KK_EUSAGE, "option '-%c' needs a value", optopt);
	else if (is_long)
		kk_fail(err, KK_EUSAGE, "unknown option '%.*s'", len, arg);
	else
		kk_fail(err, KK_EUSAGE, "unknown option '-%c'", optopt);
	return err;
}

/* The end of opening an input: closed on failure, noted with -v. */
static int opened(struct kk_reader **r, int rc)
{
	if (rc) {
		kk_reader_close(*r);
		*r = NULL;
		return rc;
	}
	if (kk_reader_note(*r)[0])
		kk_msg_verbose("'%s': %s", kk_reader_name(*r),
			       kk_reader_note(*r));
	return 0;
}

int kk_open_volume(const char *spec, const struct kk_geometry *g,
		   struct kk_reader **r, struct kk_error *err)
{
	int64_t dims[3];
	int rc;

	rc = kk_reader_open(r, spec, err);
	if (rc)
		return rc;
	kk_geometry_volume_dims(g, dims);
	rc = kk_reader_expect(*r, dims, 0, "a volume",
			      g->is_2d ? "z,y,x; or y,x for a 2D image"
				       : "z,y,x", err);
	return opened(r, rc);
}

int kk_open_projections(const char *spec, const struct kk_geometry *g,
			const struct kk_axes *axes, struct kk_reader **r,
			struct kk_error *err)
{
	const struct kk_stack_info *info;
	int64_t dims[3], astra[3];
	char names[32];
	int rc;

	rc = kk_reader_open(r, spec, err);
	if (rc)
		return rc;
	kk_geometry_proj_dims(g, axes, dims);
	kk_axes_format(axes, names, sizeof(names));
	rc = kk_reader_expect(*r, dims, axes->where[KK_ROW], "projections",
			      names, err);
	if (rc) {
		/* The most common mix-up: the other axis order. */
		info = kk_reader_info(*r);
		kk_geometry_proj_dims(g, axes->where[KK_ANGLE] == 0 ?
				      &kk_axes_astra : &kk_axes_default,
				      astra);
		if (info->rank == 3 && !g->is_2d &&
		    info->dims[0] == astra[0] && info->dims[1] == astra[1] &&
		    info->dims[2] == astra[2]) {
			size_t len = strlen(err->msg);

			snprintf(err->msg + len, sizeof(err->msg) - len,
				 "; they fit as %s: try --proj-axes %s",
				 axes->where[KK_ANGLE] == 0 ? "row,angle,col"
							    : "angle,row,col",
				 axes->where[KK_ANGLE] == 0 ? "row,angle,col"
							    : "angle,row,col");
		}
	}
	return opened(r, rc);
}

int kk_create_volume(const struct kk_run_opts *o,
		     const struct kk_geometry *g, struct kk_writer **w,
		     struct kk_error *err)
{
	struct kk_write_opts wo = o->write;
	int64_t dims[3];

	kk_geometry_volume_dims(g, dims);
	wo.page_prefix = "slice";
	wo.prov.kind = "volume";
	wo.prov.axes = g->is_2d ? "y,x" : "z,y,x";
	wo.prov.geometry = g->json;
	wo.prov.command = kk_command_line;
	return kk_writer_create(w, o->output, dims, g->is_2d ? 0 : -1, &wo,
				err);
}

int kk_create_projections(const struct kk_run_opts *o,
			  const struct kk_geometry *g, struct kk_writer **w,
			  struct kk_error *err)
{
	struct kk_write_opts wo = o->write;
	int64_t dims[3];
	char names[32];
	int first = o->axes.where[KK_ANGLE] == 0 ? KK_ANGLE
		    : o->axes.where[KK_ROW] == 0 ? KK_ROW : KK_COL;

	kk_geometry_proj_dims(g, &o->axes, dims);
	kk_axes_format(&o->axes, names, sizeof(names));
	if (g->is_2d)
		/* A 2D sinogram is stored without its one detector row. */
		snprintf(names, sizeof(names), "%s",
			 o->axes.where[KK_ANGLE] < o->axes.where[KK_COL]
			 ? "angle,col" : "col,angle");
	wo.page_prefix = first == KK_ANGLE ? "proj"
			 : first == KK_ROW ? "sino" : "page";
	wo.prov.kind = "projections";
	wo.prov.axes = names;
	wo.prov.geometry = g->json;
	wo.prov.command = kk_command_line;
	return kk_writer_create(w, o->output, dims,
				g->is_2d ? o->axes.where[KK_ROW] : -1, &wo,
				err);
}
