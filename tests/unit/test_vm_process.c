/* The pieces of a named VM's VMM process that need no VM: the console's
 * replay ring, console.log capping, the shared console (clients attach, get
 * the replay, a client that does not read is dropped), the detach key, the
 * control requests, and the reasons written to last_stop. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "vmm/console_escape.h"
#include "vmm/console_hub.h"
#include "vmm/console_ring.h"
#include "util/unix_json.h"
#include "vmm/vm_control.h"
#include "vmm/vm_process.h"
#include "unix_client.h"

static void fill(uint8_t *p, size_t n, size_t from)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((from + i) * 7 + 3);
}

static void test_ring(void **state)
{
	(void)state;
	static struct console_ring r;
	static uint8_t out[CONSOLE_RING_SIZE], in[3 * CONSOLE_RING_SIZE];
	memset(&r, 0, sizeof(r));
	assert_int_equal(console_ring_copy(&r, out), 0);
	console_ring_write(&r, (const uint8_t *)"hello ", 6);
	console_ring_write(&r, (const uint8_t *)"world", 5);
	assert_int_equal(console_ring_copy(&r, out), 11);
	assert_memory_equal(out, "hello world", 11);
	/* Many small writes wrap around: the last RING_SIZE bytes, in order. */
	fill(in, sizeof(in), 0);
	memset(&r, 0, sizeof(r));
	for (size_t off = 0; off < sizeof(in); off += 1000)
		console_ring_write(&r, in + off, off + 1000 <= sizeof(in) ? 1000 : sizeof(in) - off);
	assert_int_equal(console_ring_copy(&r, out), CONSOLE_RING_SIZE);
	assert_memory_equal(out, in + sizeof(in) - CONSOLE_RING_SIZE, CONSOLE_RING_SIZE);
	/* One write larger than the ring keeps its end. */
	console_ring_write(&r, in, sizeof(in) - 5);
	assert_int_equal(console_ring_copy(&r, out), CONSOLE_RING_SIZE);
	assert_memory_equal(out, in + sizeof(in) - 5 - CONSOLE_RING_SIZE, CONSOLE_RING_SIZE);
}

static char tmpdir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/nv-unit.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_log_cap(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/console.log", tmpdir);
	struct console_log l;
	struct nv_err err = { 0 };
	assert_int_equal(console_log_open(&l, path, &err), 0);
	assert_int_equal(l.max, CONSOLE_LOG_MAX);
	assert_int_equal(l.keep, CONSOLE_LOG_KEEP);
	l.max = 1000; /* the same rule, smaller */
	l.keep = 400;
	uint8_t data[3000];
	fill(data, sizeof(data), 0);
	console_log_write(&l, data, 900);
	assert_int_equal(l.size, 900);
	console_log_write(&l, data + 900, 200); /* passes 1000: cut to the last 400 */
	assert_int_equal(l.size, 400);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 400);
	console_log_write(&l, data + 1100, 50);
	console_log_close(&l);
	uint8_t back[600];
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t got = fread(back, 1, sizeof(back), f);
	fclose(f);
	assert_int_equal(got, 450);
	assert_memory_equal(back, data + 700, 450);
	/* Reopened: appends after what is there. */
	assert_int_equal(console_log_open(&l, path, &err), 0);
	assert_int_equal(l.size, 450);
	console_log_close(&l);
}

/* Clients' input lands here, as vm_process hands it to the guest. */
struct sink {
	uint8_t buf[64];
	size_t len;
};

static size_t sink_room(void *opaque)
{
	struct sink *k = opaque;
	return sizeof(k->buf) - k->len;
}

static void sink_put(void *opaque, const uint8_t *p, size_t n)
{
	struct sink *k = opaque;
	memcpy(k->buf + k->len, p, n);
	k->len += n;
}

/* One round of the loop the hub is attached to. */
static void hub_round(struct evloop *l)
{
	assert_true(evloop_run_once(l, 100) >= 0);
}

static void test_hub(void **state)
{
	(void)state;
	char sock[128], log[128];
	snprintf(sock, sizeof(sock), "%s/console.sock", tmpdir);
	snprintf(log, sizeof(log), "%s/hub.log", tmpdir);
	static struct console_hub h;
	struct nv_err err = { 0 };
	struct evloop *l;
	struct sink in = { .len = 0 };
	const struct console_hub_input input = { .room = sink_room, .put = sink_put, .opaque = &in };
	assert_int_equal(evloop_create(&l), 0);
	assert_int_equal(console_hub_open(&h, sock, log, &err), 0);
	assert_int_equal(console_hub_attach(&h, l, &input, &err), 0);
	struct stat st;
	assert_int_equal(stat(sock, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	console_hub_output(&h, (const uint8_t *)"boot\r\n# ", 8);

	/* A client attaches: it gets the replay, then new output. */
	int a = connect_to(sock);
	hub_round(l);
	assert_int_equal(console_hub_clients(&h), 1);
	char buf[64];
	assert_int_equal(recv(a, buf, sizeof(buf), 0), 8);
	assert_memory_equal(buf, "boot\r\n# ", 8);
	/* Its input is collected for the guest. */
	assert_int_equal(send(a, "ls\r", 3, 0), 3);
	hub_round(l);
	assert_int_equal(in.len, 3);
	assert_memory_equal(in.buf, "ls\r", 3);

	/* A second client that never reads: dropped once it lags by more than
	 * its buffer; the reading one stays. */
	int b = connect_to(sock);
	hub_round(l);
	assert_int_equal(console_hub_clients(&h), 2);
	static uint8_t chunk[8192];
	memset(chunk, 'z', sizeof(chunk));
	size_t sent = 0;
	while (console_hub_clients(&h) == 2 && sent < 64 * CONSOLE_CLIENT_BUF) {
		console_hub_output(&h, chunk, sizeof(chunk));
		sent += sizeof(chunk);
		while (recv(a, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
	}
	assert_int_equal(console_hub_clients(&h), 1);
	assert_int_equal(h.dropped, 1);
	assert_true(sent > CONSOLE_CLIENT_BUF);
	/* A client that leaves is forgotten. */
	close(a);
	for (int i = 0; i < 5 && console_hub_clients(&h); i++)
		hub_round(l);
	assert_int_equal(console_hub_clients(&h), 0);
	close(b);
	console_hub_close(&h);
	evloop_destroy(l);
	/* Everything went to the log too. */
	assert_int_equal(stat(log, &st), 0);
	assert_int_equal((size_t)st.st_size, 8 + sent);
}

static void test_detach_key(void **state)
{
	(void)state;
	struct console_escape st = { .detach_key = true };
	uint8_t out[32];
	size_t n;
	assert_int_equal(console_escape_filter_key(&st, (const uint8_t *)"ab\x01", 3, out, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(console_escape_filter_key(&st, (const uint8_t *)"dzz", 3, out, &n), 'd');
	assert_int_equal(n, 0);
	st = (struct console_escape){ .detach_key = true };
	assert_int_equal(console_escape_filter_key(&st, (const uint8_t *)"q\x01X", 3, out, &n), 'x');
	assert_int_equal(n, 1);
	st = (struct console_escape){ .detach_key = true };
	assert_int_equal(console_escape_filter_key(&st, (const uint8_t *)"\x01\x01" "d", 3, out, &n), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(out, "\x01" "d", 2);
	/* Without detach_key (`nestvm run`), Ctrl-A d goes to the guest. */
	st = (struct console_escape){ 0 };
	assert_int_equal(console_escape_filter_key(&st, (const uint8_t *)"\x01" "d", 2, out, &n), 0);
	assert_int_equal(n, 2);
	assert_false(console_escape_filter(&st, (const uint8_t *)"\x01" "D", 2, out, &n));
}

static void test_control_parse(void **state)
{
	(void)state;
	struct vm_control_request r;
#define P(s) vm_control_parse(s, strlen(s), &r)
	P("{\"cmd\":\"status\"}");
	assert_int_equal(r.cmd, VM_CONTROL_STATUS);
	P("{\"cmd\":\"shutdown\"}");
	assert_int_equal(r.cmd, VM_CONTROL_SHUTDOWN);
	P("{\"cmd\":\"kill\"}");
	assert_int_equal(r.cmd, VM_CONTROL_KILL);
	assert_string_equal(r.reason, "");
	P("{\"cmd\":\"kill\",\"reason\":\"forced by x\"}");
	assert_int_equal(r.cmd, VM_CONTROL_KILL);
	assert_string_equal(r.reason, "forced by x");
	P("{\"cmd\":\"reboot\"}");
	assert_int_equal(r.cmd, VM_CONTROL_INVALID);
	assert_non_null(strstr(r.error, "unknown cmd"));
	P("{\"cmd\":7}");
	assert_int_equal(r.cmd, VM_CONTROL_INVALID);
	P("[1,2]");
	assert_int_equal(r.cmd, VM_CONTROL_INVALID);
	P("{\"cmd\":\"sta");
	assert_int_equal(r.cmd, VM_CONTROL_INVALID);
	vm_control_parse("{\"cmd\":\"status\"}", 5, &r); /* not NUL-terminated: only 5 bytes count */
	assert_int_equal(r.cmd, VM_CONTROL_INVALID);
	P("{\"cmd\":\"memory-policy\",\"min_mib\":256,\"max_mib\":1024,\"buffer_percent\":20,\"weight\":0}");
	assert_int_equal(r.cmd, VM_CONTROL_MEMORY_POLICY);
	assert_int_equal(r.min_mib, 256);
	assert_int_equal(r.max_mib, 1024);
	assert_int_equal(r.buffer_pct, 20);
	assert_int_equal(r.weight, 0);
	/* min above max, a buffer out of range, a weight missing or a string. */
	P("{\"cmd\":\"memory-policy\",\"min_mib\":2048,\"max_mib\":1024,\"buffer_percent\":20,\"weight\":5}");
	assert_int_equal(r.cmd, VM_CONTROL_INVALID);
	assert_non_null(strstr(r.error, "memory-policy needs"));
	P("{\"cmd\":\"memory-policy\",\"min_mib\":256,\"max_mib\":1024,\"buffer_percent\":4,\"weight\":5}");
	assert_int_equal(r.cmd, VM_CONTROL_INVALID);
	P("{\"cmd\":\"memory-policy\",\"min_mib\":256,\"max_mib\":1024,\"buffer_percent\":20}");
	assert_int_equal(r.cmd, VM_CONTROL_INVALID);
	P("{\"cmd\":\"memory-policy\",\"min_mib\":256,\"max_mib\":1024,\"buffer_percent\":20,\"weight\":\"5\"}");
	assert_int_equal(r.cmd, VM_CONTROL_INVALID);
	/* migrate: an address, and limits within their ranges. */
	P("{\"cmd\":\"migrate\",\"to\":\"tcp:10.0.0.2:7000\",\"downtime_ms\":50,\"bandwidth_mbps\":100,\"max_rounds\":5}");
	assert_int_equal(r.cmd, VM_CONTROL_MIGRATE);
	assert_string_equal(r.to, "tcp:10.0.0.2:7000");
	assert_int_equal(r.downtime_ms, 50);
	assert_int_equal(r.bandwidth_mbps, 100);
	assert_int_equal(r.max_rounds, 5);
	assert_false(r.progress);
	P("{\"cmd\":\"migrate\",\"to\":\"unix:/run/x.sock\",\"progress\":true}");
	assert_true(r.progress);
	assert_false(r.pause_to_converge);
	P("{\"cmd\":\"migrate\",\"to\":\"unix:/x\",\"max_rounds\":2,\"pause_to_converge\":true}");
	assert_int_equal(r.cmd, VM_CONTROL_MIGRATE);
	assert_true(r.pause_to_converge);
	P("{\"cmd\":\"migrate\",\"to\":\"unix:/x\",\"pause_to_converge\":false}");
	assert_int_equal(r.cmd, VM_CONTROL_MIGRATE);
	assert_false(r.pause_to_converge);
	P("{\"cmd\":\"migrate\",\"to\":\"unix:/x\",\"pause_to_converge\":1}");
	assert_int_equal(r.cmd, VM_CONTROL_INVALID);
	assert_non_null(strstr(r.error, "\"pause_to_converge\" true|false"));
	P("{\"cmd\":\"migrate\",\"to\":\"unix:/run/x.sock\"}");
	assert_int_equal(r.cmd, VM_CONTROL_MIGRATE);
	assert_int_equal(r.downtime_ms, 0); /* the defaults */
	assert_int_equal(r.max_rounds, 0);
	P("{\"cmd\":\"migrate\"}");
	assert_int_equal(r.cmd, VM_CONTROL_INVALID);
	assert_non_null(strstr(r.error, "migrate needs \"to\""));
	P("{\"cmd\":\"migrate\",\"to\":\"tcp:host:7000\"}");
	assert_int_equal(r.cmd, VM_CONTROL_INVALID);
	P("{\"cmd\":\"migrate\",\"to\":\"unix:/x\",\"downtime_ms\":0}");
	assert_int_equal(r.cmd, VM_CONTROL_INVALID);
	P("{\"cmd\":\"migrate\",\"to\":\"unix:/x\",\"bandwidth_mbps\":\"fast\"}");
	assert_int_equal(r.cmd, VM_CONTROL_INVALID);
	P("{\"cmd\":\"migrate\",\"to\":\"unix:/x\",\"max_rounds\":1001}");
	assert_int_equal(r.cmd, VM_CONTROL_INVALID);
	static char big[VM_CONTROL_MAX + 10];
	memset(big, ' ', sizeof(big));
	vm_control_parse(big, sizeof(big), &r);
	assert_int_equal(r.cmd, VM_CONTROL_INVALID);
#undef P
}

/* A long request's interim messages reach the callback, each one, and the
 * reply after them is the answer; without a callback the first message is
 * the answer, as before. */
static void count_interim(void *opaque, struct json_object *o)
{
	int *n = opaque;
	struct json_object *v;
	assert_true(json_object_object_get_ex(o, "round", &v));
	assert_int_equal(json_object_get_int(v), *n + 1);
	(*n)++;
}

static void test_interim_messages(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	static const char *const peer[] = { "{\"interim\":{\"round\":1}}", "{\"interim\":{\"round\":2}}",
					    "{\"ok\":true,\"rounds\":3}" };
	for (int i = 0; i < 3; i++)
		assert_int_equal(send(sv[1], peer[i], strlen(peer[i]), 0), (ssize_t)strlen(peer[i]));
	struct json_object *req = json_object_new_object(), *v;
	struct nv_err err = { 0 };
	int n = 0;
	struct json_object *o = unix_json_exchange_interim(sv[0], req, -1, 4096, 1000, "peer", "refused",
							   count_interim, &n, &err);
	assert_non_null(o);
	assert_int_equal(n, 2);
	assert_true(json_object_object_get_ex(o, "rounds", &v));
	assert_int_equal(json_object_get_int(v), 3);
	json_object_put(o);
	char buf[256];
	assert_true(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT) > 0); /* the request went */
	/* No callback: an interim message is the (refused: no "ok") answer. */
	assert_int_equal(send(sv[1], peer[0], strlen(peer[0]), 0), (ssize_t)strlen(peer[0]));
	assert_null(unix_json_exchange_fd(sv[0], req, -1, 4096, 1000, "peer", "refused", &err));
	assert_non_null(strstr(err.msg, "refused"));
	json_object_put(req);
	close(sv[0]);
	close(sv[1]);
}

static void test_stop_reasons(void **state)
{
	(void)state;
	char s[256];
	struct machine_result r = { .end = MACHINE_END_POWEROFF };
	vm_process_stop_reason(&r, s, sizeof(s));
	assert_string_equal(s, "the guest powered off");
	r = (struct machine_result){ .end = MACHINE_END_EXIT_STATUS, .status = 0 };
	vm_process_stop_reason(&r, s, sizeof(s));
	assert_string_equal(s, "the guest powered off");
	r.status = 3;
	vm_process_stop_reason(&r, s, sizeof(s));
	assert_non_null(strstr(s, "status 3"));
	r = (struct machine_result){ .end = MACHINE_END_RESET };
	vm_process_stop_reason(&r, s, sizeof(s));
	assert_string_equal(s, "the guest rebooted");
	r = (struct machine_result){ .end = MACHINE_END_PANIC };
	vm_process_stop_reason(&r, s, sizeof(s));
	assert_string_equal(s, "the guest kernel panicked");
	r = (struct machine_result){ .end = MACHINE_END_STOPPED, .detail = VM_PROCESS_KILL_DEFAULT };
	vm_process_stop_reason(&r, s, sizeof(s));
	assert_string_equal(s, "stopped: forced by nestvm vm stop --force");
	r = (struct machine_result){ .end = MACHINE_END_VMM_FAILURE, .detail = "poll failed" };
	vm_process_stop_reason(&r, s, sizeof(s));
	assert_string_equal(s, "VMM failure: poll failed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring),
		cmocka_unit_test(test_log_cap),
		cmocka_unit_test(test_hub),
		cmocka_unit_test(test_detach_key),
		cmocka_unit_test(test_control_parse),
		cmocka_unit_test(test_stop_reasons),
		cmocka_unit_test(test_interim_messages),
	};
	return cmocka_run_group_tests_name("vm_process", tests, setup_dir, teardown_dir);
}
