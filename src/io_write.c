/*
 * io_write.c: outputs (see io.h).  An output is written to a hidden
 * temporary beside its target and renamed into place only when every
 * value is in it; an existing output is replaced only with --force, and
 * a failed or interrupted run removes its temporary.
 */
#include "config.h"
#include "io_impl.h"
#include "signals.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/* Is name one of a TIFF directory's pages (.tif or .tiff, not hidden)? */
static bool is_page_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' &&
	       ((n > 4 && !strcasecmp(name + n - 4, ".tif")) ||
		(n > 5 && !strcasecmp(name + n - 5, ".tiff")));
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The TIFF pages directly in dir: how many (keep == NULL), or delete
 * those whose names are not in keep (sorted, nkeep of them).
 */
static int64_t pages_in(const char *dir, char **keep, size_t nkeep,
			bool remove, struct kk_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int64_t n = 0;
	char *p;

	if (!d)
		return kk_fail_errno(err, KK_EINPUT, errno, "cannot read "
				     "directory '%s'", dir);
	while ((e = readdir(d))) {
		const char *name = e->d_name;

		if (!is_page_name(name))
			continue;
		n++;
		if (!remove || (keep && bsearch(&name, keep, nkeep,
						sizeof(*keep), by_name)))
			continue;
		p = malloc(strlen(dir) + strlen(name) + 2);
		if (p) {
			sprintf(p, "%s/%s", dir, name);
			if (unlink(p) != 0)
				kk_msg_warn("could not remove the old page "
					    "'%s': %s", p, strerror(errno));
			free(p);
		}
	}
	closedir(d);
	return n;
}

static int check_target(struct kk_writer *w, struct kk_error *err)
{
	struct stat st;
	int64_t n;

	if (!w->tmp_is_dir) {
		if (lstat(w->target, &st) != 0) {
			if (errno == ENOENT)
				return 0;
			return kk_fail_errno(err, KK_EINPUT, errno, "cannot "
					     "write '%s'", w->name);
		}
		if (S_ISDIR(st.st_mode))
			return kk_fail(err, KK_EINPUT, "cannot write '%s': "
				       "it is a directory", w->name);
		if (!w->opts.force)
			return kk_fail(err, KK_EINPUT, "'%s' exists: use "
				       "--force to replace it", w->target);
		if (w->dataset_named)
			return kk_hdf5_check_replace(w->target, w->dataset,
						     err);
		return 0;
	}
	/* A directory (or a link to one) that exists is filled in place. */
	if (stat(w->target, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		return kk_fail_errno(err, KK_EINPUT, errno, "cannot write "
				     "'%s'", w->name);
	}
	if (!S_ISDIR(st.st_mode))
		return kk_fail(err, KK_EINPUT, "'%s' exists and is not a "
			       "directory", w->target);
	w->into_existing = true;
	n = pages_in(w->target, NULL, 0, false, err);
	if (n < 0)
		return (int)n;
	if (n > 0 && !w->opts.force)
		return kk_fail(err, KK_EINPUT, "directory '%s' holds TIFF "
			       "files: use --force to replace them",
			       w->target);
	return 0;
}

static int make_temp(struct kk_writer *w, struct kk_error *err)
{
	mode_t mask = umask(0);
	int fd;

	umask(mask);
	if (w->into_existing) {
		w->tmp = malloc(strlen(w->target) + 16);
		if (w->tmp)
			sprintf(w->tmp, "%s/.kkit-XXXXXX", w->target);
	} else {
		w->tmp = temp_template(w->target, "kkit");
	}
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
	w->dataset_named = w->dataset != NULL;
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

enum kk_dtype kk_writer_dtype(const struct kk_writer *w)
{
	return w->info.dtype;
}

/* Number of elements in a slab of the stored array. */
static int64_t slab_count(const struct kk_stack_info *info, int axis,
			  int64_t count)
{
	int64_t n = count;
	int i;

	for (i = 0; i < info->rank; i++)
		if (i != axis)
			n *= info->dims[i];
	return n;
}

/* Map a slab of the 3-D view onto the stored array; checks the range. */
static int map_slab(const struct kk_stack_info *info, int squeeze,
		    const char *name, int axis, int64_t *start,
		    int64_t *count, int *saxis, struct kk_error *err)
{
	int64_t len;

	if (axis < 0 || axis > 2)
		return kk_fail(err, KK_ERUNTIME, "'%s': no axis %d", name,
			       axis);
	*saxis = kk_io_stored_axis(squeeze, axis);
	if (*saxis < 0) {
		/* The left-out axis has length 1: the whole array. */
		if (*start != 0 || *count != 1)
			return kk_fail(err, KK_ERUNTIME, "'%s': index %lld of "
				       "an axis of length 1", name,
				       (long long)*start);
		*saxis = 0;
		*start = 0;
		*count = info->dims[0];
		return 0;
	}
	len = info->dims[*saxis];
	if (*start < 0 || *count < 0 || *start + *count > len)
		return kk_fail(err, KK_ERUNTIME, "'%s': indices %lld to %lld "
			       "are outside axis %d of length %lld", name,
			       (long long)*start,
			       (long long)(*start + *count - 1), axis,
			       (long long)len);
	return 0;
}

int kk_writer_write(struct kk_writer *w, int axis, int64_t start,
		    int64_t count, const float *src, struct kk_error *err)
{
	const void *buf = src;
	int64_t n;
	int saxis = 0, rc;

	/* A signal stops the writing too, not only the computing. */
	if (kk_interrupted())
		return kk_fail_interrupted(err);
	rc = map_slab(&w->info, w->squeeze, w->name, axis, &start, &count,
		      &saxis, err);
	if (rc || count == 0)
		return rc;
	n = slab_count(&w->info, saxis, count);
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

/* The names of the files in dir, sorted; *n of them. */
static char **names_in(const char *dir, size_t *n, struct kk_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL, **t;
	size_t cap = 0;

	*n = 0;
	if (!d) {
		kk_fail_errno(err, KK_EIO, errno, "cannot read '%s'", dir);
		return NULL;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			t = realloc(v, cap * sizeof(*v));
			if (!t)
				goto nomem;
			v = t;
		}
		v[*n] = strdup(e->d_name);
		if (!v[*n])
			goto nomem;
		(*n)++;
	}
	closedir(d);
	qsort(v, *n, sizeof(*v), by_name);
	return v ? v : calloc(1, sizeof(*v));
nomem:
	closedir(d);
	while (*n)
		free(v[--*n]);
	free(v);
	kk_fail(err, KK_ENOMEM, "out of memory");
	return NULL;
}

/*
 * Into a directory that exists: move the new pages in (replacing any of
 * the same name at once), then remove the old pages the new set lacks.
 * The directory itself, a mount point or a link to one, stays.
 */
static int fill_dir(struct kk_writer *w, struct kk_error *err)
{
	size_t n, i;
	char **names, *from = NULL, *to = NULL;
	int rc = 0;

	if (!w->opts.force && pages_in(w->target, NULL, 0, false, err) != 0)
		return err->code ? err->code
				 : kk_fail(err, KK_EINPUT, "directory '%s' was "
					   "given TIFF files while kkit was "
					   "writing: use --force to replace "
					   "them", w->target);
	names = names_in(w->tmp, &n, err);
	if (!names)
		return err->code;
	for (i = 0; i < n && !rc; i++) {
		from = malloc(strlen(w->tmp) + strlen(names[i]) + 2);
		to = malloc(strlen(w->target) + strlen(names[i]) + 2);
		if (!from || !to) {
			rc = kk_fail(err, KK_ENOMEM, "out of memory");
		} else {
			sprintf(from, "%s/%s", w->tmp, names[i]);
			sprintf(to, "%s/%s", w->target, names[i]);
			if (rename(from, to) != 0)
				rc = kk_fail_errno(err, KK_EIO, errno, "cannot "
						   "move '%s' to '%s'", from,
						   to);
		}
		free(from);
		free(to);
	}
	if (!rc && w->opts.force)
		pages_in(w->target, names, n, true, err);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (!rc && rmdir(w->tmp) != 0)
		rc = kk_fail_errno(err, KK_EIO, errno, "cannot remove '%s'",
				   w->tmp);
	if (!rc) {
		free(w->tmp);
		w->tmp = NULL;
	}
	return rc;
}

static int place_dir(struct kk_writer *w, struct kk_error *err)
{
	if (w->into_existing)
		return fill_dir(w, err);
	if (rename(w->tmp, w->target) == 0)
		return 0;
	if (errno == EEXIST || errno == ENOTEMPTY)
		return kk_fail(err, KK_EINPUT, "'%s' appeared while kkit was "
			       "writing it: run again to write into it",
			       w->target);
	return kk_fail_errno(err, KK_EIO, errno, "cannot rename '%s' to "
			     "'%s'", w->tmp, w->target);
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
	/* The last moment to stop: nothing is in place yet. */
	if (!rc && kk_interrupted())
		rc = kk_fail_interrupted(err);
	if (!rc && w->target)  /* not one in memory (io_memory.c) */
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
