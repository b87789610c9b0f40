/*
 * kernels.c: kernel sources, their compilation by NVRTC, and the cubin
 * cache on disk (see kernels.h).
 *
 * A cache entry is "KKCUBIN1", the cubin's length (8 bytes, little
 * endian), the SHA-256 of the cubin, and the cubin: a file cut short or
 * changed is detected, ignored with a warning and replaced.  Entries are
 * written to a temporary name and renamed, so readers never see half of
 * one.  An unwritable cache only costs compile time.
 */
#include "config.h"
#include "kernels.h"
#include "sha256.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void kk_kernel_cache_dir(char *buf, size_t n)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (xdg && xdg[0] == '/')
		snprintf(buf, n, "%s/kkit", xdg);
	else if (home && home[0])
		snprintf(buf, n, "%s/.cache/kkit", home);
	else
		buf[0] = '\0';
}

static char *read_text(const char *path, struct kk_error *err)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	long len;

	if (!f) {
		kk_fail_errno(err, KK_EINPUT, errno, "cannot open kernel '%s'",
			      path);
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (text = malloc(len + 1)) &&
	    fread(text, 1, len, f) == (size_t)len) {
		text[len] = '\0';
	} else {
		kk_fail_errno(err, KK_EINPUT, errno, "cannot read kernel "
			      "'%s'", path);
		free(text);
		text = NULL;
	}
	fclose(f);
	return text;
}

/* One file's text, from dir if it has it, else embedded. */
static int text_of(const char *dir, const char *file, char **text,
		   char *origin, size_t origin_len, bool *user,
		   struct kk_error *err)
{
	const struct kk_kernel_source *k;
	char path[4096];

	if (dir && dir[0]) {
		snprintf(path, sizeof(path), "%s/%s", dir, file);
		if (access(path, F_OK) == 0) {
			*text = read_text(path, err);
			snprintf(origin, origin_len, "%s", path);
			*user = true;
			return *text ? 0 : err->code;
		}
	}
	for (k = kk_embedded_kernels; k->name; k++) {
		if (strcmp(k->name, file) == 0) {
			*text = strdup(k->text);
			snprintf(origin, origin_len, "embedded");
			return *text ? 0 : kk_fail(err, KK_ENOMEM,
						   "out of memory");
		}
	}
	return kk_fail(err, KK_ERUNTIME, "no kernel '%s' in this kkit", file);
}

int kk_kernel_text_load(const char *dir, const char *file,
			struct kk_kernel_text *t, struct kk_error *err)
{
	const struct kk_kernel_source *k;
	char origin[4200];
	size_t len;
	int rc;

	memset(t, 0, sizeof(*t));
	t->file = file;
	rc = text_of(dir, file, &t->source, t->origin, sizeof(t->origin),
		     &t->user, err);
	for (k = kk_embedded_kernels; !rc && k->name; k++) {
		len = strlen(k->name);
		if (len < 4 || strcmp(k->name + len - 4, ".cuh"))
			continue;
		if (t->nheaders == KK_MAX_HEADERS)
			break;
		t->hnames[t->nheaders] = k->name;
		rc = text_of(dir, k->name, &t->htexts[t->nheaders], origin,
			     sizeof(origin), &t->user, err);
		if (!rc)
			t->nheaders++;
	}
	if (rc)
		kk_kernel_text_free(t);
	return rc;
}

void kk_kernel_text_free(struct kk_kernel_text *t)
{
	int i;

	free(t->source);
	for (i = 0; i < t->nheaders; i++)
		free(t->htexts[i]);
	memset(t, 0, sizeof(*t));
}

#ifdef HAVE_CUDA_HEADERS

struct kk_module {
	char *key;             /* "file|defines" */
	CUmodule module;
	struct kk_module *next;
};

/* Split "-DA=1 -DB" into NVRTC options after the fixed ones. */
static int make_options(const char *defines, int arch, char *store,
			size_t store_len, const char **opts, int max)
{
	int n = 0;
	char *tok, *save = NULL;

	snprintf(store, store_len, "--gpu-architecture=sm_%d", arch);
	opts[n++] = store;
	opts[n++] = "-default-device";
	opts[n++] = "-lineinfo";
	tok = store + strlen(store) + 1;
	snprintf(tok, store_len - (size_t)(tok - store), "%s",
		 defines ? defines : "");
	for (tok = strtok_r(tok, " ", &save); tok && n < max;
	     tok = strtok_r(NULL, " ", &save))
		opts[n++] = tok;
	return n;
}

int kk_kernel_compile(struct kk_nvrtc *nv, const struct kk_kernel_text *t,
		      const char *defines, int arch, void **cubin,
		      size_t *size, struct kk_error *err)
{
	const char *opts[64];
	char store[2048], *log = NULL;
	nvrtcProgram prog;
	nvrtcResult r;
	size_t log_len = 0;
	int nopts, rc;

	*cubin = NULL;
	nopts = make_options(defines, arch, store, sizeof(store), opts, 64);
	rc = kk_nv_result(nv, nv->nvrtcCreateProgram(&prog, t->source,
						     t->file, t->nheaders,
						     (const char *const *)
						     t->htexts, t->hnames),
			  "nvrtcCreateProgram", err);
	if (rc)
		return rc;
	r = nv->nvrtcCompileProgram(prog, nopts, opts);
	if (r != NVRTC_SUCCESS) {
		nv->nvrtcGetProgramLogSize(prog, &log_len);
		log = malloc(log_len + 1);
		if (log && nv->nvrtcGetProgramLog(prog, log) == NVRTC_SUCCESS)
			log[log_len] = '\0';
		else if (log)
			log[0] = '\0';
		rc = kk_fail(err, t->user ? KK_EINPUT : KK_ERUNTIME,
			     "cannot compile kernel '%s' (%s) for sm_%d with "
			     "'%s': %s; NVRTC says:\n%s", t->file, t->origin,
			     arch, defines ? defines : "",
			     nv->nvrtcGetErrorString(r), log ? log : "");
		free(log);
		nv->nvrtcDestroyProgram(&prog);
		return rc;
	}
	rc = kk_nv_result(nv, nv->nvrtcGetCUBINSize(prog, size),
			  "nvrtcGetCUBINSize", err);
	if (!rc) {
		*cubin = malloc(*size);
		if (!*cubin)
			rc = kk_fail(err, KK_ENOMEM, "out of memory");
	}
	if (!rc)
		rc = kk_nv_result(nv, nv->nvrtcGetCUBIN(prog, *cubin),
				  "nvrtcGetCUBIN", err);
	if (rc) {
		free(*cubin);
		*cubin = NULL;
	}
	nv->nvrtcDestroyProgram(&prog);
	return rc;
}

int kk_kernels_init(struct kk_gpu *g, const struct kk_kernel_opts *o,
		    struct kk_error *err)
{
	struct kk_kernel_opts *k = calloc(1, sizeof(*k));
	struct stat st;

	if (!k)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	if (o)
		*k = *o;
	if (!k->dir)
		k->dir = getenv("KKIT_KERNEL_DIR");
	if (k->dir && !k->dir[0])
		k->dir = NULL;
	if (k->dir && (stat(k->dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
		kk_fail(err, KK_EUSAGE, "kernel directory '%s' is not a "
			"directory", k->dir);
		free(k);
		return KK_EUSAGE;
	}
	if (!k->cache_dir[0] && !k->no_cache)
		kk_kernel_cache_dir(k->cache_dir, sizeof(k->cache_dir));
	g->kopts = k;
	return 0;
}

void kk_kernels_release(struct kk_gpu *g)
{
	struct kk_module *m = g->modules, *next;

	for (; m; m = next) {
		next = m->next;
		g->cu.cuModuleUnload(m->module);
		free(m->key);
		free(m);
	}
	g->modules = NULL;
	free(g->kopts);
	g->kopts = NULL;
}

static void cache_path(const struct kk_gpu *g,
		       const struct kk_kernel_text *t, const char *defines,
		       int arch, char *path, size_t n)
{
	struct kk_sha256 s;
	unsigned char d[32];
	char hex[65], v[64];
	int i;

	kk_sha256_init(&s);
	kk_sha256_update(&s, "kkit-cubin-v1", 14);
	kk_sha256_update(&s, t->file, strlen(t->file) + 1);
	kk_sha256_update(&s, t->source, strlen(t->source) + 1);
	for (i = 0; i < t->nheaders; i++) {
		kk_sha256_update(&s, t->hnames[i], strlen(t->hnames[i]) + 1);
		kk_sha256_update(&s, t->htexts[i], strlen(t->htexts[i]) + 1);
	}
	kk_sha256_update(&s, defines, strlen(defines) + 1);
	snprintf(v, sizeof(v), "nvrtc %d.%d sm_%d", g->nv.major,
		 g->nv.minor, arch);
	kk_sha256_update(&s, v, strlen(v) + 1);
	kk_sha256_final(&s, d);
	kk_sha256_hex(d, hex);
	snprintf(path, n, "%s/%s.cubin", g->kopts->cache_dir, hex);
}

/* A verified cubin from the cache, or NULL (missing, or bad: warned). */
static void *cache_read(const char *path, size_t *size)
{
	unsigned char head[48], d[32];
	struct kk_sha256 s;
	FILE *f = fopen(path, "rb");
	uint64_t len = 0;
	void *cubin = NULL;
	int i;

	if (!f)
		return NULL;
	if (fread(head, 1, sizeof(head), f) == sizeof(head) &&
	    !memcmp(head, "KKCUBIN1", 8)) {
		for (i = 0; i < 8; i++)
			len |= (uint64_t)head[8 + i] << (8 * i);
		if (len > 0 && len < (1u << 30) && (cubin = malloc(len)) &&
		    fread(cubin, 1, len, f) == len && fgetc(f) == EOF) {
			kk_sha256_init(&s);
			kk_sha256_update(&s, cubin, len);
			kk_sha256_final(&s, d);
			if (!memcmp(d, head + 16, 32)) {
				fclose(f);
				*size = len;
				return cubin;
			}
		}
	}
	fclose(f);
	free(cubin);
	kk_msg_warn("ignoring the damaged cached kernel '%s'", path);
	return NULL;
}

static int mkdirs(const char *dir)
{
	char p[1024];
	size_t i;

	snprintf(p, sizeof(p), "%s", dir);
	for (i = 1; p[i]; i++) {
		if (p[i] == '/') {
			p[i] = '\0';
			if (mkdir(p, 0755) != 0 && errno != EEXIST)
				return -1;
			p[i] = '/';
		}
	}
	return mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static void cache_write(struct kk_gpu *g, const char *path,
			const void *cubin, size_t size)
{
	static int warned;
	unsigned char head[48];
	struct kk_sha256 s;
	char tmp[1100];
	FILE *f = NULL;
	int i, ok;

	memcpy(head, "KKCUBIN1", 8);
	for (i = 0; i < 8; i++)
		head[8 + i] = (unsigned char)((uint64_t)size >> (8 * i));
	kk_sha256_init(&s);
	kk_sha256_update(&s, cubin, size);
	kk_sha256_final(&s, head + 16);
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	ok = mkdirs(g->kopts->cache_dir) == 0 && (f = fopen(tmp, "wb")) &&
	     fwrite(head, 1, sizeof(head), f) == sizeof(head) &&
	     fwrite(cubin, 1, size, f) == size;
	if (f && fclose(f) != 0)
		ok = 0;
	if (ok && rename(tmp, path) == 0)
		return;
	unlink(tmp);
	if (!warned++)
		kk_msg_warn("cannot write the kernel cache '%s' (%s): kernels "
			    "are compiled on every run", g->kopts->cache_dir,
			    strerror(errno));
}

static int load_module(struct kk_gpu *g, const char *file,
		       const char *defines, CUmodule *module,
		       struct kk_error *err)
{
	int arch = g->cc_major * 10 + g->cc_minor, rc;
	struct kk_kernel_text t;
	char path[1200] = "";
	void *cubin = NULL;
	size_t size = 0;
	double t0 = kk_now();

	rc = kk_kernel_text_load(g->kopts->dir, file, &t, err);
	if (rc)
		return rc;
	if (!g->kopts->no_cache && g->kopts->cache_dir[0]) {
		cache_path(g, &t, defines, arch, path, sizeof(path));
		cubin = cache_read(path, &size);
	}
	if (cubin && g->cu.cuModuleLoadData(module, cubin) == CUDA_SUCCESS) {
		kk_msg_verbose("kernel %s [%s] from the cache", file, defines);
		goto out;
	}
	if (cubin)
		kk_msg_warn("ignoring the cached kernel '%s', which this "
			    "driver does not load", path);
	free(cubin);
	rc = kk_kernel_compile(&g->nv, &t, defines, arch, &cubin, &size,
			       err);
	if (!rc)
		rc = KK_CU(g, err, cuModuleLoadData, module, cubin);
	if (!rc) {
		kk_msg_verbose("kernel %s [%s] from %s compiled for sm_%d in "
			       "%.2f s", file, defines, t.origin, arch,
			       kk_now() - t0);
		if (path[0])
			cache_write(g, path, cubin, size);
	}
out:
	free(cubin);
	kk_kernel_text_free(&t);
	return rc;
}

int kk_kernel_get(struct kk_gpu *g, const char *file, const char *defines,
		  const char *entry, CUfunction *fn, CUmodule *module,
		  struct kk_error *err)
{
	struct kk_module *m;
	size_t len = strlen(file) + strlen(defines) + 2;
	char *key = malloc(len);
	int rc;

	if (!key)
		return kk_fail(err, KK_ENOMEM, "out of memory");
	snprintf(key, len, "%s|%s", file, defines);
	for (m = g->modules; m; m = m->next)
		if (!strcmp(m->key, key))
			break;
	if (!m) {
		m = calloc(1, sizeof(*m));
		if (!m) {
			free(key);
			return kk_fail(err, KK_ENOMEM, "out of memory");
		}
		rc = load_module(g, file, defines, &m->module, err);
		if (rc) {
			free(m);
			free(key);
			return rc;
		}
		m->key = key;
		key = NULL;
		m->next = g->modules;
		g->modules = m;
	}
	free(key);
	*module = m->module;
	return KK_CU(g, err, cuModuleGetFunction, fn, m->module, entry);
}

#endif
