#include "util/parse.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static int parse_digits(const char **p, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*p = s;
	*out = v;
	return 0;
}

int parse_size(const char *s, unsigned default_shift, uint64_t *out)
{
	uint64_t v;
	if (!s || parse_digits(&s, &v) < 0)
		return -1;
	unsigned shift = default_shift;
	if (*s) {
		switch (toupper((unsigned char)*s)) {
		case 'B': shift = 0; break;
		case 'K': shift = 10; break;
		case 'M': shift = 20; break;
		case 'G': shift = 30; break;
		case 'T': shift = 40; break;
		default: return -1;
		}
		const char *rest = s + 1;
		if (shift != 0 && *rest && strcasecmp(rest, "B") != 0 && strcasecmp(rest, "iB") != 0)
			return -1;
		if (shift == 0 && *rest)
			return -1;
	}
	if (shift >= 64 || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = v << shift;
	return 0;
}

int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	uint64_t v;
	if (!s || parse_digits(&s, &v) < 0 || *s)
		return -1;
	if (v < min || v > max)
		return -1;
	*out = (unsigned long)v;
	return 0;
}
