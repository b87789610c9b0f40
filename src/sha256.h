/*
 * sha256.h: SHA-256 (FIPS 180-4), for keys of the kernel cache and the
 * integrity of what is stored in it.
 */
#ifndef KK_SHA256_H
#define KK_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct kk_sha256 {
	uint32_t h[8];
	uint64_t length;        /* bytes so far */
	unsigned char block[64];
	size_t used;
};

void kk_sha256_init(struct kk_sha256 *s);
void kk_sha256_update(struct kk_sha256 *s, const void *data, size_t n);
void kk_sha256_final(struct kk_sha256 *s, unsigned char digest[32]);
/* digest as 64 lowercase hex digits and a NUL */
void kk_sha256_hex(const unsigned char digest[32], char hex[65]);

#endif
