/* test-names.c: VM name grammar, owner names, domain names and refs. */
#include "core/wirt-error.h"
#include "core/wirt-names.h"

static const struct {
    const char *name;
    gboolean ok;
} name_cases[] = {
    {"web", TRUE},
    {"Web-01", TRUE},
    {"9lives", TRUE},
    {"a", TRUE},
    {"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuv", TRUE},   /* 48 */
    {"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvw", FALSE}, /* 49 */
    {"", FALSE},
    {"-web", FALSE},
    {"web.1", FALSE},
    {"we b", FALSE},
    {"../etc", FALSE},
    {"a/b", FALSE},
    {"caf\xc3\xa9", FALSE},
    {"web\n", FALSE},
    {"web_1", FALSE},
};

static void
test_vm_names(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(name_cases); i++) {
        g_autoptr(GError) error = NULL;
        gboolean ok = wirt_name_validate(name_cases[i].name, &error);
        g_assert_cmpint(ok, ==, name_cases[i].ok);
        if (!ok)
            g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
    }
    g_assert_false(wirt_name_validate(NULL, NULL));
}

static void
test_owner_names(void)
{
    g_assert_true(wirt_name_validate_owner("alice", NULL));
    g_assert_true(wirt_name_validate_owner("john.doe", NULL));
    g_assert_true(wirt_name_validate_owner("alice@example.com", NULL));
    g_assert_false(wirt_name_validate_owner("", NULL));
    g_assert_false(wirt_name_validate_owner("a/b", NULL));
    g_assert_false(wirt_name_validate_owner("a b", NULL));
    g_assert_false(wirt_name_validate_owner("-rf", NULL));
    g_assert_false(wirt_name_validate_owner("x\ty", NULL));
}

static void
test_domain_names(void)
{
    g_autofree char *a = wirt_name_domain("alice", "web");
    g_autofree char *b = wirt_name_domain("alice-b", "web");
    g_autofree char *c = wirt_name_domain("alice", "b-web");

    g_assert_cmpstr(a, ==, "alice.web");
    /* The dash collision that "owner-name" would have is impossible. */
    g_assert_cmpstr(b, !=, c);
}

static void
test_refs(void)
{
    g_autofree char *owner = NULL;
    g_autofree char *name = NULL;
    g_autofree char *owner2 = NULL;
    g_autofree char *name2 = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_true(wirt_name_parse_ref("web", &owner, &name, NULL));
    g_assert_null(owner);
    g_assert_cmpstr(name, ==, "web");
    g_assert_true(wirt_name_parse_ref("bob/web", &owner2, &name2, NULL));
    g_assert_cmpstr(owner2, ==, "bob");
    g_assert_cmpstr(name2, ==, "web");
    g_assert_false(wirt_name_parse_ref("bob/we/b", &owner, &name, &error));
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
    g_assert_false(wirt_name_parse_ref("/web", &owner, &name, NULL));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
    g_test_add_func("/names/vm", test_vm_names);
    g_test_add_func("/names/owner", test_owner_names);
    g_test_add_func("/names/domain", test_domain_names);
    g_test_add_func("/names/ref", test_refs);
    return g_test_run();
}
