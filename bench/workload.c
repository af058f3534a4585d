/* bench/workload.c: the guest-side workload of bench/nested.
 *
 *   workload ROW N     runs ROW N times and prints the elapsed seconds
 *                      (CLOCK_MONOTONIC) on one line, e.g. "1.234567"
 *
 * Rows, each aimed at one cost that nesting may add:
 *   compute     N iterations of integer arithmetic (no exits, no faults)
 *   page-touch  N rounds of: mmap 16 MiB anonymous, write one byte per
 *               4 KiB page, munmap (page faults, nested paging)
 *   getpid      N getpid system calls (user/kernel transitions)
 *   fork        N fork + _exit + waitpid (process creation: page tables,
 *               address-space switches)
 *
 * Built static (gcc -static -O2) so that the busybox guest can run it.
 * Exit status: 0, or 2 on bad usage, 1 when a system call fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TOUCH_BYTES (16UL << 20)

/* The result goes here so the compiler cannot drop the loops. */
static volatile uint64_t sink;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void compute(long n)
{
	/* A dependent chain of multiply/xor/shift (xorshift-multiply), so
	 * each iteration costs a few cycles and cannot be vectorised away. */
	uint64_t x = 88172645463325252ULL;
	for (long i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		x += (uint64_t)i * 0x9e3779b97f4a7c15ULL;
	}
	sink = x;
}

static int page_touch(long n)
{
	long page = sysconf(_SC_PAGESIZE);
	for (long r = 0; r < n; r++) {
		char *p = mmap(NULL, TOUCH_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			perror("workload: mmap");
			return -1;
		}
		/* 4 KiB faults, not 2 MiB ones, whatever the THP setting. */
		madvise(p, TOUCH_BYTES, MADV_NOHUGEPAGE);
		for (size_t off = 0; off < TOUCH_BYTES; off += (size_t)page)
			p[off] = (char)off;
		sink += (uint64_t)p[page];
		if (munmap(p, TOUCH_BYTES) < 0) {
			perror("workload: munmap");
			return -1;
		}
	}
	return 0;
}

static void getpid_loop(long n)
{
	/* syscall(), not getpid(): no libc may answer from a cache. */
	for (long i = 0; i < n; i++)
		sink += (uint64_t)syscall(SYS_getpid);
}

static int fork_loop(long n)
{
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("workload: fork");
			return -1;
		}
		if (pid == 0)
			_exit(0);
		int st;
		while (waitpid(pid, &st, 0) < 0) {
			if (errno != EINTR) {
				perror("workload: waitpid");
				return -1;
			}
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	char *end;
	long n = argc == 3 ? strtol(argv[2], &end, 10) : 0;
	if (argc != 3 || *end || n <= 0) {
		fprintf(stderr, "usage: workload compute|page-touch|getpid|fork N\n");
		return 2;
	}
	const char *row = argv[1];
	int rc = 0;
	double t0 = now();
	if (!strcmp(row, "compute"))
		compute(n);
	else if (!strcmp(row, "page-touch"))
		rc = page_touch(n);
	else if (!strcmp(row, "getpid"))
		getpid_loop(n);
	else if (!strcmp(row, "fork"))
		rc = fork_loop(n);
	else {
		fprintf(stderr, "workload: unknown row %s (compute, page-touch, getpid, fork)\n", row);
		return 2;
	}
	double t1 = now();
	if (rc < 0)
		return 1;
	printf("%.6f\n", t1 - t0);
	return 0;
}
