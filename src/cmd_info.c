/*
 * cmd_info.c: kkit info, what this kkit was built with and what it can
 * run on, as text or as JSON for scripts.
 */
#include "config.h"
#include "cmd.h"
#include "parallel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
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
	"usage: kkit info [--json]\n"
	"\n"
	"Show the kkit version, how it was built, the libraries it uses and\n"
	"the devices it can compute on.\n"
	"\n"
	"      --json   one JSON object instead of text\n"
	"  -h, --help   show this help\n";

struct facts {
	char hdf5[32];
	char tiff[64];
	char cpu[128];
	int threads;
	const char *cuda;
};

static void gather(struct facts *f)
{
	unsigned maj, min, rel;
	const char *t = TIFFGetVersion(), *p;
	char line[256];
	FILE *cpuinfo;

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
#else
	f->cuda = NULL;
#endif
}

static void print_text(const struct facts *f)
{
	printf("kkit %s\n\n", PACKAGE_VERSION);
	printf("build\n");
	printf("  configure    %s\n", KK_BUILD_CONFIG[0] ? KK_BUILD_CONFIG
						       : "(no options)");
	printf("  compiler     %s\n", COMPILER);
	if (f->cuda)
		printf("  CUDA         headers from %s (CUDA_VERSION %d); "
		       "GPU backend not in this version\n", f->cuda,
		       CUDA_VERSION_AT_BUILD);
	else
		printf("  CUDA         none: a CPU-only build\n");
	printf("\nlibraries\n");
	printf("  HDF5         %s\n", f->hdf5);
	printf("  libtiff      %s\n", f->tiff);
	printf("  cJSON        %s\n", cJSON_Version());
	printf("\ndevices\n");
	printf("  cpu          %s, %d threads\n", f->cpu, f->threads);
	printf("  gpu          none: this version computes on the CPU\n");
}

static int print_json(const struct facts *f)
{
	cJSON *root = cJSON_CreateObject(), *o, *devs, *d;
	char *text;

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
	cJSON_AddBoolToObject(o, "gpu_backend", 0);
	o = cJSON_AddObjectToObject(root, "libraries");
	cJSON_AddStringToObject(o, "hdf5", f->hdf5);
	cJSON_AddStringToObject(o, "libtiff", f->tiff);
	cJSON_AddStringToObject(o, "cjson", cJSON_Version());
	devs = cJSON_AddArrayToObject(root, "devices");
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "kind", "cpu");
	cJSON_AddStringToObject(d, "name", f->cpu);
	cJSON_AddNumberToObject(d, "threads", f->threads);
	cJSON_AddItemToArray(devs, d);
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
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct kk_error err = {0};
	struct facts f;
	int opt, json = 0;

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
		kk_option_error(opt, argv, &err);
		return kk_usage_error(argv[0], &err);
	}
	if (optind < argc) {
		kk_fail(&err, KK_EUSAGE, "unexpected argument '%s'",
			argv[optind]);
		return kk_usage_error(argv[0], &err);
	}
	gather(&f);
	if (json)
		return print_json(&f);
	print_text(&f);
	return 0;
}
