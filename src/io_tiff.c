/*
 * io_tiff.c: the TIFF backend's common ground: libtiff's messages, the
 * TIFF signature, and the files of a directory or pattern in the order
 * of the numbers in their names.
 *
 * The backend reads one multi-page file (a page per index of stored
 * axis 0), a directory of single-page files, or the single-page files a
 * glob pattern matches (io_tiff_read.c), and writes the first two
 * (io_tiff_write.c).
 */
#include "config.h"
#include "io_tiff.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pthread.h>
#include <tiffio.h>

/* ---- libtiff's messages ---------------------------------------------- */

/* libtiff reports through one global handler: each thread keeps its
 * own last message (a reader and a writer may run at once). */
static _Thread_local char tiff_error[512];

static void on_tiff_error(const char *module, const char *fmt, va_list ap)
{
	/* module is a function or file name; our message names the file. */
	(void)module;
	vsnprintf(tiff_error, sizeof(tiff_error), fmt, ap);
}

static void on_tiff_warning(const char *module, const char *fmt, va_list ap)
{
	/* Unknown private tags and the like: nothing a user can act on. */
	(void)module;
	(void)fmt;
	(void)ap;
}

static void set_handlers(void)
{
	TIFFSetErrorHandler(on_tiff_error);
	TIFFSetWarningHandler(on_tiff_warning);
}

void kk_tiff_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, set_handlers);
}

/* Before each call whose failure we report, so no stale text is used. */
void kk_tiff_clear(void)
{
	tiff_error[0] = '\0';
}

bool kk_tiff_failed(void)
{
	return tiff_error[0] != '\0';
}

/* libtiff's last error, without the "<file>: " some messages start with:
 * ours name the file already. */
const char *kk_tiff_msg(const char *file)
{
	size_t len = file ? strlen(file) : 0;

	if (!tiff_error[0])
		return "libtiff gave no reason";
	if (len && strncmp(tiff_error, file, len) == 0 &&
	    tiff_error[len] == ':' && tiff_error[len + 1] == ' ')
		return tiff_error + len + 2;
	return tiff_error;
}

int kk_file_is_tiff(const char *path)
{
	static const char magic[4][4] = {
		{'I', 'I', '*', 0}, {'M', 'M', 0, '*'},
		{'I', 'I', '+', 0}, {'M', 'M', 0, '+'},
	};
	unsigned char b[4];
	ssize_t n;
	int fd, i;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	do
		n = read(fd, b, sizeof(b));
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0)
		return -1;
	if (n < (ssize_t)sizeof(b))
		return 0;
	for (i = 0; i < 4; i++)
		if (memcmp(b, magic[i], sizeof(b)) == 0)
			return 1;
	return 0;
}

struct name_list {
	char **v;
	int64_t n, cap;
};

/* Takes s, also on failure. */
static int list_add(struct name_list *l, char *s, struct kk_error *err)
{
	char **v;

	if (!s)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		v = realloc(l->v, (size_t)l->cap * sizeof(*v));
		if (!v) {
			free(s);
			return kk_fail(err, KK_ENOMEM, "out of memory");
		}
		l->v = v;
	}
	l->v[l->n++] = s;
	return 0;
}

static void list_free(struct name_list *l)
{
	int64_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static bool has_tiff_suffix(const char *name)
{
	size_t len = strlen(name);

	return (len > 4 && strcasecmp(name + len - 4, ".tif") == 0) ||
	       (len > 5 && strcasecmp(name + len - 5, ".tiff") == 0);
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Natural order: runs of digits compare by value, everything else by
 * byte.  Of runs equal in value the shorter ("7" before "007") comes
 * first, but only when nothing later in the names decides, so that
 * "a07_2" still sorts before "a7_3".  (strverscmp treats leading zeros
 * as a fraction and mis-orders mixed padding.)
 */
int kk_natural_cmp(const char *a, const char *b)
{
	const char *na, *nb, *ea, *eb;
	size_t la, lb;
	int tie = 0, d;

	while (*a && *b) {
		if (is_digit(*a) && is_digit(*b)) {
			for (na = a; *na == '0'; na++)
				;
			for (ea = na; is_digit(*ea); ea++)
				;
			for (nb = b; *nb == '0'; nb++)
				;
			for (eb = nb; is_digit(*eb); eb++)
				;
			la = (size_t)(ea - na);
			lb = (size_t)(eb - nb);
			if (la != lb)
				return la < lb ? -1 : 1;
			d = memcmp(na, nb, la);
			if (d)
				return d < 0 ? -1 : 1;
			if (!tie && ea - a != eb - b)
				tie = ea - a < eb - b ? -1 : 1;
			a = ea;
			b = eb;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++;
		b++;
	}
	if (*a || *b)
		return *a ? 1 : -1;
	return tie;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static int compare_paths(const void *pa, const void *pb)
{
	const char *a = *(char *const *)pa, *b = *(char *const *)pb;
	int c = kk_natural_cmp(base_name(a), base_name(b));

	return c ? c : strcmp(a, b);
}

/* Is path a regular file?  1, 0, or an error for anything but a name
 * that vanished (a dangling link counts as no file). */
static int is_regular(const char *path, struct kk_error *err)
{
	struct stat st;

	if (stat(path, &st) == 0)
		return S_ISREG(st.st_mode);
	if (errno == ENOENT)
		return 0;
	return kk_fail_errno(err, KK_EINPUT, errno, "cannot open '%s'", path);
}

static int list_dir(const char *dir, struct name_list *l,
		    struct kk_error *err)
{
	size_t len = strlen(dir);
	const char *slash = len && dir[len - 1] == '/' ? "" : "/";
	struct dirent *de;
	char *path;
	DIR *d;
	int rc = 0;

	d = opendir(dir);
	if (!d)
		return kk_fail_errno(err, KK_EINPUT, errno,
				     "cannot open directory '%s'", dir);
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				rc = kk_fail_errno(err, KK_EINPUT, errno,
						   "cannot list '%s'", dir);
			break;
		}
		if (de->d_name[0] == '.' || !has_tiff_suffix(de->d_name))
			continue;
		path = malloc(len + strlen(de->d_name) + 2);
		if (!path) {
			rc = kk_fail(err, KK_ENOMEM, "out of memory");
			break;
		}
		sprintf(path, "%s%s%s", dir, slash, de->d_name);
		rc = is_regular(path, err);
		if (rc <= 0) {
			free(path);
			if (rc < 0)
				break;
			rc = 0;
			continue;
		}
		rc = list_add(l, path, err);
		if (rc)
			break;
	}
	closedir(d);
	if (!rc && l->n == 0)
		rc = kk_fail(err, KK_EINPUT, "'%s' holds no .tif or .tiff "
			     "files", dir);
	return rc;
}

static int list_glob(const char *pattern, struct name_list *l,
		     struct kk_error *err)
{
	glob_t g;
	size_t i;
	int rc;

	/* No GLOB_ERR: like the shell, skip directories we cannot read. */
	rc = glob(pattern, GLOB_NOSORT, NULL, &g);
	if (rc == GLOB_NOSPACE)
		rc = kk_fail(err, KK_ENOMEM, "out of memory");
	else if (rc == GLOB_ABORTED)
		rc = kk_fail(err, KK_EINPUT, "cannot read the directories "
			     "of '%s'", pattern);
	else
		rc = 0;
	for (i = 0; !rc && i < g.gl_pathc; i++) {
		rc = is_regular(g.gl_pathv[i], err);
		if (rc > 0)
			rc = list_add(l, strdup(g.gl_pathv[i]), err);
	}
	globfree(&g);
	if (!rc && l->n == 0)
		rc = kk_fail(err, KK_EINPUT, "no file matches '%s'", pattern);
	return rc;
}

int kk_tiff_list(const char *spec, int kind, char ***files, int64_t *n,
		 struct kk_error *err)
{
	struct name_list l = {NULL, 0, 0};
	int rc;

	rc = kind == 'd' ? list_dir(spec, &l, err) : list_glob(spec, &l, err);
	if (rc) {
		list_free(&l);
		return rc;
	}
	qsort(l.v, (size_t)l.n, sizeof(*l.v), compare_paths);
	*files = l.v;
	*n = l.n;
	return 0;
}
