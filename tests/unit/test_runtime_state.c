/* nestvm-runtime's record of a container (src/runtime/state_record.c) both
 * ways, and what it refuses; container IDs; /proc/PID/stat as the runtime
 * reads a VMM's state and start time (src/runtime/proc_stat.c). The
 * runtime is not in the library: its sources are compiled in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/container_id.c"
#include "runtime/proc_stat.c"
#include "runtime/state_record.c"

static const struct state_record sample = {
	.id = "web-1.a_b",
	.bundle = "/var/lib/containers/b/userdata",
	.pid = 4242,
	.pid_start = 123456789012ull,
	.created = "2024-05-01T12:00:00.123456789Z",
};

static void test_round_trip(void **state)
{
	(void)state;
	char *text = state_record_format(&sample);
	assert_non_null(text);
	assert_non_null(strstr(text, "\"bundle\": \"/var/lib/containers/b/userdata\"")); /* no \/ */
	struct state_record back;
	struct nv_err err = { 0 };
	assert_int_equal(state_record_parse(text, strlen(text), &back, &err), 0);
	assert_string_equal(back.id, sample.id);
	assert_string_equal(back.bundle, sample.bundle);
	assert_int_equal(back.pid, sample.pid);
	assert_true(back.pid_start == sample.pid_start);
	assert_string_equal(back.created, sample.created);
	free(text);
}

static void refused(const char *text, const char *why)
{
	struct state_record r;
	struct nv_err err = { 0 };
	assert_int_equal(state_record_parse(text, strlen(text), &r, &err), -1);
	if (!strstr(err.msg, why))
		fail_msg("'%s': got '%s', wanted '%s'", text, err.msg, why);
	assert_int_equal(r.pid, 0);
	assert_null(strchr(err.msg, '\n'));
}

#define OK_REST "\"bundle\":\"/b\",\"pid\":7,\"pid_start\":9,\"created\":\"t\""

static void test_refusals(void **state)
{
	(void)state;
	refused("", "not a JSON object");
	refused("[]", "not a JSON object");
	refused("{\"id\":\"c\"," OK_REST "} x", "not a JSON object");
	refused("{" OK_REST "}", "id: missing");
	refused("{\"id\":3," OK_REST "}", "id: missing or not a string");
	refused("{\"id\":\".x\"," OK_REST "}", "not a container ID");
	refused("{\"id\":\"a/b\"," OK_REST "}", "not a container ID");
	refused("{\"id\":\"c\",\"bundle\":\"rel\",\"pid\":7,\"pid_start\":9,\"created\":\"t\"}", "absolute");
	refused("{\"id\":\"c\",\"bundle\":\"/b\",\"pid\":0,\"pid_start\":9,\"created\":\"t\"}", "pid:");
	refused("{\"id\":\"c\",\"bundle\":\"/b\",\"pid\":-4,\"pid_start\":9,\"created\":\"t\"}", "pid:");
	refused("{\"id\":\"c\",\"bundle\":\"/b\",\"pid\":\"7\",\"pid_start\":9,\"created\":\"t\"}", "pid:");
	refused("{\"id\":\"c\",\"bundle\":\"/b\",\"pid\":7,\"created\":\"t\"}", "pid_start");
	refused("{\"id\":\"c\",\"bundle\":\"/b\",\"pid\":7,\"pid_start\":9}", "created");
	refused("{\"id\":\"c\\u0000d\"," OK_REST "}", "NUL");
	struct state_record r;
	const char *ok = "{\"id\":\"c\"," OK_REST "}";
	assert_int_equal(state_record_parse(ok, strlen(ok), &r, NULL), 0);
	/* Not NUL-terminated: only len bytes are read. */
	assert_int_equal(state_record_parse(ok, strlen(ok) - 1, &r, NULL), -1);
}

static void test_save_load(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_runtime_state.XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct nv_err err = { 0 };
	struct state_record back;
	assert_int_equal(state_record_load(dir, &back, &err), -1);
	assert_int_equal(state_record_save(dir, &sample, &err), 0);
	assert_int_equal(state_record_load(dir, &back, &err), 0);
	assert_string_equal(back.bundle, sample.bundle);
	char path[128];
	snprintf(path, sizeof(path), "%s/state.json", dir);
	unlink(path);
	rmdir(dir);
}

static void test_ids(void **state)
{
	(void)state;
	char longest[CONTAINER_ID_MAX + 2];
	memset(longest, 'a', sizeof(longest));
	longest[CONTAINER_ID_MAX] = '\0';
	assert_true(container_id_valid(longest));
	longest[CONTAINER_ID_MAX] = 'a';
	longest[CONTAINER_ID_MAX + 1] = '\0';
	assert_false(container_id_valid(longest));
	assert_true(container_id_valid("a"));
	assert_true(container_id_valid("0123abcdefABC_.-"));
	assert_true(container_id_valid("a..b"));
	assert_false(container_id_valid(""));
	assert_false(container_id_valid("."));
	assert_false(container_id_valid(".."));
	assert_false(container_id_valid(".a"));
	assert_false(container_id_valid("a/b"));
	assert_false(container_id_valid("a b"));
	assert_false(container_id_valid("a\n"));
	assert_false(container_id_valid("\xc3\xa9"));
}

static void test_proc_stat(void **state)
{
	(void)state;
	char st;
	unsigned long long start;
	const char *line = "4242 (nestvm) S 1 4242 4242 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 987654 1000 100\n";
	assert_int_equal(proc_stat_parse(line, &st, &start), 0);
	assert_int_equal(st, 'S');
	assert_true(start == 987654);
	/* A command name with spaces and parentheses: the last ')' ends it. */
	const char *odd = "7 (a) b (c) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55 0 0";
	assert_int_equal(proc_stat_parse(odd, &st, &start), 0);
	assert_int_equal(st, 'Z');
	assert_true(start == 55);
	assert_int_equal(proc_stat_parse("7 (x) S 1 2 3", &st, &start), -1);
	assert_int_equal(proc_stat_parse("garbage", &st, &start), -1);
	assert_int_equal(proc_stat_parse("7 (x) S 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 x 0", &st, &start), -1);
	/* This process: alive, with its own start time; another start time is
	 * another process. */
	assert_int_equal(proc_stat_read(getpid(), &st, &start), 0);
	assert_true(proc_alive(getpid(), start));
	assert_false(proc_alive(getpid(), start + 1));
	assert_false(proc_alive(0, start));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip), cmocka_unit_test(test_refusals), cmocka_unit_test(test_save_load),
		cmocka_unit_test(test_ids),	   cmocka_unit_test(test_proc_stat),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
