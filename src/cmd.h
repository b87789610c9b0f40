/*
 * cmd.h: the subcommands and what they share.
 *
 * Each command lives in its own cmd_NAME.c with one entry point,
 * int cmd_NAME(int argc, char **argv), where argv[0] is the command's
 * name.  It parses its options with getopt_long, prints through msg.c and
 * returns the exit status.  Options that several commands take (geometry,
 * input, output, axes, types, threads, verbosity) are parsed here, so they
 * mean the same everywhere.
 */
#ifndef KK_CMD_H
#define KK_CMD_H

#include <getopt.h>
#include <stdbool.h>

#include "array.h"
#include "geometry.h"
#include "io.h"
#include "msg.h"
#include "device.h"
#include "stream.h"

int cmd_phantom(int argc, char **argv);
int cmd_fp(int argc, char **argv);
int cmd_bp(int argc, char **argv);
int cmd_fbp(int argc, char **argv);
int cmd_sirt(int argc, char **argv);
int cmd_cgls(int argc, char **argv);
int cmd_info(int argc, char **argv);

/* The whole command line, shell-quoted, for provenance (kkit.c). */
extern const char *kk_command_line;

struct kk_run_opts {
	const char *geometry;
	const char *input;
	const char *output;
	struct kk_axes axes;
	struct kk_write_opts write;
	struct kk_device_opts dev;
	struct kk_stream_opts stream;
	int threads;
	bool help;
};

/* Long options every projecting command takes, and their short forms. */
#define KK_COMMON_SHORTOPTS "g:i:o:fj:qvh"
enum {
	OPT_PROJ_AXES = 1000,
	OPT_DTYPE,
	OPT_RANGE,
	OPT_DEVICE,
	OPT_PROGRESS,
	OPT_NO_PROGRESS,
	OPT_THREADS,
	OPT_GPU,
	OPT_KERNEL_DIR,
	OPT_NO_CACHE,
	OPT_STORAGE,
	OPT_MEM_LIMIT,
	OPT_HOST_MEM_LIMIT,
	OPT_CHUNK,
	OPT_NO_PINNED,
	OPT_RAW = 1050,       /* --raw and its options (fbp, sirt, cgls) */
	OPT_FLATS,
	OPT_DARKS,
	OPT_NO_DARKS,
	OPT_TRANSMISSION_FLOOR,
	OPT_FIRST_OWN = 1100, /* commands number their own from here */
};
#define KK_COMMON_LONGOPTS                                              \
	{"geometry", required_argument, NULL, 'g'},                     \
	{"input", required_argument, NULL, 'i'},                        \
	{"output", required_argument, NULL, 'o'},                       \
	{"force", no_argument, NULL, 'f'},                              \
	{"threads", required_argument, NULL, 'j'},                      \
	{"quiet", no_argument, NULL, 'q'},                              \
	{"verbose", no_argument, NULL, 'v'},                            \
	{"help", no_argument, NULL, 'h'},                               \
	{"proj-axes", required_argument, NULL, OPT_PROJ_AXES},          \
	{"dtype", required_argument, NULL, OPT_DTYPE},                  \
	{"range", required_argument, NULL, OPT_RANGE},                  \
	{"device", required_argument, NULL, OPT_DEVICE},                \
	{"gpu", required_argument, NULL, OPT_GPU},                      \
	{"kernel-dir", required_argument, NULL, OPT_KERNEL_DIR},        \
	{"no-cache", no_argument, NULL, OPT_NO_CACHE},                  \
	{"storage", required_argument, NULL, OPT_STORAGE},              \
	{"mem-limit", required_argument, NULL, OPT_MEM_LIMIT},          \
	{"host-mem-limit", required_argument, NULL, OPT_HOST_MEM_LIMIT},\
	{"chunk", required_argument, NULL, OPT_CHUNK},                  \
	{"no-pinned", no_argument, NULL, OPT_NO_PINNED},                \
	{"progress", no_argument, NULL, OPT_PROGRESS},                  \
	{"no-progress", no_argument, NULL, OPT_NO_PROGRESS}

void kk_run_opts_init(struct kk_run_opts *o);
/* Handle one common option: 1 if it was one, 0 if not, <0 on error. */
int kk_run_opt(int opt, const char *arg, struct kk_run_opts *o,
	       struct kk_error *err);
/* After parsing: the required ones are there, nothing extra is left. */
int kk_run_opts_check(struct kk_run_opts *o, int argc, char **argv,
		      bool need_input, struct kk_error *err);

/*
 * The whole command line of a command that takes only the common
 * options: returns -1 to go on, or the exit status to return at once
 * (after --help, or a usage error).
 */
int kk_parse_run_opts(int argc, char **argv, const char *usage,
		      bool need_input, struct kk_run_opts *o);

/* The same for a command with options of its own: own(opt, optarg,
 * arg, err) gets each option that is not a common one, and returns 0 or
 * a negative code (KK_EUSAGE for a bad value). */
struct kk_cmd_opts {
	const char *usage;
	const char *shortopts;          /* without the leading ':' */
	const struct option *options;   /* common and own ones */
	bool need_input;
	int (*own)(int opt, const char *arg, void *ctx,
		   struct kk_error *err);
	void *arg;
};
int kk_parse_cmd_opts(int argc, char **argv, const struct kk_cmd_opts *c,
		      struct kk_run_opts *o);

/* getopt_long returned '?' or ':': say which option was wrong. */
struct kk_error *kk_option_error(int opt, char **argv,
				 struct kk_error *err);
/* Print an error about the command line and how to get help; returns 2. */
int kk_usage_error(const char *cmd, const struct kk_error *err);
/* The number arg of option opt ("--padding"), from lo to hi, or
 * KK_EUSAGE saying so. */
int kk_parse_number(const char *opt, const char *arg, double lo,
		    double hi, double *out, struct kk_error *err);
/* Print err and return its exit status. */
int kk_finish(const struct kk_error *err);

/* The options of fp and bp after their input and output, for --help. */
#define KK_RUN_USAGE                                                    \
	"      --proj-axes ORDER  axis order of the projections:\n"        \
	"                         angle,row,col (default) or row,angle,col\n"\
	"                         (ASTRA's, also 'astra')\n"                \
	"      --dtype TYPE       float32 (default), float16 or uint16\n"   \
	"      --range LO:HI      uint16: the values stored as 0 and 65535\n"\
	"      --device DEV       auto (default), gpu or cpu\n"             \
	"      --gpu N            the GPU to use (default 0; kkit info)\n"  \
	"      --storage TYPE     GPU storage: float32 (default) or float16\n"\
	"      --kernel-dir DIR   edited kernels to use instead of kkit's\n"\
	"      --no-cache         compile the GPU kernels afresh\n"         \
	"      --mem-limit SIZE   device memory to use (default: what is\n" \
	"                         free), e.g. 8G\n"                         \
	"      --host-mem-limit SIZE\n"                                     \
	"                         host memory kkit may use in all\n"        \
	"      --chunk N          views a chunk (default: about 256 MiB)\n" \
	"      --no-pinned        pageable host buffers, not pinned ones\n" \
	"  -j, --threads N        CPU threads (default: all)\n"             \
	"  -f, --force            replace an existing output\n"             \
	"  -q, --quiet            print errors only\n"                      \
	"  -v, --verbose          say what is done, and how fast\n"         \
	"      --progress         show progress even when not on a "        \
	"terminal\n"                                                        \
	"  -h, --help             show this help\n"

/* --raw: flat-field and dark correction and -log (flatfield.h). */
#define KK_RAW_LONGOPTS                                                 \
	{"raw", no_argument, NULL, OPT_RAW},                            \
	{"flats", required_argument, NULL, OPT_FLATS},                  \
	{"darks", required_argument, NULL, OPT_DARKS},                  \
	{"no-darks", no_argument, NULL, OPT_NO_DARKS},                  \
	{"transmission-floor", required_argument, NULL,                 \
	 OPT_TRANSMISSION_FLOOR}
#define KK_RAW_USAGE                                                    \
	"      --raw              the projections are raw counts: divide\n"\
	"                         by the flat fields, less the darks, and\n"\
	"                         take -log (NXtomo's image_key frames)\n"  \
	"      --flats SPEC       flat fields from SPEC (implies --raw)\n"  \
	"      --darks SPEC       darks from SPEC (implies --raw)\n"        \
	"      --no-darks         the detector has no dark offset (--raw)\n"\
	"      --transmission-floor T\n"                                   \
	"                         clip transmissions to [T, 1/T] (default\n"\
	"                         1e-6)\n"

struct kk_flatfield_opts;
/* One of KK_RAW_LONGOPTS: 1 if opt was one, 0 if not, <0 on error. */
int kk_parse_raw_opt(int opt, const char *arg, struct kk_flatfield_opts *o,
		     struct kk_error *err);
/* Once all are parsed: --darks and --no-darks exclude each other,
 * --no-darks and --transmission-floor need --raw. */
int kk_check_raw_opts(const struct kk_flatfield_opts *o,
		      struct kk_error *err);

/* Open the device the options ask for and say which with -v. */
int kk_open_device(const struct kk_run_opts *o, struct kk_device **d,
		   struct kk_error *err);

/* kk_stream_fp or kk_stream_bp. */
typedef int (*kk_stream_fn)(struct kk_device *d, const struct kk_geometry *g,
			    struct kk_reader *in, struct kk_writer *out,
			    const struct kk_stream_opts *o,
			    struct kk_progress *progress,
			    struct kk_stream_stats *st,
			    struct kk_error *err);

/*
 * The rest of fp and bp once the input and the output are open (since
 * t0): the device, the streamed run with its progress, the -v report
 * and the output committed.  Closes r and w (aborted on failure).
 */
int kk_run_streamed(const struct kk_run_opts *o, const struct kk_geometry *g,
		    struct kk_reader *r, struct kk_writer *w,
		    kk_stream_fn stream, double t0, struct kk_error *err);

/* Load the geometry and, with -v, say what it is. */
int kk_load_geometry(const char *path, unsigned flags,
		     struct kk_geometry *g, struct kk_error *err);

/* Open the input volume or projections and check their shape against
 * the geometry (and, for projections, the axis order). */
int kk_open_volume(const char *spec, const struct kk_geometry *g,
		   struct kk_reader **r, struct kk_error *err);
int kk_open_projections(const char *spec, const struct kk_geometry *g,
			const struct kk_axes *axes, struct kk_reader **r,
			struct kk_error *err);
/* Start the output volume or projections, with provenance. */
int kk_create_volume(const struct kk_run_opts *o,
		     const struct kk_geometry *g, struct kk_writer **w,
		     struct kk_error *err);
int kk_create_projections(const struct kk_run_opts *o,
			  const struct kk_geometry *g, struct kk_writer **w,
			  struct kk_error *err);

/* Commit w (which is consumed either way) and, with -v, say how long
 * the command took since t0. */
int kk_commit_output(struct kk_writer *w, const char *output, double t0,
		     struct kk_error *err);


/* Slabs of at most this many bytes keep memory use bounded. */
#define KK_SLAB_BYTES ((int64_t)256 << 20)
/* Volume slices in one such slab (at least 1). */
int64_t kk_slab_slices(const struct kk_geometry *g);

#endif
