#include "confine/capabilities.h"

#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The highest capability this kernel knows (CAP_LAST_CAP of its own
 * headers may be newer or older than ours). */
static int last_cap(void)
{
	int last = CAP_LAST_CAP;
	while (last < 63 && prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0)
		last++;
	return last;
}

int capabilities_drop_bounding(struct nv_err *err)
{
	int last = last_cap();
	for (int c = 0; c <= last; c++) {
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) <= 0)
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL && errno != EPERM)
			return nv_err_host(err, "cannot drop capability %d from the bounding set: %s", c,
					   strerror(errno));
	}
	return 0;
}

int capabilities_drop_all(struct nv_err *err)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) < 0)
		return nv_err_host(err, "cannot read capabilities: %s", strerror(errno));
	if (!d[0].permitted && !d[1].permitted && !d[0].inheritable && !d[1].inheritable)
		return 0; /* nothing held, nothing to gain: the bounding set cannot matter */
	/* The bounding set first: it needs CAP_SETPCAP, which capset takes. */
	if (capabilities_drop_bounding(err) < 0)
		return -1;
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) < 0)
		return nv_err_host(err, "cannot drop capabilities: %s", strerror(errno));
	return 0;
}
