#include "arch/x86/aml.h"

#include <string.h>

/* Resource descriptor tags (ACPI 6.5, section 6.4). */
#define RES_IO_TAG 0x47           /* small item 0x08, length 7 */
#define RES_END_TAG 0x79          /* small item 0x0f, length 1 */
#define RES_MEMORY32_FIXED 0x86   /* large item 0x06 */
#define RES_EXT_INTERRUPT 0x89    /* large item 0x09 */
#define RES_IRQ_CONSUMER 0x01

void aml_init(struct aml_buf *b, uint8_t *mem, size_t cap)
{
	b->data = mem;
	b->len = 0;
	b->cap = mem ? cap : 0;
	b->bad = false;
}

bool aml_ok(const struct aml_buf *b)
{
	return !b->bad;
}

static bool aml_room(struct aml_buf *b, size_t n)
{
	if (b->bad)
		return false;
	if (n > b->cap - b->len) {
		b->bad = true;
		return false;
	}
	return true;
}

void aml_bytes(struct aml_buf *b, const void *p, size_t n)
{
	if (!aml_room(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void aml_byte(struct aml_buf *b, uint8_t v)
{
	aml_bytes(b, &v, 1);
}

static void aml_le(struct aml_buf *b, uint64_t v, unsigned n)
{
	uint8_t tmp[8];
	for (unsigned i = 0; i < n; i++)
		tmp[i] = (uint8_t)(v >> (8 * i));
	aml_bytes(b, tmp, n);
}

/* Insert bytes at pos, moving what follows: used to put a length in front
 * of a body whose size was unknown when it started. */
static void aml_insert(struct aml_buf *b, size_t pos, const uint8_t *p, size_t n)
{
	if (b->bad)
		return;
	if (pos > b->len) {
		b->bad = true;
		return;
	}
	if (!aml_room(b, n))
		return;
	memmove(b->data + pos + n, b->data + pos, b->len - pos);
	memcpy(b->data + pos, p, n);
	b->len += n;
}

static void aml_fail(struct aml_buf *b)
{
	b->bad = true;
}

int aml_pkglen_encode(uint8_t out[4], uint32_t total)
{
	if (total <= 0x3f) {
		out[0] = (uint8_t)total;
		return 1;
	}
	if (total > AML_PKGLEN_MAX)
		return -1;
	/* Multi-byte form: bits 7-6 of the lead byte count the following
	 * bytes, its low nibble holds bits 3-0, each further byte 8 more. */
	int extra = total <= 0xfff ? 1 : total <= 0xfffff ? 2 : 3;
	out[0] = (uint8_t)((extra << 6) | (total & 0x0f));
	for (int i = 1; i <= extra; i++)
		out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	return extra + 1;
}

size_t aml_pkg_begin(struct aml_buf *b)
{
	return b->len;
}

void aml_pkg_end(struct aml_buf *b, size_t mark)
{
	if (b->bad)
		return;
	if (mark > b->len) {
		aml_fail(b);
		return;
	}
	size_t body = b->len - mark;
	/* The length counts its own bytes: take the smallest form that can
	 * hold body + its own size. */
	for (uint32_t n = 1; n <= 4; n++) {
		if (body > AML_PKGLEN_MAX - n)
			break;
		uint8_t enc[4];
		int got = aml_pkglen_encode(enc, (uint32_t)(body + n));
		if (got > 0 && (uint32_t)got <= n) {
			aml_insert(b, mark, enc, (size_t)got);
			return;
		}
	}
	aml_fail(b);
}

static bool name_lead_char(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool name_char(char c)
{
	return name_lead_char(c) || (c >= '0' && c <= '9');
}

/* One NameSeg from s (up to the next '.' or the end), padded with '_'.
 * Returns the characters consumed or 0 when malformed. */
static size_t name_seg(const char *s, char seg[4])
{
	size_t n = 0;
	while (s[n] && s[n] != '.') {
		if (n == 4 || !(n == 0 ? name_lead_char(s[n]) : name_char(s[n])))
			return 0;
		seg[n] = s[n];
		n++;
	}
	for (size_t i = n; i < 4; i++)
		seg[i] = '_';
	return n;
}

void aml_name_string(struct aml_buf *b, const char *path)
{
	if (!path) {
		aml_fail(b);
		return;
	}
	const char *p = path;
	if (*p == '\\') {
		aml_byte(b, AML_ROOT_CHAR);
		p++;
	} else {
		while (*p == '^') {
			aml_byte(b, AML_PARENT_PREFIX);
			p++;
		}
	}
	if (*p == '\0') {
		aml_byte(b, AML_ZERO_OP); /* NullName */
		return;
	}

	char segs[255][4];
	size_t nsegs = 0;
	for (;;) {
		size_t used = name_seg(p, segs[nsegs]);
		if (used == 0 || nsegs == 254) {
			aml_fail(b);
			return;
		}
		nsegs++;
		p += used;
		if (*p == '\0')
			break;
		p++; /* the '.' */
	}
	if (nsegs == 2) {
		aml_byte(b, AML_DUAL_NAME_PREFIX);
	} else if (nsegs > 2) {
		aml_byte(b, AML_MULTI_NAME_PREFIX);
		aml_byte(b, (uint8_t)nsegs);
	}
	aml_bytes(b, segs, nsegs * 4);
}

void aml_integer(struct aml_buf *b, uint64_t v)
{
	if (v == 0) {
		aml_byte(b, AML_ZERO_OP);
	} else if (v == 1) {
		aml_byte(b, AML_ONE_OP);
	} else if (v <= 0xff) {
		aml_byte(b, AML_BYTE_PREFIX);
		aml_le(b, v, 1);
	} else if (v <= 0xffff) {
		aml_byte(b, AML_WORD_PREFIX);
		aml_le(b, v, 2);
	} else if (v <= 0xffffffffu) {
		aml_byte(b, AML_DWORD_PREFIX);
		aml_le(b, v, 4);
	} else {
		aml_byte(b, AML_QWORD_PREFIX);
		aml_le(b, v, 8);
	}
}

void aml_string(struct aml_buf *b, const char *s)
{
	if (!s) {
		aml_fail(b);
		return;
	}
	/* AML strings are ASCII without embedded NULs. */
	for (const char *c = s; *c; c++) {
		if ((unsigned char)*c > 0x7f) {
			aml_fail(b);
			return;
		}
	}
	aml_byte(b, AML_STRING_PREFIX);
	aml_bytes(b, s, strlen(s) + 1);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void aml_eisaid(struct aml_buf *b, const char *id)
{
	if (!id || strlen(id) != 7) {
		aml_fail(b);
		return;
	}
	/* Three 5-bit letters ('A' = 1) and a 16-bit product number, stored
	 * most significant byte first (the DWord is byte-swapped). */
	uint32_t v = 0;
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			aml_fail(b);
			return;
		}
		v = (v << 5) | (uint32_t)(id[i] - 'A' + 1);
	}
	for (int i = 3; i < 7; i++) {
		int d = hex_digit(id[i]);
		if (d < 0) {
			aml_fail(b);
			return;
		}
		v = (v << 4) | (uint32_t)d;
	}
	uint32_t swapped = ((v >> 24) & 0xff) | ((v >> 8) & 0xff00) |
			   ((v << 8) & 0xff0000) | ((v << 24) & 0xff000000u);
	aml_byte(b, AML_DWORD_PREFIX);
	aml_le(b, swapped, 4);
}

void aml_name(struct aml_buf *b, const char *name)
{
	aml_byte(b, AML_NAME_OP);
	aml_name_string(b, name);
}

size_t aml_scope_begin(struct aml_buf *b, const char *path)
{
	aml_byte(b, AML_SCOPE_OP);
	size_t mark = aml_pkg_begin(b);
	aml_name_string(b, path);
	return mark;
}

void aml_scope_end(struct aml_buf *b, size_t mark)
{
	aml_pkg_end(b, mark);
}

size_t aml_device_begin(struct aml_buf *b, const char *name)
{
	aml_byte(b, AML_EXT_OP_PREFIX);
	aml_byte(b, AML_DEVICE_OP);
	size_t mark = aml_pkg_begin(b);
	aml_name_string(b, name);
	return mark;
}

void aml_device_end(struct aml_buf *b, size_t mark)
{
	aml_pkg_end(b, mark);
}

size_t aml_package_begin(struct aml_buf *b, uint8_t nelems)
{
	aml_byte(b, AML_PACKAGE_OP);
	size_t mark = aml_pkg_begin(b);
	aml_byte(b, nelems);
	return mark;
}

void aml_package_end(struct aml_buf *b, size_t mark)
{
	aml_pkg_end(b, mark);
}

size_t aml_method_begin(struct aml_buf *b, const char *name, unsigned nargs,
			bool serialized)
{
	if (nargs > 7)
		aml_fail(b);
	aml_byte(b, AML_METHOD_OP);
	size_t mark = aml_pkg_begin(b);
	aml_name_string(b, name);
	aml_byte(b, (uint8_t)((nargs & 7) | (serialized ? 0x08 : 0)));
	return mark;
}

void aml_method_end(struct aml_buf *b, size_t mark)
{
	aml_pkg_end(b, mark);
}

void aml_return(struct aml_buf *b)
{
	aml_byte(b, AML_RETURN_OP);
}

void aml_arg(struct aml_buf *b, unsigned n)
{
	if (n > 6) {
		aml_fail(b);
		return;
	}
	aml_byte(b, (uint8_t)(AML_ARG0_OP + n));
}

void aml_lequal(struct aml_buf *b)
{
	aml_byte(b, AML_LEQUAL_OP);
}

size_t aml_if_begin(struct aml_buf *b)
{
	aml_byte(b, AML_IF_OP);
	return aml_pkg_begin(b);
}

void aml_if_end(struct aml_buf *b, size_t mark)
{
	aml_pkg_end(b, mark);
}

void aml_notify(struct aml_buf *b, const char *path, uint64_t value)
{
	aml_byte(b, AML_NOTIFY_OP);
	aml_name_string(b, path);
	aml_integer(b, value);
}

size_t aml_buffer_begin(struct aml_buf *b)
{
	aml_byte(b, AML_BUFFER_OP);
	return aml_pkg_begin(b);
}

void aml_buffer_end(struct aml_buf *b, size_t mark)
{
	if (b->bad)
		return;
	if (mark > b->len) {
		aml_fail(b);
		return;
	}
	/* BufferSize is an Integer term in front of the bytes, inside the
	 * PkgLength. Encode it into a scratch aml_buf, then insert it. */
	uint8_t tmp[9];
	struct aml_buf size;
	aml_init(&size, tmp, sizeof(tmp));
	aml_integer(&size, b->len - mark);
	aml_insert(b, mark, tmp, size.len);
	aml_pkg_end(b, mark);
}

size_t aml_restemplate_begin(struct aml_buf *b)
{
	return aml_buffer_begin(b);
}

void aml_restemplate_end(struct aml_buf *b, size_t mark)
{
	if (b->bad)
		return;
	if (mark > b->len) {
		aml_fail(b);
		return;
	}
	uint8_t sum = RES_END_TAG;
	for (size_t i = mark; i < b->len; i++)
		sum = (uint8_t)(sum + b->data[i]);
	aml_byte(b, RES_END_TAG);
	aml_byte(b, (uint8_t)(0x100 - sum));
	aml_buffer_end(b, mark);
}

void aml_res_memory32_fixed(struct aml_buf *b, bool writable, uint32_t base,
			    uint32_t len)
{
	aml_byte(b, RES_MEMORY32_FIXED);
	aml_le(b, 9, 2); /* length of the rest */
	aml_byte(b, writable ? 1 : 0);
	aml_le(b, base, 4);
	aml_le(b, len, 4);
}

void aml_res_io(struct aml_buf *b, uint16_t min, uint16_t max, uint8_t align,
		uint8_t len)
{
	aml_byte(b, RES_IO_TAG);
	aml_byte(b, 0x01); /* decodes 16 address bits */
	aml_le(b, min, 2);
	aml_le(b, max, 2);
	aml_byte(b, align);
	aml_byte(b, len);
}

void aml_res_interrupt(struct aml_buf *b, unsigned flags, uint32_t irq)
{
	aml_byte(b, RES_EXT_INTERRUPT);
	aml_le(b, 6, 2); /* flags, count, one DWord */
	aml_byte(b, (uint8_t)(RES_IRQ_CONSUMER |
			      (flags & (AML_IRQ_EDGE | AML_IRQ_ACTIVE_LOW |
					AML_IRQ_SHARED | AML_IRQ_WAKE))));
	aml_byte(b, 1);
	aml_le(b, irq, 4);
}
