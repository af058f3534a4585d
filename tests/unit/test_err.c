/* nv_err_prefix: the prefix before the message, the kind kept, one line
 * cut at the buffer's end however long either part is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/err.h"

static void test_prefix_keeps_kind(void **state)
{
	(void)state;
	struct nv_err e = { 0 };
	nv_err_input(&e, "not an existing folder");
	assert_int_equal(nv_err_prefix(&e, "shared folder %s (tag %s)", "/srv/a", "a"), -1);
	assert_int_equal(e.kind, NV_ERR_INPUT);
	assert_string_equal(e.msg, "shared folder /srv/a (tag a): not an existing folder");
	nv_err_host(&e, "cannot start virtiofsd");
	nv_err_prefix(&e, "x\ny");
	assert_int_equal(e.kind, NV_ERR_HOST);
	assert_string_equal(e.msg, "x?y: cannot start virtiofsd");
	assert_int_equal(nv_err_prefix(NULL, "nothing"), -1);
}

static void test_prefix_cut(void **state)
{
	(void)state;
	struct nv_err e = { 0 };
	char big[700];
	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	nv_err_input(&e, "%s", big);
	nv_err_prefix(&e, "p");
	assert_int_equal(strlen(e.msg), sizeof(e.msg) - 1);
	assert_memory_equal(e.msg, "p: mmm", 6);
	nv_err_input(&e, "why");
	nv_err_prefix(&e, "%s", big);
	assert_int_equal(strlen(e.msg), sizeof(e.msg) - 1);
	assert_null(strstr(e.msg, "why"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_keeps_kind),
		cmocka_unit_test(test_prefix_cut),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
