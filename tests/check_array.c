/*
 * check_array.c: element types, float16, conversions with their loss
 * counts, and projection axis orders.
 */
#include "config.h"
#include "array.h"
#include "testutil.h"

START_TEST(dtype_names)
{
	enum kk_dtype t;
	int i;

	for (i = KK_U8; i <= KK_F64; i++) {
		ck_assert_int_eq(kk_dtype_parse(kk_dtype_name(i), &t), 0);
		ck_assert_int_eq(t, i);
	}
	ck_assert_int_eq(kk_dtype_size(KK_F16), 2);
	ck_assert_int_eq(kk_dtype_size(KK_F64), 8);
	ck_assert_int_eq(kk_dtype_parse("float", &t), KK_EUSAGE);
}
END_TEST

/* Every half is exactly a float, and comes back unchanged. */
START_TEST(f16_round_trip_all)
{
	uint32_t h;

	for (h = 0; h < 65536; h++) {
		float f = kk_f16_to_f32((uint16_t)h);
		uint16_t back = kk_f32_to_f16(f);

		if (isnan(f))
			ck_assert(isnan(kk_f16_to_f32(back)));
		else
			ck_assert_msg(back == h, "half %04x -> %g -> %04x", h,
				      f, back);
	}
}
END_TEST

START_TEST(f16_rounding)
{
	/* 1 + 2^-11 is halfway between 1 and 1 + 2^-10: to even, 1. */
	ck_assert_uint_eq(kk_f32_to_f16(1.0f + 0x1p-11f), 0x3c00);
	/* 1 + 3 * 2^-11 is halfway to 1 + 2^-9: to even, up. */
	ck_assert_uint_eq(kk_f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3c02);
	ck_assert_uint_eq(kk_f32_to_f16(65504.0f), 0x7bff);
	ck_assert_uint_eq(kk_f32_to_f16(65520.0f), 0x7c00); /* rounds to inf */
	ck_assert_uint_eq(kk_f32_to_f16(-2.0f), 0xc000);
	ck_assert_uint_eq(kk_f32_to_f16(0x1p-24f), 0x0001); /* smallest */
	ck_assert_uint_eq(kk_f32_to_f16(0x1p-26f), 0x0000); /* underflow */
	ck_assert_float_eq(kk_f16_to_f32(0x3555), 0.333251953125f);
}
END_TEST

START_TEST(convert_counts_loss)
{
	struct kk_convert_stats st = {0, 0};
	int32_t i32[4] = {1, -7, 16777216, 16777217};
	uint16_t u16[3] = {0, 1, 65535};
	double f64[4] = {0.5, 0.1, 1e300, NAN};
	float out[4];

	kk_convert_to_f32(out, i32, KK_I32, 4, &st);
	ck_assert_float_eq(out[1], -7.0f);
	ck_assert_int_eq(st.inexact, 1);   /* 2^24 + 1 */
	kk_convert_to_f32(out, u16, KK_U16, 3, &st);
	ck_assert_float_eq(out[2], 65535.0f);
	ck_assert_int_eq(st.inexact, 1);
	kk_convert_to_f32(out, f64, KK_F64, 4, &st);
	ck_assert_float_eq(out[0], 0.5f);
	ck_assert_int_eq(st.inexact, 2);   /* 0.1 */
	ck_assert_int_eq(st.nonfinite, 2); /* 1e300 overflows, NaN */
}
END_TEST

START_TEST(convert_to_uint16)
{
	struct kk_output_scale s = {true, -1.0, 3.0};
	float in[6] = {-1.0f, 3.0f, 1.0f, -5.0f, 10.0f, NAN};
	uint16_t out[6];
	int64_t clipped = 0;

	kk_convert_from_f32(out, KK_U16, in, 6, &s, &clipped);
	ck_assert_uint_eq(out[0], 0);
	ck_assert_uint_eq(out[1], 65535);
	ck_assert_uint_eq(out[2], 32768); /* 2/4 * 65535 = 32767.5 -> even */
	ck_assert_uint_eq(out[3], 0);
	ck_assert_uint_eq(out[4], 65535);
	ck_assert_int_eq(clipped, 3);
}
END_TEST

START_TEST(convert_to_float16_overflow)
{
	float in[3] = {1.0f, 1e6f, -1e6f};
	uint16_t out[3];
	int64_t clipped = 0;

	kk_convert_from_f32(out, KK_F16, in, 3, NULL, &clipped);
	ck_assert_uint_eq(out[0], 0x3c00);
	ck_assert_uint_eq(out[1], 0x7c00);
	ck_assert_uint_eq(out[2], 0xfc00);
	ck_assert_int_eq(clipped, 2);
}
END_TEST

START_TEST(axes_orders)
{
	struct kk_error err = {0};
	struct kk_axes a;
	char buf[32];

	ck_assert_int_eq(kk_axes_parse("angle,row,col", &a, &err), 0);
	ck_assert_mem_eq(&a, &kk_axes_default, sizeof(a));
	ck_assert_int_eq(kk_axes_parse("row,angle,col", &a, &err), 0);
	ck_assert_mem_eq(&a, &kk_axes_astra, sizeof(a));
	ck_assert_int_eq(kk_axes_parse("astra", &a, &err), 0);
	ck_assert_mem_eq(&a, &kk_axes_astra, sizeof(a));
	ck_assert_int_eq(kk_axes_parse("col,row,angle", &a, &err), 0);
	kk_axes_format(&a, buf, sizeof(buf));
	ck_assert_str_eq(buf, "col,row,angle");
	ck_assert_int_eq(a.where[KK_ANGLE], 2);
	ck_assert_int_eq(kk_axes_parse("angle,angle,col", &a, &err),
			 KK_EUSAGE);
	ck_assert_int_eq(kk_axes_parse("angle,row", &a, &err), KK_EUSAGE);
	ck_assert_int_eq(kk_axes_parse("angle,row,col,", &a, &err),
			 KK_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "'angle,row,col,'"));
}
END_TEST

START_TEST(count_overflow)
{
	int64_t ok[3] = {4096, 4096, 4096}, big[3] = {1LL << 31, 1LL << 31,
						       1LL << 31};

	ck_assert_int_eq(kk_count(ok, 3), 4096LL * 4096 * 4096);
	ck_assert_int_eq(kk_count(big, 3), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("array");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, dtype_names);
	tcase_add_test(tc, f16_round_trip_all);
	tcase_add_test(tc, f16_rounding);
	tcase_add_test(tc, convert_counts_loss);
	tcase_add_test(tc, convert_to_uint16);
	tcase_add_test(tc, convert_to_float16_overflow);
	tcase_add_test(tc, axes_orders);
	tcase_add_test(tc, count_overflow);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
