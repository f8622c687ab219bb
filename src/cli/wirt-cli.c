/* wirt-cli.c: the wirt command: parse the command line, ask wirtd, print the answer.
 *
 * Output is built in a GString and written only when the command succeeded, so a failing
 * command prints exactly one line on stderr and nothing on stdout. */
#include "wirt-cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/wirt-api.h"
#include "core/wirt-error.h"
#include "wirt-build-config.h"
#include "wirt-cli-client.h"
#include "wirt-cli-events.h"
#include "wirt-cli-format.h"
#include "wirt-cli-net.h"
#include "wirt-cli-passwd.h"
#include "wirt-cli-ssh.h"

/* Who the caller is, for naming VMs in tables (GET /1.0). */
static gboolean
ask_whoami(WirtCliSendFunc send, gpointer user_data, char **out_user, gboolean *out_admin,
           GError **error)
{
    g_autoptr(WirtCliRequest) request = wirt_cli_request_whoami();
    g_autoptr(JsonNode) answer = send(request, user_data, error);
    JsonObject *object = NULL;

    if (!answer)
        return FALSE;
    if (!JSON_NODE_HOLDS_OBJECT(answer)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED,
                    "wirtd sent an unexpected answer (GET /1.0 is not an object)");
        return FALSE;
    }
    object = json_node_get_object(answer);
    *out_user = g_strdup(json_object_get_string_member_with_default(object, "user", NULL));
    *out_admin = json_object_get_boolean_member_with_default(object, "admin", FALSE);
    return TRUE;
}

/* The one line an action prints on success, e.g. "web: running". */
static void
append_action_line(const WirtCliArgs *args, JsonNode *answer, GString *out)
{
    JsonObject *vm = answer && JSON_NODE_HOLDS_OBJECT(answer) ? json_node_get_object(answer) : NULL;
    const char *state = vm ? json_object_get_string_member_with_default(vm, "state", NULL) : NULL;
    const char *node = vm ? json_object_get_string_member_with_default(vm, "node", NULL) : NULL;
    g_autofree char *ref = NULL;
    g_autofree char *line = NULL;

    if (args->command == WIRT_CLI_CMD_CREATE)
        ref = wirt_cli_format_vm_ref(args->owner, args->name, args->owner != NULL);
    else
        ref = g_strdup(args->ref);

    switch (args->command) {
    case WIRT_CLI_CMD_CREATE:
        line = g_strdup_printf("%s: created, %s on %s", ref, state ? state : "shutoff",
                               node ? node : "-");
        break;
    case WIRT_CLI_CMD_DELETE:
        line = g_strdup_printf("%s: deleted", ref);
        break;
    case WIRT_CLI_CMD_AUTOSTART:
        line = g_strdup_printf("%s: autostart %s", ref, args->disable ? "disabled" : "enabled");
        break;
    case WIRT_CLI_CMD_ADOPT:
        line = g_strdup_printf("%s: adopted as %s/%s", ref, args->owner, args->name);
        break;
    case WIRT_CLI_CMD_BOX_REMOVE:
        line = g_strdup_printf("box %s: removed", args->name);
        break;
    case WIRT_CLI_CMD_NET_CREATE:
    case WIRT_CLI_CMD_NET_DELETE:
        line = wirt_cli_net_action_line(args, answer);
        break;
    case WIRT_CLI_CMD_TOKEN_REVOKE:
        if (args->user)
            line = g_strdup_printf("token %s/%s: revoked", args->user, args->name);
        else
            line = g_strdup_printf("token %s: revoked", args->name);
        break;
    default:
        line = g_strdup_printf("%s: %s", ref, state ? state : "done");
        break;
    }
    g_autofree char *clean = wirt_cli_format_sanitize(line);
    g_string_append_printf(out, "%s\n", clean);
}

/**
 * wirt_cli_run:
 * @args: (transfer none): a parsed command line
 * @send: how to reach wirtd; not called for help and --version
 * @user_data: passed to @send
 * @out: where to append what the command prints on stdout (only complete on success)
 * @error: set from @send's failure, or to %WIRT_ERROR_FAILED when wirtd's answer has
 * an unexpected shape
 *
 * A table listing of VMs or history first asks GET /1.0, to know whether to write names as
 * OWNER/NAME, and one of tokens, to know whether to add a USER column; every other command
 * is exactly one request. `wirt events` is a stream, not a request: wirt_cli_main() runs it
 * with wirt_cli_events_run(); `wirt admin passwd` is local: wirt_cli_passwd_run().
 * Returns: %TRUE when the command succeeded.
 */
gboolean
wirt_cli_run(const WirtCliArgs *args, WirtCliSendFunc send, gpointer user_data, GString *out,
             GError **error)
{
    g_autoptr(WirtCliRequest) request = NULL;
    g_autoptr(JsonNode) answer = NULL;
    g_autofree char *user = NULL;
    gboolean admin = FALSE;
    gboolean table = args->format == WIRT_CLI_FORMAT_TABLE;

    if (args->command == WIRT_CLI_CMD_HELP) {
        g_autofree char *help = wirt_cli_args_help(args->command_name);
        g_string_append(out, help);
        return TRUE;
    }
    if (args->command == WIRT_CLI_CMD_VERSION) {
        g_string_append(out, "wirt " WIRT_VERSION "\n");
        return TRUE;
    }
    g_return_val_if_fail(args->command != WIRT_CLI_CMD_EVENTS, FALSE);
    g_return_val_if_fail(args->command != WIRT_CLI_CMD_ADMIN_PASSWD, FALSE);
    g_return_val_if_fail(args->command != WIRT_CLI_CMD_BOX_ADD, FALSE);

    if (table &&
        (args->command == WIRT_CLI_CMD_LIST || args->command == WIRT_CLI_CMD_HISTORY ||
         args->command == WIRT_CLI_CMD_TOKEN_LIST) &&
        !ask_whoami(send, user_data, &user, &admin, error))
        return FALSE;
    request = wirt_cli_request_build(args);
    if (!(answer = send(request, user_data, error)))
        return FALSE;

    if (!table) {
        g_autofree char *json = wirt_api_to_string(answer, TRUE);
        g_string_append(out, json);
        if (!g_str_has_suffix(json, "\n"))
            g_string_append_c(out, '\n');
        return TRUE;
    }
    switch (args->command) {
    case WIRT_CLI_CMD_LIST:
        return wirt_cli_format_vms(answer, user, admin, out, error);
    case WIRT_CLI_CMD_INFO:
    case WIRT_CLI_CMD_WHOAMI:
        return wirt_cli_format_object(answer, out, error);
    case WIRT_CLI_CMD_POOL_LIST:
        return wirt_cli_format_pools(answer, out, error);
    case WIRT_CLI_CMD_NODE_LIST:
        return wirt_cli_format_nodes(answer, out, error);
    case WIRT_CLI_CMD_QUOTA:
        return wirt_cli_format_quota(answer, out, error);
    case WIRT_CLI_CMD_HISTORY:
        return wirt_cli_format_history(answer, user, admin, out, error);
    case WIRT_CLI_CMD_TOKEN_CREATE:
        return wirt_cli_format_token_created(answer, out, error);
    case WIRT_CLI_CMD_TOKEN_LIST:
        return wirt_cli_format_tokens(answer, admin || args->user != NULL, out, error);
    case WIRT_CLI_CMD_BOX_LIST:
        return wirt_cli_format_boxes(answer, out, error);
    case WIRT_CLI_CMD_NET_LIST:
        return wirt_cli_net_format_list(answer, out, error);
    default:
        append_action_line(args, answer, out);
        return TRUE;
    }
}

/**
 * wirt_cli_exit_code:
 * @error: (nullable): why a command failed
 * Returns: the exit status: 0 for %NULL, the table in docs/api.md for %WIRT_ERROR, else 1.
 */
int
wirt_cli_exit_code(const GError *error)
{
    if (!error)
        return 0;
    if (error->domain != WIRT_ERROR)
        return 1;
    return wirt_error_exit_code((WirtError)error->code);
}

static JsonNode *
send_with_client(const WirtCliRequest *request, gpointer user_data, GError **error)
{
    return wirt_cli_client_send(user_data, request, error);
}

/* `wirt events`: GET /1.0 first, which reports a missing socket or a refused user with
 * the server's own message (a refused websocket upgrade brings back only its status),
 * then the stream, printed straight to stdout as events come. */
static gboolean
run_events(const WirtCliArgs *args, WirtCliClient *client, GError **error)
{
    g_autofree char *user = NULL;
    gboolean admin = FALSE;

    return ask_whoami(send_with_client, client, &user, &admin, error) &&
           wirt_cli_events_run(client, args, user, admin, stdout, error);
}

/* Progress of `wirt box add` on stderr: a bar redrawn in place on a terminal, else a
 * line at every 10%. */
typedef struct {
    const char *name;
    gboolean tty;
    guint last_tenth;
    gint64 start;
    gint64 last_draw;
} BoxProgress;

static void
on_box_progress(guint64 done, guint64 total, gpointer user_data)
{
    BoxProgress *bp = user_data;
    guint percent = total ? (guint)(done * 100 / total) : 100;
    g_autofree char *done_text = wirt_cli_format_bytes(done);
    g_autofree char *total_text = wirt_cli_format_bytes(total);
    gint64 now = g_get_monotonic_time();

    if (bp->tty) {
        double seconds = (double)(now - bp->start) / G_USEC_PER_SEC;
        g_autofree char *rate =
            wirt_cli_format_bytes(seconds > 0 ? (guint64)((double)done / seconds) : 0);
        char bar[31];
        guint filled = percent * 30 / 100;

        if (done < total && now - bp->last_draw < G_USEC_PER_SEC / 10)
            return;
        bp->last_draw = now;
        memset(bar, '#', filled);
        memset(bar + filled, '-', 30 - filled);
        bar[30] = '\0';
        fprintf(stderr, "\r%s [%s] %3u%% %s/%s %s/s", bp->name, bar, percent, done_text, total_text,
                rate);
        if (done >= total)
            fputc('\n', stderr);
    } else if (percent / 10 > bp->last_tenth || (done >= total && bp->last_tenth < 10)) {
        bp->last_tenth = percent / 10;
        fprintf(stderr, "wirt: box %s: %u%% uploaded (%s of %s)\n", bp->name, percent, done_text,
                total_text);
    }
    fflush(stderr);
}

/* `wirt box add NAME FILE`: the file is streamed from disk as the request body; wirtd
 * answers once it has checked the whole box and kept the volume. */
static gboolean
run_box_add(const WirtCliArgs *args, WirtCliClient *client, GString *out, GError **error)
{
    g_autoptr(GFile) file = g_file_new_for_commandline_arg(args->file);
    g_autoptr(GError) local = NULL;
    g_autoptr(GFileInputStream) in = NULL;
    g_autoptr(GFileInfo) info = NULL;
    g_autoptr(WirtCliRequest) request = wirt_cli_request_build(args);
    g_autoptr(JsonNode) answer = NULL;
    BoxProgress bp = {args->name, isatty(STDERR_FILENO), 0, g_get_monotonic_time(), 0};

    if (!(in = g_file_read(file, NULL, &local)) ||
        !(info = g_file_input_stream_query_info(
              in, G_FILE_ATTRIBUTE_STANDARD_SIZE "," G_FILE_ATTRIBUTE_STANDARD_TYPE, NULL,
              &local))) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "box add: %s", local->message);
        return FALSE;
    }
    if (g_file_info_get_file_type(info) != G_FILE_TYPE_REGULAR) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "box add: %s is not a regular file",
                    args->file);
        return FALSE;
    }
    if (!(answer = wirt_cli_client_upload(client, request, G_INPUT_STREAM(in),
                                          (guint64)g_file_info_get_size(info), on_box_progress, &bp,
                                          error))) {
        if (bp.tty && bp.last_draw)
            fputc('\n', stderr);
        return FALSE;
    }
    if (args->format == WIRT_CLI_FORMAT_JSON) {
        g_autofree char *json = wirt_api_to_string(answer, TRUE);
        g_string_append_printf(out, "%s%s", json, g_str_has_suffix(json, "\n") ? "" : "\n");
    } else {
        JsonObject *box = JSON_NODE_HOLDS_OBJECT(answer) ? json_node_get_object(answer) : NULL;
        gint64 size = box ? json_object_get_int_member_with_default(box, "virtual_size", 0) : 0;
        g_autofree char *size_text = wirt_cli_format_bytes((guint64)size);
        g_string_append_printf(out, "box %s: added (virtual size %s)\n", args->name, size_text);
    }
    return TRUE;
}

/* Appends the public key lines of @path (comments and blank lines skipped). */
static gboolean
read_key_file(const char *path, GPtrArray *keys, GError **error)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    gsize len = 0;

    if (!g_file_get_contents(path, &text, &len, error))
        return FALSE;
    if (len > 65536 || strstr(text, "PRIVATE KEY")) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "%s is not a public key file (give the .pub file)", path);
        return FALSE;
    }
    lines = g_strsplit(text, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        char *line = g_strstrip(lines[i]);
        if (line[0] && line[0] != '#')
            g_ptr_array_add(keys, g_strdup(line));
    }
    return TRUE;
}

/* create --box: the keys for the guest's seed: --ssh-key FILE, else ~/.ssh/id_*.pub. */
static gboolean
load_ssh_keys(WirtCliArgs *args, GError **error)
{
    static const char *const defaults[] = {"id_ed25519.pub", "id_ecdsa.pub", "id_rsa.pub"};
    g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func(g_free);

    if (args->command != WIRT_CLI_CMD_CREATE || !args->box) {
        if (args->command == WIRT_CLI_CMD_CREATE && args->ssh_key) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "--ssh-key needs --box");
            return FALSE;
        }
        return TRUE;
    }
    if (args->ssh_key) {
        if (!read_key_file(args->ssh_key, keys, error))
            return FALSE;
    } else {
        for (guint i = 0; i < G_N_ELEMENTS(defaults); i++) {
            g_autofree char *path = g_build_filename(g_get_home_dir(), ".ssh", defaults[i], NULL);
            g_autoptr(GError) local = NULL;
            if (g_file_test(path, G_FILE_TEST_IS_REGULAR) && !read_key_file(path, keys, &local))
                fprintf(stderr, "wirt: %s: skipped: %s\n", path, local->message);
        }
        if (keys->len == 0)
            fprintf(stderr, "wirt: no ~/.ssh/id_*.pub: the guest gets no key of yours "
                            "(make one with ssh-keygen, or give --ssh-key FILE)\n");
    }
    g_ptr_array_add(keys, NULL);
    args->ssh_keys = (char **)g_ptr_array_free(g_steal_pointer(&keys), FALSE);
    return TRUE;
}

/**
 * wirt_cli_main:
 * @argc: the number of @argv elements
 * @argv: (array length=argc): the command line
 *
 * Usage errors print "wirt: MESSAGE" and a "Try 'wirt COMMAND --help'." line and exit 2;
 * any other failure prints one "wirt: MESSAGE" line and exits with wirt_cli_exit_code().
 * Other commands print only once they succeeded; `wirt events` prints each event as it comes.
 * `wirt token create` prints the token alone on stdout and a note on stderr that it is
 * shown only once. `wirt admin passwd` works on a local file and never contacts wirtd.
 * Returns: the process's exit status.
 */
int
wirt_cli_main(int argc, const char *const *argv)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(WirtCliArgs) args = wirt_cli_args_parse(argc, argv, &error);
    g_autoptr(WirtCliClient) client = NULL;
    g_autoptr(GString) out = g_string_new(NULL);
    gboolean ok = FALSE;

    if (!args) {
        g_autofree char *hint = wirt_cli_args_hint(argc, argv);
        g_autofree char *message = wirt_cli_format_sanitize(error->message);
        fprintf(stderr, "wirt: %s\n%s\n", message, hint);
        return 2;
    }
    if (args->command == WIRT_CLI_CMD_ADMIN_PASSWD) {
        ok = wirt_cli_passwd_run(args, STDIN_FILENO, out, &error);
    } else {
        client = wirt_cli_client_new(wirt_cli_args_socket_path(args));
        if (args->command == WIRT_CLI_CMD_EVENTS)
            ok = run_events(args, client, &error);
        else if (args->command == WIRT_CLI_CMD_BOX_ADD)
            ok = run_box_add(args, client, out, &error);
        else if (args->command == WIRT_CLI_CMD_SSH) /* wirt-cli-ssh.c: execs ssh */
            ok = wirt_cli_ssh_run(args, client, &error);
        else if (args->command == WIRT_CLI_CMD_SSH_PROXY)
            ok = wirt_cli_ssh_proxy_run(args, client, &error);
        else
            ok = load_ssh_keys(args, &error) &&
                 wirt_cli_run(args, send_with_client, client, out, &error);
    }
    if (!ok) {
        g_autofree char *message = wirt_cli_format_sanitize(error->message);
        fprintf(stderr, "wirt: %s\n", message);
        return wirt_cli_exit_code(error);
    }
    if (fwrite(out->str, 1, out->len, stdout) != out->len || fflush(stdout) != 0) {
        int saved = errno;
        fprintf(stderr, "wirt: cannot write the output: %s\n", g_strerror(saved));
        return 1;
    }
    if (args->command == WIRT_CLI_CMD_TOKEN_CREATE) {
        /* On stderr, so that TOKEN=$(wirt token create ci) holds the token alone. */
        fprintf(stderr,
                "wirt: token %s is shown only this once: store it now (wirtd keeps only "
                "its hash)\n",
                args->name);
    }
    return 0;
}
