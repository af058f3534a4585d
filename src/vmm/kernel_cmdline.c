#include "vmm/kernel_cmdline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"

static int append_str(char *out, size_t size, size_t *len, const char *s)
{
	size_t n = strlen(s);
	size_t sep = *len ? 1 : 0;
	if (*len + sep + n + 1 > size)
		return -1;
	if (sep)
		out[(*len)++] = ' ';
	memcpy(out + *len, s, n + 1);
	*len += n;
	return 0;
}

char *kernel_cmdline_encode_command(char *const *argv, int argc)
{
	size_t raw = 0;
	for (int i = 0; i < argc; i++)
		raw += strlen(argv[i]) + (i ? 1 : 0);
	char *joined = malloc(raw + 1);
	char *enc = malloc(base64_encoded_size(raw) + 1);
	if (!joined || !enc) {
		free(joined);
		free(enc);
		return NULL;
	}
	size_t o = 0;
	for (int i = 0; i < argc; i++) {
		if (i)
			joined[o++] = '\0';
		size_t n = strlen(argv[i]);
		memcpy(joined + o, argv[i], n);
		o += n;
	}
	base64_encode(joined, raw, enc);
	free(joined);
	return enc;
}

int kernel_cmdline_build(char *out, size_t out_size, const char *append,
			 char *const *argv, int argc, struct nv_err *err)
{
	size_t len = 0;
	out[0] = '\0';
	if (append_str(out, out_size, &len, KERNEL_CMDLINE_BASE) < 0)
		return nv_err_input(err, "kernel command line too long");
	if (argc > 0 && append_str(out, out_size, &len, KERNEL_CMDLINE_QUIET) < 0)
		return nv_err_input(err, "kernel command line too long");
	if (append && *append && append_str(out, out_size, &len, append) < 0)
		return nv_err_input(err, "--append makes the kernel command line longer than %zu bytes", out_size - 1);
	if (argc <= 0)
		return 0;
	char *cmd = kernel_cmdline_encode_command(argv, argc);
	char *word = cmd ? malloc(strlen(cmd) + sizeof("nestvm.cmd=")) : NULL;
	if (!word) {
		free(cmd);
		return nv_err_host(err, "out of memory");
	}
	strcpy(word, "nestvm.cmd=");
	strcat(word, cmd);
	int r = append_str(out, out_size, &len, word);
	free(cmd);
	free(word);
	if (r < 0)
		return nv_err_input(err, "the command is too long for the kernel command line (%zu bytes at most)", out_size - 1);
	return 0;
}
