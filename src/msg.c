/*
 * msg.c: the one place that prints errors, warnings, notes and progress.
 *
 * Every line starts with "kkit: CMD: " so that a script's log says which
 * tool and which step spoke.  Progress lines are redrawn in place with \r
 * and erased before any other message is printed, so the two never mix.
 */
#include "config.h"
#include "msg.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *command_name;
static int verbosity = KK_NORMAL;
static int progress_mode;          /* -1 never, 0 on a tty, 1 always */
static _Atomic int hushed;         /* kk_msg_hush */
static int progress_on_screen;     /* a progress line needs erasing */
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

int kk_fail(struct kk_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

int kk_fail_errno(struct kk_error *err, int code, int errnum,
		  const char *fmt, ...)
{
	va_list ap;
	size_t len;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	len = strlen(err->msg);
	snprintf(err->msg + len, sizeof(err->msg) - len, ": %s",
		 strerror(errnum));
	return code;
}

void kk_error_prefix(struct kk_error *err, const char *fmt, ...)
{
	char head[256], old[sizeof(err->msg)];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* Keep the end of a long message: it says what went wrong. */
	if (snprintf(err->msg, sizeof(err->msg), "%s: %s", head, old) < 0)
		err->msg[0] = '\0';
}

void kk_error_clear(struct kk_error *err)
{
	err->code = KK_OK;
	err->signo = 0;
	err->msg[0] = '\0';
}

int kk_exit_status(const struct kk_error *err)
{
	switch (err->code) {
	case KK_OK:
		return 0;
	case KK_EUSAGE:
	case KK_EINPUT:
		return 2;
	case KK_EINTR:
		/* The shell's convention: 128 + the signal's number. */
		return 128 + (err->signo > 0 ? err->signo : 2);
	default:
		return 1;
	}
}

void kk_msg_set_command(const char *name)
{
	command_name = name;
}

void kk_msg_set_verbosity(int level)
{
	verbosity = level;
}

int kk_msg_verbosity(void)
{
	return verbosity;
}

void kk_msg_hush(int on)
{
	hushed = on;
}

void kk_msg_set_progress(int mode)
{
	progress_mode = mode;
}

double kk_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void kk_sleep(double seconds)
{
	struct timespec ts;

	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* Caller holds print_lock. */
static void erase_progress(void)
{
	if (progress_on_screen) {
		fputs("\r\033[K", stderr);
		progress_on_screen = 0;
	}
}

static void vprint(const char *kind, const char *fmt, va_list ap)
{
	pthread_mutex_lock(&print_lock);
	erase_progress();
	fputs("kkit: ", stderr);
	if (command_name)
		fprintf(stderr, "%s: ", command_name);
	if (kind)
		fprintf(stderr, "%s: ", kind);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fflush(stderr);
	pthread_mutex_unlock(&print_lock);
}

void kk_error_print(const struct kk_error *err)
{
	kk_msg_error("%s", err->msg[0] ? err->msg : "unknown error");
}

void kk_msg_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint(NULL, fmt, ap);
	va_end(ap);
}

void kk_msg_warn(const char *fmt, ...)
{
	va_list ap;

	if (verbosity < KK_NORMAL || hushed)
		return;
	va_start(ap, fmt);
	vprint("warning", fmt, ap);
	va_end(ap);
}

void kk_msg_note(const char *fmt, ...)
{
	va_list ap;

	if (verbosity < KK_NORMAL || hushed)
		return;
	va_start(ap, fmt);
	vprint(NULL, fmt, ap);
	va_end(ap);
}

void kk_msg_verbose(const char *fmt, ...)
{
	va_list ap;

	if (verbosity < KK_VERBOSE || hushed)
		return;
	va_start(ap, fmt);
	vprint(NULL, fmt, ap);
	va_end(ap);
}

static int progress_wanted(void)
{
	if (verbosity < KK_NORMAL || progress_mode < 0)
		return 0;
	return progress_mode > 0 || isatty(STDERR_FILENO);
}

static void format_seconds(char *buf, size_t n, double s)
{
	if (s < 120)
		snprintf(buf, n, "%.0f s", s);
	else if (s < 7200)
		snprintf(buf, n, "%.0f min", s / 60);
	else
		snprintf(buf, n, "%.1f h", s / 3600);
}

/*
 * Caller holds print_lock.  On a terminal: a bar redrawn in place; else
 * (--progress into a log) a plain line now and then.
 */
static void draw_progress(struct kk_progress *p, double now, int final)
{
	double elapsed = now - p->t_start;
	double rate = elapsed > 0 ? p->done / elapsed : 0;
	double frac = p->total > 0 ? p->done / p->total : 1;
	char left[32] = "", bar[24];
	int i, filled;

	if (frac > 1)
		frac = 1;
	if (!final && rate > 0 && p->done < p->total)
		format_seconds(left, sizeof(left),
			       (p->total - p->done) / rate);
	if (p->tty) {
		filled = (int)(frac * 20 + 1e-9);
		for (i = 0; i < 20; i++)
			bar[i] = i < filled ? '#' : '.';
		bar[20] = '\0';
		fprintf(stderr, "\r\033[Kkkit: %s: [%s] ",
			command_name ? command_name : "", bar);
	} else {
		fprintf(stderr, "kkit: %s: ", command_name ? command_name
							   : "");
	}
	fprintf(stderr, "%.0f/%.0f %s (%.0f%%), %.1f %s/s", p->done, p->total,
		p->what, frac * 100, rate, p->what);
	if (left[0])
		fprintf(stderr, ", %s left", left);
	if (final) {
		char took[32];

		format_seconds(took, sizeof(took), elapsed);
		fprintf(stderr, ", took %s\n", took);
		progress_on_screen = 0;
	} else if (p->tty) {
		progress_on_screen = 1;
	} else {
		fputc('\n', stderr);
	}
	fflush(stderr);
	p->t_drawn = now;
}

void kk_progress_start(struct kk_progress *p, const char *what,
		       double total)
{
	memset(p, 0, sizeof(*p));
	p->what = what;
	p->total = total;
	p->t_start = kk_now();
	p->t_drawn = p->t_start;
	p->active = progress_wanted();
	p->tty = isatty(STDERR_FILENO);
}

void kk_progress_add(struct kk_progress *p, double n)
{
	double now;

	pthread_mutex_lock(&print_lock);
	p->done += n;
	if (p->active) {
		now = kk_now();
		if (now - p->t_drawn > (p->tty ? 0.25 : 10))
			draw_progress(p, now, 0);
	}
	pthread_mutex_unlock(&print_lock);
}

void kk_progress_end(struct kk_progress *p)
{
	pthread_mutex_lock(&print_lock);
	if (p->active)
		draw_progress(p, kk_now(), 1);
	p->active = 0;
	pthread_mutex_unlock(&print_lock);
}
