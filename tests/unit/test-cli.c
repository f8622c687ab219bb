/* test-cli.c: the wirt CLI without a server: command lines -> requests, sizes, answers ->
 * errors and exit codes, JSON -> tables (golden strings), the run loop on a fake
 * transport, `wirt events` and `wirt token create` against a fake wirtd (a SoupServer on a
 * unix socket), and `wirt admin passwd`: the file update, yescrypt hashes checked with
 * crypt_r() as wirtd checks them, and the atomic rewrite in a temporary folder. */
#include <crypt.h>
#include <errno.h>
#include <gio/gunixsocketaddress.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/wirt-error.h"
#include "wirt-cli-args.h"
#include "wirt-cli-client.h"
#include "wirt-cli-events.h"
#include "wirt-cli-format.h"
#include "wirt-cli-passwd.h"
#include "wirt-cli-request.h"
#include "wirt-cli-ssh.h"
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
    {"token-create", "token create ci", "POST", "/1.0/tokens", "{\"name\":\"ci\"}"},
    {"token-create-globals", "--format json token --socket /s create ci-2", "POST", "/1.0/tokens",
     "{\"name\":\"ci-2\"}"},
    {"token-list", "token list", "GET", "/1.0/tokens", NULL},
    {"token-list-user", "token list --user bob", "GET", "/1.0/tokens?user=bob", NULL},
    {"token-list-user-escaped", "token list --user='a b&c'", "GET", "/1.0/tokens?user=a%20b%26c",
     NULL},
    {"token-revoke", "token revoke ci", "DELETE", "/1.0/tokens/ci", NULL},
    {"token-revoke-user", "token revoke ci --user bob", "DELETE", "/1.0/tokens/ci?user=bob", NULL},
    {"token-revoke-dashdash", "token revoke -- ci", "DELETE", "/1.0/tokens/ci", NULL},
    {"box-add", "box add tiny ./tiny.box", "POST", "/1.0/boxes/tiny", NULL},
    {"box-add-owner", "box add tiny t.box --owner bob", "POST", "/1.0/boxes/tiny?owner=bob", NULL},
    {"box-list", "box list", "GET", "/1.0/boxes", NULL},
    {"box-list-shared", "box list --owner -", "GET", "/1.0/boxes?owner=-", NULL},
    {"box-remove", "box remove tiny", "DELETE", "/1.0/boxes/tiny", NULL},
    {"box-remove-shared", "box remove tiny --owner -", "DELETE", "/1.0/boxes/tiny?owner=-", NULL},
    {"net-create", "net create lab --subnet 10.77.0.0/24", "POST", "/1.0/networks",
     "{\"name\":\"lab\",\"subnet\":\"10.77.0.0/24\"}"},
    {"net-create-all", "net create lab --subnet 10.77.0.0/24 --mode route --no-dhcp", "POST",
     "/1.0/networks",
     "{\"name\":\"lab\",\"subnet\":\"10.77.0.0/24\",\"mode\":\"route\",\"dhcp\":false}"},
    {"net-create-admin", "net create shared", "POST", "/1.0/networks", "{\"name\":\"shared\"}"},
    {"net-create-owner", "net create lab --subnet 10.77.0.0/24 --owner bob", "POST",
     "/1.0/networks", "{\"name\":\"lab\",\"subnet\":\"10.77.0.0/24\",\"owner\":\"bob\"}"},
    {"net-list", "net list", "GET", "/1.0/networks", NULL},
    {"net-delete", "net delete lab", "DELETE", "/1.0/networks/lab", NULL},
    {"net-delete-owner", "net delete lab --owner bob", "DELETE", "/1.0/networks/lab?owner=bob",
     NULL},
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
    {"token-missing", "token", "token: missing subcommand (create, list, revoke)"},
    {"token-unknown", "token show ci", "token: unknown subcommand 'show' (create, list, revoke)"},
    {"token-create-missing", "token create", "token create: missing NAME"},
    {"token-create-bad-name", "token create ci_1", "token create: token name 'ci_1' is not valid"},
    {"token-create-owner-ref", "token create bob/ci", "token name 'bob/ci' is not valid"},
    {"token-create-long", "token create aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "is not valid"},
    {"token-create-extra", "token create ci cd", "token create: unexpected argument 'cd'"},
    {"token-create-user", "token create ci --user bob", "token create: unknown option '--user'"},
    {"token-list-arg", "token list ci", "token list: unexpected argument 'ci'"},
    {"token-revoke-missing", "token revoke --user bob", "token revoke: missing NAME"},
    {"token-revoke-delete", "token revoke ci --delete", "token revoke: unknown option '--delete'"},
    {"box-add-missing-file", "box add tiny", "box add: missing FILE"},
    {"box-add-bad-name", "box add ti.ny t.box", "box add: box name 'ti.ny' is not valid"},
    {"box-remove-missing", "box remove", "box remove: missing NAME"},
    {"box-list-arg", "box list tiny", "box list: unexpected argument 'tiny'"},
    {"net-create-bad-name", "net create l.ab --subnet 10.0.0.0/24",
     "net create: network name 'l.ab' is not valid"},
    {"net-delete-missing", "net delete", "net delete: missing NAME"},
    {"net-list-arg", "net list lab", "net list: unexpected argument 'lab'"},
    {"token-user-first", "--user bob token list", "'--user' belongs after the command"},
    {"token-user-between", "token --user bob list", "'--user' belongs after the command"},
    {"token-user-empty", "token list --user=", "option '--user' needs a value"},
    {"admin-missing", "admin", "admin: missing subcommand (passwd)"},
    {"admin-unknown", "admin password root", "admin: unknown subcommand 'password' (passwd)"},
    {"passwd-alone", "passwd root", "unknown command 'passwd'"},
    {"passwd-missing-user", "admin passwd", "admin passwd: missing USER"},
    {"passwd-extra", "admin passwd root bob", "admin passwd: unexpected argument 'bob'"},
    {"passwd-colon-user", "admin passwd a:b", "admin passwd: user name 'a:b' is not valid"},
    {"passwd-comment-user", "admin passwd '#root'", "admin passwd: user name '#root' starts with"},
    {"passwd-space-user", "admin passwd 'a b'", "admin passwd: user name 'a b' is not valid"},
    {"passwd-dash-user", "admin passwd -- -root", "admin passwd: user name '-root' is not valid"},
    {"passwd-file-missing", "admin passwd root --file", "option '--file' needs a value"},
    {"passwd-file-empty", "admin passwd root --file=", "option '--file' needs a value"},
    {"passwd-delete-value", "admin passwd root --delete=yes", "option '--delete' takes no value"},
    {"passwd-user-option", "admin passwd root --user bob", "admin passwd: unknown option '--user'"},
    {"file-elsewhere", "token list --file /x", "token list: unknown option '--file'"},
    {"help-token-unknown", "help token frob", "help: unknown command 'token frob'"},
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
test_parse_token_admin(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtCliArgs) create = parse_line("token create ci", &error);
    g_autoptr(WirtCliArgs) revoke = NULL;
    g_autoptr(WirtCliArgs) passwd = NULL;
    g_autoptr(WirtCliArgs) remove = NULL;
    g_autoptr(WirtCliArgs) group_help = NULL;
    g_autoptr(WirtCliArgs) sub_help = NULL;
    g_autoptr(WirtCliArgs) help_topic = NULL;

    g_assert_no_error(error);
    g_assert_cmpint(create->command, ==, WIRT_CLI_CMD_TOKEN_CREATE);
    g_assert_cmpstr(create->command_name, ==, "token create");
    g_assert_cmpstr(create->name, ==, "ci");
    g_assert_null(create->owner);
    g_assert_null(create->user);

    revoke = parse_line("token revoke ci --user bob", &error);
    g_assert_no_error(error);
    g_assert_cmpint(revoke->command, ==, WIRT_CLI_CMD_TOKEN_REVOKE);
    g_assert_cmpstr(revoke->name, ==, "ci");
    g_assert_cmpstr(revoke->user, ==, "bob");

    passwd = parse_line("admin passwd root", &error);
    g_assert_no_error(error);
    g_assert_cmpint(passwd->command, ==, WIRT_CLI_CMD_ADMIN_PASSWD);
    g_assert_cmpstr(passwd->user, ==, "root");
    g_assert_null(passwd->file); /* WIRT_CLI_ADMINS_FILE */
    g_assert_false(passwd->remove);
    g_assert_null(wirt_cli_request_build(passwd)); /* local: no request */

    remove = parse_line("admin passwd alice@corp --delete --file=/tmp/admins", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(remove->user, ==, "alice@corp");
    g_assert_cmpstr(remove->file, ==, "/tmp/admins");
    g_assert_true(remove->remove);

    group_help = parse_line("token --help", &error);
    g_assert_no_error(error);
    g_assert_cmpint(group_help->command, ==, WIRT_CLI_CMD_HELP);
    g_assert_cmpstr(group_help->command_name, ==, "token");

    sub_help = parse_line("admin passwd -h", &error);
    g_assert_no_error(error);
    g_assert_cmpint(sub_help->command, ==, WIRT_CLI_CMD_HELP);
    g_assert_cmpstr(sub_help->command_name, ==, "admin passwd");

    help_topic = parse_line("help token revoke", &error);
    g_assert_no_error(error);
    g_assert_cmpint(help_topic->command, ==, WIRT_CLI_CMD_HELP);
    g_assert_cmpstr(help_topic->command_name, ==, "token revoke");
}

static void
test_help(void)
{
    static const char *const commands[] = {
        "list",         "info",       "create",       "start",        "stop",      "destroy",
        "reboot",       "suspend",    "resume",       "delete",       "autostart", "adopt",
        "pool",         "node",       "quota",        "history",      "whoami",    "events",
        "token create", "token list", "token revoke", "admin passwd", "box add",   "box list",
        "box remove",   "net create", "net list",     "net delete"};
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
    {
        g_autofree char *help = wirt_cli_args_help("token");
        g_assert_true(g_str_has_prefix(help, "Usage: wirt token COMMAND"));
        g_assert_nonnull(strstr(help, "\n  token create "));
        g_assert_nonnull(strstr(help, "\n  token list "));
        g_assert_nonnull(strstr(help, "\n  token revoke "));
        g_assert_null(strstr(help, "admin passwd"));
    }
    {
        g_autofree char *help = wirt_cli_args_help("admin passwd");
        g_assert_true(
            g_str_has_prefix(help, "Usage: wirt admin passwd USER [--file PATH] [--delete]\n"));
        g_assert_nonnull(strstr(help, "(default: /etc/wirt/admins)"));
        g_assert_nonnull(strstr(help, "  --delete "));
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
        {"token", "Try 'wirt token --help'."},
        {"token frob", "Try 'wirt token --help'."},
        {"token create ci_1", "Try 'wirt token create --help'."},
        {"--format json token --socket /s list --bogus", "Try 'wirt token list --help'."},
        {"admin passwd a:b", "Try 'wirt admin passwd --help'."},
        {"admin --file x", "Try 'wirt admin --help'."},
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

static const char sample_tokens[] =
    "[{\"id\":\"234836aee54b203a\",\"name\":\"ci\",\"user\":\"alice\","
    "\"created\":\"2026-11-24T00:11:40.693918Z\",\"last_used\":\"2026-11-24T01:11:40+01:00\"},"
    " {\"id\":\"c699f1f46f7b19ef\",\"name\":\"laptop-backup\",\"user\":\"alice\","
    "\"created\":\"2026-11-24T00:12:00Z\",\"last_used\":null}]";

static const char sample_new_token[] =
    "{\"id\":\"c699f1f46f7b19ef\",\"name\":\"ci\",\"user\":\"alice\","
    "\"created\":\"2026-11-24T00:11:41.123189Z\","
    "\"token\":\"wirt_c699f1f46f7b19ef_XKaMyzCKnaB3-tKsy1Pfx43GGb94RXTiwJsW7xTByuw\"}";

static void
test_format_tokens(void)
{
    g_autoptr(JsonNode) tokens = json(sample_tokens);
    g_autoptr(JsonNode) empty = json("[]");
    g_autoptr(JsonNode) object = json("{}");
    g_autoptr(JsonNode) created = json(sample_new_token);
    g_autoptr(JsonNode) no_secret = json("{\"id\":\"c699f1f46f7b19ef\",\"token\":null}");
    g_autoptr(JsonNode) nasty = json("{\"token\":\"wirt_\\u001b[2J\\nx\"}");
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GError) error = NULL;

    g_assert_true(wirt_cli_format_tokens(tokens, FALSE, out, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(out->str, ==,
                    "NAME           ID                CREATED               LAST-USED\n"
                    "ci             234836aee54b203a  2026-11-24T00:11:40Z  2026-11-24T00:11:40Z\n"
                    "laptop-backup  c699f1f46f7b19ef  2026-11-24T00:12:00Z  never\n");
    g_string_truncate(out, 0);
    g_assert_true(wirt_cli_format_tokens(tokens, TRUE, out, &error));
    g_assert_cmpstr(out->str, ==,
                    "NAME           ID                CREATED               LAST-USED"
                    "             USER\n"
                    "ci             234836aee54b203a  2026-11-24T00:11:40Z  2026-11-24T00:11:40Z"
                    "  alice\n"
                    "laptop-backup  c699f1f46f7b19ef  2026-11-24T00:12:00Z  never"
                    "                 alice\n");
    g_string_truncate(out, 0);
    g_assert_true(wirt_cli_format_tokens(empty, FALSE, out, &error));
    g_assert_cmpstr(out->str, ==, "NAME  ID  CREATED  LAST-USED\n");

    /* the new token alone on its line: TOKEN=$(wirt token create ci) */
    g_string_truncate(out, 0);
    g_assert_true(wirt_cli_format_token_created(created, out, &error));
    g_assert_cmpstr(out->str, ==,
                    "wirt_c699f1f46f7b19ef_XKaMyzCKnaB3-tKsy1Pfx43GGb94RXTiwJsW7xTByuw\n");
    g_string_truncate(out, 0);
    g_assert_true(wirt_cli_format_token_created(nasty, out, &error));
    g_assert_cmpstr(out->str, ==, "wirt_?[2J x\n");

    g_string_truncate(out, 0);
    for (guint i = 0; i < 3; i++) {
        g_autoptr(GError) bad = NULL;
        gboolean ok = i == 0   ? wirt_cli_format_tokens(object, FALSE, out, &bad)
                      : i == 1 ? wirt_cli_format_token_created(no_secret, out, &bad)
                               : wirt_cli_format_token_created(empty, out, &bad);

        g_assert_false(ok);
        g_assert_error(bad, WIRT_ERROR, WIRT_ERROR_FAILED);
    }
    g_assert_cmpuint(out->len, ==, 0);
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
    g_hash_table_insert(fx->fake.answers, "/1.0/tokens", (gpointer)sample_new_token);
    g_hash_table_insert(fx->fake.answers, "/1.0/tokens?user=alice", (gpointer)sample_tokens);
    g_hash_table_insert(fx->fake.answers, "/1.0/tokens/ci", "{\"revoked\":\"ci\"}");
    g_hash_table_insert(fx->fake.answers, "/1.0/tokens/ci?user=alice", "{\"revoked\":\"ci\"}");
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

/* The fake answers every /1.0/tokens request with the path's answer whatever the method, so
 * these check what was sent (seen) and what was printed. */
static void
test_run_tokens(Fixture *fx, gconstpointer data G_GNUC_UNUSED)
{
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonParser) parser = json_parser_new();

    /* create: one request, the token alone */
    g_assert_true(run_line(fx, "token create ci", out, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(fx->fake.seen->len, ==, 1);
    g_assert_cmpstr(g_ptr_array_index(fx->fake.seen, 0), ==, "POST /1.0/tokens {\"name\":\"ci\"}");
    g_assert_cmpstr(out->str, ==,
                    "wirt_c699f1f46f7b19ef_XKaMyzCKnaB3-tKsy1Pfx43GGb94RXTiwJsW7xTByuw\n");

    /* create --format json: the server's object */
    g_string_truncate(out, 0);
    g_assert_true(run_line(fx, "--format json token create ci", out, &error));
    g_assert_true(json_parser_load_from_data(parser, out->str, -1, NULL));
    g_assert_cmpstr(
        json_object_get_string_member(json_node_get_object(json_parser_get_root(parser)), "token"),
        ==, "wirt_c699f1f46f7b19ef_XKaMyzCKnaB3-tKsy1Pfx43GGb94RXTiwJsW7xTByuw");

    /* list: GET /1.0 first; the fake's caller is root, an admin: USER shown. The fake
     * answers /1.0/tokens (no ?user) with the new token, which is not an array. */
    g_string_truncate(out, 0);
    g_ptr_array_set_size(fx->fake.seen, 0);
    g_assert_false(run_line(fx, "token list", out, &error));
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_FAILED);
    g_clear_error(&error);
    g_assert_cmpuint(fx->fake.seen->len, ==, 2);
    g_assert_cmpstr(g_ptr_array_index(fx->fake.seen, 0), ==, "GET /1.0 -");
    g_assert_cmpstr(g_ptr_array_index(fx->fake.seen, 1), ==, "GET /1.0/tokens -");
    g_assert_cmpuint(out->len, ==, 0);

    g_ptr_array_set_size(fx->fake.seen, 0);
    g_assert_true(run_line(fx, "token list --user alice", out, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(g_ptr_array_index(fx->fake.seen, 1), ==, "GET /1.0/tokens?user=alice -");
    g_assert_true(g_str_has_prefix(out->str, "NAME           ID                CREATED"
                                             "               LAST-USED             USER\n"));

    /* a plain user sees no USER column */
    g_hash_table_insert(fx->fake.answers, "/1.0", "{\"user\":\"alice\",\"admin\":false}");
    g_string_truncate(out, 0);
    g_assert_true(run_line(fx, "token list --user=alice", out, &error));
    g_assert_true(g_str_has_suffix(out->str, "never                 alice\n")); /* --user */
    g_hash_table_insert(fx->fake.answers, "/1.0/tokens", (gpointer)sample_tokens);
    g_string_truncate(out, 0);
    g_assert_true(run_line(fx, "token list", out, &error));
    g_assert_true(g_str_has_prefix(out->str, "NAME           ID                CREATED"
                                             "               LAST-USED\n"));
    g_assert_null(strstr(out->str, "USER"));

    /* revoke: one line */
    g_string_truncate(out, 0);
    g_ptr_array_set_size(fx->fake.seen, 0);
    g_assert_true(run_line(fx, "token revoke ci", out, &error));
    g_assert_cmpstr(g_ptr_array_index(fx->fake.seen, 0), ==, "DELETE /1.0/tokens/ci -");
    g_assert_cmpstr(out->str, ==, "token ci: revoked\n");
    g_string_truncate(out, 0);
    g_assert_true(run_line(fx, "token revoke ci --user alice", out, &error));
    g_assert_cmpstr(out->str, ==, "token alice/ci: revoked\n");

    /* an error: nothing printed, the server's code */
    g_string_truncate(out, 0);
    g_assert_false(run_line(fx, "token revoke other", out, &error));
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

/* ---- admin passwd: the file update, hashes, the file, the command ---- */

#define HASH "$y$j9T$salt$hash"

typedef struct {
    const char *label;
    const char *old;
    const char *user;
    const char *hash;     /* NULL: --delete */
    const char *expected; /* NULL: refused */
    WirtError error;
} UpdateCase;

static const UpdateCase update_cases[] = {
    {"empty-file", "", "root", HASH, "root:" HASH "\n", 0},
    {"append", "alice:$6$a$b\n", "root", HASH, "alice:$6$a$b\nroot:" HASH "\n", 0},
    {"append-no-final-newline", "alice:$6$a$b", "root", HASH, "alice:$6$a$b\nroot:" HASH "\n", 0},
    {"replace-in-place", "# admins\nroot:$6$old$x\nbob:$2b$05$y\n", "root", HASH,
     "# admins\nroot:" HASH "\nbob:$2b$05$y\n", 0},
    {"keeps-comments-and-blanks", "# admins\n\n  # indented\n\nbob:B\n", "root", HASH,
     "# admins\n\n  # indented\n\nbob:B\nroot:" HASH "\n", 0},
    {"commented-line-untouched", "#root:$6$old$x\nroot:$6$old$x\n", "root", HASH,
     "#root:$6$old$x\nroot:" HASH "\n", 0},
    {"similar-names-untouched", "rootx:R\nroo:S\nroot.admin:T\nroot\n", "root", HASH,
     "rootx:R\nroo:S\nroot.admin:T\nroot\nroot:" HASH "\n", 0},
    {"empty-hash-field", "root:\n", "root", HASH, "root:" HASH "\n", 0},
    {"duplicates-dropped", "root:1\nbob:B\nroot:2\n", "root", HASH, "root:" HASH "\nbob:B\n", 0},
    {"crlf-others-kept", "alice:A\r\nroot:OLD\r\n", "root", HASH, "alice:A\r\nroot:" HASH "\n", 0},
    {"garbage-kept", "not a line\nroot:OLD\n", "root", HASH, "not a line\nroot:" HASH "\n", 0},
    {"nss-name", "alice@corp:A\n", "alice@corp", HASH, "alice@corp:" HASH "\n", 0},
    {"delete", "alice:A\nroot:OLD\nbob:B\n", "root", NULL, "alice:A\nbob:B\n", 0},
    {"delete-last", "root:OLD\n", "root", NULL, "", 0},
    {"delete-duplicates", "root:1\n# c\nroot:2\n", "root", NULL, "# c\n", 0},
    {"delete-missing", "alice:A\n", "root", NULL, NULL, WIRT_ERROR_NOT_FOUND},
    {"delete-commented", "#root:A\n", "root", NULL, NULL, WIRT_ERROR_NOT_FOUND},
    {"delete-empty-file", "", "root", NULL, NULL, WIRT_ERROR_NOT_FOUND},
    {"user-colon", "", "a:b", HASH, NULL, WIRT_ERROR_INVALID},
    {"user-hash", "", "#root", HASH, NULL, WIRT_ERROR_INVALID},
    {"user-newline", "", "ro\not", HASH, NULL, WIRT_ERROR_INVALID},
    {"user-empty", "", "", HASH, NULL, WIRT_ERROR_INVALID},
};

static void
test_passwd_update(gconstpointer data)
{
    const UpdateCase *tc = data;
    g_autoptr(GError) error = NULL;
    g_autofree char *text = wirt_cli_passwd_update(tc->old, tc->user, tc->hash, &error);

    if (tc->expected) {
        g_assert_no_error(error);
        g_assert_cmpstr(text, ==, tc->expected);
        return;
    }
    g_assert_null(text);
    g_assert_error(error, WIRT_ERROR, (gint)tc->error);
}

/* What wirtd does with a login: crypt_r() with the stored hash as setting. */
static gboolean
hash_accepts(const char *hash, const char *password)
{
    g_autofree struct crypt_data *data = g_new0(struct crypt_data, 1);
    const char *got = crypt_r(password, hash, data);

    return got && got[0] != '*' && g_str_equal(got, hash);
}

static void
test_passwd_hash(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *hash = wirt_cli_passwd_hash("pw-1", &error);
    g_autofree char *again = wirt_cli_passwd_hash("pw-1", &error);
    g_autofree char *odd = wirt_cli_passwd_hash("p\xc3\xa4ss w:rd\t#", &error);
    g_autofree char *text = NULL;
    g_auto(GStrv) fields = NULL;

    g_assert_no_error(error);
    g_assert_true(g_str_has_prefix(hash, "$y$")); /* yescrypt */
    g_assert_null(strpbrk(hash, ":\n"));
    g_assert_true(hash_accepts(hash, "pw-1"));
    g_assert_false(hash_accepts(hash, "pw-2"));
    g_assert_false(hash_accepts(hash, "pw-1 "));
    g_assert_false(hash_accepts(hash, ""));
    g_assert_cmpstr(hash, !=, again); /* a fresh salt each time */
    g_assert_true(hash_accepts(again, "pw-1"));
    g_assert_true(hash_accepts(odd, "p\xc3\xa4ss w:rd\t#"));

    /* the round trip through the file, read back the way wirtd reads it */
    text = wirt_cli_passwd_update("# admins\nalice:x\n", "root", hash, &error);
    g_assert_no_error(error);
    fields = g_strsplit(strstr(text, "\nroot:") + 1, ":", 2);
    g_strchomp(fields[1]);
    g_assert_cmpstr(fields[0], ==, "root");
    g_assert_true(hash_accepts(fields[1], "pw-1"));
}

typedef struct {
    char *dir;
    char *path; /* DIR/admins, not yet there */
    char *tmp;  /* DIR/admins.tmp */
} FileFixture;

static void
file_setup(FileFixture *fx, gconstpointer data G_GNUC_UNUSED)
{
    g_autoptr(GError) error = NULL;

    fx->dir = g_dir_make_tmp("wirt-passwd-XXXXXX", &error);
    g_assert_no_error(error);
    fx->path = g_build_filename(fx->dir, "admins", NULL);
    fx->tmp = g_strconcat(fx->path, ".tmp", NULL);
}

static void
file_teardown(FileFixture *fx, gconstpointer data G_GNUC_UNUSED)
{
    g_autoptr(GDir) dir = g_dir_open(fx->dir, 0, NULL);
    const char *name = NULL;

    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *path = g_build_filename(fx->dir, name, NULL);
        g_assert_cmpint(g_remove(path), ==, 0);
    }
    g_assert_cmpint(g_rmdir(fx->dir), ==, 0);
    g_free(fx->tmp);
    g_free(fx->path);
    g_free(fx->dir);
}

static char *
read_text(const char *path)
{
    g_autofree char *text = NULL;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    return g_steal_pointer(&text);
}

static guint
file_mode(const char *path)
{
    struct stat st;

    g_assert_cmpint(lstat(path, &st), ==, 0);
    return st.st_mode & 07777;
}

static void
test_passwd_file(FileFixture *fx, gconstpointer data G_GNUC_UNUSED)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *text = NULL;
    g_autofree char *link = g_build_filename(fx->dir, "link", NULL);
    g_autofree char *missing = g_build_filename(fx->dir, "no", "admins", NULL);
    mode_t old_umask = 0;

    /* missing: empty, not an error */
    g_assert_true(wirt_cli_passwd_read_file(fx->path, &text, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(text, ==, "");
    g_clear_pointer(&text, g_free);

    /* created 0600 whatever the umask, no PATH.tmp left */
    old_umask = umask(0);
    g_assert_true(wirt_cli_passwd_write_file(fx->path, "root:" HASH "\n", &error));
    umask(old_umask);
    g_assert_no_error(error);
    g_assert_cmpuint(file_mode(fx->path), ==, 0600);
    g_assert_false(g_file_test(fx->tmp, G_FILE_TEST_EXISTS));
    text = read_text(fx->path);
    g_assert_cmpstr(text, ==, "root:" HASH "\n");
    g_clear_pointer(&text, g_free);

    /* replacing a looser file makes it 0600 too */
    g_assert_cmpint(g_chmod(fx->path, 0644), ==, 0);
    g_assert_true(wirt_cli_passwd_write_file(fx->path, "bob:B\n", &error));
    g_assert_cmpuint(file_mode(fx->path), ==, 0600);
    g_assert_true(wirt_cli_passwd_read_file(fx->path, &text, &error));
    g_assert_cmpstr(text, ==, "bob:B\n");
    g_clear_pointer(&text, g_free);

    /* a PATH.tmp left behind: refused, PATH and PATH.tmp untouched */
    g_assert_true(g_file_set_contents(fx->tmp, "other", -1, NULL));
    g_assert_false(wirt_cli_passwd_write_file(fx->path, "root:x\n", &error));
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_CONFLICT);
    g_assert_nonnull(strstr(error->message, fx->tmp));
    g_clear_error(&error);
    text = read_text(fx->path);
    g_assert_cmpstr(text, ==, "bob:B\n");
    g_clear_pointer(&text, g_free);
    text = read_text(fx->tmp);
    g_assert_cmpstr(text, ==, "other");
    g_clear_pointer(&text, g_free);
    g_assert_cmpint(g_remove(fx->tmp), ==, 0);

    /* a PATH.tmp that is a symbolic link is not followed */
    g_assert_cmpint(symlink(missing, fx->tmp), ==, 0);
    g_assert_false(wirt_cli_passwd_write_file(fx->path, "root:x\n", &error));
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_CONFLICT);
    g_clear_error(&error);
    g_assert_false(g_file_test(missing, G_FILE_TEST_EXISTS));
    g_assert_cmpint(g_remove(fx->tmp), ==, 0);

    /* a folder that does not exist: the message names PATH.tmp */
    g_assert_false(wirt_cli_passwd_write_file(missing, "root:x\n", &error));
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_FAILED);
    g_assert_nonnull(strstr(error->message, "cannot create "));
    g_assert_nonnull(strstr(error->message, "admins.tmp"));
    g_clear_error(&error);

    /* not password files: a symbolic link, a folder, a file with a NUL byte */
    g_assert_cmpint(symlink(fx->path, link), ==, 0);
    g_assert_false(wirt_cli_passwd_read_file(link, &text, &error));
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
    g_assert_nonnull(strstr(error->message, "symbolic link"));
    g_clear_error(&error);
    g_assert_false(wirt_cli_passwd_read_file(fx->dir, &text, &error));
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_true(g_file_set_contents(fx->path, "root:x\0bob:y\n", 13, NULL));
    g_assert_false(wirt_cli_passwd_read_file(fx->path, &text, &error));
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
    g_assert_null(text); /* never clobbered */
}

/* Runs `wirt admin passwd LINE` (with --file @path added) with @input on a pipe. */
static gboolean
run_passwd_file(const char *path, const char *line, const char *input, GString *out, GError **error)
{
    g_autofree char *full = g_strdup_printf("%s --file %s", line, path);
    g_autoptr(WirtCliArgs) args = parse_line(full, NULL);
    int fds[2] = {-1, -1};
    gboolean ok = FALSE;

    g_assert_nonnull(args);
    g_assert_cmpint(pipe(fds), ==, 0);
    g_assert_cmpint(write(fds[1], input, strlen(input)), ==, (gssize)strlen(input));
    g_assert_cmpint(close(fds[1]), ==, 0);
    ok = wirt_cli_passwd_run(args, fds[0], out, error);
    g_assert_cmpint(close(fds[0]), ==, 0);
    return ok;
}

static gboolean
run_passwd(FileFixture *fx, const char *line, const char *input, GString *out, GError **error)
{
    return run_passwd_file(fx->path, line, input, out, error);
}

static void
test_passwd_run(FileFixture *fx, gconstpointer data G_GNUC_UNUSED)
{
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GError) error = NULL;
    g_autofree char *text = NULL;
    g_autofree char *expected = NULL;
    g_auto(GStrv) lines = NULL;
    g_auto(GStrv) root = NULL;

    if (geteuid() != 0) {
        g_assert_false(run_passwd(fx, "admin passwd root", "pw-1\n", out, &error));
        g_assert_error(error, WIRT_ERROR, WIRT_ERROR_DENIED);
        g_assert_cmpint(wirt_cli_exit_code(error), ==, 4);
        g_test_skip("the rest needs root");
        return;
    }
    g_assert_true(g_file_set_contents(fx->path, "# wirt admins\nalice:$6$a$b\n", -1, NULL));

    /* from a pipe: one line, the rest of the input is left alone */
    g_assert_true(run_passwd(fx, "admin passwd root", "pw-1\nnot read\n", out, &error));
    g_assert_no_error(error);
    expected = g_strdup_printf("root: password set in %s\n", fx->path);
    g_assert_cmpstr(out->str, ==, expected);
    text = read_text(fx->path);
    lines = g_strsplit(text, "\n", -1);
    g_assert_cmpuint(g_strv_length(lines), ==, 4);
    g_assert_cmpstr(lines[0], ==, "# wirt admins");
    g_assert_cmpstr(lines[1], ==, "alice:$6$a$b");
    g_assert_cmpstr(lines[3], ==, "");
    root = g_strsplit(lines[2], ":", 2);
    g_assert_cmpstr(root[0], ==, "root");
    g_assert_true(hash_accepts(root[1], "pw-1"));
    g_assert_false(hash_accepts(root[1], "not read"));
    g_assert_cmpuint(file_mode(fx->path), ==, 0600);

    /* the last line may lack its newline; a new password replaces the old one */
    g_string_truncate(out, 0);
    g_assert_true(run_passwd(fx, "admin passwd root", "pw-2", out, &error));
    g_clear_pointer(&text, g_free);
    g_clear_pointer(&root, g_strfreev);
    text = read_text(fx->path);
    g_assert_true(g_str_has_prefix(text, "# wirt admins\nalice:$6$a$b\nroot:$y$"));
    root = g_strsplit(strstr(text, "root:") + 5, "\n", 2);
    g_assert_true(hash_accepts(root[0], "pw-2"));
    g_assert_false(hash_accepts(root[0], "pw-1"));

    /* refused: nothing changes */
    for (guint i = 0; i < 3; i++) {
        static const char *const inputs[] = {"\n", "", NULL};
        g_autofree char *before = read_text(fx->path);
        g_autofree char *after = NULL;
        g_autofree char *huge = g_strnfill(WIRT_CLI_PASSWD_MAX + 1, 'x');

        g_assert_false(
            run_passwd(fx, "admin passwd bob", inputs[i] ? inputs[i] : huge, out, &error));
        g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
        g_assert_true(g_str_has_prefix(error->message, "admin passwd: "));
        g_assert_cmpint(wirt_cli_exit_code(error), ==, 2);
        g_clear_error(&error);
        after = read_text(fx->path);
        g_assert_cmpstr(after, ==, before);
    }
    {
        /* exactly the longest password is fine */
        g_autofree char *longest = g_strnfill(WIRT_CLI_PASSWD_MAX, 'x');
        g_assert_true(run_passwd(fx, "admin passwd bob", longest, out, &error));
        g_assert_no_error(error);
    }

    /* --delete reads no password */
    g_string_truncate(out, 0);
    g_assert_true(run_passwd(fx, "admin passwd alice --delete", "", out, &error));
    g_assert_no_error(error);
    g_clear_pointer(&expected, g_free);
    expected = g_strdup_printf("alice: removed from %s\n", fx->path);
    g_assert_cmpstr(out->str, ==, expected);
    g_clear_pointer(&text, g_free);
    text = read_text(fx->path);
    g_assert_null(strstr(text, "alice"));
    g_assert_true(g_str_has_prefix(text, "# wirt admins\nroot:$y$"));

    g_assert_false(run_passwd(fx, "admin passwd alice --delete", "", out, &error));
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND);
    g_assert_nonnull(strstr(error->message, "admin passwd: alice has no line in "));
    g_assert_cmpint(wirt_cli_exit_code(error), ==, 3);
    g_clear_error(&error);

    /* a file that is not a password file is refused before a password is read */
    g_assert_true(g_file_set_contents(fx->path, "a\0b", 3, NULL));
    g_assert_false(run_passwd(fx, "admin passwd root", "", out, &error));
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
    g_assert_nonnull(strstr(error->message, "NUL byte"));
}

/* Not root: refused with status 4 before anything is read or written. */
static void
test_passwd_not_root(void)
{
    if (g_test_subprocess()) {
        g_autoptr(GString) out = g_string_new(NULL);
        g_autoptr(GError) error = NULL;
        g_autofree char *path = g_build_filename(g_get_tmp_dir(), "admins", NULL);

        /* nobody; tests may drop privileges, src/ may not (lint) */
        if (geteuid() == 0)
            g_assert_cmpint(setuid(65534), ==, 0);
        g_assert_false(run_passwd_file(path, "admin passwd root", "pw-1\n", out, &error));
        g_assert_error(error, WIRT_ERROR, WIRT_ERROR_DENIED);
        g_assert_cmpint(wirt_cli_exit_code(error), ==, 4);
        g_assert_nonnull(strstr(error->message, "admin passwd: must be run as root"));
        g_assert_cmpuint(out->len, ==, 0);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
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

/* ---- wirt token create, the whole command: the token alone on stdout, the note on stderr ---- */

/* A fake wirtd on its own thread: wirt_cli_main() blocks in a synchronous request. */
typedef struct {
    char *socket_path;
    GMutex lock;
    GCond cond;
    gboolean ready;
} TokenServer;

static void
on_fake_tokens(SoupServer *server G_GNUC_UNUSED, SoupServerMessage *msg,
               const char *path G_GNUC_UNUSED, GHashTable *query G_GNUC_UNUSED,
               gpointer user_data G_GNUC_UNUSED)
{
    static const char taken[] = "{\"error\":{\"code\":\"conflict\",\"status\":409,"
                                "\"message\":\"token taken already exists\"}}";
    static const char bad[] = "{\"error\":{\"code\":\"invalid\",\"message\":\"unexpected\"}}";
    g_autoptr(GBytes) body = soup_message_body_flatten(soup_server_message_get_request_body(msg));
    g_autofree char *text = g_strndup(g_bytes_get_data(body, NULL), g_bytes_get_size(body));
    const char *method = soup_server_message_get_method(msg);

    if (g_str_equal(method, "POST") && g_str_equal(text, "{\"name\":\"ci\"}")) {
        soup_server_message_set_status(msg, SOUP_STATUS_CREATED, NULL);
        soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_STATIC,
                                         sample_new_token, strlen(sample_new_token));
    } else if (g_str_equal(method, "POST") && g_str_equal(text, "{\"name\":\"taken\"}")) {
        soup_server_message_set_status(msg, SOUP_STATUS_CONFLICT, NULL);
        soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_STATIC, taken,
                                         strlen(taken));
    } else {
        soup_server_message_set_status(msg, SOUP_STATUS_BAD_REQUEST, NULL);
        soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_STATIC, bad,
                                         strlen(bad));
    }
}

static gpointer
token_server_thread(gpointer data)
{
    TokenServer *ts = data;
    g_autoptr(GMainContext) context = g_main_context_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(GSocket) socket = NULL;
    g_autoptr(GSocketAddress) address = g_unix_socket_address_new(ts->socket_path);
    g_autoptr(SoupServer) server = NULL;

    g_main_context_push_thread_default(context);
    socket =
        g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, &error);
    g_assert_no_error(error);
    g_socket_bind(socket, address, TRUE, &error);
    g_assert_no_error(error);
    g_socket_listen(socket, &error);
    g_assert_no_error(error);
    server = soup_server_new(NULL, NULL);
    soup_server_add_handler(server, "/1.0/tokens", on_fake_tokens, NULL, NULL);
    g_assert_true(soup_server_listen_socket(server, socket, 0, &error));
    g_mutex_lock(&ts->lock);
    ts->ready = TRUE;
    g_cond_signal(&ts->cond);
    g_mutex_unlock(&ts->lock);
    for (;;) /* until the test's process exits */
        g_main_context_iteration(context, TRUE);
    return NULL;
}

/* In the test's child: start the fake wirtd, then run `wirt --socket S token create NAME`. */
static int
main_token_create(const char *name)
{
    g_autofree char *dir = g_dir_make_tmp("wirt-cli-XXXXXX", NULL);
    g_autofree char *socket_path = g_build_filename(dir, "wirtd.sock", NULL);
    TokenServer ts = {.socket_path = socket_path};
    const char *const argv[] = {"wirt", "--socket", ts.socket_path, "token", "create", name, NULL};
    int status = 0;

    g_mutex_init(&ts.lock);
    g_cond_init(&ts.cond);
    g_thread_unref(g_thread_new("fake-wirtd", token_server_thread, &ts));
    g_mutex_lock(&ts.lock);
    while (!ts.ready)
        g_cond_wait(&ts.cond, &ts.lock);
    g_mutex_unlock(&ts.lock);
    /* the thread let go of the lock before we got it: it no longer uses ts */
    g_cond_clear(&ts.cond);
    g_mutex_clear(&ts.lock);
    status = wirt_cli_main(6, argv);
    /* the server thread keeps its socket open until we exit; its name can go now */
    g_assert_cmpint(g_unlink(ts.socket_path), ==, 0);
    g_assert_cmpint(g_rmdir(dir), ==, 0);
    return status;
}

static void
test_main_token_create(void)
{
    if (g_test_subprocess()) {
        g_assert_cmpint(main_token_create("ci"), ==, 0);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stdout(
        "wirt_c699f1f46f7b19ef_XKaMyzCKnaB3-tKsy1Pfx43GGb94RXTiwJsW7xTByuw\n");
    g_test_trap_assert_stderr("wirt: token ci is shown only this once: store it now (wirtd keeps "
                              "only its hash)\n");
}

static void
test_main_token_taken(void)
{
    if (g_test_subprocess()) {
        g_assert_cmpint(main_token_create("taken"), ==, 6);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stdout("");
    g_test_trap_assert_stderr("wirt: token taken already exists\n");
}

static char *
case_path(const char *group, const char *label)
{
    return g_strdup_printf("/cli/%s/%s", group, label);
}

/* `wirt ssh`: the ssh command line, from the VM's JSON and what the machine has. */
static void
test_ssh_argv(void)
{
    const char *argv_in[] = {"wirt", "--socket", "/run/w 1%.sock", "ssh", "web", "--", "uname",
                             "-a",   NULL};
    const char *own[] = {"/home/a/.ssh/id_ed25519", NULL};
    const char *vm_json = "{\"owner\":\"alice\",\"name\":\"web\",\"state\":\"running\","
                          "\"uuid\":\"0e0c4b0a-3c1b-4c8e-9a55-6d2b8f1e7a10\","
                          "\"ssh_user\":\"debian\"}";
    WirtCliSshHost host = {.self = "/usr/bin/wirt", .home = "/home/a"};
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtCliArgs) args = wirt_cli_args_parse(8, argv_in, &error);
    g_autoptr(JsonNode) vm = json_from_string(vm_json, NULL);
    g_autoptr(JsonNode) stopped = json_from_string("{\"owner\":\"alice\",\"name\":\"web\","
                                                   "\"state\":\"shutoff\",\"uuid\":\"0e0c4b0a-"
                                                   "3c1b\"}",
                                                   NULL);
    g_auto(GStrv) plain = NULL;
    g_auto(GStrv) vagrant = NULL;
    g_autofree char *joined = NULL;

    g_assert_no_error(error);
    plain = wirt_cli_ssh_argv(args, vm, &host, &error);
    g_assert_no_error(error);
    joined = g_strjoinv("|", plain);
    g_assert_cmpstr(joined, ==,
                    "ssh|-o|ProxyCommand='/usr/bin/wirt' ssh-proxy --socket '/run/w 1%%.sock' "
                    "'web'|-o|HostKeyAlias=wirt-alice-web-0e0c4b0a|-o|"
                    "UserKnownHostsFile=/home/a/.config/wirt/known_hosts|-o|"
                    "StrictHostKeyChecking=accept-new|-l|debian|--|wirt-alice-web-0e0c4b0a|"
                    "uname|-a");

    /* Vagrant's insecure key comes last, after the user's own keys, named too. */
    host.insecure_key = "/usr/share/vagrant/keys/vagrant";
    host.own_keys = own;
    vagrant = wirt_cli_ssh_argv(args, vm, &host, &error);
    g_assert_no_error(error);
    g_clear_pointer(&joined, g_free);
    joined = g_strjoinv("|", vagrant);
    g_assert_nonnull(strstr(joined, "|-o|IdentityFile=/home/a/.ssh/id_ed25519|-o|"
                                    "IdentityFile=/usr/share/vagrant/keys/vagrant|-l|debian|"));

    /* A VM that does not run: a clear conflict, no ssh. */
    g_assert_null(wirt_cli_ssh_argv(args, stopped, &host, &error));
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_CONFLICT);
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
    for (gsize i = 0; i < G_N_ELEMENTS(update_cases); i++) {
        g_autofree char *path = case_path("passwd/update", update_cases[i].label);
        g_test_add_data_func(path, &update_cases[i], test_passwd_update);
    }
    g_test_add_func("/cli/args/globals", test_parse_globals);
    g_test_add_func("/cli/args/token-admin", test_parse_token_admin);
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
    g_test_add_func("/cli/format/tokens", test_format_tokens);
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
    g_test_add("/cli/run/tokens", Fixture, NULL, fixture_setup, test_run_tokens, fixture_teardown);
    g_test_add_func("/cli/passwd/hash", test_passwd_hash);
    g_test_add("/cli/passwd/file", FileFixture, NULL, file_setup, test_passwd_file, file_teardown);
    g_test_add("/cli/passwd/run", FileFixture, NULL, file_setup, test_passwd_run, file_teardown);
    g_test_add_func("/cli/passwd/not-root", test_passwd_not_root);
    g_test_add_func("/cli/main/usage", test_main_usage);
    g_test_add_func("/cli/main/no-socket", test_main_no_socket);
    g_test_add_func("/cli/main/events-no-socket", test_main_events_no_socket);
    g_test_add_func("/cli/main/token-create", test_main_token_create);
    g_test_add_func("/cli/main/token-taken", test_main_token_taken);
    g_test_add_func("/cli/ssh/argv", test_ssh_argv);
    return g_test_run();
}
