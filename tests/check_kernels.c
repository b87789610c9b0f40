/*
 * check_kernels.c: every kernel variant kkit compiles, compiled by NVRTC
 * for sm_80 and sm_90.  Needs no GPU, only NVRTC; skipped (77) where
 * NVRTC cannot be loaded.  Also: an edited kernel directory is used, and
 * a kernel that does not compile gives NVRTC's log and KK_EINPUT.
 */
#include "config.h"
#include "gpu_proj.h"
#include "kernels.h"
#include "testutil.h"

#ifdef HAVE_CUDA_HEADERS

static struct kk_nvrtc nv;

static void compile(const char *file, const char *defines, int arch)
{
	struct kk_error err = {0};
	struct kk_kernel_text t;
	void *cubin;
	size_t size;

	ck_assert_msg(kk_kernel_text_load(NULL, file, &t, &err) == 0, "%s",
		      err.msg);
	ck_assert_msg(kk_kernel_compile(&nv, &t, defines, arch, &cubin,
					&size, &err) == 0, "%s", err.msg);
	ck_assert_uint_gt(size, 1000);
	/* A cubin is an ELF file. */
	ck_assert_mem_eq(cubin, "\177ELF", 4);
	free(cubin);
	kk_kernel_text_free(&t);
}

static const int archs[] = {80, 90};

/* fp: beam x axis x sampler x storage x accumulation x axis order (the
 * two common ones; the others differ only in the same index
 * arithmetic). */
START_TEST(fp_variants)
{
	const struct kk_axes *orders[2] = {&kk_axes_default, &kk_axes_astra};
	int arch = archs[_i / 96], v = _i % 96;
	struct kk_gpu_proj_opts o;
	char defines[512];

	kk_gpu_proj_opts_default(&o);
	o.fp_texture = v & 1;
	o.vol_half = (v >> 1) & 1;
	kk_fp_defines(defines, sizeof(defines), (v >> 3) & 1, v / 32,
		      (v >> 2) & 1, &o, orders[(v >> 4) & 1]);
	compile("fp.cu", defines, arch);
}
END_TEST

START_TEST(bp_variants)
{
	int arch = archs[_i / 8], v = _i % 8;
	char defines[256];

	kk_bp_defines(defines, sizeof(defines), 1 + (v & 1),
		      (v & 2) ? 4 : 1, (v >> 2) & 1);
	compile("bp.cu", defines, arch);
}
END_TEST

START_TEST(ops)
{
	compile("ops.cu", "", archs[_i]);
}
END_TEST

/* Both fbp variants: plain, and with --raw's flat-field correction. */
START_TEST(fbp)
{
	compile("fbp.cu", _i & 1 ? "-DKK_FLATFIELD" : "", archs[_i / 2]);
}
END_TEST

/* A directory of edited kernels: its files win, the rest are kkit's,
 * and a compile error names the file and gives NVRTC's log. */
START_TEST(kernel_dir)
{
	char *dir = tu_mkdtemp(), *path = tu_path(dir, "ops.cu");
	struct kk_error err = {0};
	struct kk_kernel_text t;
	void *cubin;
	size_t size;
	FILE *f;

	f = fopen(path, "w");
	fputs("#include \"kk_common.cuh\"\n"
	      "extern \"C\" __global__ void kk_fill(float *y)\n"
	      "{ y[0] = undeclared_thing; }\n", f);
	fclose(f);
	ck_assert(kk_kernel_text_load(dir, "ops.cu", &t, &err) == 0);
	ck_assert(t.user);
	ck_assert_str_eq(t.origin, path);
	ck_assert_int_eq(kk_kernel_compile(&nv, &t, "", 90, &cubin, &size,
					   &err), KK_EINPUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "cannot compile kernel "
				     "'ops.cu'"));
	ck_assert_ptr_nonnull(strstr(err.msg, "undeclared_thing"));
	kk_kernel_text_free(&t);
	/* bp.cu is not in the directory: the embedded one is used. */
	ck_assert(kk_kernel_text_load(dir, "bp.cu", &t, &err) == 0);
	ck_assert_str_eq(t.origin, "embedded");
	kk_kernel_text_free(&t);
	free(path);
	tu_rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kernels");
	TCase *tc = tcase_create("nvrtc");
	struct kk_error err = {0};

	if (kk_nvrtc_load(&nv, &err) != 0) {
		printf("SKIP: %s\n", err.msg);
		return 77;
	}
	printf("NVRTC %d.%d from %s\n", nv.major, nv.minor, nv.path);
	tcase_set_timeout(tc, 1200);
	tcase_add_loop_test(tc, fp_variants, 0, 192);
	tcase_add_loop_test(tc, bp_variants, 0, 16);
	tcase_add_loop_test(tc, ops, 0, 2);
	tcase_add_loop_test(tc, fbp, 0, 4);
	tcase_add_test(tc, kernel_dir);
	suite_add_tcase(s, tc);
	/* One process: a child forked after NVRTC started its threads
	 * makes LeakSanitizer's tracer crash (signal 11) at exit. */
	return tu_run_forking(s, false);
}

#else

int main(void)
{
	printf("SKIP: built without the CUDA Toolkit headers\n");
	return 77;
}

#endif
