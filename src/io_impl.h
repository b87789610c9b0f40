/*
 * io_impl.h: what io.c shares with its format backends (io_hdf5.c,
 * io_tiff.c).  Not for use outside the io_*.c files.
 *
 * io.c parses specs, maps the caller's 3-D view onto the stored 2-D or
 * 3-D array, converts between float32 and the stored type, and owns the
 * temporary-file-and-rename dance.  A backend only moves raw elements of
 * the stored type between a file and a dense C-order buffer, in slabs
 * along one stored axis.
 */
#ifndef KK_IO_IMPL_H
#define KK_IO_IMPL_H

#include "io.h"

struct kk_reader_ops {
	/* Read the box [start[i], start[i] + count[i]) of the stored array
	 * (r->info.rank entries, already checked against its shape), in
	 * the stored dtype (r->info.dtype), dense C order. */
	int (*read)(struct kk_reader *r, const int64_t *start,
		    const int64_t *count, void *buf, struct kk_error *err);
	void (*close)(struct kk_reader *r);
};

struct kk_reader {
	const struct kk_reader_ops *ops;
	void *impl;                  /* the backend's own state */
	char name[1024];             /* for messages */
	char note[256];              /* for -v */
	struct kk_stack_info info;   /* as stored */
	int squeeze;                 /* see kk_reader_expect */
	bool expected;
	struct kk_convert_stats stats;
	/* kk_reader_count_only: count only indices [lo, hi) less [xlo,
	 * xhi) of axis (of the 3-D view); axis < 0: all. */
	int count_axis;
	int64_t count_lo, count_hi, count_xlo, count_xhi;
	/* A uint16 file kkit wrote records the range it mapped onto 0..65535
	 * (kkit_range); set, it maps the values back. */
	struct kk_output_scale range;
	void *scratch;
	size_t scratch_size;
};

struct kk_writer_ops {
	/* Write stored indices [start, start + count) of stored axis and all
	 * of the others from buf, already in w->info.dtype, C order. */
	int (*write)(struct kk_writer *w, int axis, int64_t start,
		     int64_t count, const void *buf, struct kk_error *err);
	/* Flush and close the temporary; io.c then renames it. */
	int (*finish)(struct kk_writer *w, struct kk_error *err);
	/* Close without finishing; io.c then removes the temporary. */
	void (*discard)(struct kk_writer *w);
};

struct kk_writer {
	const struct kk_writer_ops *ops;
	void *impl;
	char name[1024];             /* spec, for messages */
	char *target;                /* final path (file or directory) */
	char *tmp;                   /* temporary path beside it */
	bool tmp_is_dir;
	bool into_existing;          /* a directory that exists: tmp is a
				      * hidden directory inside it */
	char *dataset;               /* HDF5 dataset path, or NULL */
	bool dataset_named;          /* ... given by the user */
	struct kk_stack_info info;   /* as it will be stored */
	int squeeze;
	struct kk_write_opts opts;   /* its strings point to own[] */
	char *own[5];                /* copies of the caller's strings */
	char created[32];            /* ISO 8601 time, for provenance */
	int64_t written;             /* elements so far */
	int64_t clipped;             /* values clipped by the conversion */
	void *scratch;
	size_t scratch_size;
};

/* Shared by io.c and io_write.c. */
enum kk_spec_kind {
	KK_SPEC_HDF5,
	KK_SPEC_TIFF_FILE,
	KK_SPEC_TIFF_DIR,
	KK_SPEC_TIFF_GLOB,
};
/* Split a spec into a file and an HDF5 dataset path (malloc'ed; dataset
 * may be NULL) and say what it is. */
int kk_io_classify(const char *spec, bool output, char **file,
		   char **dataset, enum kk_spec_kind *kind,
		   struct kk_error *err);
/* The stored axis behind axis a of the 3-D view (squeeze: the axis a
 * 2-D file leaves out, or -1), or -1 for the left-out one. */
int kk_io_stored_axis(int squeeze, int a);
/* Grow a scratch buffer to need bytes. */
int kk_io_reserve(void **buf, size_t *size, size_t need,
		  struct kk_error *err);

/* Backends: open a reader (fill r->ops, impl, info, name, note). */
int kk_hdf5_open_read(struct kk_reader *r, const char *file,
		      const char *dataset, int key, struct kk_error *err);
/* kind: 'f' one multi-page file, 'd' a directory, 'g' a glob pattern. */
int kk_tiff_open_read(struct kk_reader *r, const char *spec, int kind,
		      struct kk_error *err);

/* Backends: create the temporary output w->tmp (an existing empty file
 * for HDF5 and TIFF files, an empty directory for a TIFF directory). */
int kk_hdf5_create(struct kk_writer *w, struct kk_error *err);
int kk_tiff_create(struct kk_writer *w, struct kk_error *err);

/* --force on an existing HDF5 file: refuse when it holds datasets other
 * than the one to be written, which replacing the file would lose. */
int kk_hdf5_check_replace(const char *file, const char *dataset,
			  struct kk_error *err);

/* Is this file HDF5 / TIFF, by its first bytes?  -1 if unreadable. */
int kk_file_is_hdf5(const char *path);
int kk_file_is_tiff(const char *path);

#endif
