/*
 * rawio.h: boxes of a C-order array stored as plain bytes in a file (an
 * HDF5 contiguous dataset whose stored type is the one in memory), read
 * or written with pread and pwrite on several threads at once.
 *
 * The HDF5 library reads such a dataset with one thread and one global
 * lock; going around it gives page-cache speed to the streaming
 * pipeline, and its reader and writer threads no longer take turns.
 */
#ifndef KK_RAWIO_H
#define KK_RAWIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"

struct kk_raw {
	int fd;
	int64_t offset;          /* of element 0 in the file */
	int rank;                /* 2 or 3 */
	int64_t dims[3];
	size_t esize;
	const int64_t *frames;   /* the stored index of each index of axis
				  * 0 (NXtomo), or NULL */
	const char *name;        /* for messages */
	bool writing;
};

/* Read (or, when r->writing, write) the box [start[i], start[i] +
 * count[i]) of the array, rank entries, from (to) dense C-order buf. */
int kk_raw_io(const struct kk_raw *r, const int64_t *start,
	      const int64_t *count, void *buf, struct kk_error *err);

#endif
