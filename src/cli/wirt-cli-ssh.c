/* wirt-cli-ssh.c: `wirt ssh NAME [--ssh-key FILE] [--user USER] [-- COMMAND...]` and
 * `wirt ssh-proxy NAME`.
 *
 * `wirt ssh` asks wirtd for the VM (its owner, uuid, state and ssh user), then
 * replaces itself with the system's ssh (exec: the exit status, the terminal and
 * stdio are ssh's own), whose ProxyCommand is this very binary's `ssh-proxy`:
 * the user needs no route to the VM's network, only wirtd's socket. The host
 * key is kept under an alias naming owner, VM and the start of its uuid, in
 * ~/.config/wirt/known_hosts, so a VM made again under the same name does not
 * clash with its predecessor's key.
 *
 * `wirt ssh-proxy` opens the websocket GET /1.0/vms/NAME/ssh and pumps stdin to
 * binary messages and binary messages to stdout until either side closes.
 */
#include "wirt-cli-ssh.h"

#include <errno.h>
#include <glib-unix.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/wirt-error.h"
#include "wirt-cli-format.h"
#include "wirt-cli-request.h"

#define PROXY_CHUNK (64 * 1024)

/* ssh expands %h, %p… in ProxyCommand: a literal '%' is written "%%". */
static char *
escape_percent(const char *text)
{
    g_autoptr(GString) out = g_string_new(NULL);

    for (const char *p = text; *p; p++) {
        if (*p == '%')
            g_string_append_c(out, '%');
        g_string_append_c(out, *p);
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/**
 * wirt_cli_ssh_argv:
 * @args: the parsed `wirt ssh` command line
 * @vm: (transfer none): wirtd's answer to GET /1.0/vms/NAME
 * @host: this binary, the home folder and the keys found on the machine
 * @error: %WIRT_ERROR_CONFLICT when the VM does not run, %WIRT_ERROR_FAILED when
 * the answer lacks owner, name or uuid
 *
 * Pure. The identities are --ssh-key (else ssh's own defaults); when Vagrant's
 * insecure key is installed it comes last, after the user's own existing keys
 * (ssh stops trying its defaults once one is named, so they are named too).
 * Returns: (transfer full): ssh's argv, "ssh" first.
 */
GStrv
wirt_cli_ssh_argv(const WirtCliArgs *args, JsonNode *vm, const WirtCliSshHost *host, GError **error)
{
    JsonObject *object = vm && JSON_NODE_HOLDS_OBJECT(vm) ? json_node_get_object(vm) : NULL;
    const char *owner = wirt_cli_format_member_string(object, "owner");
    const char *name = wirt_cli_format_member_string(object, "name");
    const char *uuid = wirt_cli_format_member_string(object, "uuid");
    const char *state = wirt_cli_format_member_string(object, "state");
    const char *user = args->user ? args->user : wirt_cli_format_member_string(object, "ssh_user");
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GString) proxy = g_string_new(NULL);
    g_autofree char *quoted_self = g_shell_quote(host->self);
    g_autofree char *quoted_ref = g_shell_quote(args->ref);
    g_autofree char *proxy_text = NULL;
    g_autofree char *alias = NULL;
    g_autofree char *known = g_build_filename(host->home, ".config", "wirt", "known_hosts", NULL);
    g_autofree char *known_escaped = NULL;

    if (!owner || !name || !uuid || strlen(uuid) < 8) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED,
                    "wirtd sent an unexpected answer (a VM without owner, name or uuid)");
        return NULL;
    }
    if (g_strcmp0(state, "running") != 0) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_CONFLICT,
                    "vm %s: not running (%s): start it first with 'wirt start %s'", args->ref,
                    state ? state : "unknown state", args->ref);
        return NULL;
    }
    if (!user || !*user)
        user = "vagrant";

    g_string_append_printf(proxy, "%s ssh-proxy", quoted_self);
    if (args->socket_path) {
        g_autofree char *quoted = g_shell_quote(args->socket_path);
        g_string_append_printf(proxy, " --socket %s", quoted);
    }
    g_string_append_printf(proxy, " %s", quoted_ref);
    proxy_text = escape_percent(proxy->str);
    alias = g_strdup_printf("wirt-%s-%s-%.8s", owner, name, uuid);
    known_escaped = escape_percent(known);

    g_ptr_array_add(argv, g_strdup("ssh"));
    g_ptr_array_add(argv, g_strdup("-o"));
    g_ptr_array_add(argv, g_strconcat("ProxyCommand=", proxy_text, NULL));
    g_ptr_array_add(argv, g_strdup("-o"));
    g_ptr_array_add(argv, g_strconcat("HostKeyAlias=", alias, NULL));
    g_ptr_array_add(argv, g_strdup("-o"));
    g_ptr_array_add(argv, g_strconcat("UserKnownHostsFile=", known_escaped, NULL));
    g_ptr_array_add(argv, g_strdup("-o"));
    g_ptr_array_add(argv, g_strdup("StrictHostKeyChecking=accept-new"));
    if (args->ssh_key) {
        g_ptr_array_add(argv, g_strdup("-i"));
        g_ptr_array_add(argv, g_strdup(args->ssh_key));
    }
    if (host->insecure_key) {
        for (guint i = 0; !args->ssh_key && host->own_keys && host->own_keys[i]; i++) {
            g_autofree char *escaped = escape_percent(host->own_keys[i]);
            g_ptr_array_add(argv, g_strdup("-o"));
            g_ptr_array_add(argv, g_strconcat("IdentityFile=", escaped, NULL));
        }
        {
            g_autofree char *escaped = escape_percent(host->insecure_key);
            g_ptr_array_add(argv, g_strdup("-o"));
            g_ptr_array_add(argv, g_strconcat("IdentityFile=", escaped, NULL));
        }
    }
    g_ptr_array_add(argv, g_strdup("-l"));
    g_ptr_array_add(argv, g_strdup(user));
    /* "--": neither the host nor the command is read as an option. */
    g_ptr_array_add(argv, g_strdup("--"));
    g_ptr_array_add(argv, g_strdup(alias));
    for (guint i = 0; args->ssh_command && args->ssh_command[i]; i++)
        g_ptr_array_add(argv, g_strdup(args->ssh_command[i]));
    g_ptr_array_add(argv, NULL);
    return (GStrv)g_ptr_array_free(g_steal_pointer(&argv), FALSE);
}

/**
 * wirt_cli_ssh_find_insecure_key:
 * Returns: (transfer full) (nullable): the path of Vagrant's insecure private key as
 * Debian's vagrant package installs it (gems/vagrant-VERSION/keys/vagrant), or %NULL.
 */
char *
wirt_cli_ssh_find_insecure_key(void)
{
    g_autoptr(GDir) dir = g_dir_open(WIRT_CLI_SSH_VAGRANT_GEMS, 0, NULL);
    g_autofree char *found = NULL;
    const char *entry;

    while (dir && (entry = g_dir_read_name(dir))) {
        g_autofree char *path = NULL;

        if (!g_str_has_prefix(entry, "vagrant-"))
            continue;
        path = g_build_filename(WIRT_CLI_SSH_VAGRANT_GEMS, entry, "keys", "vagrant", NULL);
        /* The highest version wins when several are installed. */
        if (g_file_test(path, G_FILE_TEST_IS_REGULAR) && g_strcmp0(path, found) > 0) {
            g_free(found);
            found = g_steal_pointer(&path);
        }
    }
    if (!found && g_file_test(WIRT_CLI_SSH_VAGRANT_KEY, G_FILE_TEST_IS_REGULAR))
        found = g_strdup(WIRT_CLI_SSH_VAGRANT_KEY);
    return g_steal_pointer(&found);
}

/**
 * wirt_cli_ssh_run:
 * Returns: only on failure: %FALSE with @error (wirtd's answer, a VM that does not
 * run, or ssh that cannot be run). On success the process is ssh.
 */
gboolean
wirt_cli_ssh_run(const WirtCliArgs *args, WirtCliClient *client, GError **error)
{
    static const char *const defaults[] = {"id_ed25519", "id_ecdsa", "id_rsa"};
    g_autoptr(WirtCliRequest) request = wirt_cli_request_build(args);
    g_autoptr(JsonNode) vm = NULL;
    g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
    g_autofree char *insecure = wirt_cli_ssh_find_insecure_key();
    g_autofree char *config_dir = NULL;
    g_autoptr(GPtrArray) own = g_ptr_array_new_with_free_func(g_free);
    g_auto(GStrv) argv = NULL;
    WirtCliSshHost host = {0};

    if (!(vm = wirt_cli_client_send(client, request, error)))
        return FALSE;
    for (gsize i = 0; i < G_N_ELEMENTS(defaults); i++) {
        g_autofree char *path = g_build_filename(g_get_home_dir(), ".ssh", defaults[i], NULL);
        if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
            g_ptr_array_add(own, g_steal_pointer(&path));
    }
    g_ptr_array_add(own, NULL);
    host.self = self ? self : "wirt";
    host.home = g_get_home_dir();
    host.insecure_key = insecure;
    host.own_keys = (const char *const *)own->pdata;
    if (!(argv = wirt_cli_ssh_argv(args, vm, &host, error)))
        return FALSE;
    config_dir = g_build_filename(host.home, ".config", "wirt", NULL);
    if (g_mkdir_with_parents(config_dir, 0700) != 0) {
        int saved = errno;
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "ssh: cannot make %s: %s", config_dir,
                    g_strerror(saved));
        return FALSE;
    }
    fflush(stdout);
    fflush(stderr);
    execvp("ssh", argv);
    {
        int saved = errno;
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED,
                    "ssh: cannot run ssh: %s (is openssh-client installed?)", g_strerror(saved));
    }
    return FALSE;
}

/* ----------------------------------------------------------------- proxy */

typedef struct {
    GMainLoop *loop;
    SoupWebsocketConnection *ws;
    GError *error;
    char *ws_error;
    guint stdin_id;
    gboolean stdin_eof;
    gboolean closing;
} Proxy;

static void
proxy_fail(Proxy *proxy, GError *error)
{
    if (!proxy->error)
        proxy->error = error;
    else
        g_error_free(error);
}

/* Writes all of @data to stdout, waiting while the pipe is full. */
static gboolean
write_stdout(const guint8 *data, gsize len)
{
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, data, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            struct pollfd pfd = {STDOUT_FILENO, POLLOUT, 0};
            (void)poll(&pfd, 1, -1);
            continue;
        }
        if (n <= 0)
            return FALSE;
        data += n;
        len -= (gsize)n;
    }
    return TRUE;
}

static void
proxy_close(Proxy *proxy)
{
    if (proxy->closing)
        return;
    proxy->closing = TRUE;
    g_clear_handle_id(&proxy->stdin_id, g_source_remove);
    if (soup_websocket_connection_get_state(proxy->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close(proxy->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
    else
        g_main_loop_quit(proxy->loop);
}

static void
on_message(SoupWebsocketConnection *ws G_GNUC_UNUSED, gint type, GBytes *message,
           gpointer user_data)
{
    Proxy *proxy = user_data;
    gsize len = 0;
    const guint8 *data = g_bytes_get_data(message, &len);

    if (type != SOUP_WEBSOCKET_DATA_BINARY)
        return;
    if (!write_stdout(data, len)) {
        proxy->stdin_eof = TRUE; /* ssh went away: nothing more to say */
        proxy_close(proxy);
    }
}

static void
on_ws_error(SoupWebsocketConnection *ws G_GNUC_UNUSED, GError *error, gpointer user_data)
{
    Proxy *proxy = user_data;

    g_free(proxy->ws_error);
    proxy->ws_error = g_strdup(error->message);
}

static void
on_closed(SoupWebsocketConnection *ws, gpointer user_data)
{
    Proxy *proxy = user_data;
    gushort code = soup_websocket_connection_get_close_code(ws);
    const char *reason = soup_websocket_connection_get_close_data(ws);

    g_clear_handle_id(&proxy->stdin_id, g_source_remove);
    if (!proxy->stdin_eof && code != SOUP_WEBSOCKET_CLOSE_NORMAL)
        proxy_fail(proxy,
                   g_error_new(WIRT_ERROR, WIRT_ERROR_HOST_DOWN, "ssh-proxy: the stream ended: %s",
                               reason && *reason ? reason
                               : proxy->ws_error ? proxy->ws_error
                                                 : "connection lost"));
    g_main_loop_quit(proxy->loop);
}

static gboolean
on_stdin(gint fd, GIOCondition condition G_GNUC_UNUSED, gpointer user_data)
{
    Proxy *proxy = user_data;
    guint8 buf[PROXY_CHUNK];
    ssize_t n = read(fd, buf, sizeof(buf));

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return G_SOURCE_CONTINUE;
    if (n <= 0) {
        proxy->stdin_id = 0;
        proxy->stdin_eof = TRUE;
        proxy_close(proxy);
        return G_SOURCE_REMOVE;
    }
    soup_websocket_connection_send_binary(proxy->ws, buf, (gsize)n);
    return G_SOURCE_CONTINUE;
}

typedef struct {
    GMainLoop *loop;
    WirtCliClient *client;
    SoupWebsocketConnection *ws;
    GError *error;
} Connecting;

static void
on_connected(GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer user_data)
{
    Connecting *c = user_data;

    c->ws = wirt_cli_client_websocket_finish(c->client, res, &c->error);
    g_main_loop_quit(c->loop);
}

/**
 * wirt_cli_ssh_proxy_run:
 * Returns: %TRUE when the stream ended normally (either side closed); %FALSE with
 * @error when wirtd refused it (its own message: "vm web: not found" for a VM that
 * is not the caller's, as for one that does not exist) or the stream broke.
 */
gboolean
wirt_cli_ssh_proxy_run(const WirtCliArgs *args, WirtCliClient *client, GError **error)
{
    g_autoptr(WirtCliRequest) request = wirt_cli_request_build(args);
    g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
    Connecting c = {0};
    Proxy proxy = {0};
    gboolean ok;

    c.loop = loop;
    c.client = client;
    wirt_cli_client_websocket_async(client, request->path, NULL, on_connected, &c);
    g_main_loop_run(loop);
    if (!c.ws) {
        /* A refused upgrade brings back its status only: ask the same path once more
         * as a plain request, whose answer carries wirtd's message. */
        g_autoptr(GError) plain = NULL;
        g_autoptr(JsonNode) answer = wirt_cli_client_send(client, request, &plain);

        if (plain && !g_error_matches(plain, WIRT_ERROR, WIRT_ERROR_INVALID) &&
            c.error->domain == WIRT_ERROR) {
            g_propagate_error(error, g_steal_pointer(&plain));
            g_clear_error(&c.error);
        } else {
            g_propagate_error(error, c.error);
        }
        return FALSE;
    }

    /* ssh closes its end when done; a write to it then must fail, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    proxy.loop = loop;
    proxy.ws = c.ws;
    soup_websocket_connection_set_max_incoming_payload_size(proxy.ws, 1024 * 1024);
    g_signal_connect(proxy.ws, "message", G_CALLBACK(on_message), &proxy);
    g_signal_connect(proxy.ws, "error", G_CALLBACK(on_ws_error), &proxy);
    g_signal_connect(proxy.ws, "closed", G_CALLBACK(on_closed), &proxy);
    proxy.stdin_id = g_unix_fd_add(STDIN_FILENO, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, &proxy);
    g_main_loop_run(loop);

    g_clear_handle_id(&proxy.stdin_id, g_source_remove);
    g_signal_handlers_disconnect_by_data(proxy.ws, &proxy);
    g_clear_object(&proxy.ws);
    g_free(proxy.ws_error);
    ok = proxy.error == NULL;
    if (!ok)
        g_propagate_error(error, proxy.error);
    return ok;
}
