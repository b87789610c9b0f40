/*
 * msg.h: errors carried up from the core, and the one place that prints.
 *
 * Core functions never print an error: they fill a struct kk_error and
 * return its (negative) code.  The command layer prints it with
 * kk_error_print() and exits with kk_exit_status().  Warnings, notes and
 * progress may come from anywhere, but all of them go through msg.c, which
 * knows the command name and the verbosity the user asked for.
 */
#ifndef KK_MSG_H
#define KK_MSG_H

#include <stdarg.h>
#include <stdint.h>

enum kk_code {
	KK_OK = 0,
	KK_EUSAGE = -1,   /* bad command line                     exit 2 */
	KK_EINPUT = -2,   /* bad input: file, geometry, shape     exit 2 */
	KK_EIO = -3,      /* I/O failed while doing valid work    exit 1 */
	KK_ENOMEM = -4,   /* out of memory                        exit 1 */
	KK_ERUNTIME = -5, /* anything else that failed at run time exit 1 */
	KK_EINTR = -6,    /* SIGINT or SIGTERM              exit 130/143 */
};

struct kk_error {
	int code;
	int signo;        /* for KK_EINTR: the signal that stopped us */
	char msg[1536];
};

#ifdef __GNUC__
#define KK_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define KK_PRINTF(a, b)
#endif

/* Set the error and return its code, so that 'return kk_fail(...)' works. */
int kk_fail(struct kk_error *err, int code, const char *fmt, ...)
	KK_PRINTF(3, 4);
/* As kk_fail, with ": strerror(errnum)" appended. */
int kk_fail_errno(struct kk_error *err, int code, int errnum,
		  const char *fmt, ...) KK_PRINTF(4, 5);
/* Put context in front of an error already set: "reading 'x': <old>". */
void kk_error_prefix(struct kk_error *err, const char *fmt, ...)
	KK_PRINTF(2, 3);
void kk_error_clear(struct kk_error *err);

/* The exit status a command returns for an error (0 for none). */
int kk_exit_status(const struct kk_error *err);

/* Verbosity: -1 quiet (errors only), 0 normal, 1 verbose. */
enum kk_verbosity { KK_QUIET = -1, KK_NORMAL = 0, KK_VERBOSE = 1 };

void kk_msg_set_command(const char *name);
void kk_msg_set_verbosity(int level);
int kk_msg_verbosity(void);
/* While on, warnings, notes and -v lines are not printed (errors and
 * progress are): for work repeated many times, such as an iterative
 * method's passes, whose messages the first time already said. */
void kk_msg_hush(int on);
/* Progress display: -1 never, 0 when stderr is a terminal, 1 always. */
void kk_msg_set_progress(int mode);

void kk_error_print(const struct kk_error *err);
void kk_msg_error(const char *fmt, ...) KK_PRINTF(1, 2);
void kk_msg_warn(const char *fmt, ...) KK_PRINTF(1, 2);
void kk_msg_note(const char *fmt, ...) KK_PRINTF(1, 2);    /* normal */
void kk_msg_verbose(const char *fmt, ...) KK_PRINTF(1, 2); /* -v only */

/*
 * Progress of one long step: "fp: [#######.............] 120/180 views
 * (67%), 40.1 views/s, 2 s left".  On a terminal the bar is redrawn in
 * place a few times a second; with --progress into a file, a plain line
 * comes every 10 s.  kk_progress_add may be called from any thread.
 */
struct kk_progress {
	const char *what;
	double total;
	double done;
	double t_start;
	double t_drawn;
	int active;
	int tty;
};
void kk_progress_start(struct kk_progress *p, const char *what,
		       double total);
/* Fractions are fine: a row of a view is 1/nrows of a view. */
void kk_progress_add(struct kk_progress *p, double n);
void kk_progress_end(struct kk_progress *p);

/* Monotonic seconds, for rates and timings. */
double kk_now(void);
/* Sleep that long (a signal may cut it short). */
void kk_sleep(double seconds);

#endif
