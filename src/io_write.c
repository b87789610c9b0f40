/*
 * io_write.c: outputs (see io.h).  An output is written to a hidden
 * temporary beside its target and renamed into place only when every
 * value is in it; an existing output is replaced only with --force, and
 * a failed or interrupted run removes its temporary.
 */
#include "config.h"
#include "io_impl.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* "dir/name" -> "dir/.name.kkit-XXXXXX" (a template for mkstemp). */
static char *temp_template(const char *target, const char *what)
{
	const char *slash = strrchr(target, '/');
	size_t dirlen = slash ? (size_t)(slash - target + 1) : 0;
	size_t n = strlen(target) + strlen(what) + 16;
	char *t = malloc(n);

	if (t)
		snprintf(t, n, "%.*s.%s.%s-XXXXXX", (int)dirlen, target,
			 target + dirlen, what);
	return t;
}

/* Remove a directory of plain files (kkit's own temporary ones). */
static int remove_flat_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char *p;
	int rc = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		p = malloc(strlen(path) + strlen(e->d_name) + 2);
		if (!p) {
			rc = -1;
			break;
		}
		sprintf(p, "%s/%s", path, e->d_name);
		if (unlink(p) != 0)
			rc = -1;
		free(p);
	}
	closedir(d);
	return rmdir(path) == 0 ? rc : -1;
}

/* 1 if path is a directory with nothing in it, 0 if not, -1 on error;
 * *subdirs is set if it holds directories (which kkit never replaces). */
static int dir_is_empty(const char *path, bool *subdirs)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int empty = 1;

	*subdirs = false;
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		empty = 0;
		if (e->d_type == DT_DIR)
			*subdirs = true;
	}
	closedir(d);
	return empty;
}

static int check_target(struct kk_writer *w, struct kk_error *err)
{
	struct stat st;
	bool subdirs;
	int empty;

	if (lstat(w->target, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		return kk_fail_errno(err, KK_EINPUT, errno, "cannot write "
				     "'%s'", w->name);
	}
	if (!w->tmp_is_dir) {
		if (S_ISDIR(st.st_mode))
			return kk_fail(err, KK_EINPUT, "cannot write '%s': "
				       "it is a directory", w->name);
		if (!w->opts.force)
			return kk_fail(err, KK_EINPUT, "'%s' exists: use "
				       "--force to replace it", w->target);
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return kk_fail(err, KK_EINPUT, "'%s' exists and is not a "
			       "directory", w->target);
	empty = dir_is_empty(w->target, &subdirs);
	if (empty < 0)
		return kk_fail_errno(err, KK_EINPUT, errno, "cannot read "
				     "directory '%s'", w->target);
	if (!empty && !w->opts.force)
		return kk_fail(err, KK_EINPUT, "directory '%s' is not empty: "
			       "use --force to replace what it holds",
			       w->target);
	if (!empty && subdirs)
		return kk_fail(err, KK_EINPUT, "directory '%s' holds "
			       "subdirectories: kkit replaces only "
			       "directories of files", w->target);
	return 0;
}

static int make_temp(struct kk_writer *w, struct kk_error *err)
{
	mode_t mask = umask(0);
	int fd;

	umask(mask);
	w->tmp = temp_template(w->target, "kkit");
	if (!w->tmp)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	if (w->tmp_is_dir) {
		if (!mkdtemp(w->tmp))
			goto fail;
		chmod(w->tmp, 0777 & ~mask);
		return 0;
	}
	fd = mkstemp(w->tmp);
	if (fd < 0)
		goto fail;
	fchmod(fd, 0666 & ~mask);
	close(fd);
	return 0;
fail:
	free(w->tmp);
	w->tmp = NULL;
	return kk_fail_errno(err, KK_EINPUT, errno, "cannot write output "
			     "'%s'", w->name);
}

/* The writer keeps its own copies of the strings in opts. */
static int copy_strings(struct kk_writer *w)
{
	const char **s[5] = {&w->opts.page_prefix, &w->opts.prov.kind,
			     &w->opts.prov.axes, &w->opts.prov.geometry,
			     &w->opts.prov.command};
	int i;

	for (i = 0; i < 5; i++) {
		if (!*s[i])
			continue;
		w->own[i] = strdup(*s[i]);
		if (!w->own[i])
			return -1;
		*s[i] = w->own[i];
	}
	return 0;
}

static void free_writer(struct kk_writer *w)
{
	int i;

	for (i = 0; i < 5; i++)
		free(w->own[i]);
	free(w->target);
	free(w->tmp);
	free(w->dataset);
	free(w->scratch);
	free(w);
}

int kk_writer_create(struct kk_writer **out, const char *spec,
		     const int64_t dims[3], int squeeze,
		     const struct kk_write_opts *opts, struct kk_error *err)
{
	struct kk_writer *w;
	enum kk_spec_kind kind;
	size_t len;
	time_t now;
	int rc, i, j;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	snprintf(w->name, sizeof(w->name), "%s", spec);
	w->opts = *opts;
	w->squeeze = squeeze;
	if (copy_strings(w) != 0) {
		rc = kk_fail(err, KK_ENOMEM, "out of memory");
		goto fail;
	}
	rc = kk_io_classify(spec, true, &w->target, &w->dataset, &kind,
			    err);
	if (rc)
		goto fail;
	w->tmp_is_dir = kind == KK_SPEC_TIFF_DIR;
	len = strlen(w->target);
	while (len > 1 && w->target[len - 1] == '/')
		w->target[--len] = '\0';
	if (kind == KK_SPEC_HDF5 && !w->dataset) {
		w->dataset = strdup("/data");
		if (!w->dataset) {
			rc = kk_fail(err, KK_ENOMEM, "out of memory");
			goto fail;
		}
	}
	if (opts->dtype != KK_F32 && opts->dtype != KK_F16 &&
	    opts->dtype != KK_U16) {
		rc = kk_fail(err, KK_EUSAGE, "cannot write %s: outputs are "
			     "float32, float16 or uint16",
			     kk_dtype_name(opts->dtype));
		goto fail;
	}
	if (opts->dtype == KK_U16 &&
	    !(opts->scale.set && opts->scale.hi > opts->scale.lo)) {
		rc = kk_fail(err, KK_EUSAGE, "a uint16 output needs the range "
			     "of values to map onto 0..65535 (--range LO:HI "
			     "with LO < HI)");
		goto fail;
	}
	w->info.dtype = opts->dtype;
	w->info.rank = squeeze >= 0 ? 2 : 3;
	for (i = 0, j = 0; i < 3; i++) {
		if (dims[i] < 1 || (i == squeeze && dims[i] != 1)) {
			rc = kk_fail(err, KK_ERUNTIME, "'%s': bad output "
				     "shape", spec);
			goto fail;
		}
		if (i != squeeze)
			w->info.dims[j++] = dims[i];
	}
	if (kk_count(dims, 3) < 0) {
		rc = kk_fail(err, KK_EINPUT, "'%s': the output is too large",
			     spec);
		goto fail;
	}
	rc = check_target(w, err);
	if (!rc)
		rc = make_temp(w, err);
	if (rc)
		goto fail;
	now = time(NULL);
	strftime(w->created, sizeof(w->created), "%Y-%m-%dT%H:%M:%SZ",
		 gmtime(&now));
	rc = kind == KK_SPEC_HDF5 ? kk_hdf5_create(w, err)
			       : kk_tiff_create(w, err);
	if (rc) {
		if (w->tmp_is_dir)
			remove_flat_dir(w->tmp);
		else
			unlink(w->tmp);
		goto fail;
	}
	*out = w;
	return 0;
fail:
	free_writer(w);
	return rc;
}

const char *kk_writer_name(const struct kk_writer *w)
{
	return w->name;
}

int kk_writer_write(struct kk_writer *w, int axis, int64_t start,
		    int64_t count, const float *src, struct kk_error *err)
{
	const void *buf = src;
	int64_t n;
	int saxis, rc;

	rc = kk_io_map_slab(&w->info, w->squeeze, w->name, axis, &start,
			    &count, &saxis, err);
	if (rc || count == 0)
		return rc;
	n = kk_io_slab_count(&w->info, saxis, count);
	if (w->info.dtype != KK_F32) {
		rc = kk_io_reserve(&w->scratch, &w->scratch_size,
			     (size_t)n * kk_dtype_size(w->info.dtype), err);
		if (rc)
			return rc;
		kk_convert_from_f32(w->scratch, w->info.dtype, src, (size_t)n,
				    &w->opts.scale, &w->clipped);
		buf = w->scratch;
	}
	rc = w->ops->write(w, saxis, start, count, buf, err);
	if (!rc)
		w->written += n;
	return rc;
}

/* Rename a finished file into place; without force never replace. */
static int place_file(struct kk_writer *w, struct kk_error *err)
{
	if (w->opts.force) {
		if (rename(w->tmp, w->target) == 0)
			return 0;
	} else {
		if (renameat2(AT_FDCWD, w->tmp, AT_FDCWD, w->target,
			      RENAME_NOREPLACE) == 0)
			return 0;
		if (errno == EINVAL || errno == ENOSYS) {
			/* No RENAME_NOREPLACE here: link(2) never replaces. */
			if (link(w->tmp, w->target) == 0) {
				unlink(w->tmp);
				return 0;
			}
		}
		if (errno == EEXIST)
			return kk_fail(err, KK_EINPUT, "'%s' appeared while "
				       "kkit was writing it: use --force to "
				       "replace it", w->target);
	}
	return kk_fail_errno(err, KK_EIO, errno, "cannot rename '%s' to "
			     "'%s'", w->tmp, w->target);
}

static int place_dir(struct kk_writer *w, struct kk_error *err)
{
	struct stat st;
	char *old;
	int rc;

	if (rename(w->tmp, w->target) == 0)
		return 0;
	if (errno != EEXIST && errno != ENOTEMPTY)
		return kk_fail_errno(err, KK_EIO, errno, "cannot rename '%s' "
				     "to '%s'", w->tmp, w->target);
	if (lstat(w->target, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    !w->opts.force)
		return kk_fail(err, KK_EINPUT, "directory '%s' was filled "
			       "while kkit was writing it: use --force to "
			       "replace what it holds", w->target);
	/* Swap the old directory out, the new one in, then drop the old. */
	old = temp_template(w->target, "kkit-old");
	if (!old || !mkdtemp(old)) {
		free(old);
		return kk_fail_errno(err, KK_EIO, errno, "cannot replace "
				     "'%s'", w->target);
	}
	rc = rename(w->target, old);
	if (rc == 0 && rename(w->tmp, w->target) != 0) {
		rc = kk_fail_errno(err, KK_EIO, errno, "cannot rename '%s' "
				   "to '%s'", w->tmp, w->target);
		rename(old, w->target);
	} else if (rc != 0) {
		rc = kk_fail_errno(err, KK_EIO, errno, "cannot replace '%s'",
				   w->target);
		rmdir(old);
	}
	if (rc == 0 && remove_flat_dir(old) != 0)
		kk_msg_warn("could not remove the old contents of '%s' (now "
			    "in '%s')", w->target, old);
	free(old);
	return rc;
}

int kk_writer_commit(struct kk_writer *w, struct kk_error *err)
{
	int64_t total = kk_count(w->info.dims, w->info.rank);
	int rc;

	if (w->written != total) {
		rc = kk_fail(err, KK_ERUNTIME, "internal error: %lld of %lld "
			     "values of '%s' were written",
			     (long long)w->written, (long long)total, w->name);
		kk_writer_abort(w);
		return rc;
	}
	rc = w->ops->finish(w, err);
	w->ops = NULL;
	if (!rc)
		rc = w->tmp_is_dir ? place_dir(w, err) : place_file(w, err);
	if (rc) {
		kk_writer_abort(w);
		return rc;
	}
	if (w->clipped && w->info.dtype == KK_U16)
		kk_msg_warn("'%s': %lld values outside the range %g:%g were "
			    "clipped", w->name, (long long)w->clipped,
			    w->opts.scale.lo, w->opts.scale.hi);
	else if (w->clipped)
		kk_msg_warn("'%s': %lld values too large for float16 became "
			    "infinite", w->name, (long long)w->clipped);
	free_writer(w);
	return 0;
}

void kk_writer_abort(struct kk_writer *w)
{
	if (!w)
		return;
	if (w->ops)
		w->ops->discard(w);
	if (w->tmp) {
		if (w->tmp_is_dir)
			remove_flat_dir(w->tmp);
		else
			unlink(w->tmp);
	}
	free_writer(w);
}

char *kk_quote_argv(int argc, char **argv)
{
	size_t n = 1;
	char *s, *p;
	int i;

	for (i = 0; i < argc; i++)
		n += 4 * strlen(argv[i]) + 3;
	s = malloc(n);
	if (!s)
		return NULL;
	p = s;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		bool plain = a[0] != '\0';
		const char *c;

		for (c = a; *c && plain; c++)
			plain = isalnum((unsigned char)*c) ||
				strchr("-_./:=,+@%", *c);
		if (i)
			*p++ = ' ';
		if (plain) {
			p = stpcpy(p, a);
			continue;
		}
		*p++ = '\'';
		for (c = a; *c; c++) {
			if (*c == '\'')
				p = stpcpy(p, "'\\''");
			else
				*p++ = *c;
		}
		*p++ = '\'';
	}
	*p = '\0';
	return s;
}
