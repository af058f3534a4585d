#include "util/progress.h"

static progress_fn printer;
static int last_percent = -1;

void progress_set(progress_fn fn)
{
	printer = fn;
}

void progress_report(const char *what, uint64_t done, uint64_t total)
{
	if (!printer)
		return;
	int percent = total ? (int)(done * 100 / total) : 100;
	if (done > total)
		percent = 100;
	if (percent == last_percent && done < total)
		return;
	last_percent = done >= total ? -1 : percent; /* the next piece of work starts afresh */
	printer(what, done, total);
}
