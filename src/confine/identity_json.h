/* A dedicated user (confine/identity.h) in a JSON record, as a switch's
 * config.json and a VM's vm.json keep it: {"uid":N,"gid":N,"name":"USER"}.
 * One form and one check for both, since root acts on what it says. */
#ifndef NESTVM_CONFINE_IDENTITY_JSON_H
#define NESTVM_CONFINE_IDENTITY_JSON_H

#include "confine/identity.h"

struct json_object;

struct json_object *identity_to_json(const struct identity *who);
/* 0, or -1 with *why saying what is wrong with v (for "FIELD WHY"). Root
 * (uid 0) is refused, as identity_parse refuses it. */
int identity_from_json(struct json_object *v, struct identity *out, const char **why);

#endif
