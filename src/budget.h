/*
 * budget.h: memory sizes: parsing what the user asks for ("8G"), what the
 * host has free, and what kkit itself holds (its resident set), so that
 * chunk sizes follow the memory that is there.
 */
#ifndef KK_BUDGET_H
#define KK_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"

#define KK_MIB ((uint64_t)1 << 20)
#define KK_GIB ((uint64_t)1 << 30)

/*
 * "4096", "512K", "1.5G", "8GiB", "2T": a number of bytes with an
 * optional binary suffix (K, M, G, T; "B" and "iB" after it are allowed,
 * any case).  option names the option for the message.
 */
int kk_parse_size(const char *s, const char *option, uint64_t *bytes,
		  struct kk_error *err);
/* "1.50 GiB", "512 MiB", "100 KiB", "12 bytes" */
void kk_format_size(uint64_t bytes, char *buf, size_t n);

/* Memory the host can give without swapping (MemAvailable), or 0. */
uint64_t kk_host_available(void);
/* This process's resident set now, and its peak so far, or 0. */
uint64_t kk_rss_now(void);
uint64_t kk_rss_peak(void);

#endif
