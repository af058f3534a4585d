/* GRUB-style word splitting of one configuration line (boot_words.h). */
#include "disk/boot_words.h"

#include <string.h>

static bool is_blank(unsigned char c)
{
	return c == ' ' || c < 0x20 || c == 0x7f;
}

struct word_builder {
	struct boot_words *out;
	struct boot_word *cur; /* NULL: between words */
	size_t len;
};

static void put(struct word_builder *b, char c)
{
	if (!b->cur)
		return; /* a word past BOOT_WORDS_MAX */
	if (b->len + 1 >= BOOT_WORD_LEN) {
		b->out->too_long = true;
		return;
	}
	b->cur->text[b->len++] = is_blank((unsigned char)c) ? ' ' : c; /* quoted: a space */
	b->cur->text[b->len] = '\0';
}

static void start_word(struct word_builder *b)
{
	struct boot_words *o = b->out;
	b->len = 0;
	if (o->n >= BOOT_WORDS_MAX) {
		o->too_many = true;
		b->cur = NULL;
		return;
	}
	b->cur = &o->w[o->n++];
	b->cur->text[0] = '\0';
	b->cur->has_var = false;
	b->cur->bare = true;
}

static void mark(struct word_builder *b, bool var, bool quoted)
{
	if (!b->cur)
		return;
	if (var)
		b->cur->has_var = true;
	if (quoted)
		b->cur->bare = false;
}

void boot_words_split(const char *line, size_t len, struct boot_words *out)
{
	out->n = 0;
	out->too_many = false;
	out->too_long = false;
	struct word_builder b = { .out = out };
	size_t i = 0;
	for (;;) {
		while (i < len && is_blank((unsigned char)line[i]))
			i++;
		if (i >= len || line[i] == '#' || line[i] == ';')
			return;
		start_word(&b);
		while (i < len && !is_blank((unsigned char)line[i]) && line[i] != ';') {
			char c = line[i++];
			if (c == '\'') {
				mark(&b, false, true);
				while (i < len && line[i] != '\'')
					put(&b, line[i++]);
				i += i < len; /* the closing quote */
			} else if (c == '"') {
				mark(&b, false, true);
				while (i < len && line[i] != '"') {
					if (line[i] == '\\' && i + 1 < len && strchr("\"\\$", line[i + 1]))
						i++;
					else if (line[i] == '$')
						mark(&b, true, true);
					put(&b, line[i++]);
				}
				i += i < len;
			} else if (c == '\\') {
				mark(&b, false, true);
				if (i < len)
					put(&b, line[i++]);
			} else {
				if (c == '$')
					mark(&b, true, false);
				put(&b, c);
			}
		}
	}
}

bool boot_words_is(const struct boot_words *words, size_t i, const char *s)
{
	return i < words->n && strcmp(words->w[i].text, s) == 0;
}
