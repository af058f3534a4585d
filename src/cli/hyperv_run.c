/* Hyper-V's cmdlets at work (hyperv_run.h). A pipeline of several cmdlets
 * runs as processes joined by pipes, as a shell would run
 * `nestvm A | nestvm B`, so both forms behave the same. */
#include "cli/hyperv_run.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/hyperv_alias.h"
#include "cli/hyperv_format.h"
#include "cli/hyperv_objects.h"
#include "cli/hyperv_pipe.h"
#include "cli/hyperv_shell.h"
#include "cli/vm_cli.h"
#include "mgmt/vm_store.h"
#include "vmm/exit_status.h"

/* Objects can only come from a pipe or a file: a terminal is the user,
 * /dev/null and a closed stdin hold none. */
static bool stdin_has_objects(void)
{
	struct stat st;
	return fstat(STDIN_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode));
}

/* Once the objects are read, a prompt (Enable-NestedVm asks) reads the
 * terminal if there is one, else nothing. */
static void stdin_to_terminal(void)
{
	int fd = open("/dev/tty", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && fd != STDIN_FILENO) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
}

static int read_objects(struct json_object **objects)
{
	char err[256];
	if (hv_pipe_read(stdin, objects, err, sizeof(err)) < 0)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s", err);
	return 0;
}

/* The objects of t's kind for the VMs it names (all when none) onto all. */
static int collect_objects(struct hyperv_translation *t, struct json_object *all)
{
	char **names = t->argv + t->native_words;
	size_t n = (size_t)(t->argc - t->native_words);
	char **listed = NULL;
	struct nv_err err = { 0 };
	int status = 0;
	if (!n) {
		if (vm_store_list(&listed, &n, &err) < 0)
			return vm_cli_fail(&err);
		names = listed;
	}
	for (size_t i = 0; i < n; i++) {
		struct vm_record r;
		struct nv_err e = { 0 };
		if (!vm_store_exists(names[i]))
			status = cli_fail(NESTVM_EXIT_BAD_INPUT, "there is no VM named '%s' (Get-VM)", names[i]);
		else if (vm_store_load_reaped(names[i], &r, &e) < 0)
			status = vm_cli_fail(&e);
		else
			hv_objects_add((enum hv_object_kind)t->objects, &r, vm_cli_uptime_seconds(&r), all);
	}
	for (size_t i = 0; listed && i < n; i++)
		free(listed[i]);
	free(listed);
	return status;
}

static void print_objects(struct json_object *objects)
{
	if (isatty(STDOUT_FILENO))
		hv_format_table(stdout, objects, NULL);
	else
		hv_print_json_lines(stdout, objects);
	fflush(stdout);
}

static bool same_argv(const struct hyperv_translation *a, const struct hyperv_translation *b)
{
	if (a->argc != b->argc)
		return false;
	for (int i = 0; i < a->argc; i++)
		if (strcmp(a->argv[i], b->argv[i]))
			return false;
	return true;
}

/* One translated cmdlet: objects into all, or the native command. */
static int execute(struct hyperv_translation *t, struct json_object *all, bool *noted,
		   hv_dispatch_fn dispatch)
{
	if (t->objects)
		return collect_objects(t, all);
	if (t->note[0] && !*noted) {
		cli_fail(0, "%s", t->note);
		*noted = true;
	}
	return dispatch(t->argc, t->argv);
}

/* The cmdlet once for each object piped in (the same native command
 * once: two adapters of one VM name it twice for Start-VM). */
static int run_bound(int argc, char **argv, const char *missing, hv_dispatch_fn dispatch)
{
	struct json_object *in = NULL, *all = json_object_new_array();
	int status = read_objects(&in);
	stdin_to_terminal();
	size_t n = in ? json_object_array_length(in) : 0;
	if (!status && !n)
		status = cli_fail(NESTVM_EXIT_BAD_INPUT, "%s", missing); /* nothing came */
	struct hyperv_translation prev = { 0 };
	bool noted = false;
	for (size_t i = 0; !status && i < n; i++) {
		struct hyperv_binding b;
		struct hyperv_translation t;
		char err[512];
		int st;
		if (hv_pipe_binding(json_object_array_get_idx(in, i), i, &b, err, sizeof(err)) < 0 ||
		    hyperv_translate_bound(argc, argv, &b, &t, err, sizeof(err)) < 0) {
			status = cli_fail(NESTVM_EXIT_BAD_INPUT, "%s", err);
			break;
		}
		if (i && same_argv(&t, &prev)) {
			hyperv_translation_free(&t);
			continue;
		}
		if ((st = execute(&t, all, &noted, dispatch)))
			status = st; /* the others still run, as PowerShell's non-terminating errors */
		hyperv_translation_free(&prev);
		prev = t;
	}
	hyperv_translation_free(&prev);
	if (json_object_array_length(all))
		print_objects(all);
	json_object_put(in);
	json_object_put(all);
	return status;
}

static int run_cmdlet(int argc, char **argv, hv_dispatch_fn dispatch)
{
	struct hyperv_translation t;
	char err[512];
	int r = hyperv_translate(argc, argv, &t, err, sizeof(err));
	if (r == -2 && stdin_has_objects())
		return run_bound(argc, argv, err, dispatch);
	if (r < 0)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s", err);
	struct json_object *all = json_object_new_array();
	bool noted = false;
	int status = execute(&t, all, &noted, dispatch);
	if (t.objects)
		print_objects(all);
	json_object_put(all);
	hyperv_translation_free(&t);
	return status;
}

/* Every argument a path that exists: a shell expanded an unquoted *. */
static bool all_paths(const struct hv_selection *sel)
{
	for (int i = 0; i < sel->n; i++)
		if (access(sel->patterns[i], F_OK) < 0)
			return false;
	return sel->n > 0;
}

/* Format-List / Format-Table [-Property] [P[,P...]...] of piped objects. */
static int run_format(enum hyperv_command_kind kind, int argc, char **argv)
{
	const char *name = kind == HV_CMD_FORMAT_LIST ? "Format-List" : "Format-Table";
	struct hv_selection sel = { .n = 0 };
	char *copies[HV_MAX_PATTERNS] = { 0 };
	int ncopies = 0, status = 0;
	for (int a = 1; a < argc && !status; a++) {
		if (!strcasecmp(argv[a], "-Property") || !strcasecmp(argv[a], "-p"))
			continue;
		if (argv[a][0] == '-') {
			status = cli_fail(NESTVM_EXIT_BAD_INPUT, "%s: unknown parameter %s (only -Property)", name,
					  argv[a]);
			break;
		}
		char *copy = ncopies < HV_MAX_PATTERNS ? strdup(argv[a]) : NULL;
		if (!copy) {
			status = cli_fail(NESTVM_EXIT_BAD_INPUT, "%s: too many properties", name);
			break;
		}
		copies[ncopies++] = copy;
		for (char *save = NULL, *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
			if (sel.n == HV_MAX_PATTERNS) {
				status = cli_fail(NESTVM_EXIT_BAD_INPUT, "%s: too many properties", name);
				break;
			}
			sel.patterns[sel.n++] = s;
		}
	}
	if (!status && !stdin_has_objects())
		status = cli_fail(NESTVM_EXIT_BAD_INPUT,
				  "%s shows the objects a nestvm Get-VM* cmdlet prints, piped in (nestvm "
				  "Get-VMProcessor -VMName X | nestvm %s *)",
				  name, kind == HV_CMD_FORMAT_LIST ? "FL" : "FT");
	struct json_object *in = NULL;
	if (!status)
		status = read_objects(&in);
	if (!status) {
		int (*fmt)(FILE *, struct json_object *, const struct hv_selection *) =
			kind == HV_CMD_FORMAT_LIST ? hv_format_list : hv_format_table;
		if (fmt(stdout, in, &sel) < 0) {
			if (all_paths(&sel)) {
				cli_fail(0, "%s: the shell turned * into file names (quote it: '*'); showing every "
					    "property", name);
				sel.n = 0;
				fmt(stdout, in, &sel);
			} else {
				status = cli_fail(NESTVM_EXIT_BAD_INPUT, "%s: no property matches %s", name,
						  sel.patterns[0]);
			}
		}
	}
	json_object_put(in);
	for (int i = 0; i < ncopies; i++)
		free(copies[i]);
	if (fflush(stdout) != 0 && !status)
		status = cli_fail(NESTVM_EXIT_VMM_FAILURE, "%s: cannot write", name);
	return status;
}

static int run_segment(int argc, char **argv, hv_dispatch_fn dispatch)
{
	char err[512];
	enum hyperv_command_kind kind = hyperv_command_kind(argv[0]);
	switch (kind) {
	case HV_CMD_CMDLET:
		return run_cmdlet(argc, argv, dispatch);
	case HV_CMD_FORMAT_LIST:
	case HV_CMD_FORMAT_TABLE:
		return run_format(kind, argc, argv);
	case HV_CMD_WINDOWS_ONLY:
		hyperv_windows_only(argv[0], err, sizeof(err));
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s", err);
	default:
		if (!strcasecmp(argv[0], "Get-Help")) {
			if (hyperv_help(stdout, argc > 1 ? argv[1] : NULL) < 0)
				return cli_fail(NESTVM_EXIT_BAD_INPUT, "Get-Help: '%s' is not a cmdlet nestvm knows",
						argv[1]);
			return 0;
		}
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "'%s' is not a cmdlet nestvm knows (nestvm Get-Help)",
				argv[0]);
	}
}

static int wait_status(pid_t pid)
{
	int ws;
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return NESTVM_EXIT_VMM_FAILURE;
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

/* Segments as processes joined by pipes; the status is the rightmost
 * failure's (a shell's pipefail), so no refusal is hidden. */
static int run_pipeline(const struct hv_statement *st, hv_dispatch_fn dispatch)
{
	if (st->nseg == 1)
		return run_segment(st->seg[0].argc, st->seg[0].argv, dispatch);
	pid_t pids[HV_SHELL_SEGMENTS_MAX];
	int in = -1, started = 0, status = 0;
	fflush(NULL);
	for (int i = 0; i < st->nseg; i++) {
		int p[2] = { -1, -1 };
		if (i + 1 < st->nseg && pipe2(p, O_CLOEXEC) < 0) {
			status = cli_fail(NESTVM_EXIT_VMM_FAILURE, "pipe: %s", strerror(errno));
			break;
		}
		pid_t pid = fork();
		if (pid < 0) {
			status = cli_fail(NESTVM_EXIT_VMM_FAILURE, "fork: %s", strerror(errno));
			close(p[0]);
			close(p[1]);
			break;
		}
		if (pid == 0) {
			if (in >= 0)
				dup2(in, STDIN_FILENO);
			if (p[1] >= 0)
				dup2(p[1], STDOUT_FILENO);
			int st_child = run_segment(st->seg[i].argc, st->seg[i].argv, dispatch);
			fflush(NULL);
			_exit(st_child);
		}
		pids[started++] = pid;
		if (in >= 0)
			close(in);
		if (p[1] >= 0)
			close(p[1]);
		in = p[0];
	}
	if (in >= 0)
		close(in);
	for (int i = 0; i < started; i++) {
		int s = wait_status(pids[i]);
		if (s)
			status = s;
	}
	return status;
}

static int run_words(struct hv_words *w, hv_dispatch_fn dispatch)
{
	struct hv_plan *plan = calloc(1, sizeof(*plan));
	char err[256];
	int status = 0;
	bool planned = false; /* then every statement runs, as PowerShell goes on after an error */
	if (!plan)
		status = cli_fail(NESTVM_EXIT_VMM_FAILURE, "out of memory");
	else if (hv_shell_plan(w, plan, err, sizeof(err)) < 0)
		status = cli_fail(NESTVM_EXIT_BAD_INPUT, "%s", err);
	else if ((planned = true) && plan->note[0])
		cli_fail(0, "%s", plan->note);
	for (int i = 0; planned && i < plan->nstatements; i++) {
		int s = run_pipeline(&plan->st[i], dispatch);
		if (s)
			status = s;
	}
	free(plan);
	hv_shell_words_free(w);
	return status;
}

int hyperv_run_argv(int argc, char **argv, hv_dispatch_fn dispatch)
{
	struct hv_words w;
	char err[256];
	if (hv_shell_from_argv(argc, argv, &w, err, sizeof(err)) < 0)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s", err);
	return run_words(&w, dispatch);
}

int hyperv_run_command(const char *line, hv_dispatch_fn dispatch)
{
	struct hv_words w;
	char err[256];
	if (hv_shell_tokenize(line, &w, err, sizeof(err)) < 0)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "-Command: %s", err);
	if (!w.n)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "-Command: nothing to run");
	return run_words(&w, dispatch);
}
