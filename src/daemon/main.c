/* wirtd: the wirt daemon. Thin: options, config, wiring, the loop. */
#include <glib-unix.h>
#include <libvirt-glib/libvirt-glib.h>
#include <locale.h>
#include <stdio.h>

#include "core/wirt-config.h"
#include "core/wirt-error.h"
#include "http/wirt-http.h"
#include "service/wirt-service.h"
#include "spool/wirt-spool.h"
#include "virt/wirt-virt.h"
#include "wirt-build-config.h"

#define DEFAULT_CONFIG WIRT_SYSCONFDIR "/wirt/wirtd.conf"
#define READY_TIMEOUT_MS 5000

static gboolean
on_quit_signal(gpointer user_data)
{
    GMainLoop *loop = user_data;

    g_message("signal received: stopping");
    g_main_loop_quit(loop);
    return G_SOURCE_CONTINUE;
}

static void
print_routes(void)
{
    gsize n = 0;
    const WirtHttpRouteInfo *routes = wirt_http_route_table(&n);

    for (gsize i = 0; i < n; i++)
        printf("%s %s %s %s\n", routes[i].method, routes[i].pattern,
               routes[i].action == WIRT_ACTION_LAST ? "-" : wirt_action_to_string(routes[i].action),
               routes[i].example_body ? routes[i].example_body : "-");
}

static WirtConfig *
load_config(const char *path, GError **error)
{
    g_autoptr(GError) local = NULL;
    WirtConfig *config;

    if (path)
        return wirt_config_load(path, error);
    /* No --config: the default file is optional, its absence means defaults. */
    config = wirt_config_load(DEFAULT_CONFIG, &local);
    if (config)
        return config;
    if (g_error_matches(local, WIRT_ERROR, WIRT_ERROR_NOT_FOUND)) {
        g_message("%s does not exist: using the built-in defaults", DEFAULT_CONFIG);
        return wirt_config_new_default();
    }
    g_propagate_error(error, g_steal_pointer(&local));
    return NULL;
}

/* wirt-userfs: beside wirtd in a build tree (src/daemon/../helper), else installed. */
static char *
find_userfs(void)
{
    g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
    g_autofree char *dir = exe ? g_path_get_dirname(exe) : NULL;
    g_autofree char *built =
        dir ? g_build_filename(dir, "..", "helper", "wirt-userfs", NULL) : NULL;

    if (built && g_file_test(built, G_FILE_TEST_IS_EXECUTABLE))
        return g_steal_pointer(&built);
    return g_build_filename(WIRT_LIBEXECDIR, "wirt-userfs", NULL);
}

int
main(int argc, char **argv)
{
    g_autofree char *config_path = NULL;
    g_autofree char *socket_path = NULL;
    g_autofree char *history_path = NULL;
    g_autofree char *userfs_path = NULL;
    g_auto(GStrv) connect_uris = NULL;
    gboolean version = FALSE, routes = FALSE;
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
         "Configuration file (default " DEFAULT_CONFIG ")", "FILE"},
        {"socket", 's', 0, G_OPTION_ARG_FILENAME, &socket_path,
         "Unix socket to serve the API on (default /run/wirt/wirtd.sock)", "PATH"},
        {"connect", 0, 0, G_OPTION_ARG_STRING_ARRAY, &connect_uris,
         "Replace the configured pools with one pool 'default' of these libvirt URIs "
         "(repeatable)",
         "URI"},
        {"history", 0, 0, G_OPTION_ARG_FILENAME, &history_path,
         "History file (default /var/log/wirt/history.jsonl)", "FILE"},
        {"userfs", 0, 0, G_OPTION_ARG_FILENAME, &userfs_path,
         "The files API helper (default: next to wirtd in a build tree, else "
         "LIBEXECDIR/wirt-userfs)",
         "PATH"},
        {"print-routes", 0, 0, G_OPTION_ARG_NONE, &routes, "Print the API's route table and exit",
         NULL},
        {"version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- the wirt VM manager daemon");
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtConfig) config = NULL;
    g_autoptr(WirtHosts) hosts = NULL;
    g_autoptr(WirtService) service = NULL;
    g_autoptr(WirtHttp) http = NULL;
    g_autoptr(WirtSpool) spool = NULL;
    g_autofree char *userfs = NULL;
    g_autoptr(GMainLoop) loop = NULL;
    guint sigterm_id, sigint_id;

    setlocale(LC_ALL, "");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "wirtd runs in the foreground and logs to stderr. See wirtd(8) and docs/.");
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        fprintf(stderr, "wirtd: %s\nTry 'wirtd --help'.\n", error->message);
        return 2;
    }
    if (argc > 1) {
        fprintf(stderr, "wirtd: unexpected argument '%s'\nTry 'wirtd --help'.\n", argv[1]);
        return 2;
    }
    if (version) {
        printf("wirtd %s\n", WIRT_VERSION);
        return 0;
    }
    if (routes) {
        print_routes();
        return 0;
    }

    if (!(config = load_config(config_path, &error))) {
        fprintf(stderr, "wirtd: %s\n", error->message);
        return 1;
    }
    if (connect_uris && connect_uris[0])
        wirt_config_set_uris(config, (const char *const *)connect_uris);
    if (socket_path) {
        g_free(config->socket_path);
        config->socket_path = g_strdup(socket_path);
    }
    if (history_path) {
        g_free(config->history_path);
        config->history_path = g_strdup(history_path);
    }

    /* Must come before the first virConnectOpen: libvirt's events then run on
     * GLib's main loop, so the cache needs no locks. */
    gvir_event_register();
    loop = g_main_loop_new(NULL, FALSE);
    hosts = wirt_hosts_new(config);
    if (!(service = wirt_service_new(config, hosts, &error))) {
        fprintf(stderr, "wirtd: %s\n", error->message);
        return 1;
    }
    wirt_hosts_start(hosts);
    wirt_hosts_wait_ready(hosts, READY_TIMEOUT_MS);

    if (config->files.enabled) {
        userfs = userfs_path ? g_strdup(userfs_path) : find_userfs();
        if (!(spool = wirt_spool_new(service, userfs, &error))) {
            fprintf(stderr, "wirtd: %s\n", error->message);
            return 1;
        }
        g_message("files API: ~/%s of %u members of group %s", config->files.dir,
                  wirt_spool_count_members(spool), config->user_group);
    }

    if (!(http = wirt_http_new(service, &error)) ||
        !wirt_http_listen_unix(http, config->socket_path, &error) ||
        !wirt_http_listen_tcp(http, &error)) {
        fprintf(stderr, "wirtd: %s\n", error->message);
        return 1;
    }
    g_message("listening on %s (security mode %s, %u pool%s)", config->socket_path,
              wirt_security_mode_to_string(config->security_mode), config->pools->len,
              config->pools->len == 1 ? "" : "s");
    for (int i = 0; config->http.listen[i]; i++)
        g_message("listening on %s://%s", config->http.plain_http ? "http" : "https",
                  config->http.listen[i]);

    sigterm_id = g_unix_signal_add(SIGTERM, on_quit_signal, loop);
    sigint_id = g_unix_signal_add(SIGINT, on_quit_signal, loop);
    g_main_loop_run(loop);
    g_source_remove(sigterm_id);
    g_source_remove(sigint_id);

    /* Tear down front door first, then the service, then libvirt. */
    g_clear_pointer(&http, wirt_http_free);
    g_clear_pointer(&spool, wirt_spool_free);
    g_clear_pointer(&service, wirt_service_free);
    g_clear_pointer(&hosts, wirt_hosts_free);
    return 0;
}
