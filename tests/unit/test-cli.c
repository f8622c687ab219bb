/* test-cli.c: the wirt CLI without a server: command lines -> requests, sizes, answers ->
 * errors and exit codes, JSON -> tables (golden strings), the run loop on a fake
 * transport, and `wirt events` against a fake wirtd (a SoupServer on a unix socket). */
#include <gio/gunixsocketaddress.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/wirt-error.h"
#include "wirt-cli-args.h"
#include "wirt-cli-client.h"
#include "wirt-cli-events.h"
#include "wirt-cli-format.h"
#include "wirt-cli-request.h"
#include "wirt-cli.h"

static WirtCliArgs *
parse_line(const char *line, GError **error)
{
    g_autofree char *full = g_strconcat("wirt ", line, NULL);
    g_auto(GStrv) argv = NULL;
    int argc = 0;

    g_assert_true(g_shell_parse_argv(full, &argc, &argv, NULL));
    return wirt_cli_args_parse(argc, (const char *const *)argv, error);
}

/* ---- command line -> request ---- */

typedef struct {
    const char *label;
    const char *line;
    const char *method;
    const char *path;
    const char *body; /* NULL: no body */
} RequestCase;

static const RequestCase request_cases[] = {
    {"list", "list", "GET", "/1.0/vms", NULL},
    {"list-owner", "list --owner bob", "GET", "/1.0/vms?owner=bob", NULL},
    {"list-owner-escaped", "list --owner 'a b&c'", "GET", "/1.0/vms?owner=a%20b%26c", NULL},
    {"list-json-before", "--format json list", "GET", "/1.0/vms", NULL},
    {"list-socket-after", "list --socket=/tmp/s --format=json", "GET", "/1.0/vms", NULL},
    {"info", "info web", "GET", "/1.0/vms/web", NULL},
    {"info-owner", "info bob/web", "GET", "/1.0/vms/web?owner=bob", NULL},
    {"create", "create web", "POST", "/1.0/vms", "{\"name\":\"web\"}"},
    {"create-all", "create web --memory 2G --cpus 2 --pool lab --node hv2 --owner bob", "POST",
     "/1.0/vms",
     "{\"name\":\"web\",\"memory_mib\":2048,\"vcpus\":2,\"pool\":\"lab\",\"node\":\"hv2\","
     "\"owner\":\"bob\"}"},
    {"create-ref-owner", "create bob/web --memory=512", "POST", "/1.0/vms",
     "{\"name\":\"web\",\"memory_mib\":512,\"owner\":\"bob\"}"},
    {"create-ref-same-owner", "create bob/web --owner bob", "POST", "/1.0/vms",
     "{\"name\":\"web\",\"owner\":\"bob\"}"},
    {"start", "start web", "PUT", "/1.0/vms/web/state", "{\"action\":\"start\"}"},
    {"start-owner", "start bob/web", "PUT", "/1.0/vms/web/state?owner=bob",
     "{\"action\":\"start\"}"},
    {"start-dashdash", "start -- web", "PUT", "/1.0/vms/web/state", "{\"action\":\"start\"}"},
    {"stop", "stop web", "PUT", "/1.0/vms/web/state", "{\"action\":\"stop\"}"},
    {"stop-force", "stop web --force", "PUT", "/1.0/vms/web/state",
     "{\"action\":\"stop\",\"force\":true}"},
    {"stop-timeout", "stop --timeout 30 alice/web", "PUT", "/1.0/vms/web/state?owner=alice",
     "{\"action\":\"stop\",\"timeout\":30}"},
    {"stop-timeout-zero", "stop web --timeout=0", "PUT", "/1.0/vms/web/state",
     "{\"action\":\"stop\",\"timeout\":0}"},
    {"destroy", "destroy web", "PUT", "/1.0/vms/web/state", "{\"action\":\"destroy\"}"},
    {"reboot", "reboot web", "PUT", "/1.0/vms/web/state", "{\"action\":\"reboot\"}"},
    {"suspend", "suspend web", "PUT", "/1.0/vms/web/state", "{\"action\":\"suspend\"}"},
    {"resume", "resume web", "PUT", "/1.0/vms/web/state", "{\"action\":\"resume\"}"},
    {"delete", "delete web", "DELETE", "/1.0/vms/web", NULL},
    {"delete-owner", "delete bob/web", "DELETE", "/1.0/vms/web?owner=bob", NULL},
    {"autostart", "autostart web", "PUT", "/1.0/vms/web/autostart", "{\"enabled\":true}"},
    {"autostart-disable", "autostart bob/web --disable", "PUT", "/1.0/vms/web/autostart?owner=bob",
     "{\"enabled\":false}"},
    {"adopt", "adopt legacy-db --owner alice --name db", "POST", "/1.0/adopt",
     "{\"domain\":\"legacy-db\",\"owner\":\"alice\",\"name\":\"db\"}"},
    {"adopt-node", "adopt Legacy_DB --name db --owner alice --node hv1", "POST", "/1.0/adopt",
     "{\"domain\":\"Legacy_DB\",\"owner\":\"alice\",\"name\":\"db\",\"node\":\"hv1\"}"},
    {"pool-list", "pool list", "GET", "/1.0/pools", NULL},
    {"pool", "pool", "GET", "/1.0/pools", NULL},
    {"node-list", "node list", "GET", "/1.0/nodes", NULL},
    {"quota", "quota", "GET", "/1.0/quota", NULL},
    {"quota-user", "quota --user bob", "GET", "/1.0/quota?user=bob", NULL},
    {"history", "history", "GET", "/1.0/history", NULL},
    {"history-vm", "history web", "GET", "/1.0/history?vm=web", NULL},
    {"history-all", "history bob/web --limit 5", "GET", "/1.0/history?vm=web&owner=bob&limit=5",
     NULL},
    {"history-limit", "history --limit 1000000", "GET", "/1.0/history?limit=1000000", NULL},
    {"whoami", "whoami", "GET", "/1.0", NULL},
    {"events", "events", "GET", "/1.0/events", NULL},
    {"events-count", "events --count 2 --format json", "GET", "/1.0/events", NULL},
};

static void
test_request(gconstpointer data)
{
    const RequestCase *tc = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtCliArgs) args = parse_line(tc->line, &error);
    g_autoptr(WirtCliRequest) request = NULL;

    g_assert_no_error(error);
    g_assert_nonnull(args);
    request = wirt_cli_request_build(args);
    g_assert_nonnull(request);
    g_assert_cmpstr(request->method, ==, tc->method);
    g_assert_cmpstr(request->path, ==, tc->path);
    g_assert_cmpstr(request->body, ==, tc->body);
}

/* ---- usage errors: all exit 2 ---- */

typedef struct {
    const char *label;
    const char *line;
    const char *message; /* a substring of the error message */
} UsageCase;

static const UsageCase usage_cases[] = {
    {"empty", "", "missing command"},
    {"unknown-command", "frob", "unknown command 'frob'"},
    {"unknown-option", "list --frob", "list: unknown option '--frob'"},
    {"unknown-global", "--frob list", "unknown option '--frob'"},
    {"short-option", "list -x", "unknown option '-x'"},
    {"other-commands-option", "list --memory 512", "list: unknown option '--memory'"},
    {"command-option-first", "--owner bob list", "'--owner' belongs after the command"},
    {"missing-name", "start", "start: missing NAME"},
    {"extra-arg", "start web db", "start: unexpected argument 'db'"},
    {"list-arg", "list web", "list: unexpected argument 'web'"},
    {"bad-name", "start web_1", "start: "},
    {"bad-ref", "info /web", "info: "},
    {"empty-ref-name", "info bob/", "info: "},
    {"missing-value", "create web --memory", "option '--memory' needs a value"},
    {"empty-value", "list --owner=", "option '--owner' needs a value"},
    {"flag-value", "stop web --force=yes", "option '--force' takes no value"},
    {"bad-memory", "create web --memory lots", "'lots' is not a memory size"},
    {"zero-memory", "create web --memory 0", "out of range"},
    {"bad-cpus", "create web --cpus two", "option '--cpus': 'two' is not a whole number"},
    {"zero-cpus", "create web --cpus 0", "from 1 to 65535"},
    {"negative-cpus", "create web --cpus -1", "'-1' is not a whole number"},
    {"plus-cpus", "create web --cpus +1", "'+1' is not a whole number"},
    {"space-cpus", "create web --cpus ' 1'", "' 1' is not a whole number"},
    {"trailing-cpus", "create web --cpus '1x'", "'1x' is not a whole number"},
    {"huge-cpus", "create web --cpus 99999999999999999999999", "is not a whole number"},
    {"bad-timeout", "stop web --timeout 1.5", "option '--timeout'"},
    {"long-timeout", "stop web --timeout 86401", "from 0 to 86400"},
    {"force-and-timeout", "stop web --force --timeout 5", "exclude each other"},
    {"bad-limit", "history --limit 0", "option '--limit'"},
    {"bad-format", "list --format yaml", "'yaml' is not 'table' or 'json'"},
    {"owner-mismatch", "create bob/web --owner carol", "name different owners"},
    {"adopt-no-owner", "adopt dom --name db", "adopt: missing '--owner'"},
    {"adopt-no-name", "adopt dom --owner bob", "adopt: missing '--name'"},
    {"adopt-bad-name", "adopt dom --owner bob --name db_1", "adopt: "},
    {"adopt-no-domain", "adopt --owner bob --name db", "adopt: missing DOMAIN"},
    {"pool-bad-sub", "pool show", "pool: unknown subcommand 'show'"},
    {"help-unknown", "help frob", "help: unknown command 'frob'"},
    {"quota-name", "quota web", "quota: unexpected argument"},
    {"events-count-zero", "events --count 0", "option '--count': '0' is not a whole number from 1"},
    {"events-count-word", "events --count two", "'two' is not a whole number"},
    {"events-count-negative", "events --count -1", "'-1' is not a whole number"},
    {"events-count-huge", "events --count 1000000001", "from 1 to 1000000000"},
    {"events-count-missing", "events --count", "option '--count' needs a value"},
    {"events-count-empty", "events --count=", "option '--count' needs a value"},
    {"events-unknown-option", "events --frob", "events: unknown option '--frob'"},
    {"events-other-option", "events --limit 5", "events: unknown option '--limit'"},
    {"events-arg", "events web", "events: unexpected argument 'web'"},
    {"count-elsewhere", "list --count 1", "list: unknown option '--count'"},
    {"count-first", "--count 1 events", "'--count' belongs after the command"},
};

static void
test_usage(gconstpointer data)
{
    const UsageCase *tc = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtCliArgs) args = parse_line(tc->line, &error);

    g_assert_null(args);
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
    g_assert_nonnull(strstr(error->message, tc->message));
    g_assert_null(strchr(error->message, '\n'));
    g_assert_cmpint(wirt_cli_exit_code(error), ==, 2);
}

static void
test_parse_globals(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtCliArgs) a = parse_line("--socket /a --format json stop web --socket /b", &error);
    g_autoptr(WirtCliArgs) b = NULL;
    g_autoptr(WirtCliArgs) c = NULL;
    g_autoptr(WirtCliArgs) d = NULL;

    g_assert_no_error(error);
    g_assert_cmpint(a->command, ==, WIRT_CLI_CMD_STOP);
    g_assert_cmpstr(a->socket_path, ==, "/b"); /* the last one wins */
    g_assert_cmpint(a->format, ==, WIRT_CLI_FORMAT_JSON);
    g_assert_cmpstr(a->ref, ==, "web");
    g_assert_null(a->owner);
    g_assert_cmpint(a->timeout, ==, -1);
    g_assert_false(a->force);

    b = parse_line("--version", &error);
    g_assert_no_error(error);
    g_assert_cmpint(b->command, ==, WIRT_CLI_CMD_VERSION);

    /* --help wins over a missing NAME */
    c = parse_line("start --help", &error);
    g_assert_no_error(error);
    g_assert_cmpint(c->command, ==, WIRT_CLI_CMD_HELP);
    g_assert_cmpstr(c->command_name, ==, "start");

    d = parse_line("help", &error);
    g_assert_no_error(error);
    g_assert_cmpint(d->command, ==, WIRT_CLI_CMD_HELP);
    g_assert_null(d->command_name);
}

static void
test_parse_events(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtCliArgs) plain = parse_line("events", &error);
    g_autoptr(WirtCliArgs) counted = NULL;
    g_autoptr(WirtCliArgs) help = NULL;

    g_assert_no_error(error);
    g_assert_cmpint(plain->command, ==, WIRT_CLI_CMD_EVENTS);
    g_assert_cmpint(plain->format, ==, WIRT_CLI_FORMAT_TABLE);
    g_assert_cmpuint(plain->count, ==, 0);

    counted = parse_line("--format json events --count=1000000000", &error);
    g_assert_no_error(error);
    g_assert_cmpint(counted->command, ==, WIRT_CLI_CMD_EVENTS);
    g_assert_cmpint(counted->format, ==, WIRT_CLI_FORMAT_JSON);
    g_assert_cmpuint(counted->count, ==, 1000000000);

    help = parse_line("events --help", &error);
    g_assert_no_error(error);
    g_assert_cmpint(help->command, ==, WIRT_CLI_CMD_HELP);
    g_assert_cmpstr(help->command_name, ==, "events");
}

static void
test_help(void)
{
    static const char *const commands[] = {"list",      "info",   "create",  "start",  "stop",
                                           "destroy",   "reboot", "suspend", "resume", "delete",
                                           "autostart", "adopt",  "pool",    "node",   "quota",
                                           "history",   "whoami", "events"};
    g_autofree char *overview = wirt_cli_args_help(NULL);

    g_assert_true(g_str_has_prefix(overview, "Usage: wirt "));
    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
        g_autoptr(GError) error = NULL;
        g_autofree char *line = g_strdup_printf("help %s", commands[i]);
        g_autoptr(WirtCliArgs) args = parse_line(line, &error);
        g_autofree char *help = NULL;
        g_autofree char *prefix = g_strdup_printf("Usage: wirt %s", commands[i]);
        g_autofree char *listed = g_strdup_printf("\n  %s ", commands[i]);

        g_assert_no_error(error);
        g_assert_cmpint(args->command, ==, WIRT_CLI_CMD_HELP);
        help = wirt_cli_args_help(args->command_name);
        g_assert_true(g_str_has_prefix(help, prefix));
        g_assert_nonnull(strstr(help, "--socket PATH"));
        g_assert_nonnull(strstr(overview, listed));
    }
    {
        g_autofree char *help = wirt_cli_args_help("create");
        for (const char *const *o =
                 (const char *const[]){"--memory SIZE", "--cpus N", "--pool POOL", "--node NODE",
                                       "--owner USER", NULL};
             *o; o++)
            g_assert_nonnull(strstr(help, *o));
    }
    {
        g_autofree char *help = wirt_cli_args_help("events");
        g_assert_true(g_str_has_prefix(help, "Usage: wirt events [--count N]\n"));
        g_assert_nonnull(strstr(help, "  --count N "));
    }
}

static void
test_hint(void)
{
    static const struct {
        const char *line;
        const char *hint;
    } cases[] = {
        {"", "Try 'wirt --help'."},
        {"frob", "Try 'wirt --help'."},
        {"start", "Try 'wirt start --help'."},
        {"--socket list start --bogus", "Try 'wirt start --help'."},
        {"--format json list --bogus", "Try 'wirt list --help'."},
        {"help frob", "Try 'wirt --help'."},
        {"events --count x", "Try 'wirt events --help'."},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *full = g_strconcat("wirt ", cases[i].line, NULL);
        g_auto(GStrv) argv = NULL;
        int argc = 0;
        g_autofree char *hint = NULL;

        g_assert_true(g_shell_parse_argv(full, &argc, &argv, NULL));
        hint = wirt_cli_args_hint(argc, (const char *const *)argv);
        g_assert_cmpstr(hint, ==, cases[i].hint);
    }
}

static void
test_socket_path(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtCliArgs) plain = parse_line("list", &error);
    g_autoptr(WirtCliArgs) given = parse_line("list --socket /x.sock", &error);

    g_assert_no_error(error);
    g_unsetenv("WIRT_SOCKET");
    g_assert_cmpstr(wirt_cli_args_socket_path(plain), ==, "/run/wirt/wirtd.sock");
    g_setenv("WIRT_SOCKET", "", TRUE);
    g_assert_cmpstr(wirt_cli_args_socket_path(plain), ==, "/run/wirt/wirtd.sock");
    g_setenv("WIRT_SOCKET", "/env.sock", TRUE);
    g_assert_cmpstr(wirt_cli_args_socket_path(plain), ==, "/env.sock");
    g_assert_cmpstr(wirt_cli_args_socket_path(given), ==, "/x.sock");
    g_unsetenv("WIRT_SOCKET");
}

/* ---- sizes ---- */

static void
test_memory(void)
{
    static const struct {
        const char *text;
        guint64 mib; /* 0: refused */
    } cases[] = {
        {"512", 512},
        {"512M", 512},
        {"512MiB", 512},
        {"2G", 2048},
        {"2GiB", 2048},
        {"1T", 1048576},
        {"16TiB", 16777216},
        {"16777216", 16777216},
        {"0001", 1},
        {"", 0},
        {"0", 0},
        {"0G", 0},
        {"17T", 0},
        {"16777217", 0},
        {"99999999999999999999G", 0},
        {"-1", 0},
        {"+1", 0},
        {" 1", 0},
        {"1 ", 0},
        {"1 G", 0},
        {"2g", 0},
        {"2m", 0},
        {"1.5G", 0},
        {"G", 0},
        {"5K", 0},
        {"5MB", 0},
        {"5GG", 0},
        {"0x10", 0},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) error = NULL;
        guint64 mib = 4242;
        gboolean ok = wirt_cli_args_parse_memory(cases[i].text, &mib, &error);

        g_test_message("memory '%s'", cases[i].text);
        if (cases[i].mib) {
            g_assert_no_error(error);
            g_assert_true(ok);
            g_assert_cmpuint(mib, ==, cases[i].mib);
        } else {
            g_assert_false(ok);
            g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
            g_assert_cmpuint(mib, ==, 4242); /* never clobbered */
        }
    }
}

static void
test_format_memory(void)
{
    static const struct {
        guint64 mib;
        const char *text;
    } cases[] = {
        {0, "0M"},    {512, "512M"},   {1024, "1G"},       {1536, "1536M"},
        {2048, "2G"}, {1048576, "1T"}, {1049600, "1025G"},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *text = wirt_cli_format_memory(cases[i].mib);
        guint64 back = 0;

        g_assert_cmpstr(text, ==, cases[i].text);
        if (cases[i].mib) { /* what we print, --memory takes */
            g_assert_true(wirt_cli_args_parse_memory(text, &back, NULL));
            g_assert_cmpuint(back, ==, cases[i].mib);
        }
    }
}

/* ---- output ---- */

static JsonNode *
json(const char *text)
{
    g_autoptr(JsonParser) parser = json_parser_new();

    g_assert_true(json_parser_load_from_data(parser, text, -1, NULL));
    return json_node_copy(json_parser_get_root(parser));
}

static const char sample_vms[] =
    "[{\"name\":\"web\",\"owner\":\"alice\",\"domain\":\"alice.web\",\"state\":\"running\","
    "\"memory_mib\":512,\"vcpus\":1,\"pool\":\"default\",\"node\":\"hv1\"},"
    " {\"name\":\"database\",\"owner\":\"alice\",\"domain\":\"alice.database\","
    "\"state\":\"shutoff\",\"memory_mib\":2048,\"vcpus\":12,\"pool\":\"default\","
    "\"node\":\"hv-long-name\"},"
    " {\"name\":\"legacy\",\"owner\":null,\"domain\":\"legacy\",\"state\":\"paused\","
    "\"memory_mib\":1536,\"vcpus\":2,\"pool\":\"lab\",\"node\":null}]";

static void
test_format_vms(void)
{
    g_autoptr(JsonNode) vms = json(sample_vms);
    g_autoptr(JsonNode) own = json("[{\"name\":\"web\",\"owner\":\"alice\",\"state\":\"running\","
                                   "\"memory_mib\":512,\"vcpus\":1,\"pool\":\"default\","
                                   "\"node\":\"hv1\"}]");
    g_autoptr(JsonNode) empty = json("[]");
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GError) error = NULL;

    g_assert_true(wirt_cli_format_vms(vms, "root", TRUE, out, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(out->str, ==,
                    "NAME            STATE    MEMORY  VCPUS  POOL     NODE\n"
                    "alice/web       running  512M    1      default  hv1\n"
                    "alice/database  shutoff  2G      12     default  hv-long-name\n"
                    "-/legacy        paused   1536M   2      lab      -\n");

    g_string_truncate(out, 0);
    g_assert_true(wirt_cli_format_vms(own, "alice", FALSE, out, &error));
    g_assert_cmpstr(out->str, ==,
                    "NAME  STATE    MEMORY  VCPUS  POOL     NODE\n"
                    "web   running  512M    1      default  hv1\n");

    /* an admin's own VMs still carry the owner */
    g_string_truncate(out, 0);
    g_assert_true(wirt_cli_format_vms(own, "alice", TRUE, out, &error));
    g_assert_nonnull(strstr(out->str, "\nalice/web  running"));

    /* a user who sees another's VM (open mode) gets owners too */
    g_string_truncate(out, 0);
    g_assert_true(wirt_cli_format_vms(own, "bob", FALSE, out, &error));
    g_assert_nonnull(strstr(out->str, "\nalice/web "));

    /* no VMs: the header alone */
    g_string_truncate(out, 0);
    g_assert_true(wirt_cli_format_vms(empty, "alice", FALSE, out, &error));
    g_assert_cmpstr(out->str, ==, "NAME  STATE  MEMORY  VCPUS  POOL  NODE\n");
}

static void
test_format_bad_shape(void)
{
    g_autoptr(JsonNode) object = json("{\"name\":\"web\"}");
    g_autoptr(JsonNode) mixed = json("[{\"name\":\"web\"}, 3]");
    g_autoptr(JsonNode) array = json("[]");
    g_autoptr(GString) out = g_string_new(NULL);

    for (guint i = 0; i < 2; i++) {
        g_autoptr(GError) error = NULL;
        g_assert_false(wirt_cli_format_vms(i ? mixed : object, "a", FALSE, out, &error));
        g_assert_error(error, WIRT_ERROR, WIRT_ERROR_FAILED);
    }
    {
        g_autoptr(GError) error = NULL;
        g_assert_false(wirt_cli_format_object(array, out, &error));
        g_assert_error(error, WIRT_ERROR, WIRT_ERROR_FAILED);
    }
    g_assert_cmpuint(out->len, ==, 0);
}

static void
test_format_object(void)
{
    g_autoptr(JsonNode) vm =
        json("{\"name\":\"web\",\"owner\":\"alice\",\"memory_mib\":512,\"autostart\":false,"
             "\"created\":null,\"usage\":{\"vms\":2,\"memory_mib\":1024},\"nodes\":[\"a\",\"b\"]}");
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GError) error = NULL;

    g_assert_true(wirt_cli_format_object(vm, out, &error));
    g_assert_cmpstr(out->str, ==,
                    "name:             web\n"
                    "owner:            alice\n"
                    "memory_mib:       512\n"
                    "autostart:        no\n"
                    "created:          -\n"
                    "usage.vms:        2\n"
                    "usage.memory_mib: 1024\n"
                    "nodes:            a,b\n");
}

static void
test_format_hosts(void)
{
    g_autoptr(JsonNode) pools =
        json("[{\"name\":\"default\",\"nodes\":[\"hv1\",\"hv2\"],\"up\":1,\"down\":1,"
             "\"usage\":{\"vms\":2,\"vcpus\":3,\"memory_mib\":1024}}]");
    g_autoptr(JsonNode) admin_pools =
        json("[{\"name\":\"default\",\"nodes\":[],\"up\":0,\"down\":0,"
             "\"usage\":{\"vms\":0,\"vcpus\":0,\"memory_mib\":0},\"uris\":[\"test:///default\"]}]");
    g_autoptr(JsonNode) nodes = json("[{\"name\":\"hv1\",\"pool\":\"default\",\"up\":true,"
                                     "\"usage\":{\"vms\":2,\"vcpus\":2,\"memory_mib\":1024}}]");
    g_autoptr(JsonNode) admin_nodes =
        json("[{\"name\":\"hv1\",\"pool\":\"default\",\"up\":false,\"vms\":7,"
             "\"usage\":{\"vms\":0,\"vcpus\":0,\"memory_mib\":0},\"uri\":\"qemu:///system\","
             "\"memory_mib\":24576,\"error\":\"cannot connect:\\nrefused\"}]");
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GError) error = NULL;

    g_assert_true(wirt_cli_format_pools(pools, out, &error));
    g_assert_cmpstr(out->str, ==,
                    "NAME     NODES    UP  DOWN  VMS  VCPUS  MEMORY\n"
                    "default  hv1,hv2  1   1     2    3      1G\n");
    g_string_truncate(out, 0);
    g_assert_true(wirt_cli_format_pools(admin_pools, out, &error));
    g_assert_cmpstr(out->str, ==,
                    "NAME     NODES  UP  DOWN  VMS  VCPUS  MEMORY  URIS\n"
                    "default  -      0   0     0    0      0M      test:///default\n");
    g_string_truncate(out, 0);
    g_assert_true(wirt_cli_format_nodes(nodes, out, &error));
    g_assert_cmpstr(out->str, ==,
                    "NAME  POOL     STATE  VMS  VCPUS  MEMORY\n"
                    "hv1   default  up     2    2      1G\n");
    g_string_truncate(out, 0);
    g_assert_true(wirt_cli_format_nodes(admin_nodes, out, &error));
    g_assert_cmpstr(out->str, ==,
                    "NAME  POOL     STATE  VMS  VCPUS  MEMORY  ALL-VMS  HOST-MEMORY  URI"
                    "             ERROR\n"
                    "hv1   default  down   0    0      0M      7        24G          qemu:///system"
                    "  cannot connect: refused\n");
}

static void
test_format_quota(void)
{
    g_autoptr(JsonNode) quota =
        json("{\"user\":\"alice\",\"quota\":{\"vms\":10,\"vcpus\":-1,\"memory_mib\":16384},"
             "\"usage\":{\"vms\":2,\"vcpus\":2,\"memory_mib\":1536}}");
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GError) error = NULL;

    g_assert_true(wirt_cli_format_quota(quota, out, &error));
    g_assert_cmpstr(out->str, ==,
                    "RESOURCE  USED   LIMIT\n"
                    "vms       2      10\n"
                    "vcpus     2      unlimited\n"
                    "memory    1536M  16G\n");
}

static void
test_format_history(void)
{
    g_autoptr(JsonNode) records =
        json("[{\"time\":\"2026-11-23T23:10:01.123Z\",\"actor\":\"alice\",\"uid\":1001,"
             "\"door\":\"cli\",\"owner\":\"alice\",\"vm\":\"web\",\"node\":\"hv1\","
             "\"action\":\"start\",\"ok\":true},"
             " {\"time\":\"2026-11-24T01:00:00+01:00\",\"actor\":\"alice\",\"door\":\"files\","
             "\"owner\":\"alice\",\"vm\":\"web\",\"action\":\"delete\",\"ok\":false,"
             "\"error\":\"vm web: is running\"},"
             " {\"time\":\"garbage\",\"actor\":\"root\",\"door\":\"cli\",\"owner\":\"alice\","
             "\"vm\":\"web\",\"action\":\"stop\",\"ok\":false}]");
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GError) error = NULL;

    g_assert_true(wirt_cli_format_history(records, "alice", FALSE, out, &error));
    g_assert_cmpstr(out->str, ==,
                    "TIME                  ACTOR  DOOR   VM   ACTION  RESULT\n"
                    "2026-11-23T23:10:01Z  alice  cli    web  start   ok\n"
                    "2026-11-24T00:00:00Z  alice  files  web  delete  failed: vm web: is running\n"
                    "garbage               root   cli    web  stop    failed\n");
}

static const char sample_event[] =
    "{\"type\": \"vm\", \"change\": \"updated\", \"time\": \"2026-11-23T23:40:01.123456Z\",\n"
    " \"vm\": {\"name\": \"web\", \"owner\": \"alice\", \"domain\": \"alice.web\",\n"
    " \"state\": \"running\", \"memory_mib\": 512, \"vcpus\": 1, \"pool\": \"default\","
    " \"node\": \"hv1\"}}";

/* sample_event as wirt events --format json prints it: compact, one line */
static const char sample_event_line[] =
    "{\"type\":\"vm\",\"change\":\"updated\",\"time\":\"2026-11-23T23:40:01.123456Z\","
    "\"vm\":{\"name\":\"web\",\"owner\":\"alice\",\"domain\":\"alice.web\","
    "\"state\":\"running\",\"memory_mib\":512,\"vcpus\":1,\"pool\":\"default\","
    "\"node\":\"hv1\"}}\n";

static void
test_format_event(void)
{
    static const struct {
        const char *event;
        const char *user;
        gboolean admin;
        const char *line;
    } cases[] = {
        {sample_event, "alice", FALSE, "2026-11-23T23:40:01Z  web  running\n"},
        {sample_event, "root", TRUE, "2026-11-23T23:40:01Z  alice/web  running\n"},
        {sample_event, "alice", TRUE, "2026-11-23T23:40:01Z  alice/web  running\n"},
        {sample_event, "bob", FALSE, "2026-11-23T23:40:01Z  alice/web  running\n"}, /* open mode */
        {sample_event, NULL, FALSE, "2026-11-23T23:40:01Z  alice/web  running\n"},
        {"{\"type\":\"vm\",\"change\":\"removed\",\"time\":\"2026-11-24T01:00:00+01:00\","
         "\"vm\":{\"name\":\"web\",\"owner\":\"alice\",\"state\":\"running\"}}",
         "alice", FALSE, "2026-11-24T00:00:00Z  web  removed\n"},
        {"{\"type\":\"vm\",\"change\":\"updated\",\"time\":\"2026-11-23T23:40:01Z\","
         "\"vm\":{\"name\":\"legacy\",\"owner\":null,\"state\":\"paused\"}}",
         "root", TRUE, "2026-11-23T23:40:01Z  -/legacy  paused\n"},
        {"{\"type\":\"vm\",\"change\":\"updated\",\"time\":\"yesterday\",\"vm\":{}}", "alice",
         FALSE, "yesterday  -  -\n"},
        {"{\"type\":\"vm\",\"change\":\"updated\",\"vm\":{\"name\":\"w\\u001b[2Je\\nb\","
         "\"owner\":\"alice\",\"state\":\"run\\tning\\u009b\"}}",
         "alice", FALSE, "-  w?[2Je b  run ning?\n"},
    };
    g_autoptr(JsonNode) no_vm = json("{\"type\":\"vm\",\"change\":\"updated\",\"vm\":[]}");
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GError) error = NULL;

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(JsonNode) event = json(cases[i].event);

        g_test_message("event %" G_GSIZE_FORMAT, i);
        g_string_truncate(out, 0);
        g_assert_true(wirt_cli_format_event(event, cases[i].user, cases[i].admin, out, &error));
        g_assert_no_error(error);
        g_assert_cmpstr(out->str, ==, cases[i].line);
    }
    g_string_truncate(out, 0);
    g_assert_false(wirt_cli_format_event(no_vm, "alice", FALSE, out, &error));
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_FAILED);
    g_assert_cmpuint(out->len, ==, 0);
}

/* Feeds @messages to one view; returns what it printed. */
static char *
take_messages(WirtCliEventsView *view, const char *const *messages)
{
    g_autoptr(GString) out = g_string_new(NULL);

    for (const char *const *m = messages; *m; m++) {
        g_autoptr(GError) error = NULL;
        g_assert_true(wirt_cli_events_take_message(view, *m, strlen(*m), out, &error));
        g_assert_no_error(error);
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}

static void
test_events_messages(void)
{
    static const char hello_alice[] = "{\"type\":\"hello\",\"user\":\"alice\",\"admin\":false}";
    static const char hello_admin[] = "{\"type\":\"hello\",\"user\":\"root\",\"admin\":true}";
    static const char ping[] = "{\"type\":\"later\",\"n\":1}";
    const char *const stream_alice[] = {hello_alice, sample_event, ping, NULL};
    const char *const stream_admin[] = {hello_admin, sample_event, NULL};
    g_auto(WirtCliEventsView) table = {.format = WIRT_CLI_FORMAT_TABLE};
    g_auto(WirtCliEventsView) admin = {.format = WIRT_CLI_FORMAT_TABLE, .user = g_strdup("x")};
    g_auto(WirtCliEventsView) json_view = {.format = WIRT_CLI_FORMAT_JSON};
    g_autofree char *table_out = take_messages(&table, stream_alice);
    g_autofree char *admin_out = take_messages(&admin, stream_admin);
    g_autofree char *json_out = take_messages(&json_view, stream_alice);
    g_autofree char *json_expected =
        g_strconcat(sample_event_line, "{\"type\":\"later\",\"n\":1}\n", NULL);

    /* the hello says who we are: alice's own VM is "web" */
    g_assert_cmpstr(table_out, ==, "2026-11-23T23:40:01Z  web  running\n");
    g_assert_cmpstr(table.user, ==, "alice");
    g_assert_cmpuint(table.vm_events, ==, 1);
    g_assert_cmpstr(admin_out, ==, "2026-11-23T23:40:01Z  alice/web  running\n");
    g_assert_true(admin.admin);
    g_assert_cmpstr(admin.user, ==, "root");
    /* JSON: every message but the hello, one compact line each; only VM events count */
    g_assert_cmpstr(json_out, ==, json_expected);
    g_assert_cmpuint(json_view.vm_events, ==, 1);
}

static void
test_events_messages_json_escapes(void)
{
    static const char event[] = "{\"type\":\"vm\",\"change\":\"updated\",\"vm\":"
                                "{\"name\":\"a\\nb\\u001b\",\"state\":\"running\"}}";
    g_auto(WirtCliEventsView) view = {.format = WIRT_CLI_FORMAT_JSON};
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GError) error = NULL;

    g_assert_true(wirt_cli_events_take_message(&view, event, strlen(event), out, &error));
    /* one line whatever the strings hold: control characters stay escaped */
    g_assert_cmpstr(out->str, ==,
                    "{\"type\":\"vm\",\"change\":\"updated\",\"vm\":{\"name\":\"a\\nb\\u001b\","
                    "\"state\":\"running\"}}\n");
}

static void
test_events_messages_bad(void)
{
    static const struct {
        const char *message;
        const char *error;
    } cases[] = {
        {"{", "wirtd sent a malformed event"},
        {"", "unexpected event (not an object)"},
        {"[1]", "unexpected event (not an object)"},
        {"{\"type\":\"vm\",\"change\":\"updated\"}", "a VM event without a VM"},
        {"{\"type\":\"vm\",\"vm\":\"web\"}", "a VM event without a VM"},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        for (guint f = 0; f < 2; f++) {
            g_auto(WirtCliEventsView)
                view = {.format = f ? WIRT_CLI_FORMAT_JSON : WIRT_CLI_FORMAT_TABLE};
            g_autoptr(GString) out = g_string_new(NULL);
            g_autoptr(GError) error = NULL;

            g_test_message("message '%s', format %u", cases[i].message, f);
            g_assert_false(wirt_cli_events_take_message(&view, cases[i].message,
                                                        strlen(cases[i].message), out, &error));
            g_assert_error(error, WIRT_ERROR, WIRT_ERROR_FAILED);
            g_assert_nonnull(strstr(error->message, cases[i].error));
            g_assert_cmpuint(out->len, ==, 0);
            g_assert_cmpuint(view.vm_events, ==, 0);
        }
    }
    {
        /* a hello of the wrong shape is not trusted, and asserts nothing in json-glib */
        static const char odd_hello[] = "{\"type\":\"hello\",\"user\":5,\"admin\":{}}";
        g_auto(WirtCliEventsView)
            view = {.format = WIRT_CLI_FORMAT_TABLE, .user = g_strdup("alice")};
        g_autoptr(GString) out = g_string_new(NULL);

        g_assert_true(wirt_cli_events_take_message(&view, odd_hello, strlen(odd_hello), out, NULL));
        g_assert_cmpstr(view.user, ==, "alice");
        g_assert_false(view.admin);
    }
}

static void
test_sanitize(void)
{
    static const struct {
        const char *in;
        const char *out;
    } cases[] = {
        {"plain", "plain"},
        {"two\nlines", "two lines"},
        {"tab\there", "tab here"},
        {"\x1b[31mred", "?[31mred"},
        {"del\x7f", "del?"},
        {"c1\xc2\x9b", "c1?"},
        {"caf\xc3\xa9", "caf\xc3\xa9"},
        {"bad\xff", "bad\xef\xbf\xbd"},
    };
    g_autofree char *null_text = wirt_cli_format_sanitize(NULL);

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *out = wirt_cli_format_sanitize(cases[i].in);
        g_assert_cmpstr(out, ==, cases[i].out);
    }
    g_assert_cmpstr(null_text, ==, "-");
}

/* ---- answers -> errors ---- */

static void
test_parse_answer(void)
{
    static const struct {
        guint status;
        const char *body;
        WirtError code; /* unused when ok */
        gboolean ok;
        const char *message;
        int exit_code;
    } cases[] = {
        {200, "[]", 0, TRUE, NULL, 0},
        {201, "{\"name\":\"web\"}", 0, TRUE, NULL, 0},
        {204, "", 0, TRUE, NULL, 0},
        {200, "[1,", WIRT_ERROR_FAILED, FALSE, "malformed JSON", 1},
        {404,
         "{\"error\":{\"code\":\"not-found\",\"status\":404,\"message\":\"vm web: not found\"}}",
         WIRT_ERROR_NOT_FOUND, FALSE, "vm web: not found", 3},
        {409,
         "{\"error\":{\"code\":\"quota\",\"status\":409,\"message\":\"quota: vms 2 of 2 used\"}}",
         WIRT_ERROR_QUOTA, FALSE, "quota: vms 2 of 2 used", 5},
        {409,
         "{\"error\":{\"code\":\"conflict\",\"status\":409,\"message\":\"vm web: is running\"}}",
         WIRT_ERROR_CONFLICT, FALSE, "vm web: is running", 6},
        {403, "{\"error\":{\"code\":\"denied\",\"status\":403,\"message\":\"read-only\"}}",
         WIRT_ERROR_DENIED, FALSE, "read-only", 4},
        {401, "{\"error\":{\"code\":\"unauthorized\",\"status\":401,\"message\":\"who?\"}}",
         WIRT_ERROR_UNAUTHORIZED, FALSE, "who?", 4},
        {400, "{\"error\":{\"code\":\"invalid\",\"status\":400,\"message\":\"bad name\"}}",
         WIRT_ERROR_INVALID, FALSE, "bad name", 2},
        {503, "{\"error\":{\"code\":\"host-down\",\"status\":503,\"message\":\"hv1 is down\"}}",
         WIRT_ERROR_HOST_DOWN, FALSE, "hv1 is down", 7},
        {500, "{\"error\":{\"code\":\"failed\",\"status\":500,\"message\":\"libvirt\"}}",
         WIRT_ERROR_FAILED, FALSE, "libvirt", 1},
        /* no wirt error body: the status decides */
        {404, "", WIRT_ERROR_NOT_FOUND, FALSE, "HTTP 404", 3},
        {503, "<html>busy</html>", WIRT_ERROR_HOST_DOWN, FALSE, "HTTP 503", 7},
        {502, "{\"message\":\"x\"}", WIRT_ERROR_FAILED, FALSE, "HTTP 502", 1},
        {405, "", WIRT_ERROR_INVALID, FALSE, "HTTP 405", 2},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(JsonNode) node = wirt_cli_client_parse_answer(cases[i].status, cases[i].body,
                                                                strlen(cases[i].body), &error);

        g_test_message("answer %u %s", cases[i].status, cases[i].body);
        if (cases[i].ok) {
            g_assert_no_error(error);
            g_assert_nonnull(node);
            continue;
        }
        g_assert_null(node);
        g_assert_error(error, WIRT_ERROR, (gint)cases[i].code);
        g_assert_nonnull(strstr(error->message, cases[i].message));
        g_assert_cmpint(wirt_cli_exit_code(error), ==, cases[i].exit_code);
    }
}

/* ---- the run loop on a fake transport ---- */

typedef struct {
    GPtrArray *seen;     /* "METHOD PATH BODY" of each request */
    GHashTable *answers; /* path -> JSON text; a missing path answers 404 */
} FakeServer;

static const char not_found[] =
    "{\"error\":{\"code\":\"not-found\",\"message\":\"vm x: not found\"}}";

static JsonNode *
fake_send(const WirtCliRequest *request, gpointer user_data, GError **error)
{
    FakeServer *fake = user_data;
    const char *answer = g_hash_table_lookup(fake->answers, request->path);

    g_ptr_array_add(fake->seen, g_strdup_printf("%s %s %s", request->method, request->path,
                                                request->body ? request->body : "-"));
    if (!answer)
        return wirt_cli_client_parse_answer(404, not_found, strlen(not_found), error);
    return wirt_cli_client_parse_answer(200, answer, strlen(answer), error);
}

typedef struct {
    FakeServer fake;
} Fixture;

static void
fixture_setup(Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
    fx->fake.seen = g_ptr_array_new_with_free_func(g_free);
    fx->fake.answers = g_hash_table_new(g_str_hash, g_str_equal);
    g_hash_table_insert(fx->fake.answers, "/1.0", "{\"user\":\"root\",\"uid\":0,\"admin\":true}");
    g_hash_table_insert(fx->fake.answers, "/1.0/vms", (gpointer)sample_vms);
    g_hash_table_insert(fx->fake.answers, "/1.0/vms/web/state?owner=bob",
                        "{\"name\":\"web\",\"owner\":\"bob\",\"state\":\"running\"}");
}

static void
fixture_teardown(Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
    g_ptr_array_unref(fx->fake.seen);
    g_hash_table_unref(fx->fake.answers);
}

static gboolean
run_line(Fixture *fx, const char *line, GString *out, GError **error)
{
    g_autoptr(WirtCliArgs) args = parse_line(line, NULL);

    g_assert_nonnull(args);
    return wirt_cli_run(args, fake_send, &fx->fake, out, error);
}

static void
test_run_list(Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GError) error = NULL;

    g_assert_true(run_line(fx, "list", out, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(fx->fake.seen->len, ==, 2);
    g_assert_cmpstr(g_ptr_array_index(fx->fake.seen, 0), ==, "GET /1.0 -");
    g_assert_cmpstr(g_ptr_array_index(fx->fake.seen, 1), ==, "GET /1.0/vms -");
    g_assert_true(g_str_has_prefix(out->str, "NAME            STATE"));
    g_assert_nonnull(strstr(out->str, "\n-/legacy "));
}

static void
test_run_list_json(Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonParser) parser = json_parser_new();

    g_assert_true(run_line(fx, "list --format json", out, &error));
    g_assert_cmpuint(fx->fake.seen->len, ==, 1); /* no GET /1.0 for JSON */
    g_assert_true(g_str_has_suffix(out->str, "]\n"));
    g_assert_false(g_str_has_suffix(out->str, "\n\n"));
    g_assert_true(json_parser_load_from_data(parser, out->str, -1, NULL));
    g_assert_cmpuint(json_array_get_length(json_node_get_array(json_parser_get_root(parser))), ==,
                     3);
}

static void
test_run_action(Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GError) error = NULL;

    g_assert_true(run_line(fx, "start bob/web", out, &error));
    g_assert_cmpuint(fx->fake.seen->len, ==, 1);
    g_assert_cmpstr(g_ptr_array_index(fx->fake.seen, 0), ==,
                    "PUT /1.0/vms/web/state?owner=bob {\"action\":\"start\"}");
    g_assert_cmpstr(out->str, ==, "bob/web: running\n");
}

static void
test_run_error(Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GError) error = NULL;

    g_assert_false(run_line(fx, "stop web", out, &error));
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND);
    g_assert_cmpint(wirt_cli_exit_code(error), ==, 3);
    g_assert_cmpuint(out->len, ==, 0);
}

static void
test_run_offline(Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GError) error = NULL;

    g_assert_true(run_line(fx, "--version", out, &error));
    g_assert_true(g_str_has_prefix(out->str, "wirt "));
    g_string_truncate(out, 0);
    g_assert_true(run_line(fx, "stop --help", out, &error));
    g_assert_true(g_str_has_prefix(out->str, "Usage: wirt stop NAME"));
    g_assert_cmpuint(fx->fake.seen->len, ==, 0);
}

/* ---- the whole command, in a child: stderr and exit status ---- */

static void
test_main_usage(void)
{
    if (g_test_subprocess()) {
        const char *const argv[] = {"wirt", "start", "--frob", NULL};
        g_assert_cmpint(wirt_cli_main(3, argv), ==, 2);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stdout("");
    g_test_trap_assert_stderr("wirt: start: unknown option '--frob'\nTry 'wirt start --help'.\n");
}

static void
test_main_no_socket(void)
{
    if (g_test_subprocess()) {
        g_autofree char *socket = g_build_filename(g_get_tmp_dir(), "no-such.sock", NULL);
        const char *const argv[] = {"wirt", "--socket", socket, "list", NULL};
        g_assert_cmpint(wirt_cli_main(4, argv), ==, 7);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stdout("");
    g_test_trap_assert_stderr("wirt: cannot connect to *no-such.sock: no such socket (is wirtd "
                              "running?)\n");
}

/* ---- wirt events against a fake wirtd ---- */

typedef struct {
    const char *label;
    const char *line;         /* the wirt command line */
    guint refuse;             /* answer the upgrade with this status instead */
    const char *messages[4];  /* sent after the upgrade */
    gushort close_code;       /* then closed with this code; 0: left open */
    const char *close_reason; /* NULL: none */
    gboolean interrupt;       /* raise SIGINT once the messages are out */
    WirtError error;          /* unused when ok */
    gboolean ok;
    const char *message; /* the error message, exactly */
    const char *out;     /* what wirt printed */
} StreamCase;

static const char hello[] = "{\"type\":\"hello\",\"user\":\"alice\",\"admin\":false}";

/* clang-format off: one case per line or two, as a table */
static const StreamCase stream_cases[] = {
    {"closed-normally",
     "events",
     0,
     {hello, sample_event, NULL},
     1000,
     NULL,
     FALSE,
     0,
     TRUE,
     NULL,
     "2026-11-23T23:40:01Z  web  running\n"},
    {"json",
     "events --format json",
     0,
     {hello, sample_event, sample_event, NULL},
     1000,
     NULL,
     FALSE,
     0,
     TRUE,
     NULL,
     NULL /* sample_event_line twice */},
    {"count",
     "events --count 1",
     0,
     {hello, sample_event, sample_event, NULL},
     0,
     NULL,
     FALSE,
     0,
     TRUE,
     NULL,
     "2026-11-23T23:40:01Z  web  running\n"},
    /* SIGINT at once: whether or not wirt has read the hello, or even finished the upgrade,
     * it ends cleanly with nothing printed */
    {"interrupted", "events", 0, {hello, NULL}, 0, NULL, TRUE, 0, TRUE, NULL, ""},
    {"policy",
     "events",
     0,
     {hello, sample_event, NULL},
     1008,
     "client too slow: reconnect",
     FALSE,
     WIRT_ERROR_HOST_DOWN,
     FALSE,
     "event stream closed by wirtd: 1008 client too slow: reconnect",
     "2026-11-23T23:40:01Z  web  running\n"},
    {"going-away",
     "events",
     0,
     {hello, NULL},
     1001,
     NULL,
     FALSE,
     WIRT_ERROR_HOST_DOWN,
     FALSE,
     "event stream closed by wirtd: 1001 going away (wirtd is stopping?)",
     ""},
    {"malformed",
     "events",
     0,
     {hello, "{\"type\":\"vm\"", sample_event, NULL},
     0,
     NULL,
     FALSE,
     WIRT_ERROR_FAILED,
     FALSE,
     NULL /* json-glib's words */,
     ""},
    {"too-many",
     "events",
     409,
     {NULL},
     0,
     NULL,
     FALSE,
     WIRT_ERROR_CONFLICT,
     FALSE,
     "cannot open the event stream: wirtd answered HTTP 409 Conflict (too many event streams "
     "open?)",
     ""},
    {"denied",
     "events",
     403,
     {NULL},
     0,
     NULL,
     FALSE,
     WIRT_ERROR_DENIED,
     FALSE,
     "cannot open the event stream: wirtd answered HTTP 403 Forbidden",
     ""},
};
/* clang-format on */

typedef struct {
    const StreamCase *tc;
    SoupServer *server;
    char *dir; /* a fresh one per test, for the socket */
    char *socket_path;
} StreamFixture;

static void
on_fake_events(SoupServer *server G_GNUC_UNUSED, SoupServerMessage *msg G_GNUC_UNUSED,
               const char *path G_GNUC_UNUSED, SoupWebsocketConnection *ws, gpointer user_data)
{
    const StreamCase *tc = user_data;

    for (const char *const *m = tc->messages; *m; m++)
        soup_websocket_connection_send_text(ws, *m);
    if (tc->close_code)
        soup_websocket_connection_close(ws, tc->close_code, tc->close_reason);
    else
        g_object_set_data_full(G_OBJECT(server), "ws", g_object_ref(ws), g_object_unref);
    if (tc->interrupt)
        kill(getpid(), SIGINT); /* handled by wirt's loop, which is running */
}

static void
on_fake_refuse(SoupServer *server G_GNUC_UNUSED, SoupServerMessage *msg,
               const char *path G_GNUC_UNUSED, GHashTable *query G_GNUC_UNUSED, gpointer user_data)
{
    const StreamCase *tc = user_data;
    static const char body[] = "{\"error\":{\"code\":\"conflict\",\"message\":\"17 streams\"}}";

    soup_server_message_set_status(msg, tc->refuse, NULL);
    soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_STATIC, body,
                                     strlen(body));
}

static void
stream_setup(StreamFixture *fx, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GSocket) socket =
        g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, &error);
    g_autoptr(GSocketAddress) address = NULL;

    fx->tc = data;
    fx->dir = g_dir_make_tmp("wirt-cli-XXXXXX", &error);
    g_assert_no_error(error);
    fx->socket_path = g_build_filename(fx->dir, "wirtd.sock", NULL);
    address = g_unix_socket_address_new(fx->socket_path);
    g_assert_no_error(error);
    g_assert_true(g_socket_bind(socket, address, TRUE, &error));
    g_assert_true(g_socket_listen(socket, &error));
    fx->server = soup_server_new(NULL, NULL);
    if (fx->tc->refuse)
        soup_server_add_handler(fx->server, "/1.0/events", on_fake_refuse, (gpointer)fx->tc, NULL);
    else
        soup_server_add_websocket_handler(fx->server, "/1.0/events", NULL, NULL, on_fake_events,
                                          (gpointer)fx->tc, NULL);
    g_assert_true(soup_server_listen_socket(fx->server, socket, 0, &error));
    g_assert_no_error(error);
}

static void
stream_teardown(StreamFixture *fx, gconstpointer data G_GNUC_UNUSED)
{
    soup_server_disconnect(fx->server);
    g_clear_object(&fx->server);
    g_unlink(fx->socket_path);
    g_rmdir(fx->dir);
    g_free(fx->socket_path);
    g_free(fx->dir);
}

static gboolean
on_stuck(gpointer user_data G_GNUC_UNUSED)
{
    g_error("wirt events did not end");
    return G_SOURCE_REMOVE;
}

static void
test_events_stream(StreamFixture *fx, gconstpointer data G_GNUC_UNUSED)
{
    const StreamCase *tc = fx->tc;
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtCliArgs) args = parse_line(tc->line, &error);
    g_autoptr(WirtCliClient) client = wirt_cli_client_new(fx->socket_path);
    g_autofree char *expected = NULL;
    char *buffer = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&buffer, &size);
    guint watchdog = g_timeout_add_seconds(20, on_stuck, NULL);
    gboolean ok = FALSE;

    g_assert_no_error(error);
    g_assert_nonnull(out);
    ok = wirt_cli_events_run(client, args, "alice", FALSE, out, &error);
    g_clear_handle_id(&watchdog, g_source_remove);
    g_assert_cmpint(fclose(out), ==, 0);

    expected =
        tc->out ? g_strdup(tc->out) : g_strconcat(sample_event_line, sample_event_line, NULL);
    g_assert_cmpstr(buffer, ==, expected);
    free(buffer);
    if (tc->ok) {
        g_assert_no_error(error);
        g_assert_true(ok);
        return;
    }
    g_assert_false(ok);
    g_assert_error(error, WIRT_ERROR, (gint)tc->error);
    if (tc->message)
        g_assert_cmpstr(error->message, ==, tc->message);
    g_assert_cmpint(wirt_cli_exit_code(error), ==, wirt_error_exit_code(tc->error));
}

static void
test_main_events_no_socket(void)
{
    if (g_test_subprocess()) {
        g_autofree char *socket = g_build_filename(g_get_tmp_dir(), "no-such.sock", NULL);
        const char *const argv[] = {"wirt", "--socket", socket, "events", "--count", "1", NULL};
        g_assert_cmpint(wirt_cli_main(6, argv), ==, 7);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stdout("");
    g_test_trap_assert_stderr("wirt: cannot connect to *no-such.sock: no such socket (is wirtd "
                              "running?)\n");
}

static char *
case_path(const char *group, const char *label)
{
    return g_strdup_printf("/cli/%s/%s", group, label);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

    for (gsize i = 0; i < G_N_ELEMENTS(request_cases); i++) {
        g_autofree char *path = case_path("request", request_cases[i].label);
        g_test_add_data_func(path, &request_cases[i], test_request);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(usage_cases); i++) {
        g_autofree char *path = case_path("usage", usage_cases[i].label);
        g_test_add_data_func(path, &usage_cases[i], test_usage);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(stream_cases); i++) {
        g_autofree char *path = case_path("events/stream", stream_cases[i].label);
        g_test_add(path, StreamFixture, &stream_cases[i], stream_setup, test_events_stream,
                   stream_teardown);
    }
    g_test_add_func("/cli/args/globals", test_parse_globals);
    g_test_add_func("/cli/args/events", test_parse_events);
    g_test_add_func("/cli/args/help", test_help);
    g_test_add_func("/cli/args/hint", test_hint);
    g_test_add_func("/cli/args/socket-path", test_socket_path);
    g_test_add_func("/cli/size/parse", test_memory);
    g_test_add_func("/cli/size/format", test_format_memory);
    g_test_add_func("/cli/format/vms", test_format_vms);
    g_test_add_func("/cli/format/bad-shape", test_format_bad_shape);
    g_test_add_func("/cli/format/object", test_format_object);
    g_test_add_func("/cli/format/hosts", test_format_hosts);
    g_test_add_func("/cli/format/quota", test_format_quota);
    g_test_add_func("/cli/format/history", test_format_history);
    g_test_add_func("/cli/format/event", test_format_event);
    g_test_add_func("/cli/events/messages", test_events_messages);
    g_test_add_func("/cli/events/json-escapes", test_events_messages_json_escapes);
    g_test_add_func("/cli/events/bad", test_events_messages_bad);
    g_test_add_func("/cli/format/sanitize", test_sanitize);
    g_test_add_func("/cli/answer/parse", test_parse_answer);
    g_test_add("/cli/run/list", Fixture, NULL, fixture_setup, test_run_list, fixture_teardown);
    g_test_add("/cli/run/list-json", Fixture, NULL, fixture_setup, test_run_list_json,
               fixture_teardown);
    g_test_add("/cli/run/action", Fixture, NULL, fixture_setup, test_run_action, fixture_teardown);
    g_test_add("/cli/run/error", Fixture, NULL, fixture_setup, test_run_error, fixture_teardown);
    g_test_add("/cli/run/offline", Fixture, NULL, fixture_setup, test_run_offline,
               fixture_teardown);
    g_test_add_func("/cli/main/usage", test_main_usage);
    g_test_add_func("/cli/main/no-socket", test_main_no_socket);
    g_test_add_func("/cli/main/events-no-socket", test_main_events_no_socket);
    return g_test_run();
}
