#include "mgmt/cloud_init.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool label_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-';
}

int cloud_init_hostname_check(const char *h, struct nv_err *err)
{
	size_t n = strlen(h);
	if (!n)
		return nv_err_input(err, "the host name is empty");
	if (n > CLOUD_INIT_HOSTNAME_MAX)
		return nv_err_input(err, "host name '%.40s...' is %zu characters long (at most %d)", h, n,
				    CLOUD_INIT_HOSTNAME_MAX);
	for (const char *label = h; *label;) {
		size_t len = strcspn(label, ".");
		if (!len)
			return nv_err_input(err, "host name '%s' has an empty label (two dots, or a dot at an end)", h);
		if (len > 63)
			return nv_err_input(err, "host name '%s' has a label longer than 63 characters", h);
		for (size_t i = 0; i < len; i++)
			if (!label_char(label[i]))
				return nv_err_input(err, "host name '%s' has '%c': only letters, digits, '-' and dots "
						    "between labels (RFC 1123)", h,
						    (unsigned char)label[i] < 0x20 || (unsigned char)label[i] >= 0x7f ? '?' : label[i]);
		if (label[0] == '-' || label[len - 1] == '-')
			return nv_err_input(err, "host name '%s' has a label starting or ending with '-'", h);
		label += len;
		if (*label == '.' && !label[1])
			return nv_err_input(err, "host name '%s' has an empty label (two dots, or a dot at an end)", h);
		if (*label == '.')
			label++;
	}
	return 0;
}

/* OpenSSH's key types (ssh-keygen -Q key), and their certificates. */
static bool known_key_type(const char *t, size_t n)
{
	static const char *const types[] = {
		"ssh-ed25519", "ssh-rsa", "ssh-dss", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
		"ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
		"ssh-ed448",
	};
	static const char cert[] = "-cert-v01@openssh.com";
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t tn = strlen(types[i]);
		const char *base = types[i];
		char plain[64];
		/* sk-...@openssh.com certificates drop the @openssh.com first */
		const char *at = strchr(base, '@');
		size_t bn = at ? (size_t)(at - base) : tn;
		snprintf(plain, sizeof(plain), "%.*s%s", (int)bn, base, cert);
		if ((n == tn && !memcmp(t, base, n)) || (n == strlen(plain) && !memcmp(t, plain, n)))
			return true;
	}
	return false;
}

static int b64_value(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

/* The blob is base64 and starts with its own type (a uint32 length and the
 * name, RFC 4253 6.6): a key pasted under another type, or cut, fails. */
static bool blob_matches(const char *b, size_t n, const char *type, size_t tn)
{
	uint8_t head[4 + 64];
	size_t got = 0, pad = 0;
	uint32_t acc = 0;
	int bits = 0;
	if (n < 16 || n % 4)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (b[i] == '=' && i >= n - 2) {
			pad++;
			continue;
		}
		int v = b64_value(b[i]);
		if (v < 0 || pad)
			return false;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (got < sizeof(head))
				head[got] = (uint8_t)(acc >> bits);
			got++;
		}
	}
	uint32_t len = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 | (uint32_t)head[2] << 8 | head[3];
	return got >= 4 + tn && tn <= 64 && len == tn && !memcmp(head + 4, type, tn);
}

static int check_key_line(const char *line, size_t n, unsigned lineno, struct nv_err *err)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			return nv_err_input(err, "line %u has a control character: not an OpenSSH public key", lineno);
	size_t tn = strcspn(line, " \t");
	if (tn > n)
		tn = n;
	if (!known_key_type(line, tn))
		return nv_err_input(err, "line %u is not an OpenSSH public key (TYPE BASE64 [COMMENT], TYPE "
				    "as ssh-ed25519 or ssh-rsa): it starts '%.*s'", lineno, (int)(tn > 30 ? 30 : tn), line);
	const char *b = line + tn;
	while (b < line + n && (*b == ' ' || *b == '\t'))
		b++;
	size_t bn = strcspn(b, " \t");
	if (b + bn > line + n)
		bn = (size_t)(line + n - b);
	if (!blob_matches(b, bn, line, tn))
		return nv_err_input(err, "line %u: the key after '%.*s' is not a base64 %.*s key (cut or damaged?)",
				    lineno, (int)tn, line, (int)tn, line);
	return 0;
}

int cloud_init_ssh_keys_check(const char *text, size_t len, struct nv_err *err)
{
	if (memchr(text, '\0', len))
		return nv_err_input(err, "it has a NUL byte: not an OpenSSH public key file");
	if (strstr(text, "PRIVATE KEY-----"))
		return nv_err_input(err, "it is a private key: give its public key (the .pub file beside it)");
	unsigned lineno = 0, keys = 0;
	for (const char *p = text; p < text + len;) {
		const char *nl = memchr(p, '\n', (size_t)(text + len - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(text + len - p);
		const char *next = nl ? nl + 1 : text + len;
		lineno++;
		while (n && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		size_t lead = 0;
		while (lead < n && (p[lead] == ' ' || p[lead] == '\t'))
			lead++;
		if (lead < n && p[lead] != '#') {
			if (check_key_line(p + lead, n - lead, lineno, err) < 0)
				return -1;
			keys++;
		}
		p = next;
	}
	if (!keys)
		return nv_err_input(err, "it holds no public key (an OpenSSH .pub file has a line TYPE BASE64 [COMMENT])");
	return 0;
}

void cloud_init_instance_id(const char *name, const uint8_t random[8], char *out, size_t size)
{
	snprintf(out, size, "nestvm-%.64s-%02x%02x%02x%02x%02x%02x%02x%02x", name, random[0], random[1], random[2],
		 random[3], random[4], random[5], random[6], random[7]);
}

/* A YAML double-quoted scalar: the checks above leave no control
 * characters, so '"' and '\' are all that need escaping. */
static void put_quoted(FILE *f, const char *s, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			fputc('\\', f);
		fputc(s[i], f);
	}
	fputc('"', f);
}

/* Each key line of a checked key file as a YAML list item. */
static void put_keys(FILE *f, const char *keys)
{
	for (const char *p = keys; *p;) {
		size_t n = strcspn(p, "\n");
		const char *next = p + n + (p[n] ? 1 : 0);
		while (n && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		while (n && (*p == ' ' || *p == '\t'))
			p++, n--;
		if (n && *p != '#') {
			fputs("  - ", f);
			put_quoted(f, p, n);
			fputc('\n', f);
		}
		p = next;
	}
}

/* open_memstream's buffer is only final once the stream is closed. */
static char *finish(FILE *f, char **buf)
{
	if (fclose(f) != 0) {
		free(*buf);
		return NULL;
	}
	return *buf;
}

char *cloud_init_meta_data(const struct cloud_init_inputs *in)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fputs("instance-id: ", f);
	put_quoted(f, in->instance_id, strlen(in->instance_id));
	fputc('\n', f);
	if (in->hostname && in->hostname[0]) {
		fputs("local-hostname: ", f);
		put_quoted(f, in->hostname, strlen(in->hostname));
		fputc('\n', f);
	}
	if (in->ssh_keys && in->user_data_given) {
		fputs("public-keys:\n", f);
		put_keys(f, in->ssh_keys);
	}
	return finish(f, &buf);
}

char *cloud_init_user_data(const struct cloud_init_inputs *in)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fputs("#cloud-config\n# made by nestvm: no --user-data was given\n", f);
	if (in->hostname && in->hostname[0]) {
		fputs("hostname: ", f);
		put_quoted(f, in->hostname, strlen(in->hostname));
		fputc('\n', f);
	}
	if (in->ssh_keys) {
		fputs("ssh_authorized_keys:\n", f);
		put_keys(f, in->ssh_keys);
	}
	return finish(f, &buf);
}
