/*
 * io_hdf5.h: what the HDF5 backend's two files share (io_hdf5.c reads,
 * io_hdf5_write.c writes).  Not for use elsewhere.
 */
#ifndef KK_IO_HDF5_H
#define KK_IO_HDF5_H

#include <stdbool.h>
#include <stdint.h>

#include <hdf5.h>

#include "io_impl.h"
#include "rawio.h"

/* Switch off HDF5's printing of its error stack (once a thread). */
void kk_h5_quiet(void);
/* Around HDF5 calls that may run while another thread uses HDF5 (the
 * streaming pipeline's reads and writes): a lock where the library is
 * not thread safe, nothing where it is.  Also quiets HDF5 in the thread. */
/* A UTF-8 string attribute on obj; NULL values are skipped. */
int kk_h5_put_string(hid_t obj, const char *name, const char *value);
void kk_h5_lock(void);
void kk_h5_unlock(void);

/* HDF5's innermost error as one sentence, e.g. "truncated file: eof =
 * 96 (...)"; the text lives in st.  Clears the stack. */
struct kk_h5_error {
	char text[400];
};
const char *kk_h5_error(struct kk_h5_error *st);

/* Select [start, start + count) of fspace; returns the memory space of
 * that shape (close it), or -1. */
hid_t kk_h5_slab(hid_t fspace, int rank, const hsize_t *start,
		 const hsize_t *count);

/* IEEE binary16 as h5py and numpy store it; the caller closes it. */
hid_t kk_h5_half_type(void);

/* Does the object at path exist?  A missing group is "no", not an error. */
bool kk_h5_exists(hid_t file, const char *path);

/* NXtomo: the file frames whose image_key is key (0: projections, 1:
 * flats, 2: darks) of the data at dpath, whose length r->info.dims[0]
 * is, and which it then sets to their number, with a note for -v.
 * *frames is NULL (projections: every frame one, or no image_key;
 * flats, darks: none, dims[0] then 0) or malloc'ed. */
int kk_h5_nxtomo_frames(struct kk_reader *r, hid_t file, const char *dpath,
			int key, int64_t **frames, struct kk_error *err);

/* Set raw up to read (write) the dataset around the library when its
 * bytes lie plainly in the file; raw->fd is -1 when they do not (or
 * $KKIT_NO_RAW_HDF5 is set).  path is the file, name for messages. */
void kk_h5_raw_setup(struct kk_raw *raw, hid_t file, hid_t dset,
		     hid_t memtype, const char *path, const char *name,
		     int rank, const int64_t *dims, size_t esize,
		     bool writing);

#endif
