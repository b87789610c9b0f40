/*
 * cmd_info.c: kkit info, what this kkit was built with and what it can
 * run on (CPU, GPUs, the CUDA driver and NVRTC, where its kernels come
 * from and are cached), as text or as JSON for scripts.
 */
#include "config.h"
#include "cmd.h"
#include "gpu.h"
#include "kernels.h"
#include "parallel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <fftw3.h>
#include <hdf5.h>
#include <tiffio.h>

#if defined(__clang__)
#define COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define COMPILER "gcc " __VERSION__
#else
#define COMPILER "unknown"
#endif

static const char usage[] =
	"usage: kkit info [--json] [--kernel-dir DIR]\n"
	"\n"
	"Show the kkit version, how it was built, the libraries it uses, the\n"
	"devices it can compute on and where its GPU kernels come from.\n"
	"\n"
	"      --json             one JSON object instead of text\n"
	"      --kernel-dir DIR   as fp and bp would be given it\n"
	"  -h, --help             show this help\n";

struct facts {
	char hdf5[32];
	char tiff[64];
	char cpu[128];
	int threads;
	const char *cuda;
	struct kk_gpu_info *gpus;
	int ngpus, driver;
	char nvrtc[320];
	char cufft[1100];
	char no_gpu[512];         /* why there is none */
	const char *kernel_dir;
	char cache_dir[1024];
};

static void gather(struct facts *f, const char *kernel_dir)
{
	unsigned maj, min, rel;
	const char *t = TIFFGetVersion(), *p;
	struct kk_error err = {0};
	char line[256];
	FILE *cpuinfo;

	memset(f, 0, sizeof(*f));
	H5get_libversion(&maj, &min, &rel);
	snprintf(f->hdf5, sizeof(f->hdf5), "%u.%u.%u", maj, min, rel);
	/* "LIBTIFF, Version 4.5.0\nCopyright ..." */
	p = strstr(t, "Version ");
	snprintf(f->tiff, sizeof(f->tiff), "%.*s",
		 p ? (int)strcspn(p + 8, "\n") : 0, p ? p + 8 : "");
	snprintf(f->cpu, sizeof(f->cpu), "unknown CPU");
	cpuinfo = fopen("/proc/cpuinfo", "r");
	while (cpuinfo && fgets(line, sizeof(line), cpuinfo)) {
		if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
			p = strchr(line, ':') + 1;
			p += strspn(p, " \t");
			snprintf(f->cpu, sizeof(f->cpu), "%.*s",
				 (int)strcspn(p, "\n"), p);
			break;
		}
	}
	if (cpuinfo)
		fclose(cpuinfo);
	f->threads = kk_cpu_count();
#ifdef HAVE_CUDA_HEADERS
	f->cuda = KK_CUDA_ROOT;
#endif
	if (kk_gpu_list(&f->gpus, &f->ngpus, &f->driver, f->nvrtc,
			sizeof(f->nvrtc), &err))
		snprintf(f->no_gpu, sizeof(f->no_gpu), "%s", err.msg);
	if (f->driver)
		kk_cufft_describe(f->cufft, sizeof(f->cufft));
	f->kernel_dir = kernel_dir ? kernel_dir : getenv("KKIT_KERNEL_DIR");
	kk_kernel_cache_dir(f->cache_dir, sizeof(f->cache_dir));
}

static void print_text(const struct facts *f)
{
	int i;

	printf("kkit %s\n\n", PACKAGE_VERSION);
	printf("build\n");
	printf("  configure    %s\n", KK_BUILD_CONFIG[0] ? KK_BUILD_CONFIG
						       : "(no options)");
	printf("  compiler     %s\n", COMPILER);
	if (f->cuda)
		printf("  CUDA         headers from %s (CUDA_VERSION %d)\n",
		       f->cuda, CUDA_VERSION_AT_BUILD);
	else
		printf("  CUDA         none: a CPU-only build\n");
	printf("\nlibraries\n");
	printf("  HDF5         %s\n", f->hdf5);
	printf("  libtiff      %s\n", f->tiff);
	printf("  cJSON        %s\n", cJSON_Version());
	printf("  FFTW         %s\n", fftwf_version);
	if (f->driver)
		printf("  CUDA driver  %d.%d\n", f->driver / 1000,
		       f->driver % 1000 / 10);
	printf("  NVRTC        %s\n", f->nvrtc[0] ? f->nvrtc : "not found");
	if (f->driver)
		printf("  cuFFT        %s\n", f->cufft[0] ? f->cufft
							   : "not found");
	printf("\ndevices\n");
	printf("  cpu          %s, %d threads\n", f->cpu, f->threads);
	for (i = 0; i < f->ngpus; i++) {
		const struct kk_gpu_info *g = &f->gpus[i];

		printf("  gpu %-8d %s, compute capability %d.%d, %d SMs, "
		       "%.1f of %.1f GiB free\n", g->ordinal, g->name,
		       g->cc_major, g->cc_minor, g->sm_count,
		       g->mem_free / 1073741824.0,
		       g->mem_total / 1073741824.0);
	}
	if (!f->ngpus)
		printf("  gpu          none: %s\n", f->no_gpu);
	printf("\nkernels\n");
	printf("  source       %s\n", f->kernel_dir ? f->kernel_dir
				 : "embedded in kkit");
	printf("  cache        %s\n", f->cache_dir[0] ? f->cache_dir
						      : "none (no HOME)");
}

static int print_json(const struct facts *f)
{
	cJSON *root = cJSON_CreateObject(), *o, *devs, *d;
	char *text;
	int i;

	cJSON_AddStringToObject(root, "version", PACKAGE_VERSION);
	o = cJSON_AddObjectToObject(root, "build");
	cJSON_AddStringToObject(o, "configure", KK_BUILD_CONFIG);
	cJSON_AddStringToObject(o, "compiler", COMPILER);
	if (f->cuda) {
		cJSON_AddStringToObject(o, "cuda_root", f->cuda);
		cJSON_AddNumberToObject(o, "cuda_version",
					CUDA_VERSION_AT_BUILD);
	} else {
		cJSON_AddNullToObject(o, "cuda_root");
	}
	o = cJSON_AddObjectToObject(root, "libraries");
	cJSON_AddStringToObject(o, "hdf5", f->hdf5);
	cJSON_AddStringToObject(o, "libtiff", f->tiff);
	cJSON_AddStringToObject(o, "cjson", cJSON_Version());
	cJSON_AddStringToObject(o, "fftw", fftwf_version);
	if (f->driver)
		cJSON_AddNumberToObject(o, "cuda_driver", f->driver);
	else
		cJSON_AddNullToObject(o, "cuda_driver");
	if (f->nvrtc[0])
		cJSON_AddStringToObject(o, "nvrtc", f->nvrtc);
	else
		cJSON_AddNullToObject(o, "nvrtc");
	if (f->cufft[0])
		cJSON_AddStringToObject(o, "cufft", f->cufft);
	else
		cJSON_AddNullToObject(o, "cufft");
	devs = cJSON_AddArrayToObject(root, "devices");
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "kind", "cpu");
	cJSON_AddStringToObject(d, "name", f->cpu);
	cJSON_AddNumberToObject(d, "threads", f->threads);
	cJSON_AddItemToArray(devs, d);
	for (i = 0; i < f->ngpus; i++) {
		const struct kk_gpu_info *g = &f->gpus[i];

		d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "kind", "gpu");
		cJSON_AddNumberToObject(d, "index", g->ordinal);
		cJSON_AddStringToObject(d, "name", g->name);
		cJSON_AddNumberToObject(d, "compute_capability",
					g->cc_major + g->cc_minor / 10.0);
		cJSON_AddNumberToObject(d, "multiprocessors", g->sm_count);
		cJSON_AddNumberToObject(d, "memory_free", (double)g->mem_free);
		cJSON_AddNumberToObject(d, "memory_total",
					(double)g->mem_total);
		cJSON_AddItemToArray(devs, d);
	}
	if (!f->ngpus)
		cJSON_AddStringToObject(root, "no_gpu", f->no_gpu);
	o = cJSON_AddObjectToObject(root, "kernels");
	if (f->kernel_dir)
		cJSON_AddStringToObject(o, "directory", f->kernel_dir);
	else
		cJSON_AddNullToObject(o, "directory");
	cJSON_AddStringToObject(o, "cache", f->cache_dir);
	text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text)
		return 1;
	puts(text);
	free(text);
	return 0;
}

int cmd_info(int argc, char **argv)
{
	static const struct option options[] = {
		{"json", no_argument, NULL, 'J'},
		{"kernel-dir", required_argument, NULL, 'K'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct kk_error err = {0};
	const char *kernel_dir = NULL;
	struct facts f;
	int opt, json = 0, rc;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			return 0;
		}
		if (opt == 'J') {
			json = 1;
			continue;
		}
		if (opt == 'K') {
			kernel_dir = optarg;
			continue;
		}
		kk_option_error(opt, argv, &err);
		return kk_usage_error(argv[0], &err);
	}
	if (optind < argc) {
		kk_fail(&err, KK_EUSAGE, "unexpected argument '%s'",
			argv[optind]);
		return kk_usage_error(argv[0], &err);
	}
	gather(&f, kernel_dir);
	if (json) {
		rc = print_json(&f);
	} else {
		print_text(&f);
		rc = 0;
	}
	free(f.gpus);
	return rc;
}
