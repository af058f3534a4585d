/* Hyper-V's objects and the pipes between nestvm's cmdlets: the objects a
 * Get-VM* cmdlet builds from a record (Hyper-V's property names and
 * values), how they print (PowerShell's list and table, JSON lines), how
 * the next cmdlet reads them back (hostile input refused with one line),
 * and how a pasted PowerShell line splits into words, pipelines and
 * statements. src/cli is not in libnestvm: its files are compiled in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "cli/hyperv_alias.c"
#include "cli/hyperv_cmdlets.c"
#include "cli/hyperv_format.c"
#include "cli/hyperv_objects.c"
#include "cli/hyperv_pipe.c"
#include "cli/hyperv_shell.c"

static void record(struct vm_record *r)
{
	memset(r, 0, sizeof(*r));
	vm_config_defaults(&r->config, "NestedHost");
	r->config.cpus = 2;
	r->config.memory_mib = 4096;
	r->config.expose_virtualization_extensions = true;
	r->config.nnics = 2;
	for (int i = 0; i < 2; i++) {
		snprintf(r->config.nics[i].switch_name, sizeof(r->config.nics[i].switch_name), "sw%d", i);
		mac_parse(i ? "00:15:5d:01:02:04" : "00:15:5d:01:02:03", &r->config.nics[i].mac);
	}
	r->config.nics[1].mac_spoofing = true;
	r->runtime.state = VM_STATE_RUNNING;
}

static struct json_object *objects_of(enum hv_object_kind kind, int64_t uptime)
{
	struct vm_record r;
	record(&r);
	struct json_object *a = json_object_new_array();
	hv_objects_add(kind, &r, uptime, a);
	return a;
}

static const char *str(struct json_object *o, const char *k)
{
	struct json_object *v;
	assert_true(json_object_object_get_ex(o, k, &v));
	return json_object_get_string(v);
}

static int64_t num(struct json_object *o, const char *k)
{
	struct json_object *v;
	assert_true(json_object_object_get_ex(o, k, &v));
	return json_object_get_int64(v);
}

static void test_processor_object(void **state)
{
	struct json_object *a = objects_of(HV_OBJ_PROCESSOR, -1);
	assert_int_equal(json_object_array_length(a), 1);
	struct json_object *o = json_object_array_get_idx(a, 0);
	assert_string_equal(str(o, "PSTypeName"), "VMProcessor");
	assert_string_equal(str(o, "VMName"), "NestedHost");
	assert_int_equal(num(o, "Count"), 2);
	assert_string_equal(str(o, "ExposeVirtualizationExtensions"), "true");
	json_object_put(a);
}

static void test_memory_object(void **state)
{
	struct json_object *a = objects_of(HV_OBJ_MEMORY, -1);
	struct json_object *o = json_object_array_get_idx(a, 0);
	assert_string_equal(str(o, "PSTypeName"), "VMMemory");
	assert_int_equal(num(o, "Startup"), 4096ll << 20);
	assert_int_equal(num(o, "Minimum"), 4096ll << 20); /* fixed memory: all three equal */
	assert_int_equal(num(o, "Maximum"), 4096ll << 20);
	assert_string_equal(str(o, "DynamicMemoryEnabled"), "false");
	json_object_put(a);
}

static void test_adapter_objects(void **state)
{
	struct json_object *a = objects_of(HV_OBJ_ADAPTER, -1);
	assert_int_equal(json_object_array_length(a), 2); /* one per adapter */
	struct json_object *o0 = json_object_array_get_idx(a, 0), *o1 = json_object_array_get_idx(a, 1);
	assert_string_equal(str(o0, "MacAddress"), "00155D010203"); /* Hyper-V's spelling */
	assert_string_equal(str(o1, "MacAddress"), "00155D010204");
	assert_string_equal(str(o0, "MacAddressSpoofing"), "Off");
	assert_string_equal(str(o1, "MacAddressSpoofing"), "On");
	assert_string_equal(str(o1, "SwitchName"), "sw1");
	assert_int_equal(num(o1, "AdapterIndex"), 1);
	json_object_put(a);
}

static void test_vm_object(void **state)
{
	struct json_object *a = objects_of(HV_OBJ_VM, 90061); /* 1 day, 1 h, 1 min, 1 s */
	struct json_object *o = json_object_array_get_idx(a, 0);
	assert_string_equal(str(o, "Name"), "NestedHost");
	assert_string_equal(str(o, "State"), "Running");
	assert_int_equal(num(o, "MemoryAssigned"), 4096ll << 20);
	assert_string_equal(str(o, "Uptime"), "1.01:01:01");
	json_object_put(a);
}

/* What f printed. */
static char *printed(FILE *f)
{
	static char buf[8192];
	rewind(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_format_list(void **state)
{
	struct json_object *a = objects_of(HV_OBJ_PROCESSOR, -1);
	FILE *f = tmpfile();
	struct hv_selection all = { { "*" }, 1 };
	assert_int_equal(hv_format_list(f, a, &all), 0);
	assert_string_equal(printed(f), "\n"
					"VMName                         : NestedHost\n"
					"Count                          : 2\n"
					"ExposeVirtualizationExtensions : True\n"
					"\n");
	f = tmpfile();
	struct hv_selection some = { { "expose*", "COUNT" }, 2 }; /* patterns, any case */
	assert_int_equal(hv_format_list(f, a, &some), 0);
	assert_string_equal(printed(f), "\n"
					"Count                          : 2\n"
					"ExposeVirtualizationExtensions : True\n"
					"\n");
	f = tmpfile();
	struct hv_selection none = { { "Colour" }, 1 };
	assert_int_equal(hv_format_list(f, a, &none), -1);
	assert_string_equal(printed(f), "");
	json_object_put(a);
}

static void test_format_table(void **state)
{
	struct json_object *a = objects_of(HV_OBJ_MEMORY, -1);
	FILE *f = tmpfile();
	assert_int_equal(hv_format_table(f, a, NULL), 0);
	assert_string_equal(printed(f), "\n"
					"VMName     DynamicMemoryEnabled Minimum(M) Startup(M) Maximum(M)\n"
					"------     -------------------- ---------- ---------- ----------\n"
					"NestedHost False                4096       4096       4096\n"
					"\n");
	json_object_put(a);
}

static void test_json_lines_round_trip(void **state)
{
	struct json_object *a = objects_of(HV_OBJ_ADAPTER, -1);
	FILE *f = tmpfile();
	hv_print_json_lines(f, a);
	rewind(f);
	struct json_object *back = NULL;
	char err[256] = "";
	assert_int_equal(hv_pipe_read(f, &back, err, sizeof(err)), 0);
	fclose(f);
	assert_int_equal(json_object_array_length(back), 2);
	struct hyperv_binding b;
	assert_int_equal(hv_pipe_binding(json_object_array_get_idx(back, 1), 1, &b, err, sizeof(err)), 0);
	assert_string_equal(b.vm_name, "NestedHost");
	assert_int_equal(b.adapter, 1);
	json_object_put(back);
	json_object_put(a);
}

/* text on stdin is refused with one line holding needle. */
static void pipe_bad(const char *text, size_t len, const char *needle)
{
	FILE *f = tmpfile();
	fwrite(text, 1, len, f);
	rewind(f);
	struct json_object *o = (struct json_object *)1;
	char err[256] = "";
	assert_int_equal(hv_pipe_read(f, &o, err, sizeof(err)), -1);
	fclose(f);
	assert_null(o);
	if (!strstr(err, needle))
		fail_msg("'%s' does not contain '%s'", err, needle);
	assert_null(strchr(err, '\n'));
}

static void test_pipe_hostile(void **state)
{
	pipe_bad("garbage\n", 8, "line 1: not an object");
	pipe_bad("\n{\"a\":1}\n[1]\n", 13, "line 3: a JSON value but not an object");
	pipe_bad("{\"a\":1} {\"b\":2}\n", 16, "line 1: not an object");
	pipe_bad("{\"a\":\n1}\n", 9, "line 1: not an object"); /* one object per line */
	pipe_bad("{\"a\":1}\0{}\n", 10, "line 1: a NUL byte");
	char *big = malloc(HV_PIPE_LINE_MAX + 10);
	memset(big, ' ', HV_PIPE_LINE_MAX + 10);
	pipe_bad(big, HV_PIPE_LINE_MAX + 10, "longer than");
	free(big);
	/* Nesting deeper than the tokenizer's limit. */
	char deep[200];
	memset(deep, '[', sizeof(deep));
	pipe_bad(deep, sizeof(deep), "line 1");
	/* Too many objects. */
	size_t n = (HV_PIPE_OBJECTS_MAX + 1) * 3;
	char *many = malloc(n);
	for (size_t i = 0; i < n; i += 3)
		memcpy(many + i, "{}\n", 3);
	pipe_bad(many, n, "more than");
	free(many);
}

static void binding_bad(const char *json, const char *needle)
{
	struct json_object *o = json_tokener_parse(json);
	struct hyperv_binding b;
	char err[256] = "";
	assert_int_equal(hv_pipe_binding(o, 0, &b, err, sizeof(err)), -1);
	if (!strstr(err, needle))
		fail_msg("'%s' does not contain '%s'", err, needle);
	json_object_put(o);
}

static void test_binding_checked(void **state)
{
	binding_bad("{\"Name\":\"x\"}", "names no VM");
	binding_bad("{\"VMName\":7}", "names no VM");
	binding_bad("{\"VMName\":\"../../etc\"}", "not a VM name");
	binding_bad("{\"VMName\":\"a b\"}", "not a VM name");
	binding_bad("{\"PSTypeName\":\"VMNetworkAdapter\",\"VMName\":\"a\"}", "AdapterIndex");
	binding_bad("{\"PSTypeName\":\"VMNetworkAdapter\",\"VMName\":\"a\",\"AdapterIndex\":8}", "AdapterIndex");
	binding_bad("{\"PSTypeName\":\"VMNetworkAdapter\",\"VMName\":\"a\",\"AdapterIndex\":-1}", "AdapterIndex");
	binding_bad("{\"PSTypeName\":\"VMNetworkAdapter\",\"VMName\":\"a\",\"AdapterIndex\":\"1\"}", "AdapterIndex");
	struct json_object *o = json_tokener_parse("{\"PSTypeName\":\"VMProcessor\",\"VMName\":\"a\",\"AdapterIndex\":3}");
	struct hyperv_binding b;
	char err[256];
	assert_int_equal(hv_pipe_binding(o, 0, &b, err, sizeof(err)), 0);
	assert_int_equal(b.adapter, -1); /* only an adapter object names an adapter */
	json_object_put(o);
}

/* The words of line, "|" and ";" for separators, joined by spaces with
 * each word in brackets. */
static void words(const char *line, const char *want)
{
	struct hv_words w;
	char err[256] = "", got[1024] = "";
	if (hv_shell_tokenize(line, &w, err, sizeof(err)) < 0)
		fail_msg("'%s': %s", line, err);
	for (int i = 0; i < w.n; i++) {
		size_t len = strlen(got);
		if (w.sep[i])
			snprintf(got + len, sizeof(got) - len, "%s%c", len ? " " : "", w.sep[i]);
		else
			snprintf(got + len, sizeof(got) - len, "%s[%s]", len ? " " : "", w.w[i]);
	}
	hv_shell_words_free(&w);
	if (strcmp(got, want))
		fail_msg("'%s': got '%s', wanted '%s'", line, got, want);
}

static void test_tokenize(void **state)
{
	words("Set-VMProcessor -VMName X -ExposeVirtualizationExtensions $true",
	      "[Set-VMProcessor] [-VMName] [X] [-ExposeVirtualizationExtensions] [$true]");
	words("Get-VMNetworkAdapter -VMName X | Set-VMNetworkAdapter -MacAddressSpoofing On",
	      "[Get-VMNetworkAdapter] [-VMName] [X] | [Set-VMNetworkAdapter] [-MacAddressSpoofing] [On]");
	words("a|b;c", "[a] | [b] ; [c]");
	words("New-NetNat \xe2\x80\x93Name L \xe2\x80\x93P \xe2\x80\x9c" "192.168.100.0/24\xe2\x80\x9d",
	      "[New-NetNat] [\xe2\x80\x93Name] [L] [\xe2\x80\x93P] [192.168.100.0/24]");
	words("x \"a b\" 'c d' \"\" 'it''s'", "[x] [a b] [c d] [] [its]");
	words("x \"a | b\" c`|d", "[x] [a | b] [c|d]");
	words("get-netadapter \"vEthernet (VmNat)\" | x", "[get-netadapter] [vEthernet (VmNat)] | [x]");
	words("x\xc2\xa0y  # a comment | z", "[x] [y]"); /* a no-break space separates */
	words("", "");
	struct hv_words w;
	char err[256];
	assert_int_equal(hv_shell_tokenize("x \"open", &w, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not closed"));
	assert_int_equal(hv_shell_tokenize("x \xe2\x80\x9copen'", &w, err, sizeof(err)), -1);
	char many[600];
	for (int i = 0; i < 300; i++)
		memcpy(many + 2 * i, "x ", 2);
	many[599] = '\0';
	assert_int_equal(hv_shell_tokenize(many, &w, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than"));
}

/* The plan of line: statements separated by " ; ", segments by " | ",
 * words by spaces. */
static void plan(const char *line, const char *want, const char *note)
{
	struct hv_words w;
	struct hv_plan *p = calloc(1, sizeof(*p));
	char err[256] = "", got[1024] = "";
	if (hv_shell_tokenize(line, &w, err, sizeof(err)) < 0 || hv_shell_plan(&w, p, err, sizeof(err)) < 0)
		fail_msg("'%s': %s", line, err);
	for (int s = 0; s < p->nstatements; s++)
		for (int g = 0; g < p->st[s].nseg; g++) {
			const struct hv_segment *sg = &p->st[s].seg[g];
			size_t len = strlen(got);
			snprintf(got + len, sizeof(got) - len, "%s", s && !g ? " ; " : g ? " | " : "");
			for (int i = 0; i < sg->argc; i++) {
				len = strlen(got);
				snprintf(got + len, sizeof(got) - len, "%s%s", i ? " " : "", sg->argv[i]);
			}
			assert_null(sg->argv[sg->argc]);
		}
	if (strcmp(got, want))
		fail_msg("'%s': got '%s', wanted '%s'", line, got, want);
	if (note ? !strstr(p->note, note) : p->note[0] != '\0')
		fail_msg("'%s': note '%s'", line, p->note);
	hv_shell_words_free(&w);
	free(p);
}

static void test_plan(void **state)
{
	plan("Get-VM X | Start-VM", "Get-VM X | Start-VM", NULL);
	plan("a 1; b 2", "a 1 ; b 2", NULL);
	/* The reference page's line that lost its line break. */
	plan("new-vmswitch -name VmNAT -SwitchType Internal New-NetNat \xe2\x80\x93Name LocalNAT",
	     "new-vmswitch -name VmNAT -SwitchType Internal ; New-NetNat \xe2\x80\x93Name LocalNAT",
	     "'New-NetNat' begins a command of its own");
	plan("Get-NetAdapter E | New-NetIPAddress -PrefixLength 24 Netsh interface ip",
	     "Get-NetAdapter E | New-NetIPAddress -PrefixLength 24 ; Netsh interface ip", "'Netsh'");
	/* A parameter's value is never split off, nor Get-Help's topic. */
	plan("New-VM -Name Start-VM", "New-VM -Name Start-VM", NULL);
	plan("Get-Help Set-VMProcessor", "Get-Help Set-VMProcessor", NULL);
	plan("Start-VM fl", "Start-VM fl", NULL); /* a VM may be called fl */
	struct hv_words w;
	struct hv_plan *p = calloc(1, sizeof(*p));
	char err[256];
	const char *bad[] = { "a |", "| a", "a | | b", ";", "a ;; b" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(hv_shell_tokenize(bad[i], &w, err, sizeof(err)), 0);
		if (hv_shell_plan(&w, p, err, sizeof(err)) != -1)
			fail_msg("'%s' planned", bad[i]);
		assert_non_null(strstr(err, "an empty command"));
		hv_shell_words_free(&w);
	}
	free(p);
}

static void test_from_argv(void **state)
{
	char *argv[] = { "Get-VMNetworkAdapter", "-VMName", "X", "|", "Set-VMNetworkAdapter", "x|y", NULL };
	struct hv_words w;
	char err[256];
	assert_int_equal(hv_shell_from_argv(6, argv, &w, err, sizeof(err)), 0);
	assert_int_equal(w.n, 6);
	assert_int_equal(w.sep[3], '|');
	assert_null(w.w[3]);
	assert_string_equal(w.w[5], "x|y"); /* a shell's word stays whole */
	hv_shell_words_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_processor_object),
		cmocka_unit_test(test_memory_object),
		cmocka_unit_test(test_adapter_objects),
		cmocka_unit_test(test_vm_object),
		cmocka_unit_test(test_format_list),
		cmocka_unit_test(test_format_table),
		cmocka_unit_test(test_json_lines_round_trip),
		cmocka_unit_test(test_pipe_hostile),
		cmocka_unit_test(test_binding_checked),
		cmocka_unit_test(test_tokenize),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_from_argv),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
