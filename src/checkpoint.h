/*
 * checkpoint.h: save an iterative method's state every so many
 * iterations, and load it again to resume (checkpoint.c).
 */
#ifndef KK_CHECKPOINT_H
#define KK_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "array.h"
#include "msg.h"

struct kk_checkpoint {
	const char *method;   /* "sirt", "cgls" */
	const char *run;      /* what the state depends on: geometry,
			       * projections, options; must match to
			       * resume */
	int64_t dims[3];      /* the volume's (z, y, x) */
	int iteration;        /* iterations done */
	float *x;             /* the iterate */
	float *p;             /* CGLS's search direction, else NULL */
};

/* Write c to path (atomically: a temporary beside it, renamed). */
int kk_checkpoint_save(const char *path, const struct kk_checkpoint *c,
		       struct kk_error *err);
/*
 * Read the checkpoint at path into c, whose method, run and dims say
 * what it must be (KK_EINPUT naming the difference if not); allocates
 * c->x (and c->p for CGLS) and sets c->iteration.
 */
int kk_checkpoint_load(const char *path, struct kk_checkpoint *c,
		       struct kk_error *err);
void kk_checkpoint_release(struct kk_checkpoint *c);

#endif
