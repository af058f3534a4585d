/* The objects Hyper-V's Get-VM* cmdlets return, built from nestvm's VM
 * records with Hyper-V's property names (Count,
 * ExposeVirtualizationExtensions; Startup, DynamicMemoryEnabled, Minimum,
 * Maximum; MacAddress, MacAddressSpoofing, SwitchName), so that what the
 * published pages tell people to look for is there. Each object carries
 * its kind as "PSTypeName", which the next cmdlet of a pipeline reads
 * (hyperv_pipe.h). Pure: no I/O. */
#ifndef NESTVM_CLI_HYPERV_OBJECTS_H
#define NESTVM_CLI_HYPERV_OBJECTS_H

#include <stdint.h>

#include "mgmt/vm_config.h"

struct json_object;

enum hv_object_kind {
	HV_OBJ_NONE,
	HV_OBJ_VM,        /* Get-VM: VirtualMachine */
	HV_OBJ_PROCESSOR, /* Get-VMProcessor: VMProcessor */
	HV_OBJ_MEMORY,    /* Get-VMMemory: VMMemory */
	HV_OBJ_ADAPTER,   /* Get-VMNetworkAdapter: VMNetworkAdapter, one per adapter */
};

/* A column of a kind's default table (what PowerShell shows without
 * Format-List): the header, the property, and whether bytes are shown in
 * MiB (Hyper-V's "Startup(M)"). */
struct hv_column {
	const char *header;
	const char *property;
	int in_mib;
};

/* Appends r's objects of kind to array (one, or one per adapter).
 * uptime_seconds < 0: not running. */
void hv_objects_add(enum hv_object_kind kind, const struct vm_record *r, int64_t uptime_seconds,
		    struct json_object *array);
/* The kind's PSTypeName ("VMProcessor"), or NULL for HV_OBJ_NONE. */
const char *hv_object_type_name(enum hv_object_kind kind);
/* The kind named by a PSTypeName, or HV_OBJ_NONE. */
enum hv_object_kind hv_object_kind_of(const char *type_name);
/* The kind's default table columns, ending with { NULL }. */
const struct hv_column *hv_object_columns(enum hv_object_kind kind);

#endif
