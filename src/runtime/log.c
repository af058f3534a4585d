#include "runtime/log.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/rfc3339.h"
#include "util/err.h"

static int log_fd = -1;
static bool log_json, log_debug;

int rt_log_open(const char *path, bool json, bool debug)
{
	log_json = json;
	log_debug = debug;
	if (!path)
		return 0;
	log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	if (log_fd < 0) {
		fprintf(stderr, "nestvm-runtime: --log %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void log_line(int fd, const char *level, const char *msg)
{
	char line[2048];
	int n;
	if (log_json) {
		char when[64];
		rfc3339_now(when, sizeof(when), false);
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "level", json_object_new_string(level));
		json_object_object_add(o, "msg", json_object_new_string(msg));
		json_object_object_add(o, "time", json_object_new_string(when));
		n = snprintf(line, sizeof(line), "%s\n",
			     json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		n = snprintf(line, sizeof(line), "nestvm-runtime: %s%s\n", strcmp(level, "error") ? "debug: " : "", msg);
	}
	if (n > 0 && (size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (n > 0 && write(fd, line, (size_t)n) < 0) {
		/* Nothing better to do with a log that cannot be written. */
	}
}

int rt_fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_one_line(msg);
	fprintf(stderr, "nestvm-runtime: %s\n", msg);
	fflush(stderr);
	if (log_fd >= 0)
		log_line(log_fd, "error", msg);
	return 1;
}

void rt_debug(const char *fmt, ...)
{
	if (!log_debug)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_one_line(msg);
	log_line(log_fd >= 0 ? log_fd : STDERR_FILENO, "debug", msg);
}
