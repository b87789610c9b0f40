/*
 * io.h: volumes and projection stacks in files, read and written slab by
 * slab, so that no caller ever needs a whole dataset in memory.
 *
 * A stack is named by a spec:
 *   file.h5              HDF5; reading finds the dataset (see below),
 *                        writing uses /data
 *   file.h5:/entry/data  HDF5, that dataset
 *   stack.tif            one multi-page TIFF, a page per index of axis 0
 *   dir/                 a directory of single-page TIFFs, sorted by the
 *                        number in their names
 *   'proj_*.tif'         the single-page TIFFs a pattern matches (input)
 *
 * Reading HDF5 without a dataset path tries /data (kkit's own), the NXtomo
 * /entry/instrument/detector/data, Data Exchange's /exchange/data, then
 * the only 2-D or 3-D dataset in the file.  NXtomo frames whose image_key
 * is not 0 (flats, darks) are skipped.
 *
 * kkit works on 3-D arrays.  A file may hold a 2-D array (a 2D image or
 * sinogram); kk_reader_expect() and kk_writer_create() say which axis of
 * the 3-D view is the one of length 1 that the file leaves out.
 *
 * All values reach the caller as float32.  Outputs are written to a
 * hidden temporary name beside the target and renamed into place by
 * kk_writer_commit(); kk_writer_abort() removes it.
 *
 * Threads: one reader or writer must be used by one thread at a time, but
 * different ones may work at once (the streaming pipeline reads on one
 * thread while it writes on another); where the HDF5 library is not
 * thread safe, kkit takes turns at it.
 */
#ifndef KK_IO_H
#define KK_IO_H

#include <stdbool.h>
#include <stdint.h>

#include "array.h"
#include "msg.h"

struct kk_reader;
struct kk_writer;

struct kk_stack_info {
	int rank;           /* 2 or 3, as stored */
	int64_t dims[3];    /* as stored; dims[2] unused when rank is 2 */
	enum kk_dtype dtype;
};

int kk_reader_open(struct kk_reader **r, const char *spec,
		   struct kk_error *err);
/*
 * NXtomo: the frames of spec's data whose image_key is key (1: flat
 * fields, 2: darks) as a stack of their own, or *r NULL when spec is not
 * NXtomo (a TIFF, or HDF5 without image_key) or has no such frame.
 */
int kk_reader_open_key(struct kk_reader **r, const char *spec, int key,
		       struct kk_error *err);
const struct kk_stack_info *kk_reader_info(const struct kk_reader *r);
/* "proj.h5:/data", "slices/ (360 files)": for messages. */
const char *kk_reader_name(const struct kk_reader *r);
/* Notes for -v, e.g. "using 180 of 200 frames (image_key 0)"; or "". */
const char *kk_reader_note(const struct kk_reader *r);

/*
 * Check the stored shape against want, the 3-D shape the geometry needs.
 * A 2-D file fits when want[squeeze] is 1 and the other two match
 * (squeeze < 0: 2-D files do not fit).  what ("volume", "projections")
 * and the axis names (e.g. "z,y,x") make the message.
 */
int kk_reader_expect(struct kk_reader *r, const int64_t want[3],
		     int squeeze, const char *what, const char *axes,
		     struct kk_error *err);
/*
 * Read indices [start, start + count) of axis (of the 3-D view) and all of
 * the other two, as float32 in C order.  Call kk_reader_expect first.
 */
int kk_reader_read(struct kk_reader *r, int axis, int64_t start,
		   int64_t count, float *dst, struct kk_error *err);
/* Read the box [start[i], start[i] + count[i]) of the 3-D view, e.g. a
 * window of detector rows of some views, as float32 in C order. */
int kk_reader_read_box(struct kk_reader *r, const int64_t start[3],
		       const int64_t count[3], float *dst,
		       struct kk_error *err);
/* What the reads so far counted for the warnings. */
const struct kk_convert_stats *kk_reader_stats(const struct kk_reader *r);
/*
 * For callers that read some data more than once: the values reads
 * return count towards kk_reader_close's warnings only at indices [lo,
 * hi) of axis (of the 3-D view), less [xlo, xhi), until this is called
 * again.  axis < 0 counts everything read (the default).
 */
void kk_reader_count_only(struct kk_reader *r, int axis, int64_t lo,
			  int64_t hi, int64_t xlo, int64_t xhi);
/* Close; warns once about values that float32 changed or that are not
 * finite. */
void kk_reader_close(struct kk_reader *r);

/* What an output records about where it came from. */
struct kk_provenance {
	const char *kind;      /* "volume" or "projections" */
	const char *axes;      /* "z,y,x", "angle,row,col", ... */
	const char *geometry;  /* the geometry file's text, or NULL */
	const char *command;   /* the command line, shell-quoted */
};

struct kk_write_opts {
	enum kk_dtype dtype;           /* KK_F32, KK_F16 or KK_U16 */
	struct kk_output_scale scale;  /* needed for KK_U16 */
	bool force;                    /* replace an existing output */
	const char *page_prefix;       /* TIFF directory: "proj", "slice" */
	struct kk_provenance prov;
};

/*
 * Start an output of 3-D shape dims (a 2-D file leaves out axis squeeze,
 * which must have length 1; -1 keeps all three).  Fails at once if the
 * output exists (without force) or its directory cannot be written.
 */
int kk_writer_create(struct kk_writer **w, const char *spec,
		     const int64_t dims[3], int squeeze,
		     const struct kk_write_opts *opts, struct kk_error *err);
const char *kk_writer_name(const struct kk_writer *w);
/* The type the output stores. */
enum kk_dtype kk_writer_dtype(const struct kk_writer *w);
/* Write indices [start, start + count) of axis and all of the other two
 * from src (float32, C order).  Slabs may come in any order. */
int kk_writer_write(struct kk_writer *w, int axis, int64_t start,
		    int64_t count, const float *src, struct kk_error *err);
/* Check everything was written, finish the file and rename it into
 * place.  Frees w, also on failure (the temporary is then removed). */
int kk_writer_commit(struct kk_writer *w, struct kk_error *err);
/* Give up: remove the temporary output and free w.  NULL is fine. */
void kk_writer_abort(struct kk_writer *w);

/*
 * A float32 array in memory (C order, 3-D shape dims) as a stack to read
 * or to write, named name in messages; the array must outlive it.  For
 * the iterative methods, which stream their vectors through the
 * executors (io_memory.c).  A writer's commit only checks that all was
 * written.
 */
int kk_reader_open_memory(struct kk_reader **r, const float *data,
			  const int64_t dims[3], const char *name,
			  struct kk_error *err);
int kk_writer_create_memory(struct kk_writer **w, float *data,
			    const int64_t dims[3], const char *name,
			    struct kk_error *err);

/* "The command line, shell-quoted" for provenance; malloc'ed. */
char *kk_quote_argv(int argc, char **argv);

#endif
