/* A tiny AML (ACPI Machine Language) encoder: just enough to write a DSDT
 * that names devices and their resources. It writes into a caller-supplied
 * bounded buffer; the first error (no room, bad name) marks the buffer bad
 * and every later call is a no-op, so callers check aml_ok() once at the end.
 *
 * Objects with a PkgLength (Scope, Device, Package, Method, Buffer, If) are
 * written as begin/end pairs: *_begin() returns a mark, the body follows,
 * and *_end(mark) inserts the length in front of the body once its size is
 * known. Pairs nest; end them innermost first. */
#ifndef NESTVM_ARCH_X86_AML_H
#define NESTVM_ARCH_X86_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	bool bad;
};

/* Opcodes and prefixes (ACPI 6.5, chapter 20). */
#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_METHOD_OP 0x14
#define AML_DUAL_NAME_PREFIX 0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_EXT_OP_PREFIX 0x5b
#define AML_DEVICE_OP 0x82 /* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR 0x5c
#define AML_PARENT_PREFIX 0x5e
#define AML_ARG0_OP 0x68   /* Arg0..Arg6: 0x68..0x6e */
#define AML_NOTIFY_OP 0x86
#define AML_LEQUAL_OP 0x93
#define AML_IF_OP 0xa0
#define AML_RETURN_OP 0xa4

/* Largest value a PkgLength can encode (4 bytes, 28 bits). */
#define AML_PKGLEN_MAX 0x0fffffffu

/* Extended Interrupt descriptor flags (the descriptor is always written as a
 * resource consumer). Zero means level-triggered, active-high, exclusive. */
#define AML_IRQ_EDGE 0x02
#define AML_IRQ_ACTIVE_LOW 0x04
#define AML_IRQ_SHARED 0x08
#define AML_IRQ_WAKE 0x10

void aml_init(struct aml_buf *b, uint8_t *mem, size_t cap);
bool aml_ok(const struct aml_buf *b);

/* Raw bytes, for opcodes this encoder has no helper for. */
void aml_byte(struct aml_buf *b, uint8_t v);
void aml_bytes(struct aml_buf *b, const void *p, size_t n);

/* Encode a PkgLength whose value (which counts its own bytes) is total.
 * Returns the number of bytes (1-4) written to out, or -1 above
 * AML_PKGLEN_MAX. */
int aml_pkglen_encode(uint8_t out[4], uint32_t total);

/* NameString: "_HID", "\\_SB_.COM1", "^PARN", "\\" (root). Segments shorter
 * than four characters are padded with '_' ("_SB" is "_SB_"). */
void aml_name_string(struct aml_buf *b, const char *path);

/* Data objects. aml_integer() picks the shortest encoding. */
void aml_integer(struct aml_buf *b, uint64_t v);
void aml_string(struct aml_buf *b, const char *s);
/* EisaId("PNP0501"): three upper-case letters and four hex digits,
 * compressed into a DWord. */
void aml_eisaid(struct aml_buf *b, const char *id);

/* Name(name, <data object written next by the caller>) */
void aml_name(struct aml_buf *b, const char *name);

/* Generic PkgLength wrapping: the mark is where the length goes. */
size_t aml_pkg_begin(struct aml_buf *b);
void aml_pkg_end(struct aml_buf *b, size_t mark);

size_t aml_scope_begin(struct aml_buf *b, const char *path);
void aml_scope_end(struct aml_buf *b, size_t mark);
size_t aml_device_begin(struct aml_buf *b, const char *name);
void aml_device_end(struct aml_buf *b, size_t mark);
/* Package of nelems data objects written by the caller. */
size_t aml_package_begin(struct aml_buf *b, uint8_t nelems);
void aml_package_end(struct aml_buf *b, size_t mark);
/* Method with nargs (0-7) arguments; the body is raw terms. */
size_t aml_method_begin(struct aml_buf *b, const char *name, unsigned nargs,
			bool serialized);
void aml_method_end(struct aml_buf *b, size_t mark);
/* Return(<term written next by the caller>) */
void aml_return(struct aml_buf *b);

/* ArgN (0-6): a method's argument, as an operand. */
void aml_arg(struct aml_buf *b, unsigned n);
/* LEqual(<operand>, <operand>): both written next by the caller. */
void aml_lequal(struct aml_buf *b);
/* If(<predicate written next by the caller>) { <terms> }: the PkgLength
 * covers the predicate too, so begin writes only the opcode. */
size_t aml_if_begin(struct aml_buf *b);
void aml_if_end(struct aml_buf *b, size_t mark);
/* Notify(path, value): e.g. 0x80 to a power button is "pressed". */
void aml_notify(struct aml_buf *b, const char *path, uint64_t value);

/* Buffer(){bytes}: the size prefix is computed at the end. */
size_t aml_buffer_begin(struct aml_buf *b);
void aml_buffer_end(struct aml_buf *b, size_t mark);

/* ResourceTemplate(){...}: a Buffer whose end adds the End Tag with a
 * checksum that makes the descriptor bytes sum to zero. */
size_t aml_restemplate_begin(struct aml_buf *b);
void aml_restemplate_end(struct aml_buf *b, size_t mark);
void aml_res_memory32_fixed(struct aml_buf *b, bool writable, uint32_t base,
			    uint32_t len);
/* IO(Decode16, min, max, align, len) */
void aml_res_io(struct aml_buf *b, uint16_t min, uint16_t max, uint8_t align,
		uint8_t len);
/* Interrupt(ResourceConsumer, ...){irq} with AML_IRQ_* flags */
void aml_res_interrupt(struct aml_buf *b, unsigned flags, uint32_t irq);

#endif
