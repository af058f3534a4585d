/* libFuzzer: what a nestvm cmdlet reads that someone else wrote:
 *   - objects piped in (hv_pipe_read, then hv_pipe_binding for each, and
 *     Format-List / Format-Table printing them), as any program writing
 *     into the pipe may send;
 *   - a pasted PowerShell line (hv_shell_tokenize, hv_shell_plan), then
 *     each planned command through the cmdlet translation, bound to the
 *     first piped object when it has one.
 * src/cli is not in the fuzzers' library: its files are compiled in. Any
 * crash, sanitizer report, leak or hang is a bug, and so is: a binding
 * whose VM name is not a valid name or whose adapter is out of range; a
 * plan whose argv is not NULL-terminated or names a separator; a
 * translation that succeeds without a native command. */
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"

#include "cli/hyperv_alias.c"
#include "cli/hyperv_cmdlets.c"
#include "cli/hyperv_format.c"
#include "cli/hyperv_objects.c"
#include "cli/hyperv_pipe.c"
#include "cli/hyperv_shell.c"

static void check_translate(const struct hv_segment *sg, const struct hyperv_binding *b)
{
	struct hyperv_translation t;
	char err[512];
	int r = b ? hyperv_translate_bound(sg->argc, sg->argv, b, &t, err, sizeof(err))
		  : hyperv_translate(sg->argc, sg->argv, &t, err, sizeof(err));
	CHECK(r == 0 || r == -1 || r == -2);
	if (r < 0) {
		CHECK(err[0] && !strchr(err, '\n'));
		return;
	}
	CHECK(t.argc > 0 && t.argv[t.argc] == NULL);
	CHECK(t.native_words >= 1 && t.native_words <= t.argc);
	hyperv_translation_free(&t);
}

static void check_line(const char *line, const struct hyperv_binding *b)
{
	struct hv_words w;
	char err[256];
	if (hv_shell_tokenize(line, &w, err, sizeof(err)) < 0) {
		CHECK(err[0]);
		return;
	}
	struct hv_plan *p = calloc(1, sizeof(*p));
	CHECK(p);
	if (hv_shell_plan(&w, p, err, sizeof(err)) == 0) {
		for (int s = 0; s < p->nstatements; s++)
			for (int g = 0; g < p->st[s].nseg; g++) {
				const struct hv_segment *sg = &p->st[s].seg[g];
				CHECK(sg->argc > 0 && sg->argv[sg->argc] == NULL);
				for (int i = 0; i < sg->argc; i++)
					CHECK(sg->argv[i] != NULL);
				if (hyperv_command_kind(sg->argv[0]) == HV_CMD_CMDLET)
					check_translate(sg, b);
			}
	}
	free(p);
	hv_shell_words_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *in = fmemopen((void *)data, size ? size : 1, "r");
	CHECK(in);
	if (!size)
		fgetc(in); /* fmemopen needs a size: an empty input is end of file */
	struct json_object *objects = NULL;
	char err[256];
	struct hyperv_binding first, *bound = NULL;
	if (hv_pipe_read(in, &objects, err, sizeof(err)) == 0) {
		size_t n = json_object_array_length(objects);
		for (size_t i = 0; i < n; i++) {
			struct hyperv_binding b;
			if (hv_pipe_binding(json_object_array_get_idx(objects, i), i, &b, err, sizeof(err)) < 0)
				continue;
			CHECK(state_name_valid(b.vm_name, VM_NAME_MAX));
			CHECK(b.adapter >= -1 && b.adapter < VM_MAX_NICS);
			if (!bound) {
				first = b;
				bound = &first;
			}
		}
		FILE *out = fopen("/dev/null", "w");
		CHECK(out);
		struct hv_selection all = { .n = 0 }, some = { { "*Name", "C?unt" }, 2 };
		hv_format_list(out, objects, &all);
		hv_format_list(out, objects, &some);
		hv_format_table(out, objects, &all);
		hv_format_table(out, objects, &some);
		hv_print_json_lines(out, objects);
		fclose(out);
	} else {
		CHECK(err[0] && !strchr(err, '\n') && objects == NULL);
	}
	fclose(in);
	/* The same bytes as a line to paste (up to the first NUL). */
	char *line = malloc(size + 1);
	CHECK(line);
	memcpy(line, data, size);
	line[size] = '\0';
	check_line(line, bound);
	free(line);
	json_object_put(objects);
	return 0;
}
