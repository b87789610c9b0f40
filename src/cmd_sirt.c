/*
 * cmd_sirt.c: kkit sirt and kkit cgls, the iterative reconstructions
 * (recon.h): read the projections, run the method on the GPU's memory
 * when everything fits there and streamed from host memory otherwise,
 * report each iteration (--log, --snapshot-every), save the state
 * (--checkpoint) and resume from it (--resume), write the volume.
 */
#include "config.h"
#include "cmd.h"
#include "checkpoint.h"
#include "flatfield.h"
#include "linop.h"
#include "recon_watch.h"
#include "sha256.h"
#include "signals.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_fmt[] =
	"usage: kkit %s -g GEOMETRY -i PROJECTIONS -o VOLUME [options]\n"
	"\n"
	"%s\n"
	"\n"
	"  -g, --geometry FILE    geometry JSON (see kkit-geometry(5))\n"
	"  -i, --input SPEC       projections: file.h5[:/dataset],\n"
	"                         stack.tif, dir/ or 'proj_*.tif'\n"
	"  -o, --output SPEC      volume: file.h5[:/dataset], stack.tif or\n"
	"                         dir/ (z,y,x)\n"
	"  -n, --iterations N     iterations (default %d)\n"
	"%s"
	"      --x0 SPEC          the volume to start from (default: zeros)\n"
	"      --mask SPEC        a volume: only voxels where it is not 0\n"
	"                         change\n"
	"      --log FILE         a line per iteration: iteration, residual,\n"
	"                         relative change, seconds; CSV, or JSON\n"
	"                         Lines for FILE.jsonl; '-': standard output\n"
	"      --snapshot-every K write the middle slice every K iterations\n"
	"      --snapshot PATTERN its name, with %%d for the iteration,\n"
	"                         ending in .png or .tif (default:\n"
	"                         OUTPUT's name + '-%%04d.png')\n"
	"      --checkpoint FILE  save the state every --checkpoint-every\n"
	"                         iterations (default 10) and at the end\n"
	"      --checkpoint-every K\n"
	"      --resume           go on from --checkpoint FILE\n"
	"      --in-core MODE     keep every vector on the GPU: auto\n"
	"                         (default: when it fits), yes or no\n"
	KK_RAW_USAGE
	KK_RUN_USAGE;

static const char sirt_about[] =
	"Reconstruct a volume from PROJECTIONS by SIRT, as the ASTRA Toolbox\n"
	"defines it: x <- x + lambda C A^T R (b - A x), with R and C the\n"
	"inverse row and column sums of the projector A.";
static const char sirt_opts[] =
	"      --relaxation F     the step factor lambda (default 1)\n"
	"      --min V, --max V   keep every voxel within these bounds\n";
static const char cgls_about[] =
	"Reconstruct a volume from PROJECTIONS by CGLS: conjugate gradients\n"
	"on the least-squares problem min |A x - b|, one A and one A^T an\n"
	"iteration.";

enum {
	OPT_RELAXATION = OPT_FIRST_OWN,
	OPT_MIN,
	OPT_MAX,
	OPT_X0,
	OPT_MASK,
	OPT_LOG,
	OPT_SNAPSHOT_EVERY,
	OPT_SNAPSHOT,
	OPT_CHECKPOINT,
	OPT_CHECKPOINT_EVERY,
	OPT_RESUME,
	OPT_IN_CORE,
};

#define OWN_OPTIONS                                                     \
	{"iterations", required_argument, NULL, 'n'},                   \
	{"x0", required_argument, NULL, OPT_X0},                        \
	{"mask", required_argument, NULL, OPT_MASK},                    \
	{"log", required_argument, NULL, OPT_LOG},                      \
	{"snapshot-every", required_argument, NULL, OPT_SNAPSHOT_EVERY},\
	{"snapshot", required_argument, NULL, OPT_SNAPSHOT},            \
	{"checkpoint", required_argument, NULL, OPT_CHECKPOINT},        \
	{"checkpoint-every", required_argument, NULL,                   \
	 OPT_CHECKPOINT_EVERY},                                         \
	{"resume", no_argument, NULL, OPT_RESUME},                      \
	{"in-core", required_argument, NULL, OPT_IN_CORE},               \
	KK_RAW_LONGOPTS

static const struct option sirt_options[] = {
	KK_COMMON_LONGOPTS,
	OWN_OPTIONS,
	{"relaxation", required_argument, NULL, OPT_RELAXATION},
	{"min", required_argument, NULL, OPT_MIN},
	{"max", required_argument, NULL, OPT_MAX},
	{NULL, 0, NULL, 0},
};

static const struct option cgls_options[] = {
	KK_COMMON_LONGOPTS,
	OWN_OPTIONS,
	{NULL, 0, NULL, 0},
};

struct sirt_cmd {
	struct kk_run_opts run;
	struct kk_recon_opts recon;
	const char *x0, *mask, *log, *snapshot, *checkpoint;
	int snapshot_every, checkpoint_every;
	bool resume;
	int in_core;                  /* -1 auto, 0 no, 1 yes */
	struct kk_flatfield_opts raw;
	char snapshot_default[1100];
};

/* What an iteration's callback works with. */
struct watch {
	const struct sirt_cmd *c;
	int64_t dims[3];
	float *x, *p;                 /* host copies when needed */
	int x_of;                     /* the iteration x is a copy of */
	struct kk_log log;
	struct kk_checkpoint cp;      /* what checkpoints are of; the
				       * loaded one's arrays on --resume */
	struct kk_progress *progress;
	int last_saved;
};

static int count(const char *opt, const char *arg, int lo, int *out,
		 struct kk_error *err)
{
	double d;

	if (kk_parse_number(opt, arg, lo, 1e9, &d, err))
		return err->code;
	if (d != floor(d))
		return kk_fail(err, KK_EUSAGE, "invalid %s '%s': expected a "
			       "whole number", opt, arg);
	*out = (int)d;
	return 0;
}

static int parse_own(int opt, const char *arg, void *ctx,
		     struct kk_error *err)
{
	struct sirt_cmd *c = ctx;
	double d;
	int rc = kk_parse_raw_opt(opt, arg, &c->raw, err);

	if (rc)
		return rc < 0 ? rc : 0;
	switch (opt) {
	case 'n':
		return count("--iterations", arg, 0, &c->recon.iterations,
			     err);
	case OPT_RELAXATION:
		return kk_parse_number("--relaxation", arg, 1e-6, 2,
				       &c->recon.relaxation, err);
	case OPT_MIN:
	case OPT_MAX:
		if (kk_parse_number(opt == OPT_MIN ? "--min" : "--max", arg,
				    -HUGE_VAL, HUGE_VAL, &d, err))
			return err->code;
		*(opt == OPT_MIN ? &c->recon.min : &c->recon.max) = (float)d;
		return 0;
	case OPT_X0:
		c->x0 = arg;
		return 0;
	case OPT_MASK:
		c->mask = arg;
		return 0;
	case OPT_LOG:
		c->log = arg;
		return 0;
	case OPT_SNAPSHOT_EVERY:
		return count("--snapshot-every", arg, 1, &c->snapshot_every,
			     err);
	case OPT_SNAPSHOT:
		c->snapshot = arg;
		return kk_snapshot_check(arg, err);
	case OPT_CHECKPOINT:
		c->checkpoint = arg;
		return 0;
	case OPT_CHECKPOINT_EVERY:
		return count("--checkpoint-every", arg, 1,
			     &c->checkpoint_every, err);
	case OPT_RESUME:
		c->resume = true;
		return 0;
	case OPT_IN_CORE:
		if (!strcmp(arg, "auto") || !strcmp(arg, "yes") ||
		    !strcmp(arg, "no")) {
			c->in_core = arg[0] == 'a' ? -1 : arg[0] == 'y';
			return 0;
		}
		return kk_fail(err, KK_EUSAGE, "invalid --in-core '%s': "
			       "expected auto, yes or no", arg);
	}
	return kk_fail(err, KK_EUSAGE, "unknown option");
}

/* The options that need each other, once all are parsed. */
static int check_options(struct sirt_cmd *c, struct kk_error *err)
{
	const struct kk_recon_opts *r = &c->recon;

	if (kk_check_raw_opts(&c->raw, err))
		return err->code;
	if (r->min > r->max)
		return kk_fail(err, KK_EUSAGE, "--min %g is above --max %g",
			       r->min, r->max);
	if (c->resume && !c->checkpoint)
		return kk_fail(err, KK_EUSAGE, "--resume needs --checkpoint "
			       "FILE, the state to go on from");
	if (c->resume && c->x0)
		return kk_fail(err, KK_EUSAGE, "--resume starts from the "
			       "checkpoint: leave out --x0");
	if (c->snapshot && !c->snapshot_every)
		return kk_fail(err, KK_EUSAGE, "--snapshot needs "
			       "--snapshot-every K");
	if (c->checkpoint_every && !c->checkpoint)
		return kk_fail(err, KK_EUSAGE, "--checkpoint-every needs "
			       "--checkpoint FILE");
	if (c->snapshot_every && !c->snapshot) {
		/* OUTPUT without its suffix or dataset, then -%04d.png */
		char *s = c->snapshot_default, *end;

		snprintf(s, sizeof(c->snapshot_default) - 16, "%s",
			 c->run.output);
		if ((end = strstr(s, ".h5:")) || (end = strstr(s, ".hdf5:")) ||
		    (end = strstr(s, ".nxs:")))
			*end = '\0';
		end = s + strlen(s);
		while (end > s && end[-1] == '/')
			*--end = '\0';
		if ((end = strrchr(s, '.')) && !strchr(end, '/'))
			*end = '\0';
		strcat(s, "-%04d.png");
		c->snapshot = s;
		return kk_snapshot_check(s, err);
	}
	return 0;
}

/* A line naming what the state of a run depends on, for checkpoints. */
static void describe_run(const struct sirt_cmd *c, const struct kk_geometry *g,
			 char *buf, size_t n)
{
	const struct kk_recon_opts *r = &c->recon;
	struct kk_sha256 h;
	unsigned char dig[32];
	char hex[65], axes[32];
	int len;

	kk_sha256_init(&h);
	kk_sha256_update(&h, g->json, strlen(g->json));
	kk_sha256_final(&h, dig);
	kk_sha256_hex(dig, hex);
	kk_axes_format(&c->run.axes, axes, sizeof(axes));
	hex[16] = '\0';
	len = snprintf(buf, n, "geometry sha256 %s..., projections '%s' (%s), "
		       "mask %s%s%s", hex, c->run.input, axes,
		       c->mask ? "'" : "", c->mask ? c->mask : "none",
		       c->mask ? "'" : "");
	if (c->raw.on && len > 0 && (size_t)len < n)
		len += snprintf(buf + len, n - (size_t)len, ", raw: flats '%s', "
				"darks '%s', transmission floor %g",
				c->raw.flats ? c->raw.flats : "image_key 1",
				c->raw.no_darks ? "none" : c->raw.darks
				? c->raw.darks : "image_key 2", c->raw.tmin);
	if (r->method == KK_SIRT && len > 0 && (size_t)len < n)
		snprintf(buf + len, n - (size_t)len, ", relaxation %g, min %g, "
			 "max %g", r->relaxation, r->min, r->max);
}

/* A whole stack into memory. */
static int read_all(struct kk_reader *r, const int64_t dims[3],
		    const char *what, float **out, struct kk_error *err)
{
	*out = kk_alloc_floats(kk_count(dims, 3), what, err);
	if (!*out)
		return err->code;
	return kk_reader_read(r, 0, 0, dims[0], *out, err);
}

static int read_volume(const char *spec, const struct kk_geometry *g,
		       float **out, struct kk_error *err)
{
	struct kk_reader *r = NULL;
	int64_t dims[3];
	int rc;

	*out = NULL;
	kk_geometry_volume_dims(g, dims);
	rc = kk_open_volume(spec, g, &r, err);
	if (!rc)
		rc = read_all(r, dims, "volume", out, err);
	kk_reader_close(r);
	return rc;
}

/* --raw: the projections b, read whole, into line integrals. */
static int correct_raw(const struct sirt_cmd *c, const struct kk_geometry *g,
		       float *b, struct kk_error *err)
{
	struct kk_flatfield ff;
	int rc;

	rc = kk_flatfield_setup(&ff, &c->raw, c->run.input, g, &c->run.axes,
				err);
	if (rc)
		return rc;
	rc = kk_flatfield_apply(&ff, b, &c->run.axes, g->nviews, 0, g->nrows,
				NULL, c->run.threads, err);
	if (!rc)
		kk_flatfield_report(&ff);
	kk_flatfield_release(&ff);
	return rc;
}

/* The iterate in host memory, copied once an iteration. */
static int copy_x(struct watch *w, struct kk_linop *op,
		  const struct kk_recon_state *s, struct kk_error *err)
{
	int rc = 0;

	if (w->x_of != s->iteration)
		rc = op->ops->store(op, s->x, w->x, err);
	if (!rc)
		w->x_of = s->iteration;
	return rc;
}

static int save_checkpoint(struct watch *w, struct kk_linop *op,
			   const struct kk_recon_state *s,
			   struct kk_error *err)
{
	const struct kk_linop_ops *f = op->ops;
	struct kk_checkpoint c = w->cp;
	int rc = copy_x(w, op, s, err);

	if (!rc && s->p)
		rc = f->store(op, s->p, w->p, err);
	if (rc)
		return rc;
	c.iteration = s->iteration;
	c.x = w->x;
	c.p = s->p ? w->p : NULL;
	rc = kk_checkpoint_save(w->c->checkpoint, &c, err);
	if (!rc) {
		w->last_saved = s->iteration;
		kk_msg_verbose("checkpoint '%s' saved after iteration %d",
			       w->c->checkpoint, s->iteration);
	}
	return rc;
}

static int after_iteration(void *ctx, struct kk_linop *op,
			   const struct kk_recon_step *step,
			   const struct kk_recon_state *s,
			   struct kk_error *err)
{
	struct watch *w = ctx;
	const struct sirt_cmd *c = w->c;
	int k = step->iteration, rc;
	int64_t plane = w->dims[1] * w->dims[2];

	rc = kk_log_step(&w->log, step, err);
	if (!rc && c->snapshot_every && k % c->snapshot_every == 0) {
		rc = copy_x(w, op, s, err);
		if (!rc)
			rc = kk_snapshot_write(c->snapshot, k,
					       w->x + w->dims[0] / 2 * plane,
					       w->dims[1], w->dims[2],
					       c->recon.min, c->recon.max, err);
	}
	if (!rc && c->checkpoint &&
	    (k % c->checkpoint_every == 0 || k == c->recon.iterations))
		rc = save_checkpoint(w, op, s, err);
	if (!rc && kk_interrupted())
		rc = kk_fail_interrupted(err);
	return rc;
}

/* The operator: the GPU's memory when all fits (or --in-core yes),
 * else host memory with streamed passes. */
static int make_operator(const struct sirt_cmd *c, struct kk_device *d,
			 const struct kk_geometry *g,
			 struct kk_progress *progress,
			 struct kk_linop_stats *stats, struct kk_linop **op,
			 struct kk_error *err)
{
	const struct kk_run_opts *o = &c->run;
	bool cgls = c->recon.method == KK_CGLS;
	int nvol = 3 + (cgls && c->mask), nproj = cgls ? 2 : 3;
	int rc;

	if (kk_device_on_gpu(d) && c->in_core != 0) {
		rc = kk_linop_gpu(op, d, g, &o->stream, nvol, nproj, progress,
				  stats, err);
		if (rc != KK_ENOMEM || c->in_core == 1)
			return rc;
		kk_msg_verbose("not in-core (%s): streaming from host memory",
			       err->msg);
		kk_error_clear(err);
	} else if (c->in_core == 1) {
		return kk_fail(err, KK_EUSAGE, "--in-core yes needs a GPU");
	}
	return kk_linop_host(op, d, g, &o->stream, o->threads, progress,
			     stats, err);
}

static int reconstruct(struct sirt_cmd *c, const struct kk_geometry *g,
		       struct watch *w, const float *b, float *x,
		       struct kk_error *err)
{
	struct kk_linop *op = NULL;
	struct kk_linop_stats stats = {0, 0};
	struct kk_device *d = NULL;
	struct kk_device_stats ds;
	struct kk_progress progress;
	double t0 = 0;
	int rc;

	rc = kk_open_device(&c->run, &d, err);
	if (rc)
		return rc;
	kk_progress_start(&progress, "views", (double)g->nviews *
			  (double)kk_recon_passes(&c->recon));
	w->progress = &progress;
	rc = make_operator(c, d, g, &progress, &stats, &op, err);
	if (!rc) {
		kk_msg_verbose("%d iterations with the vectors in %s",
			       c->recon.iterations - c->recon.start, op->where);
		t0 = kk_now();
		rc = kk_recon_run(op, b, x, &c->recon, err);
		t0 = kk_now() - t0;
	}
	kk_progress_end(&progress);
	/* the engines' kernel times are counted when they are freed */
	kk_linop_free(op);
	kk_device_stats(d, &ds);
	if (!rc)
		kk_msg_verbose("iterations took %.2f s, %lld passes of A or "
			       "A^T %.2f s, kernels %.2f s", t0,
			       (long long)stats.passes, stats.pass_s,
			       ds.kernel_s);
	kk_device_close(d);
	return rc;
}

/* Everything before the iterations: inputs, checkpoint, log. */
static int prepare(struct sirt_cmd *c, const struct kk_geometry *g,
		   struct watch *w, float **b, struct kk_error *err)
{
	struct kk_recon_opts *r = &c->recon;
	struct kk_reader *pr = NULL;
	int64_t pdims[3];
	float *x0 = NULL, *mask = NULL;
	int rc;

	kk_geometry_proj_dims(g, &c->run.axes, pdims);
	rc = kk_open_projections(c->run.input, g, &c->run.axes, &pr, err);
	if (!rc && !c->raw.on)
		kk_flatfield_hint(c->run.input, pr);
	if (!rc)
		rc = read_all(pr, pdims, "projections", b, err);
	kk_reader_close(pr);
	if (!rc && c->raw.on)
		rc = correct_raw(c, g, *b, err);
	if (!rc && c->x0)
		rc = read_volume(c->x0, g, &x0, err);
	if (!rc && c->mask)
		rc = read_volume(c->mask, g, &mask, err);
	r->x0 = x0;
	r->mask = mask;
	if (!rc && c->checkpoint && c->resume) {
		rc = kk_checkpoint_load(c->checkpoint, &w->cp, err);
		if (!rc) {
			r->start = w->cp.iteration;
			r->x0 = w->cp.x;
			r->p0 = w->cp.p;
			w->last_saved = r->start;
			kk_msg_verbose("resuming after iteration %d from '%s'",
				       r->start, c->checkpoint);
			if (r->start > r->iterations)
				rc = kk_fail(err, KK_EUSAGE, "checkpoint '%s' "
					     "is after iteration %d, beyond "
					     "--iterations %d", c->checkpoint,
					     r->start, r->iterations);
		}
	} else if (!rc && c->checkpoint && !c->run.write.force &&
		   access(c->checkpoint, F_OK) == 0) {
		rc = kk_fail(err, KK_EUSAGE, "checkpoint '%s' exists: use "
			     "--resume to go on from it, or --force to start "
			     "afresh", c->checkpoint);
	}
	if (!rc && c->log)
		rc = kk_log_open(&w->log, c->log, c->resume,
				 c->run.write.force, err);
	return rc;
}

static int run(struct sirt_cmd *c, struct kk_error *err)
{
	struct kk_run_opts *o = &c->run;
	struct kk_geometry g;
	struct kk_writer *out = NULL;
	struct watch w;
	float *b = NULL, *x = NULL;
	char run_line[2048];
	double t0 = kk_now();
	int rc;

	memset(&w, 0, sizeof(w));
	w.c = c;
	rc = kk_load_geometry(o->geometry, 0, &g, err);
	if (rc)
		return rc;
	kk_geometry_volume_dims(&g, w.dims);
	describe_run(c, &g, run_line, sizeof(run_line));
	w.cp.method = kk_recon_method_name(c->recon.method);
	w.cp.run = run_line;
	memcpy(w.cp.dims, w.dims, sizeof(w.dims));
	rc = kk_create_volume(o, &g, &out, err);
	if (!rc)
		rc = prepare(c, &g, &w, &b, err);
	if (!rc) {
		x = kk_alloc_floats(kk_count(w.dims, 3), "volume", err);
		if (c->checkpoint && c->recon.method == KK_CGLS)
			w.p = kk_alloc_floats(kk_count(w.dims, 3), "volume",
					      err);
		if (!x || (c->checkpoint && c->recon.method == KK_CGLS &&
			   !w.p))
			rc = err->code;
	}
	w.x = x;
	c->recon.after = after_iteration;
	c->recon.ctx = &w;
	if (!rc)
		rc = reconstruct(c, &g, &w, b, x, err);
	/* A run resumed at its last iteration saves nothing new. */
	if (!rc)
		rc = kk_writer_write(out, 0, 0, w.dims[0], x, err);
	if (!rc) {
		rc = kk_commit_output(out, o->output, t0, err);
		out = NULL;
	}
	kk_writer_abort(out);
	if (kk_log_close(&w.log, rc ? NULL : err) && !rc)
		rc = err->code;
	free(b);
	free(x);
	free(w.p);
	if (w.cp.x != c->recon.x0)
		free((void *)c->recon.x0);
	kk_checkpoint_release(&w.cp);
	free((void *)c->recon.mask);
	kk_geometry_release(&g);
	return rc;
}

static int cmd_iterative(int argc, char **argv, enum kk_recon_method m)
{
	struct sirt_cmd c;
	char usage[4096];
	const struct kk_cmd_opts co = {
		usage, KK_COMMON_SHORTOPTS "n:",
		m == KK_SIRT ? sirt_options : cgls_options, true, parse_own, &c
	};
	struct kk_error err = {0};
	int status;

	memset(&c, 0, sizeof(c));
	kk_recon_opts_default(&c.recon);
	c.recon.method = m;
	c.recon.iterations = m == KK_SIRT ? 100 : 25;
	c.in_core = -1;
	kk_flatfield_opts_default(&c.raw);
	snprintf(usage, sizeof(usage), usage_fmt, argv[0],
		 m == KK_SIRT ? sirt_about : cgls_about,
		 c.recon.iterations, m == KK_SIRT ? sirt_opts : "");
	status = kk_parse_cmd_opts(argc, argv, &co, &c.run);
	if (status >= 0)
		return status;
	if (check_options(&c, &err))
		return kk_usage_error(argv[0], &err);
	if (c.checkpoint && !c.checkpoint_every)
		c.checkpoint_every = 10;
	run(&c, &err);
	return kk_finish(&err);
}

int cmd_sirt(int argc, char **argv)
{
	return cmd_iterative(argc, argv, KK_SIRT);
}

int cmd_cgls(int argc, char **argv)
{
	return cmd_iterative(argc, argv, KK_CGLS);
}
