/*
 * io_tiff.h: what the TIFF backend's files share (io_tiff.c, the reader
 * in io_tiff_read.c, the writer in io_tiff_write.c).  Not for use
 * elsewhere: io.c reaches them through io_impl.h.
 */
#ifndef KK_IO_TIFF_H
#define KK_IO_TIFF_H

#include <stdbool.h>
#include <stdint.h>

#include "io_impl.h"

/* Room for "page 12345 of '<a long path>'". */
#define LABEL_MAX 1200

/*
 * libtiff reports through global handlers.  We keep its last error text
 * to append to our own messages and drop its warnings, so nothing it
 * says reaches stderr behind msg.c's back.  Call kk_tiff_init once
 * before using libtiff, kk_tiff_clear before each call whose failure is
 * reported.
 */
void kk_tiff_init(void);
void kk_tiff_clear(void);
/* Has libtiff reported an error since kk_tiff_clear? */
bool kk_tiff_failed(void);
/* Its last error, without the "<file>: " that our messages say anyway. */
const char *kk_tiff_msg(const char *file);

/* The regular files of a directory ('d': its .tif and .tiff files,
 * hidden ones left out) or a glob pattern ('g'), in natural order of
 * their names.  *files is malloc'ed, each name too. */
int kk_tiff_list(const char *spec, int kind, char ***files, int64_t *n,
		 struct kk_error *err);
/* Natural order: proj_9 before proj_10; see io_tiff.c. */
int kk_natural_cmp(const char *a, const char *b);

#endif
