/*
 * budget.c: memory sizes (see budget.h), from the user and from Linux's
 * /proc files.
 */
#include "config.h"
#include "budget.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

int kk_parse_size(const char *s, const char *option, uint64_t *bytes,
		  struct kk_error *err)
{
	static const char units[] = "KMGT";
	const char *u;
	double v, scale = 1;
	char *end;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v < 0 || isspace(*s))
		goto bad;
	if (*end) {
		u = strchr(units, toupper((unsigned char)*end));
		if (!u)
			goto bad;
		scale = ldexp(1, 10 * (int)(u - units + 1));
		end++;
		if (!strcasecmp(end, "iB"))
			end += 2;
		else if (!strcasecmp(end, "B"))
			end++;
		if (*end)
			goto bad;
	} else if (v != floor(v)) {
		goto bad; /* a fraction of a byte */
	}
	v *= scale;
	if (v >= 0x1p63)
		goto bad;
	*bytes = (uint64_t)v;
	return 0;
bad:
	return kk_fail(err, KK_EUSAGE, "invalid %s '%s': expected a size "
		       "such as 512M, 8G or 1.5GiB (K, M, G and T are powers "
		       "of 1024; a plain number is bytes)", option, s);
}

void kk_format_size(uint64_t bytes, char *buf, size_t n)
{
	if (bytes >= KK_GIB)
		snprintf(buf, n, "%.2f GiB", (double)bytes / KK_GIB);
	else if (bytes >= KK_MIB)
		snprintf(buf, n, "%.1f MiB", (double)bytes / KK_MIB);
	else if (bytes >= 1024)
		snprintf(buf, n, "%.1f KiB", bytes / 1024.0);
	else
		snprintf(buf, n, "%llu bytes", (unsigned long long)bytes);
}

/* The value in kB of "key:" in a /proc file, in bytes; 0 if absent. */
static uint64_t proc_kb(const char *file, const char *key)
{
	FILE *f = fopen(file, "r");
	char line[256];
	size_t len = strlen(key);
	unsigned long long kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ':') {
			if (sscanf(line + len + 1, "%llu", &kb) != 1)
				kb = 0;
			break;
		}
	fclose(f);
	return (uint64_t)kb * 1024;
}

uint64_t kk_host_available(void)
{
	return proc_kb("/proc/meminfo", "MemAvailable");
}

uint64_t kk_rss_now(void)
{
	return proc_kb("/proc/self/status", "VmRSS");
}

uint64_t kk_rss_peak(void)
{
	struct rusage ru;
	uint64_t hwm = proc_kb("/proc/self/status", "VmHWM");

	if (hwm)
		return hwm;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		return (uint64_t)ru.ru_maxrss * 1024;
	return 0;
}
