/*
 * signals.c: record SIGINT/SIGTERM for an orderly stop (see signals.h).
 *
 * A second signal of the same kind while we are cleaning up falls back to
 * the default action, so a user who presses Ctrl-C twice is not ignored.
 */
#include "config.h"
#include "signals.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t caught;

static void on_signal(int signo)
{
	struct sigaction dfl;

	caught = signo;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(signo, &dfl, NULL);
}

void kk_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int kk_interrupted(void)
{
	return caught;
}

int kk_fail_interrupted(struct kk_error *err)
{
	int signo = caught ? caught : SIGINT;

	kk_fail(err, KK_EINTR, "interrupted by %s",
		signo == SIGTERM ? "SIGTERM" : "SIGINT");
	if (err)
		err->signo = signo;
	return KK_EINTR;
}
