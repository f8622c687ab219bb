/* test-command.c: the command-file parser of the files API (core/wirt-command.c). */
#include <string.h>

#include "core/wirt-command.h"
#include "core/wirt-error.h"

typedef struct {
    const char *file;
    const char *content;
    gboolean ok;
    const char *describe; /* wirt_command_describe() when ok; a piece of the message when not */
} Case;

static const Case cases[] = {
    /* plain commands: empty, or whitespace only */
    {"start", "", TRUE, "start"},
    {"start", "\n", TRUE, "start"},
    {"destroy", "  \t\n", TRUE, "destroy"},
    {"reboot", "", TRUE, "reboot"},
    {"suspend", "", TRUE, "suspend"},
    {"resume", "", TRUE, "resume"},
    {"delete", "", TRUE, "delete"},
    {"stop", "", TRUE, "stop"},
    {"shutdown", "", TRUE, "stop"},
    /* seed 000: autostart, content --disable */
    {"autostart", "", TRUE, "autostart enable"},
    {"autostart", "--disable\n", TRUE, "autostart disable"},
    {"autostart", "--enable", TRUE, "autostart enable"},
    {"autostart", "{\"enable\": false}", TRUE, "autostart disable"},
    {"autostart", "--sometimes", FALSE, "unknown parameter '--sometimes'"},
    /* stop's flags and JSON */
    {"stop", "--force", TRUE, "stop force"},
    {"stop", "--timeout=30", TRUE, "stop timeout=30"},
    {"stop", "--timeout 30\n", TRUE, "stop timeout=30"},
    {"stop", "--force --timeout=0", TRUE, "stop force timeout=0"},
    {"stop", "{\"force\": true, \"timeout\": 5}", TRUE, "stop force timeout=5"},
    {"stop", "--timeout", FALSE, "--timeout needs seconds"},
    {"stop", "--timeout=-1", FALSE, "--timeout needs seconds"},
    {"stop", "--timeout=86401", FALSE, "--timeout needs seconds"},
    {"stop", "--timeout=1e3", FALSE, "--timeout needs seconds"},
    {"stop", "{\"force\": 1}", FALSE, "'force' must be true or false"},
    {"stop", "{\"timeout\": \"5\"}", FALSE, "'timeout' must be an integer"},
    {"stop", "{\"now\": true}", FALSE, "unknown parameter 'now'"},
    /* create: JSON only */
    {"create", "", TRUE, "create"},
    {"create", "{\"memory\": 512, \"cpus\": 1}\n", TRUE, "create memory=512 cpus=1"},
    {"create", "{\"memory_mib\": 256, \"vcpus\": 2}", TRUE, "create memory=256 cpus=2"},
    {"create", "{\"memory\": 512, \"pool\": \"lab\", \"node\": \"h1.example\"}", TRUE,
     "create memory=512 pool=lab node=h1.example"},
    {"create", "{\"memory\": 512, \"memory_mib\": 512}", FALSE, "not both"},
    {"create", "{\"cpus\": 1, \"vcpus\": 1}", FALSE, "not both"},
    {"create", "{\"memory\": 0}", FALSE, "'memory' must be between"},
    {"create", "{\"memory\": -5}", FALSE, "'memory' must be between"},
    {"create", "{\"cpus\": 5000}", FALSE, "'cpus' must be between"},
    {"create", "{\"memory\": 512.5}", FALSE, "'memory' must be an integer"},
    {"create", "{\"pool\": \"../etc\"}", FALSE, "'pool' may hold only"},
    {"create", "{\"pool\": \"\"}", FALSE, "'pool' may hold only"},
    {"create", "{\"node\": 7}", FALSE, "'node' must be a string"},
    {"create", "{\"disk\": \"/dev/sda\"}", FALSE, "unknown parameter 'disk'"},
    {"create", "memory=512", FALSE, "must be a JSON object"},
    {"create", "{\"memory\": 512", FALSE, "create:"},
    {"create", "[1, 2]", FALSE, "must be a JSON object"},
    /* config */
    {"config", "{\"memory\": 1024}", TRUE, "configure memory=1024"},
    {"config", "{\"cpus\": 2, \"autostart\": true}", TRUE, "configure cpus=2 autostart=true"},
    {"config", "{\"autostart\": false}", TRUE, "configure autostart=false"},
    {"config", "", FALSE, "names no setting"},
    {"config", "{}", FALSE, "names no setting"},
    {"config", "{\"name\": \"other\"}", FALSE, "unknown parameter 'name'"},
    /* content where none is taken */
    {"start", "now", FALSE, "takes no parameters"},
    {"delete", "{\"force\": true}", FALSE, "takes no parameters"},
    /* not commands */
    {"frobnicate", "", FALSE, "'frobnicate' is not a command"},
    {"Start", "", FALSE, "is not a command"},
    {"start.txt", "", FALSE, "is not a command"},
    {"", "", FALSE, "is not a command"},
    {"st\nart", "", FALSE, "'st\\nart' is not a command"},
};

static void
test_cases(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        const Case *c = &cases[i];
        g_auto(WirtCommand) cmd = {0};
        g_autoptr(GError) error = NULL;
        gboolean ok = wirt_command_parse(c->file, c->content, strlen(c->content), &cmd, &error);

        g_test_message("case %zu: %s <- '%s'", i, c->file, c->content);
        g_assert_cmpint(ok, ==, c->ok);
        if (ok) {
            g_autofree char *text = wirt_command_describe(&cmd);
            g_assert_no_error(error);
            g_assert_cmpstr(text, ==, c->describe);
        } else {
            g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
            if (!strstr(error->message, c->describe))
                g_error("case %zu: '%s' lacks '%s'", i, error->message, c->describe);
        }
    }
}

static void
test_bytes(void)
{
    g_auto(WirtCommand) cmd = {0};
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;
    g_autoptr(GError) e3 = NULL;

    /* Length, not NUL, ends the content: a NUL inside is refused. */
    g_assert_false(wirt_command_parse("start", "\0rm -rf", 7, &cmd, &e1));
    g_assert_nonnull(strstr(e1->message, "NUL"));
    g_assert_false(wirt_command_parse("stop", "--force\xff", 8, &cmd, &e2));
    g_assert_nonnull(strstr(e2->message, "UTF-8"));
    /* A prefix of a valid file is read only as far as @len says. */
    g_assert_true(wirt_command_parse("stop", "--forceXYZ", 7, &cmd, NULL));
    g_assert_true(cmd.force);
    /* An error message never carries more than 64 bytes of the user's input. */
    {
        g_autofree char *longword = g_strnfill(5000, 'x');
        g_assert_false(wirt_command_parse("stop", longword, 5000, &cmd, &e3));
        g_assert_cmpuint(strlen(e3->message), <, 200);
    }
}

static void
test_names(void)
{
    const char *const *names = wirt_command_names();

    g_assert_cmpuint(g_strv_length((GStrv)names), ==, 11);
    for (guint i = 0; names[i]; i++) {
        g_auto(WirtCommand) cmd = {0};
        /* Every listed name parses (config needs a setting). */
        const char *content = g_str_equal(names[i], "config") ? "{\"cpus\": 1}" : "";
        g_assert_true(wirt_command_parse(names[i], content, strlen(content), &cmd, NULL));
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/command/cases", test_cases);
    g_test_add_func("/command/bytes", test_bytes);
    g_test_add_func("/command/names", test_names);
    return g_test_run();
}
