/* `nestvm status` output, built in memory (cli/ prints it): the text report
 * in the style of Hyper-V's Get-NestedVirtStatus, and the same as JSON. */
#ifndef NESTVM_HOST_STATUS_REPORT_H
#define NESTVM_HOST_STATUS_REPORT_H

#include "host/host_facts.h"
#include "host/nested_check.h"

/* First line "This host supports nested virtualization: YES|NO", then
 * "Key : Value" lines aligned like PowerShell's Format-List, then a
 * Reason/Fix pair per problem (Warning/Fix for warnings). malloc()ed; NULL
 * when out of memory. */
char *status_report_text(const struct host_facts *f, const struct nested_verdict *v);

/* One JSON object (json-c, pretty-printed, newline-terminated) with the same
 * facts in snake_case keys, "supported", "problems" and "warnings" (arrays
 * of {"reason","fix"}); "kvm_device_registered" (a kvm line in /proc/misc)
 * and "kvm_misc_minor"; unknown values are null. malloc()ed; NULL when out of
 * memory. */
char *status_report_json(const struct host_facts *f, const struct nested_verdict *v);

#endif
