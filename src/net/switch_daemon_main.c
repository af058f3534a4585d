#include "net/switch_daemon_main.h"

#include "confine/confine.h"
#include "net/switch_daemon.h"
#include "util/proc_fail.h"

int switch_daemon_main(int argc, char **argv)
{
	if (argc != 2)
		return proc_fail(PROC_EXIT_INPUT, "usage: nestvm switch-daemon NAME (started by nestvm switch create)");
	struct nv_err err = { 0 };
	if (confine_init(&err) < 0)
		return proc_err_fail(&err);
	if (switch_daemon_run(argv[1], &err) < 0)
		return proc_err_fail(&err);
	return 0;
}
