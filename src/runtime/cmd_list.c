/* `list [--format text|json] [--quiet]`: the containers under the root,
 * as runc lists them: ID PID STATUS BUNDLE CREATED OWNER, or their
 * states as a JSON array, or (-q) their IDs only. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/args.h"
#include "runtime/commands.h"
#include "runtime/container.h"
#include "runtime/log.h"
#include "runtime/state_json.h"

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *owner_of(const char *dir, char *buf, size_t size)
{
	struct stat st;
	if (stat(dir, &st) < 0)
		return "";
	struct passwd *pw = getpwuid(st.st_uid);
	if (pw)
		snprintf(buf, size, "%s", pw->pw_name);
	else
		snprintf(buf, size, "#%lu", (unsigned long)st.st_uid);
	return buf;
}

int rt_cmd_list(const struct rt_globals *g, int argc, char **argv)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
					      { "quiet", no_argument, NULL, 'q' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	bool quiet = false, json = false;
	int o;
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":f:qh", opts, NULL)) != -1) {
		switch (o) {
		case 'q': quiet = true; break;
		case 'f':
			if (strcmp(optarg, "json") && strcmp(optarg, "table") && strcmp(optarg, "text"))
				return rt_fail("list: --format '%s': give table or json", optarg);
			json = !strcmp(optarg, "json");
			break;
		case 'h':
			printf("usage: nestvm-runtime list [--format table|json] [--quiet]\n\n"
			       "The containers under the root.\n");
			return 0;
		default: return rt_option_error("list", o, argv);
		}
	}
	if (optind < argc)
		return rt_fail("list: no operands ('%s')", argv[optind]);
	struct dirent **names = NULL;
	int n = scandir(g->root, &names, NULL, NULL);
	if (n < 0 && errno != ENOENT)
		return rt_fail("list: %s: %s", g->root, strerror(errno));
	char **ids = calloc(n > 0 ? (size_t)n : 1, sizeof(*ids));
	size_t nids = 0;
	for (int i = 0; i < n; i++) {
		if (ids && container_id_valid(names[i]->d_name))
			ids[nids++] = names[i]->d_name;
	}
	if (!ids)
		return rt_fail("out of memory");
	qsort(ids, nids, sizeof(*ids), by_name);
	struct json_object *all = json ? json_object_new_array() : NULL;
	if (!quiet && !json)
		printf("%-12s %-10s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
	for (size_t i = 0; i < nids; i++) {
		struct container c;
		struct nv_err err = { 0 };
		if (container_load(g->root, ids[i], &c, NULL, &err) < 0)
			continue; /* a folder being made or removed */
		char owner[64];
		if (quiet)
			printf("%s\n", c.rec.id);
		else if (json && all)
			json_object_array_add(all, state_json(&c));
		else
			printf("%-12s %-10ld %-10s %-40s %-30s %s\n", c.rec.id,
			       c.status == CONTAINER_STOPPED ? 0L : (long)c.rec.pid, container_status_name(c.status),
			       c.rec.bundle, c.rec.created, owner_of(c.dir, owner, sizeof(owner)));
	}
	if (all) {
		printf("%s\n", json_object_to_json_string_ext(all, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(all);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(ids);
	return fflush(stdout) == 0 ? 0 : rt_fail("list: stdout: write failed");
}
