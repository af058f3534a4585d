/* Standard base64 (RFC 4648, with padding, no line breaks): how the command
 * for the default guest travels on the kernel command line. */
#ifndef NESTVM_UTIL_BASE64_H
#define NESTVM_UTIL_BASE64_H

#include <stddef.h>

/* Size of the encoding of n bytes, including the terminating NUL. */
size_t base64_encoded_size(size_t n);
/* Writes the NUL-terminated encoding into out (base64_encoded_size(n) bytes). */
void base64_encode(const void *in, size_t n, char *out);

#endif
