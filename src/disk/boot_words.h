/* One line of a bootloader configuration split into words the way GRUB's
 * script reader does: blanks separate, 'single' quotes are literal,
 * "double" quotes and a backslash escape, # starts a comment and an
 * unquoted ; ends the command. Variables are not expanded, only noticed.
 * Bounded: a line's words and each word's length have limits, and going
 * past one is said, never overflowed. Control characters count as blanks
 * (inside quotes they become spaces): none reaches a command line. */
#ifndef NESTVM_DISK_BOOT_WORDS_H
#define NESTVM_DISK_BOOT_WORDS_H

#include <stdbool.h>
#include <stddef.h>

#define BOOT_WORDS_MAX 128
#define BOOT_WORD_LEN 1024

struct boot_word {
	char text[BOOT_WORD_LEN];
	bool has_var; /* an unquoted or double-quoted $ */
	bool bare;    /* no quote or backslash in it: { and } count as braces */
};

struct boot_words {
	size_t n;
	bool too_many; /* words past BOOT_WORDS_MAX were dropped */
	bool too_long; /* a word was cut at BOOT_WORD_LEN - 1 bytes */
	struct boot_word w[BOOT_WORDS_MAX];
};

/* Splits line[0..len) (no newline in it) into words. */
void boot_words_split(const char *line, size_t len, struct boot_words *out);

/* Whether words->w[i] exists and is exactly s. */
bool boot_words_is(const struct boot_words *words, size_t i, const char *s);

#endif
