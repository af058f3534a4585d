#include "mgmt/nic_spec.h"

#include <stdio.h>
#include <string.h>

#include "util/state_dir.h"

/* Longest spec we look at: a switch name, a MAC and the flag fit easily. */
#define SPEC_MAX 256

static int set_bool(const char *spec, const char *key, const char *v, bool *out,
		    struct nv_err *err)
{
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
		*out = false;
	else
		return nv_err_input(err, "--nic %s: %s must be on or off, not '%s'", spec, key, v);
	return 0;
}

static int set_mac(const char *spec, const char *v, struct mac_addr *out, struct nv_err *err)
{
	if (mac_parse(v, out) < 0)
		return nv_err_input(err, "--nic %s: '%s' is not a MAC address (like 52:54:00:12:34:56)",
				    spec, v);
	if (mac_is_multicast(out))
		return nv_err_input(err, "--nic %s: MAC %s is multicast (the first byte must be even)",
				    spec, v);
	if (mac_is_zero(out))
		return nv_err_input(err, "--nic %s: MAC %s is all zeros", spec, v);
	return 0;
}

int nic_spec_parse(const char *spec, struct nic_spec *out, struct nv_err *err)
{
	memset(out, 0, sizeof(*out));
	char buf[SPEC_MAX];
	if (!spec || strlen(spec) >= sizeof(buf))
		return nv_err_input(err, "--nic: the value is too long");
	strcpy(buf, spec);
	bool seen_switch = false, seen_mac = false, seen_spoof = false;
	char *save = NULL;
	for (char *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq)
			return nv_err_input(err, "--nic %s: '%s' is not KEY=VALUE (switch=, mac=, mac-spoofing=)",
					    spec, kv);
		*eq = '\0';
		const char *key = kv, *v = eq + 1;
		bool *seen;
		if (!strcmp(key, "switch"))
			seen = &seen_switch;
		else if (!strcmp(key, "mac"))
			seen = &seen_mac;
		else if (!strcmp(key, "mac-spoofing"))
			seen = &seen_spoof;
		else
			return nv_err_input(err, "--nic %s: unknown key '%s' (switch, mac, mac-spoofing)",
					    spec, key);
		if (*seen)
			return nv_err_input(err, "--nic %s: %s= given twice", spec, key);
		*seen = true;
		if (!*v)
			return nv_err_input(err, "--nic %s: %s= needs a value", spec, key);
		int r = 0;
		if (seen == &seen_switch) {
			if (!state_name_valid(v, SWITCH_NAME_MAX))
				return nv_err_input(err, "--nic %s: '%s' is not a valid switch name "
						    "(1-%d of A-Z a-z 0-9 _ . -)", spec, v, SWITCH_NAME_MAX);
			snprintf(out->switch_name, sizeof(out->switch_name), "%s", v);
		} else if (seen == &seen_mac) {
			r = set_mac(spec, v, &out->mac, err);
			out->has_mac = true;
		} else {
			r = set_bool(spec, key, v, &out->mac_spoofing, err);
		}
		if (r < 0)
			return -1;
	}
	if (!seen_switch)
		return nv_err_input(err, "--nic %s: missing switch=NAME", spec);
	return 0;
}
