/* Hyper-V's objects from nestvm's records (hyperv_objects.h). Only what
 * nestvm has: no property is invented to look like Hyper-V (no CPU
 * weights, no memory buffer), and fixed memory shows as Minimum = Startup
 * = Maximum, which is what fixed means. */
#include "cli/hyperv_objects.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const type_names[] = {
	[HV_OBJ_VM] = "VirtualMachine",
	[HV_OBJ_PROCESSOR] = "VMProcessor",
	[HV_OBJ_MEMORY] = "VMMemory",
	[HV_OBJ_ADAPTER] = "VMNetworkAdapter",
};

static const struct hv_column vm_columns[] = {
	{ "Name", "Name", 0 },
	{ "State", "State", 0 },
	{ "ProcessorCount", "ProcessorCount", 0 },
	{ "MemoryAssigned(M)", "MemoryAssigned", 1 },
	{ "Uptime", "Uptime", 0 },
	{ NULL, NULL, 0 },
};
static const struct hv_column processor_columns[] = {
	{ "VMName", "VMName", 0 },
	{ "Count", "Count", 0 },
	{ "ExposeVirtualizationExtensions", "ExposeVirtualizationExtensions", 0 },
	{ NULL, NULL, 0 },
};
static const struct hv_column memory_columns[] = {
	{ "VMName", "VMName", 0 },
	{ "DynamicMemoryEnabled", "DynamicMemoryEnabled", 0 },
	{ "Minimum(M)", "Minimum", 1 },
	{ "Startup(M)", "Startup", 1 },
	{ "Maximum(M)", "Maximum", 1 },
	{ NULL, NULL, 0 },
};
static const struct hv_column adapter_columns[] = {
	{ "Name", "Name", 0 },
	{ "VMName", "VMName", 0 },
	{ "SwitchName", "SwitchName", 0 },
	{ "MacAddress", "MacAddress", 0 },
	{ "MacAddressSpoofing", "MacAddressSpoofing", 0 },
	{ NULL, NULL, 0 },
};
static const struct hv_column no_columns[] = { { NULL, NULL, 0 } };

const char *hv_object_type_name(enum hv_object_kind kind)
{
	return kind > HV_OBJ_NONE && kind <= HV_OBJ_ADAPTER ? type_names[kind] : NULL;
}

enum hv_object_kind hv_object_kind_of(const char *type_name)
{
	for (int k = HV_OBJ_VM; type_name && k <= HV_OBJ_ADAPTER; k++)
		if (!strcasecmp(type_name, type_names[k]))
			return (enum hv_object_kind)k;
	return HV_OBJ_NONE;
}

const struct hv_column *hv_object_columns(enum hv_object_kind kind)
{
	switch (kind) {
	case HV_OBJ_VM: return vm_columns;
	case HV_OBJ_PROCESSOR: return processor_columns;
	case HV_OBJ_MEMORY: return memory_columns;
	case HV_OBJ_ADAPTER: return adapter_columns;
	default: return no_columns;
	}
}

static void put_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static void put_int(struct json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static void put_bool(struct json_object *o, const char *k, int v)
{
	json_object_object_add(o, k, json_object_new_boolean(v));
}

static struct json_object *new_object(enum hv_object_kind kind, const struct vm_config *c)
{
	struct json_object *o = json_object_new_object();
	put_str(o, "PSTypeName", type_names[kind]);
	put_str(o, "VMName", c->name);
	return o;
}

static int running(const struct vm_record *r)
{
	return r->runtime.state != VM_STATE_OFF && r->runtime.state != VM_STATE_SAVED;
}

/* Hyper-V's TimeSpan text: hh:mm:ss, or d.hh:mm:ss past a day. */
static void timespan(int64_t s, char *out, size_t size)
{
	if (s < 0)
		s = 0;
	if (s >= 86400)
		snprintf(out, size, "%lld.%02lld:%02lld:%02lld", (long long)(s / 86400),
			 (long long)(s / 3600 % 24), (long long)(s / 60 % 60), (long long)(s % 60));
	else
		snprintf(out, size, "%02lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60),
			 (long long)(s % 60));
}

void hv_objects_add(enum hv_object_kind kind, const struct vm_record *r, int64_t uptime_seconds,
		    struct json_object *array)
{
	const struct vm_config *c = &r->config;
	int64_t bytes = (int64_t)(c->memory_mib << 20);
	struct json_object *o;
	char text[32];
	switch (kind) {
	case HV_OBJ_VM:
		o = new_object(kind, c);
		put_str(o, "Name", c->name);
		put_str(o, "State", vm_state_name(r->runtime.state));
		put_int(o, "ProcessorCount", c->cpus);
		put_int(o, "MemoryStartup", bytes);
		put_int(o, "MemoryAssigned", running(r) ? bytes : 0);
		put_bool(o, "DynamicMemoryEnabled", c->dynamic_memory_enabled);
		timespan(uptime_seconds, text, sizeof(text));
		put_str(o, "Uptime", text);
		json_object_array_add(array, o);
		break;
	case HV_OBJ_PROCESSOR:
		o = new_object(kind, c);
		put_int(o, "Count", c->cpus);
		put_bool(o, "ExposeVirtualizationExtensions", c->expose_virtualization_extensions);
		json_object_array_add(array, o);
		break;
	case HV_OBJ_MEMORY:
		o = new_object(kind, c);
		put_int(o, "Startup", bytes);
		put_bool(o, "DynamicMemoryEnabled", c->dynamic_memory_enabled);
		/* Dynamic memory's bounds when on; fixed memory's are its startup. */
		put_int(o, "Minimum", c->dynamic_memory_enabled ? (int64_t)(c->memory_min_mib << 20) : bytes);
		put_int(o, "Maximum", c->dynamic_memory_enabled ? (int64_t)(c->memory_max_mib << 20) : bytes);
		json_object_array_add(array, o);
		break;
	case HV_OBJ_ADAPTER:
		for (unsigned i = 0; i < c->nnics; i++) {
			const uint8_t *b = c->nics[i].mac.b;
			o = new_object(kind, c);
			put_str(o, "Name", "Network Adapter");
			put_int(o, "AdapterIndex", i); /* nestvm's: eth N, `vm set --adapter N` */
			snprintf(text, sizeof(text), "%02X%02X%02X%02X%02X%02X", b[0], b[1], b[2], b[3], b[4],
				 b[5]);
			put_str(o, "MacAddress", text);
			put_str(o, "MacAddressSpoofing", c->nics[i].mac_spoofing ? "On" : "Off");
			put_str(o, "SwitchName", c->nics[i].switch_name);
			put_bool(o, "DynamicMacAddressEnabled", 0);
			json_object_array_add(array, o);
		}
		break;
	default:
		break;
	}
}
