/*
 * recon_watch.h: an iterative run's --log lines and --snapshot images
 * (recon_watch.c).
 */
#ifndef KK_RECON_WATCH_H
#define KK_RECON_WATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "msg.h"
#include "recon.h"

struct kk_log {
	FILE *f;             /* NULL: no log */
	bool own, json;
	const char *path;
};

/*
 * Open the log at path ("-": standard output): JSON Lines when its name
 * ends in .jsonl or .json, else CSV with a header.  An existing file is
 * appended to with append (a resumed run), replaced with force, else
 * refused.
 */
int kk_log_open(struct kk_log *l, const char *path, bool append, bool force,
		struct kk_error *err);
/* One line: iteration, residual, relative change, seconds; flushed. */
int kk_log_step(struct kk_log *l, const struct kk_recon_step *s,
		struct kk_error *err);
int kk_log_close(struct kk_log *l, struct kk_error *err);

/* Is pattern a snapshot name: at most one %d (with a width), ending in
 * .png, .tif or .tiff? */
int kk_snapshot_check(const char *pattern, struct kk_error *err);
/*
 * Write the ny x nx slice as a 16-bit grayscale image named by pattern
 * with the iteration, lo..hi mapped onto 0..65535 (the slice's own range
 * unless both are finite); the range is recorded in the image
 * ("kkit_range lo:hi").
 */
int kk_snapshot_write(const char *pattern, int iteration, const float *slice,
		      int64_t ny, int64_t nx, float lo, float hi,
		      struct kk_error *err);

#endif
