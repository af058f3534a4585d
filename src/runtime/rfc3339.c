#include "runtime/rfc3339.h"

#include <stdio.h>
#include <time.h>

void rfc3339_now(char *buf, size_t size, bool nanoseconds)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	if (nanoseconds)
		snprintf(buf, size, "%s.%09ldZ", base, (long)ts.tv_nsec);
	else
		snprintf(buf, size, "%sZ", base);
}
