/* The VMM processes' shared loop without a VM: console input the "UART"
 * has no room for is held, retried by the timer and gates further input;
 * the VM's end and a stop signal end the run; the console hub served from
 * the loop (attach, replay, input through the gate, a client that leaves). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/console_hub.h"
#include "vmm/vmm_loop.h"
#include "unix_client.h"

/* A fake UART: takes at most `take` bytes a call. */
struct fake {
	size_t take;
	uint8_t got[256];
	size_t got_len;
	int gate_opens, gate_closes;
	int signo;
	struct vmm_loop *loop;
};

static size_t fake_input(void *opaque, const uint8_t *p, size_t n)
{
	struct fake *f = opaque;
	if (n > f->take)
		n = f->take;
	if (n > sizeof(f->got) - f->got_len)
		n = sizeof(f->got) - f->got_len;
	memcpy(f->got + f->got_len, p, n);
	f->got_len += n;
	return n;
}

static bool fake_signal(void *opaque, int signo)
{
	((struct fake *)opaque)->signo = signo;
	return true;
}

static struct console_hub *gated_hub; /* the hub the gate drives, if any */

static void fake_gate(void *opaque, bool open)
{
	struct fake *f = opaque;
	if (open)
		f->gate_opens++;
	else
		f->gate_closes++;
	if (gated_hub)
		console_hub_want_input(gated_hub, open);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs the loop until *cond or 5 s. */
#define RUN_UNTIL(l, cond)                                                   \
	do {                                                                 \
		int64_t end_ = now_ms() + 5000;                              \
		while (!(cond) && now_ms() < end_)                           \
			assert_true(evloop_run_once((l)->ev, 100) >= 0);     \
	} while (0)

static int open_loop(struct vmm_loop *l, struct fake *f, int *end_fd)
{
	*end_fd = eventfd(0, EFD_CLOEXEC);
	assert_true(*end_fd >= 0);
	const struct vmm_loop_ops ops = {
		.console_input = fake_input, .on_signal = fake_signal, .input_gate = fake_gate, .opaque = f,
	};
	struct nv_err err = { 0 };
	f->loop = l;
	return vmm_loop_open(l, *end_fd, &ops, &err);
}

static void test_input_held(void **state)
{
	(void)state;
	static struct vmm_loop l;
	struct fake f = { .take = 0 };
	int end_fd;
	assert_int_equal(open_loop(&l, &f, &end_fd), 0);
	assert_int_equal(vmm_loop_input_room(&l), VMM_LOOP_INPUT_MAX);
	/* The UART is full: the input waits and the gate closes. */
	vmm_loop_input(&l, (const uint8_t *)"hello", 5);
	assert_int_equal(f.got_len, 0);
	assert_int_equal(f.gate_closes, 1);
	assert_int_equal(vmm_loop_input_room(&l), VMM_LOOP_INPUT_MAX - 5);
	/* It takes two bytes at a time: the timer feeds it all, in order. */
	f.take = 2;
	RUN_UNTIL(&l, f.got_len == 5);
	assert_memory_equal(f.got, "hello", 5);
	assert_int_equal(f.gate_opens, 1);
	assert_int_equal(vmm_loop_input_room(&l), VMM_LOOP_INPUT_MAX);
	/* Taken at once: the gate never closes. */
	f.take = 100;
	vmm_loop_input(&l, (const uint8_t *)"ab", 2);
	assert_int_equal(f.got_len, 7);
	assert_int_equal(f.gate_closes, 1);
	/* More than the room: the rest is dropped, never overflows. */
	static uint8_t big[VMM_LOOP_INPUT_MAX + 100];
	f.take = 0;
	vmm_loop_input(&l, big, sizeof(big));
	assert_int_equal(vmm_loop_input_room(&l), 0);
	vmm_loop_close(&l);
	close(end_fd);
}

static void test_end_and_signal(void **state)
{
	(void)state;
	static struct vmm_loop l;
	struct fake f = { .take = 100 };
	int end_fd;
	struct nv_err err = { 0 };
	assert_int_equal(open_loop(&l, &f, &end_fd), 0);
	/* The VM's end stops the run. */
	uint64_t one = 1;
	assert_int_equal(write(end_fd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(vmm_loop_run(&l, &err), 0);
	vmm_loop_close(&l);
	close(end_fd);
	/* A stop signal: handed over, then the run stops. */
	assert_int_equal(open_loop(&l, &f, &end_fd), 0);
	sigset_t cur;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	assert_int_equal(sigismember(&cur, SIGTERM), 1);
	assert_int_equal(kill(getpid(), SIGHUP), 0);
	assert_int_equal(vmm_loop_run(&l, &err), 0);
	assert_int_equal(f.signo, SIGHUP);
	vmm_loop_close(&l);
	close(end_fd);
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	assert_int_equal(sigismember(&cur, SIGTERM), 0);
}

static size_t hub_room(void *opaque)
{
	return vmm_loop_input_room(opaque);
}

static void hub_put(void *opaque, const uint8_t *p, size_t n)
{
	vmm_loop_input(opaque, p, n);
}

static void test_hub_on_loop(void **state)
{
	(void)state;
	char dir[] = "/tmp/nv-unit.XXXXXX", sock[64], log[64];
	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/console.sock", dir);
	snprintf(log, sizeof(log), "%s/console.log", dir);
	static struct vmm_loop l;
	static struct console_hub h;
	struct fake f = { .take = 100 };
	int end_fd;
	struct nv_err err = { 0 };
	assert_int_equal(open_loop(&l, &f, &end_fd), 0);
	assert_int_equal(console_hub_open(&h, sock, log, &err), 0);
	const struct console_hub_input in = { .room = hub_room, .put = hub_put, .opaque = &l };
	assert_int_equal(console_hub_attach(&h, l.ev, &in, &err), 0);
	gated_hub = &h;
	console_hub_output(&h, (const uint8_t *)"# ", 2);

	/* A client attaches and gets the replay. */
	int a = connect_to(sock);
	RUN_UNTIL(&l, console_hub_clients(&h) == 1);
	char buf[64];
	assert_int_equal(recv(a, buf, sizeof(buf), 0), 2);
	assert_memory_equal(buf, "# ", 2);
	/* Its input reaches the guest. */
	assert_int_equal(send(a, "ls\r", 3, 0), 3);
	RUN_UNTIL(&l, f.got_len == 3);
	assert_memory_equal(f.got, "ls\r", 3);
	/* The UART is full: the next input waits, and the one after is not
	 * even read until the guest takes it. */
	f.take = 0;
	assert_int_equal(send(a, "x", 1, 0), 1);
	RUN_UNTIL(&l, f.gate_closes == 1);
	assert_int_equal(send(a, "y", 1, 0), 1);
	for (int i = 0; i < 3; i++)
		assert_true(evloop_run_once(l.ev, 20) >= 0);
	assert_int_equal(vmm_loop_input_room(&l), VMM_LOOP_INPUT_MAX - 1);
	f.take = 100;
	RUN_UNTIL(&l, f.got_len == 5);
	assert_memory_equal(f.got + 3, "xy", 2);
	/* A client that leaves is forgotten. */
	close(a);
	RUN_UNTIL(&l, console_hub_clients(&h) == 0);
	assert_int_equal(console_hub_clients(&h), 0);
	gated_hub = NULL;
	console_hub_close(&h);
	vmm_loop_close(&l);
	close(end_fd);
	unlink(sock);
	unlink(log);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_input_held),
		cmocka_unit_test(test_end_and_signal),
		cmocka_unit_test(test_hub_on_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
