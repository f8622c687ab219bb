/* test-history.c: history lines and API error bodies round-trip. */
#include <string.h>

#include "core/wirt-api.h"
#include "core/wirt-history.h"

static void
test_roundtrip(void)
{
    WirtHistoryRecord rec = {.time = "2026-11-23T23:00:00.000Z",
                             .actor = "alice",
                             .uid = 1001,
                             .door = "cli",
                             .owner = "alice",
                             .vm = "web",
                             .action = "start",
                             .ok = FALSE,
                             .error = "line one\nline two \"quoted\""};
    g_autofree char *line = wirt_history_record_to_line(&rec);
    g_auto(WirtHistoryRecord) back = {0};

    g_assert_null(strchr(line, '\n')); /* a message can never split a line */
    g_assert_true(wirt_history_record_from_line(line, &back, NULL));
    g_assert_cmpstr(back.actor, ==, "alice");
    g_assert_cmpuint(back.uid, ==, 1001);
    g_assert_cmpstr(back.error, ==, rec.error);
    g_assert_false(back.ok);
    g_assert_null(back.node);
}

static void
test_bad_lines(void)
{
    WirtHistoryRecord rec = {0};

    g_assert_false(wirt_history_record_from_line("", &rec, NULL));
    g_assert_false(wirt_history_record_from_line("[1,2]", &rec, NULL));
    g_assert_false(wirt_history_record_from_line("{\"time\":\"x\"}", &rec, NULL));
    g_assert_false(wirt_history_record_from_line("{\"time\":1,\"action\":\"x\"", &rec, NULL));
}

static void
test_error_body(void)
{
    g_autoptr(GError) error = g_error_new(WIRT_ERROR, WIRT_ERROR_QUOTA, "quota: vms 2 of 2 used");
    g_autoptr(JsonNode) node = wirt_api_error_to_json(error);
    g_autofree char *text = wirt_api_to_string(node, FALSE);
    g_autoptr(GError) back = NULL;

    g_assert_cmpstr(text, ==,
                    "{\"error\":{\"code\":\"quota\",\"status\":409,\"message\":\"quota: vms 2 of "
                    "2 used\"}}");
    g_assert_true(wirt_api_error_from_json(node, &back));
    g_assert_error(back, WIRT_ERROR, WIRT_ERROR_QUOTA);
}

static void
test_parse_object(void)
{
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;
    g_autoptr(GError) e3 = NULL;
    g_autoptr(JsonObject) ok = wirt_api_parse_object("{\"a\":1}", 7, NULL);
    g_autofree char *big = g_malloc0(WIRT_API_BODY_MAX + 2);

    g_assert_nonnull(ok);
    g_assert_null(wirt_api_parse_object("[1]", 3, &e1));
    g_assert_error(e1, WIRT_ERROR, WIRT_ERROR_INVALID);
    g_assert_null(wirt_api_parse_object("{\"a\":", 5, &e2));
    g_assert_error(e2, WIRT_ERROR, WIRT_ERROR_INVALID);
    memset(big, ' ', WIRT_API_BODY_MAX + 1);
    g_assert_null(wirt_api_parse_object(big, WIRT_API_BODY_MAX + 1, &e3));
    g_assert_error(e3, WIRT_ERROR, WIRT_ERROR_INVALID);
}

static void
test_vm_fast_json(void)
{
    WirtVm vm = {.uuid = "6695eb01-f6a4-8304-79aa-97f2502e193f",
                 .domain = "al\"ice.web",
                 .owner = "al\"ice",
                 .name = "web",
                 .state = WIRT_VM_STATE_PAUSED,
                 .memory_mib = 512,
                 .vcpus = 2,
                 .autostart = TRUE,
                 .persistent = TRUE,
                 .pool = "default",
                 .node = "h\\v1\n\t\x01"
                         "caf\xc3\xa9",
                 .created = NULL,
                 .created_by = "alice",
                 .door = "cli"};
    g_autoptr(GString) fast = g_string_new(NULL);
    g_autoptr(JsonNode) tree = wirt_api_vm_to_json(&vm);
    g_autofree char *tree_text = json_to_string(tree, FALSE);
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autofree char *reparsed = NULL;
    g_autoptr(GString) bad = g_string_new(NULL);

    wirt_api_vm_append_json(fast, &vm);
    /* Valid JSON, and the same members and values as the json-glib tree. */
    g_assert_true(json_parser_load_from_data(parser, fast->str, -1, NULL));
    reparsed = json_to_string(json_parser_get_root(parser), FALSE);
    g_assert_cmpstr(reparsed, ==, tree_text);

    wirt_api_append_json_string(bad, "a\xff"
                                     "b");
    g_assert_cmpstr(bad->str, ==,
                    "\"a\xef\xbf\xbd"
                    "b\"");
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
    g_test_add_func("/history/roundtrip", test_roundtrip);
    g_test_add_func("/history/bad-lines", test_bad_lines);
    g_test_add_func("/api/error-body", test_error_body);
    g_test_add_func("/api/parse-object", test_parse_object);
    g_test_add_func("/api/vm-fast-json", test_vm_fast_json);
    return g_test_run();
}
