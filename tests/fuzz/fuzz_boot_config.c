/* libFuzzer: a hostile grub.cfg or BLS entry, as a disk image carries it.
 * The first byte picks the parser (even: grub.cfg, odd: BLS entry); the
 * rest is the file. Either an entry within its bounds comes out (an
 * absolute kernel path, a command line Linux takes, no control bytes), or
 * a one-line refusal naming the file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk/boot_entry.h"

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "check failed: %s\n", what);
		abort();
	}
}

static void check_text(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	check(n < max, "a string fills its buffer");
	for (size_t i = 0; i < n; i++)
		check((unsigned char)s[i] >= 0x20 && s[i] != 0x7f, "a control byte got through");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	struct boot_entry e;
	struct nv_err err = { 0 };
	const char *what = data[0] & 1 ? "BLS entry f.conf of fuzz.img" : "grub.cfg of fuzz.img";
	int r = data[0] & 1 ? bls_entry_parse(text, len, what, &e, &err)
			    : grub_cfg_default_entry(text, len, what, &e, &err);
	if (!(data[0] & 1))
		(void)grub_cfg_uses_blscfg(text, len);
	if (r == 0) {
		check(e.kernel[0] == '/', "a kernel path not absolute");
		check_text(e.kernel, sizeof(e.kernel));
		check_text(e.cmdline, sizeof(e.cmdline));
		check(e.n_initrds <= BOOT_MAX_INITRDS, "too many initrds");
		for (size_t i = 0; i < e.n_initrds; i++) {
			check(e.initrds[i][0] == '/', "an initrd path not absolute");
			check_text(e.initrds[i], sizeof(e.initrds[i]));
		}
	} else {
		check(r == -1, "a result neither 0 nor -1");
		if (err.kind == NV_ERR_NONE || strncmp(err.msg, what, strlen(what)) != 0 ||
		    strchr(err.msg, '\n')) {
			fprintf(stderr, "bad refusal: \"%s\"\n", err.msg);
			abort();
		}
	}
	return 0;
}
