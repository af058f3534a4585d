/* Recorded hosts for unit tests: tests/unit/data/hosts/NAME loaded as host
 * facts, and substring checks with readable failures. */
#ifndef NESTVM_TESTS_HOST_FIXTURES_H
#define NESTVM_TESTS_HOST_FIXTURES_H

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "host/host_facts.h"
#include "host/host_facts_file.h"
#include "host/nested_check.h"

/* tests/unit/data/hosts/NAME from the repo root, else next to the binary
 * (build/tests/unit/). */
static inline void load_host(const char *name, struct host_facts *f)
{
	char path[PATH_MAX];
	struct nv_err err = { 0 };
	snprintf(path, sizeof(path), "tests/unit/data/hosts/%s", name);
	if (access(path, R_OK) != 0) {
		char exe[PATH_MAX];
		ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		assert_true(len > 0);
		exe[len] = '\0';
		snprintf(path, sizeof(path), "%s/../../../tests/unit/data/hosts/%s", dirname(exe), name);
	}
	if (host_facts_file_load(path, f, &err) < 0)
		fail_msg("%s", err.msg);
}

static inline void must_have(const char *s, const char *sub)
{
	if (!strstr(s, sub))
		fail_msg("'%s' lacks '%s'", s, sub);
}

static inline void must_lack(const char *s, const char *sub)
{
	if (strstr(s, sub))
		fail_msg("'%s' has '%s'", s, sub);
}

static inline unsigned count(const struct nested_verdict *v, bool warnings)
{
	unsigned n = 0;
	for (unsigned i = 0; i < v->nproblems; i++)
		n += v->problems[i].warning == warnings;
	return n;
}

/* Loads HOST and evaluates it into V. */
static inline void check(const char *host, struct host_facts *f, struct nested_verdict *v)
{
	load_host(host, f);
	nested_check_evaluate(f, v);
	/* The invariant the report relies on: YES exactly when no error. */
	assert_int_equal(v->supported, count(v, false) == 0);
}

#endif
