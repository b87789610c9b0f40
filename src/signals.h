/*
 * signals.h: SIGINT and SIGTERM stop a run cleanly.
 *
 * The handler only records the signal.  Long loops poll kk_interrupted()
 * and return KK_EINTR through the normal error path, so that writers can
 * remove their temporary files and the command exits with 130 or 143.
 */
#ifndef KK_SIGNALS_H
#define KK_SIGNALS_H

#include "msg.h"

void kk_signals_install(void);
/* The signal caught so far (SIGINT or SIGTERM), or 0. */
int kk_interrupted(void);
/* Fill err with KK_EINTR for the signal caught; returns KK_EINTR. */
int kk_fail_interrupted(struct kk_error *err);

#endif
