/* A Boot Loader Specification entry's linux, initrd and options keys
 * (boot_entry.h). Values are split into blank-separated words; a word
 * naming a variable (Fedora's $kernelopts, from grubenv) is left out. */
#include "disk/boot_entry.h"

#include <stdio.h>
#include <string.h>

static bool is_blank(unsigned char c)
{
	return c == ' ' || c < 0x20 || c == 0x7f;
}

/* Calls add for each blank-separated word of v[0..len). */
static int each_word(const char *v, size_t len, struct boot_entry *e, const char *what,
		     struct nv_err *err,
		     int (*add)(struct boot_entry *, const char *, const char *, struct nv_err *))
{
	char word[BOOT_CMDLINE_LEN];
	size_t i = 0;
	while (i < len) {
		while (i < len && is_blank((unsigned char)v[i]))
			i++;
		size_t start = i;
		while (i < len && !is_blank((unsigned char)v[i]))
			i++;
		if (i == start)
			break;
		if (i - start >= sizeof(word))
			return nv_err_input(err, "%s: a word longer than %zu bytes", what,
					    sizeof(word) - 1);
		memcpy(word, v + start, i - start);
		word[i - start] = '\0';
		if (!strchr(word, '$') && add(e, word, what, err) < 0)
			return -1;
	}
	return 0;
}

static int set_kernel(struct boot_entry *e, const char *word, const char *what,
		      struct nv_err *err)
{
	if (e->kernel[0])
		return nv_err_input(err, "%s: two kernels on its linux line", what);
	return boot_entry_set_path(e->kernel, word, what, "kernel", err);
}

static bool key_is(const char *line, size_t key_len, const char *key)
{
	return key_len == strlen(key) && memcmp(line, key, key_len) == 0;
}

int bls_entry_parse(const char *text, size_t len, const char *what, struct boot_entry *out,
		    struct nv_err *err)
{
	memset(out, 0, sizeof(*out));
	size_t start = 0;
	while (start < len) {
		const char *nl = memchr(text + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - text) : len;
		const char *line = text + start;
		size_t n = end - start, k = 0;
		start = end + 1;
		while (k < n && is_blank((unsigned char)line[k]))
			k++;
		line += k;
		n -= k;
		if (n == 0 || line[0] == '#')
			continue;
		size_t key_len = 0;
		while (key_len < n && !is_blank((unsigned char)line[key_len]))
			key_len++;
		const char *v = line + key_len;
		size_t vlen = n - key_len;
		int r = 0;
		if (key_is(line, key_len, "linux"))
			r = each_word(v, vlen, out, what, err, set_kernel);
		else if (key_is(line, key_len, "initrd"))
			r = each_word(v, vlen, out, what, err, boot_entry_add_initrd);
		else if (key_is(line, key_len, "options"))
			r = each_word(v, vlen, out, what, err, boot_entry_add_arg);
		if (r < 0)
			return -1;
	}
	if (!out->kernel[0])
		return nv_err_input(err, "%s: no linux line", what);
	return 0;
}
