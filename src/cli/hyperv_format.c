/* Table, list and JSON lines for Hyper-V objects (hyperv_format.h), laid out
 * as PowerShell lays them out: keys padded to the longest, a blank line
 * around each list and table, booleans True/False. PSTypeName is how the
 * objects travel, not a property: it is never shown. */
#include "cli/hyperv_format.h"

#include <fnmatch.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <string.h>

#include "cli/hyperv_objects.h"
#include "util/err.h"

#define TYPE_KEY "PSTypeName"
#define MAX_COLUMNS 64
#define VALUE_MAX 512

void hv_print_json_lines(FILE *f, struct json_object *objects)
{
	size_t n = json_object_array_length(objects);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\n", json_object_to_json_string_ext(json_object_array_get_idx(objects, i),
								  JSON_C_TO_STRING_PLAIN |
									  JSON_C_TO_STRING_NOSLASHESCAPE));
}

static bool selected(const struct hv_selection *sel, const char *key)
{
	if (!strcmp(key, TYPE_KEY))
		return false;
	if (!sel || !sel->n)
		return true;
	for (int i = 0; i < sel->n; i++)
		if (!fnmatch(sel->patterns[i], key, FNM_CASEFOLD))
			return true;
	return false;
}

/* PowerShell's text of a value; control characters (a hostile record's
 * name cannot have them, a piped object can) become '?'. */
static void value_text(struct json_object *v, bool in_mib, char *out, size_t len)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		snprintf(out, len, "%s", "");
		break;
	case json_type_boolean:
		snprintf(out, len, "%s", json_object_get_boolean(v) ? "True" : "False");
		break;
	case json_type_int:
		snprintf(out, len, "%lld", (long long)(json_object_get_int64(v) >> (in_mib ? 20 : 0)));
		break;
	case json_type_array:
	case json_type_object:
		snprintf(out, len, "%s", json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
		break;
	default:
		snprintf(out, len, "%s", json_object_get_string(v));
		break;
	}
	err_one_line(out);
}

static const char *type_of(struct json_object *o)
{
	struct json_object *t;
	return json_object_object_get_ex(o, TYPE_KEY, &t) && json_object_is_type(t, json_type_string)
		       ? json_object_get_string(t)
		       : NULL;
}

int hv_format_list(FILE *f, struct json_object *objects, const struct hv_selection *sel)
{
	size_t n = json_object_array_length(objects);
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(objects, i);
		if (!json_object_is_type(o, json_type_object))
			continue;
		int w = 0;
		json_object_object_foreach(o, key, v0) {
			(void)v0;
			if (selected(sel, key) && (int)strlen(key) > w)
				w = (int)strlen(key);
		}
		if (!w)
			continue;
		any = true;
		fputc('\n', f);
		json_object_object_foreach(o, k, v) {
			char text[VALUE_MAX];
			if (!selected(sel, k))
				continue;
			value_text(v, false, text, sizeof(text));
			fprintf(f, "%-*s : %s\n", w, k, text);
		}
	}
	if (any)
		fputc('\n', f);
	return any || !n || !sel || !sel->n ? 0 : -1;
}

struct column {
	const char *header;
	const char *property;
	bool in_mib;
	int width;
};

/* The columns: the patterns' matches among the first object's properties,
 * else its kind's defaults, else all of its properties. */
static int table_columns(struct json_object *first, const struct hv_selection *sel, struct column *cols)
{
	int n = 0;
	const struct hv_column *def = hv_object_columns(hv_object_kind_of(type_of(first)));
	if ((!sel || !sel->n) && def[0].header) {
		for (; def[n].header && n < MAX_COLUMNS; n++)
			cols[n] = (struct column){ def[n].header, def[n].property, def[n].in_mib, 0 };
		return n;
	}
	json_object_object_foreach(first, key, v) {
		(void)v;
		if (selected(sel, key) && n < MAX_COLUMNS)
			cols[n++] = (struct column){ key, key, false, 0 };
	}
	return n;
}

static void cell(struct json_object *o, const struct column *c, char *out, size_t len)
{
	struct json_object *v = NULL;
	if (!json_object_object_get_ex(o, c->property, &v))
		v = NULL;
	value_text(v, c->in_mib, out, len);
}

int hv_format_table(FILE *f, struct json_object *objects, const struct hv_selection *sel)
{
	size_t n = json_object_array_length(objects);
	struct json_object *first = n ? json_object_array_get_idx(objects, 0) : NULL;
	if (!first || !json_object_is_type(first, json_type_object))
		return 0;
	struct column cols[MAX_COLUMNS];
	int nc = table_columns(first, sel, cols);
	if (!nc)
		return sel && sel->n ? -1 : 0;
	char text[VALUE_MAX];
	for (int c = 0; c < nc; c++) {
		cols[c].width = (int)strlen(cols[c].header);
		for (size_t i = 0; i < n; i++) {
			cell(json_object_array_get_idx(objects, i), &cols[c], text, sizeof(text));
			if ((int)strlen(text) > cols[c].width)
				cols[c].width = (int)strlen(text);
		}
	}
	fputc('\n', f);
	for (int c = 0; c < nc; c++) /* the headers, then each underlined */
		fprintf(f, "%-*s%s", c + 1 < nc ? cols[c].width : 0, cols[c].header, c + 1 < nc ? " " : "\n");
	for (int c = 0; c < nc; c++) {
		int h = (int)strlen(cols[c].header);
		for (int k = 0; k < h; k++)
			fputc('-', f);
		fprintf(f, "%*s", c + 1 < nc ? cols[c].width - h + 1 : 0, c + 1 < nc ? "" : "\n");
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(objects, i);
		for (int c = 0; c < nc; c++) {
			cell(o, &cols[c], text, sizeof(text));
			if (c + 1 < nc)
				fprintf(f, "%-*s ", cols[c].width, text);
			else
				fprintf(f, "%s\n", text);
		}
	}
	fputc('\n', f);
	return 0;
}
