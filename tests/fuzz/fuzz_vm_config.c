/* libFuzzer: a hostile or corrupt definition file, hand-edited or half
 * written. The input is the file's text, read as both:
 *   - a VM's vm.json (vm_record_parse_text, mgmt/vm_config.c: what
 *     vm_store_load does with the file it read, a NUL after its bytes);
 *   - a switch's config.json (switch_config_parse, net/switch_config.c,
 *     after switch_config_load's refusal of NUL bytes).
 * Any crash, sanitizer report or leak is a bug, and so is: a refusal that
 * does not name the file or says nothing; an accepted definition that does
 * not validate; one that, written back the way nestvm writes it
 * (vm_store_save's JSON, switch_config_save), does not read back the same. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "mgmt/vm_config.h"
#include "net/switch_config.h"

#define VM_FILE "vms/fuzz/vm.json"
#define SWITCH_FILE "switches/fuzz/config.json"

static void check_refusal(const struct nv_err *err, const char *file)
{
	CHECK(err->kind != NV_ERR_NONE);
	CHECK(!strncmp(err->msg, file, strlen(file)) && strlen(err->msg) > strlen(file) + 2);
}

static void check_vm(const char *text, size_t len)
{
	static struct vm_record r, again;
	struct nv_err err = { 0 };
	if (vm_record_parse_text(text, len, VM_FILE, &r, &err) < 0) {
		check_refusal(&err, VM_FILE);
		return;
	}
	CHECK(vm_config_validate(&r.config, VM_FILE, &err) == 0);
	CHECK(r.config.ndisks <= VM_MAX_DISKS && r.config.nnics <= VM_MAX_NICS &&
	      r.config.ndevices <= VM_MAX_DEVICES);
	struct json_object *o = vm_record_to_json(&r);
	const char *s = json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	CHECK(s);
	if (vm_record_parse_text(s, strlen(s), VM_FILE, &again, &err) < 0) {
		fprintf(stderr, "written back, refused: %s\n", err.msg);
		CHECK(!"a saved record reads back");
	}
	CHECK(!memcmp(&r, &again, sizeof(r)));
	json_object_put(o);
}

static char dir[64], path[96];

static void remove_dir(void)
{
	unlink(path);
	rmdir(dir);
}

static void check_switch(const char *text, size_t len)
{
	if (!dir[0]) {
		/* switch_config_save writes a file (atomically: a temporary one,
		 * fsync, rename): in memory where there is a /dev/shm. */
		snprintf(dir, sizeof(dir), "%s/nestvm-fuzz-XXXXXX", access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
		CHECK(mkdtemp(dir));
		snprintf(path, sizeof(path), "%s/config.json", dir);
		atexit(remove_dir);
	}
	if (memchr(text, '\0', len))
		return; /* switch_config_load refuses it before parsing */
	struct switch_config c, again;
	struct nv_err err = { 0 };
	if (switch_config_parse(text, SWITCH_FILE, &c, &err) < 0) {
		check_refusal(&err, SWITCH_FILE);
		return;
	}
	CHECK(switch_config_validate(&c, &err) == 0);
	CHECK(c.nforwards <= SWITCH_MAX_FORWARDS && memchr(c.name, '\0', sizeof(c.name)));
	CHECK(switch_config_save(path, &c, &err) == 0);
	if (switch_config_load(path, &again, &err) < 0) {
		fprintf(stderr, "written back, refused: %s\n", err.msg);
		CHECK(!"a saved config reads back");
	}
	CHECK(!memcmp(&c, &again, sizeof(c)));
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* As file_read_bounded gives a file: its bytes and a NUL. */
	char *text = malloc(size + 1);
	CHECK(text);
	if (size)
		memcpy(text, data, size);
	text[size] = '\0';
	check_vm(text, size);
	check_switch(text, size);
	free(text);
	return 0;
}
