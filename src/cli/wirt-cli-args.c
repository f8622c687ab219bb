/* wirt-cli-args.c: the wirt command line, parsed strictly by hand.
 *
 * Why not GOptionContext: it prints help and calls exit() from inside the parser, cannot
 * say which options belong to which subcommand while still accepting the global ones
 * anywhere, and parses numbers loosely. A small table-driven parser gives one message
 * per mistake, is testable without a process, and keeps help text next to the table. */
#include "wirt-cli-args.h"

#include <string.h>

#include "core/wirt-error.h"
#include "core/wirt-names.h"
#include "util/wirt-util.h"
#include "wirt-cli-passwd.h"

typedef enum {
    OPT_SOCKET = 1 << 0,
    OPT_FORMAT = 1 << 1,
    OPT_OWNER = 1 << 2,
    OPT_MEMORY = 1 << 3,
    OPT_CPUS = 1 << 4,
    OPT_POOL = 1 << 5,
    OPT_NODE = 1 << 6,
    OPT_FORCE = 1 << 7,
    OPT_TIMEOUT = 1 << 8,
    OPT_DISABLE = 1 << 9,
    OPT_NAME = 1 << 10,
    OPT_USER = 1 << 11,
    OPT_LIMIT = 1 << 12,
    OPT_COUNT = 1 << 13,
    OPT_FILE = 1 << 14,
    OPT_DELETE = 1 << 15,
    OPT_SUBNET = 1 << 16,
    OPT_MODE = 1 << 17,
    OPT_DHCP = 1 << 18,
    OPT_NO_DHCP = 1 << 19,
    OPT_BOX = 1 << 20,
    OPT_NETWORK = 1 << 21,
    OPT_IP = 1 << 22,
    OPT_MAC = 1 << 23,
    OPT_DISK_SIZE = 1 << 24,
    OPT_SSH_KEY = 1 << 25,
    OPT_SSH_USER = 1 << 26,
    OPT_MACHINE = 1 << 27,
    OPT_DISK_CACHE = 1 << 28,
    OPT_NESTED = 1 << 29,
} OptBit;

#define OPT_GLOBAL (OPT_SOCKET | OPT_FORMAT)

static const struct {
    const char *name; /* without the leading "--" */
    OptBit bit;
    gboolean takes_value;
} option_table[] = {
    {"socket", OPT_SOCKET, TRUE},
    {"format", OPT_FORMAT, TRUE},
    {"owner", OPT_OWNER, TRUE},
    {"memory", OPT_MEMORY, TRUE},
    {"cpus", OPT_CPUS, TRUE},
    {"pool", OPT_POOL, TRUE},
    {"node", OPT_NODE, TRUE},
    {"force", OPT_FORCE, FALSE},
    {"timeout", OPT_TIMEOUT, TRUE},
    {"disable", OPT_DISABLE, FALSE},
    {"name", OPT_NAME, TRUE},
    {"user", OPT_USER, TRUE},
    {"limit", OPT_LIMIT, TRUE},
    {"count", OPT_COUNT, TRUE},
    {"file", OPT_FILE, TRUE},
    {"delete", OPT_DELETE, FALSE},
    {"subnet", OPT_SUBNET, TRUE},
    {"mode", OPT_MODE, TRUE},
    {"dhcp", OPT_DHCP, FALSE},
    {"no-dhcp", OPT_NO_DHCP, FALSE},
    {"box", OPT_BOX, TRUE},
    {"network", OPT_NETWORK, TRUE},
    {"ip", OPT_IP, TRUE},
    {"mac", OPT_MAC, TRUE},
    {"disk-size", OPT_DISK_SIZE, TRUE},
    {"ssh-key", OPT_SSH_KEY, TRUE},
    {"ssh-user", OPT_SSH_USER, TRUE},
    {"machine", OPT_MACHINE, TRUE},
    {"disk-cache", OPT_DISK_CACHE, TRUE},
    {"nested", OPT_NESTED, FALSE},
};

/* What NAME-like positional a command takes. */
typedef enum {
    POS_NONE,
    POS_REF,     /* NAME or OWNER/NAME, required */
    POS_REF_OPT, /* NAME or OWNER/NAME, optional */
    POS_DOMAIN,  /* a libvirt domain name, required */
    POS_LIST,    /* the word "list", optional */
    POS_TOPIC,   /* a command name, optional */
    POS_TOKEN,   /* an API token's name (the VM name rules), required */
    POS_USER,    /* a user name, required */
    POS_BOX,     /* a box's name (the VM name rules), required */
    POS_BOX_ADD, /* a box's name and the .box FILE, both required */
    POS_NET,     /* a network's name (the VM name rules), required */
} PosKind;

/* A command name is one word ("list"), or a group and a subcommand ("token create"): the
 * command line gives them as two words, and help lists each subcommand on its own line. */
typedef struct {
    const char *name;
    WirtCliCommand command;
    PosKind pos;
    guint options; /* OptBit mask, globals excluded */
    const char *synopsis;
    const char *summary;
    const char *options_help; /* lines for the command's own options, or NULL */
} CommandInfo;

static const CommandInfo command_table[] = {
    {"list", WIRT_CLI_CMD_LIST, POS_NONE, OPT_OWNER, "list [--owner USER]",
     "list the VMs you may see (admins: every VM, as OWNER/NAME)",
     "  --owner USER         only the VMs of USER\n"},
    {"info", WIRT_CLI_CMD_INFO, POS_REF, 0, "info NAME", "show one VM", NULL},
    {"create", WIRT_CLI_CMD_CREATE, POS_REF,
     OPT_MEMORY | OPT_CPUS | OPT_POOL | OPT_NODE | OPT_OWNER | OPT_BOX | OPT_NETWORK | OPT_IP |
         OPT_MAC | OPT_DISK_SIZE | OPT_SSH_KEY | OPT_SSH_USER | OPT_MACHINE | OPT_DISK_CACHE |
         OPT_NESTED,
     "create NAME [--box BOX [--disk-size SIZE] [--network NET [--ip ADDR] [--mac MAC]]\n"
     "            [--ssh-key FILE] [--ssh-user USER]] [--memory SIZE] [--cpus N] [--pool POOL]\n"
     "            [--disk-cache MODE] [--machine TYPE] [--nested] [--node NODE] [--owner USER]",
     "define a new VM (shut off); with --box, one that boots a copy-on-write disk of the box",
     "  --box BOX            boot from BOX (yours, else the shared one): a qcow2 overlay\n"
     "                       on the box's volume, and a cloud-init seed with your key\n"
     "  --disk-size SIZE     grow the disk to SIZE (2G, 20480M; a bare number is GiB)\n"
     "  --network NET        a NIC on NET (yours, else the admins' network of that name)\n"
     "  --ip ADDR            a fixed address on NET (a DHCP reservation)\n"
     "  --mac MAC            the NIC's MAC (default: a random 52:54:00:xx:xx:xx)\n"
     "  --ssh-key FILE       the public key for the guest (default: ~/.ssh/id_ed25519.pub,\n"
     "                       id_ecdsa.pub and id_rsa.pub, those that exist)\n"
     "  --ssh-user USER      the box's user for `wirt ssh` (default: vagrant)\n"
     "  --disk-cache MODE    none, writethrough, writeback, directsync or unsafe\n"
     "  --machine TYPE       QEMU machine type (default: pc; q35 has the seed on virtio-scsi)\n"
     "  --nested             pass the host CPU through, for VMs inside (KVM hosts only)\n"
     "  --memory SIZE        memory in MiB, or with a suffix: 512M, 2G, 1T\n"
     "  --cpus N             virtual CPUs\n"
     "  --pool POOL          the pool to create it in (default: the first pool)\n"
     "  --node NODE          the host in the pool (default: most free memory)\n"
     "  --owner USER         create it for USER (admins; same as NAME USER/NAME)\n"},
    {"start", WIRT_CLI_CMD_START, POS_REF, 0, "start NAME", "start a VM", NULL},
    {"stop", WIRT_CLI_CMD_STOP, POS_REF, OPT_FORCE | OPT_TIMEOUT,
     "stop NAME [--force] [--timeout SECONDS]",
     "shut a VM down (ACPI), powering it off after a timeout",
     "  --force              power off at once\n"
     "  --timeout SECONDS    power off when the guest has not shut down by then\n"
     "                       (default: wirtd's stop-timeout)\n"},
    {"destroy", WIRT_CLI_CMD_DESTROY, POS_REF, 0, "destroy NAME", "power a VM off at once", NULL},
    {"reboot", WIRT_CLI_CMD_REBOOT, POS_REF, 0, "reboot NAME", "reboot a VM", NULL},
    {"suspend", WIRT_CLI_CMD_SUSPEND, POS_REF, 0, "suspend NAME", "pause a running VM", NULL},
    {"resume", WIRT_CLI_CMD_RESUME, POS_REF, 0, "resume NAME", "resume a paused VM", NULL},
    {"delete", WIRT_CLI_CMD_DELETE, POS_REF, 0, "delete NAME",
     "remove a shut-off VM and its storage", NULL},
    {"autostart", WIRT_CLI_CMD_AUTOSTART, POS_REF, OPT_DISABLE, "autostart NAME [--disable]",
     "start a VM when its host boots",
     "  --disable            do not start it when its host boots\n"},
    {"adopt", WIRT_CLI_CMD_ADOPT, POS_DOMAIN, OPT_OWNER | OPT_NAME | OPT_NODE,
     "adopt DOMAIN --owner USER --name NAME [--node NODE]",
     "give an existing libvirt domain to a user (admins)",
     "  --owner USER         the VM's owner (required)\n"
     "  --name NAME          the VM's name for its owner (required)\n"
     "  --node NODE          the host, when several have a domain of that name\n"},
    {"pool", WIRT_CLI_CMD_POOL_LIST, POS_LIST, 0, "pool list",
     "list the pools of hosts and your usage in each", NULL},
    {"node", WIRT_CLI_CMD_NODE_LIST, POS_LIST, 0, "node list",
     "list the hosts and your usage on each", NULL},
    {"quota", WIRT_CLI_CMD_QUOTA, POS_NONE, OPT_USER, "quota [--user USER]",
     "show your quota and usage", "  --user USER          another user's quota (admins)\n"},
    {"history", WIRT_CLI_CMD_HISTORY, POS_REF_OPT, OPT_LIMIT, "history [NAME] [--limit N]",
     "show the actions on your VMs, oldest first",
     "  --limit N            the last N records (default: 100)\n"},
    {"whoami", WIRT_CLI_CMD_WHOAMI, POS_NONE, 0, "whoami",
     "show who wirtd thinks you are and how it is set up", NULL},
    {"events", WIRT_CLI_CMD_EVENTS, POS_NONE, OPT_COUNT, "events [--count N]",
     "print changes to the VMs you may see as they happen",
     "  --count N            exit after N VM events (default: run until interrupted)\n"},
    {"token create", WIRT_CLI_CMD_TOKEN_CREATE, POS_TOKEN, 0, "token create NAME",
     "make an API token for the HTTP API and print it (shown only once)", NULL},
    {"token list", WIRT_CLI_CMD_TOKEN_LIST, POS_NONE, OPT_USER, "token list [--user USER]",
     "list your API tokens (never their secrets)",
     "  --user USER          another user's tokens (admins)\n"},
    {"token revoke", WIRT_CLI_CMD_TOKEN_REVOKE, POS_TOKEN, OPT_USER,
     "token revoke NAME [--user USER]", "revoke an API token at once",
     "  --user USER          revoke another user's token (admins)\n"},
    {"admin passwd", WIRT_CLI_CMD_ADMIN_PASSWD, POS_USER, OPT_FILE | OPT_DELETE,
     "admin passwd USER [--file PATH] [--delete]",
     "set USER's password in the admin password file (as root, without wirtd)",
     "  --file PATH          the password file of admin-auth=file:PATH\n"
     "                       (default: " WIRT_CLI_ADMINS_FILE ")\n"
     "  --delete             remove USER's line instead\n"},
    {"box add", WIRT_CLI_CMD_BOX_ADD, POS_BOX_ADD, OPT_OWNER, "box add NAME FILE [--owner USER]",
     "upload a Vagrant libvirt box file (admins: a shared box); progress on stderr",
     "  --owner USER         upload it as USER's own box (admins)\n"},
    {"box list", WIRT_CLI_CMD_BOX_LIST, POS_NONE, OPT_OWNER, "box list [--owner USER]",
     "list the boxes you may use: the shared ones and your own",
     "  --owner USER         only USER's boxes ('-': only the shared ones)\n"},
    {"box remove", WIRT_CLI_CMD_BOX_REMOVE, POS_BOX, OPT_OWNER, "box remove NAME [--owner USER]",
     "remove one of your boxes (admins: a shared box)",
     "  --owner USER         remove USER's box (admins; '-': the shared one)\n"},
    {"net create", WIRT_CLI_CMD_NET_CREATE, POS_NET,
     OPT_SUBNET | OPT_MODE | OPT_DHCP | OPT_NO_DHCP | OPT_OWNER,
     "net create NAME --subnet CIDR [--mode isolated|nat|route] [--dhcp|--no-dhcp] [--owner USER]",
     "create your own network (admins: bring up a [network NAME] of the config)",
     "  --subnet CIDR        its IPv4 subnet, like 10.77.0.0/24 (the host takes .1)\n"
     "  --mode MODE          isolated (the default), route, or nat where allowed\n"
     "  --dhcp, --no-dhcp    hand out addresses by DHCP (the default) or not\n"
     "  --owner USER         create it as USER's own network (admins)\n"},
    {"net list", WIRT_CLI_CMD_NET_LIST, POS_NONE, 0, "net list",
     "list the networks you may use: the admins' and your own", NULL},
    {"net delete", WIRT_CLI_CMD_NET_DELETE, POS_NET, OPT_OWNER, "net delete NAME [--owner USER]",
     "delete one of your networks (refused while a VM uses it)",
     "  --owner USER         delete USER's network (admins)\n"},
    {"ssh", WIRT_CLI_CMD_SSH, POS_REF, OPT_SSH_KEY | OPT_USER,
     "ssh NAME [--ssh-key FILE] [--user USER] [-- COMMAND...]",
     "log into a running VM with ssh, through wirtd (no route to the VM needed)",
     "  --ssh-key FILE       the private key to log in with (default: ssh's own)\n"
     "  --user USER          the guest user (default: the VM's, else vagrant)\n"
     "  -- COMMAND...        run COMMAND instead of a login shell\n"},
    {"ssh-proxy", WIRT_CLI_CMD_SSH_PROXY, POS_REF, 0, "ssh-proxy NAME",
     "relay stdin and stdout to the VM's port 22 (ssh's ProxyCommand)", NULL},
    {"help", WIRT_CLI_CMD_HELP, POS_TOPIC, 0, "help [COMMAND]", "show help", NULL},
};

/* The first words of two-word commands. */
static const struct {
    const char *name;
    const char *summary;
} group_table[] = {
    {"token", "manage your API tokens for wirtd's HTTP API"},
    {"box", "manage the boxes (disk images) VMs are made from"},
    {"net", "manage networks: the admins' and your own"},
    {"admin", "manage wirtd's admin password file (root, on wirtd's host)"},
};

static const CommandInfo *
command_lookup(const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(command_table); i++)
        if (g_str_equal(command_table[i].name, name))
            return &command_table[i];
    return NULL;
}

static const char *
group_lookup(const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(group_table); i++)
        if (g_str_equal(group_table[i].name, name))
            return group_table[i].name;
    return NULL;
}

/* "create, list, revoke": the subcommands of @group, for messages. */
static char *
group_subcommands(const char *group)
{
    g_autofree char *prefix = g_strconcat(group, " ", NULL);
    g_autoptr(GString) out = g_string_new(NULL);

    for (gsize i = 0; i < G_N_ELEMENTS(command_table); i++) {
        if (g_str_has_prefix(command_table[i].name, prefix))
            g_string_append_printf(out, "%s%s", out->len ? ", " : "",
                                   command_table[i].name + strlen(prefix));
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/* Tokens, boxes and networks are named by wirtd's VM-name rule; wirt_name_validate()'s
 * own message would speak of a VM, so this one names @kind. */
static gboolean
check_name(const CommandInfo *cmd, const char *kind, const char *name, GError **error)
{
    g_autofree char *shown = NULL;

    if (wirt_name_validate(name, NULL))
        return TRUE;
    shown = g_strescape(name, NULL);
    g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                "%s: %s name '%s' is not valid: 1 to %d letters, digits and '-', starting with a "
                "letter or digit",
                cmd->name, kind, shown, WIRT_NAME_MAX);
    return FALSE;
}

static void
set_string(char **slot, const char *value)
{
    g_free(*slot);
    *slot = g_strdup(value);
}

/**
 * wirt_cli_args_free:
 * @args: (transfer full) (nullable): parsed arguments
 */
void
wirt_cli_args_free(WirtCliArgs *args)
{
    if (!args)
        return;
    g_free(args->command_name);
    g_free(args->socket_path);
    g_free(args->ref);
    g_free(args->owner);
    g_free(args->name);
    g_free(args->domain);
    g_free(args->pool);
    g_free(args->node);
    g_free(args->user);
    g_free(args->file);
    g_free(args->subnet);
    g_free(args->net_mode);
    g_free(args->box);
    g_free(args->network);
    g_free(args->ip);
    g_free(args->mac);
    g_free(args->ssh_key);
    g_free(args->ssh_user);
    g_free(args->machine);
    g_free(args->disk_cache);
    g_strfreev(args->ssh_keys);
    g_strfreev(args->ssh_command);
    g_free(args);
}

/**
 * wirt_cli_args_parse_memory:
 * @text: a size: MiB as digits ("512"), or digits with one suffix of M, MiB, G, GiB, T, TiB
 * @out_mib: (out): the size in MiB, set only on success
 * @error: set to %WIRT_ERROR_INVALID naming @text when it is not a size or is out of range
 *
 * Strict: no sign, no spaces, no fractions, no lowercase suffixes, from 1 MiB to
 * %WIRT_CLI_MEMORY_MAX_MIB.
 * Returns: %TRUE on success.
 */
gboolean
wirt_cli_args_parse_memory(const char *text, guint64 *out_mib, GError **error)
{
    static const struct {
        const char *suffix;
        guint64 factor;
    } suffixes[] = {
        {"", 1}, {"M", 1}, {"MiB", 1}, {"G", 1024}, {"GiB", 1024}, {"T", 1048576}, {"TiB", 1048576},
    };
    gsize digits = 0;
    guint64 value = 0;
    guint64 factor = 0;

    g_return_val_if_fail(text != NULL, FALSE);

    while (g_ascii_isdigit(text[digits]))
        digits++;
    for (gsize i = 0; digits > 0 && i < G_N_ELEMENTS(suffixes); i++)
        if (g_str_equal(text + digits, suffixes[i].suffix))
            factor = suffixes[i].factor;
    if (factor == 0) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "'%s' is not a memory size: give MiB, or a number with M, G or T (512M, 2G)",
                    text);
        return FALSE;
    }
    /* At most 13 digits (more is out of range anyway), so nothing below can overflow. */
    if (digits <= 13) {
        for (gsize d = 0; d < digits; d++)
            value = value * 10 + (guint64)(text[d] - '0');
        value *= factor;
    }
    if (digits > 13 || value < 1 || value > WIRT_CLI_MEMORY_MAX_MIB) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "memory size '%s' is out of range (1M to 16T)", text);
        return FALSE;
    }
    *out_mib = value;
    return TRUE;
}

static gboolean
parse_number(const char *option, const char *text, guint64 min, guint64 max, guint64 *out_value,
             GError **error)
{
    /* wirt_util_parse_uint64 rejects signs; also refuse the leading spaces strtoull skips. */
    if (!g_ascii_isdigit(text[0]) || !wirt_util_parse_uint64(text, min, max, out_value, NULL)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "option '--%s': '%s' is not a whole number from %" G_GUINT64_FORMAT
                    " to %" G_GUINT64_FORMAT,
                    option, text, min, max);
        return FALSE;
    }
    return TRUE;
}

/* --disk-size: "2G", "20480M", "1T"; a bare number is GiB. */
static gboolean
parse_disk_size(const char *text, guint64 *out_bytes, GError **error)
{
    g_autofree char *with_unit = NULL;
    guint64 mib = 0;
    gsize len = strlen(text);

    if (len > 0 && g_ascii_isdigit(text[len - 1]))
        text = with_unit = g_strconcat(text, "G", NULL);
    if (!wirt_cli_args_parse_memory(text, &mib, NULL)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "option '--disk-size': '%s' is not a size: give GiB, or a number with M, G "
                    "or T (2G, 20480M)",
                    text);
        return FALSE;
    }
    *out_bytes = mib << 20;
    return TRUE;
}

static gboolean
apply_option(WirtCliArgs *args, OptBit bit, const char *name, const char *value, GError **error)
{
    guint64 number = 0;

    if (value && value[0] == '\0') {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "option '--%s' needs a value", name);
        return FALSE;
    }
    switch (bit) {
    case OPT_SOCKET:
        set_string(&args->socket_path, value);
        break;
    case OPT_FORMAT:
        if (g_str_equal(value, "table")) {
            args->format = WIRT_CLI_FORMAT_TABLE;
        } else if (g_str_equal(value, "json")) {
            args->format = WIRT_CLI_FORMAT_JSON;
        } else {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                        "option '--format': '%s' is not 'table' or 'json'", value);
            return FALSE;
        }
        break;
    case OPT_OWNER:
        set_string(&args->owner, value);
        break;
    case OPT_MEMORY:
        if (!wirt_cli_args_parse_memory(value, &args->memory_mib, error)) {
            g_prefix_error(error, "option '--memory': ");
            return FALSE;
        }
        break;
    case OPT_CPUS:
        if (!parse_number(name, value, 1, 65535, &args->vcpus, error))
            return FALSE;
        break;
    case OPT_POOL:
        set_string(&args->pool, value);
        break;
    case OPT_NODE:
        set_string(&args->node, value);
        break;
    case OPT_FORCE:
        args->force = TRUE;
        break;
    case OPT_TIMEOUT:
        if (!parse_number(name, value, 0, 86400, &number, error))
            return FALSE;
        args->timeout = (gint64)number;
        break;
    case OPT_DISABLE:
        args->disable = TRUE;
        break;
    case OPT_NAME:
        set_string(&args->name, value);
        break;
    case OPT_USER:
        set_string(&args->user, value);
        break;
    case OPT_LIMIT:
        if (!parse_number(name, value, 1, 1000000, &args->limit, error))
            return FALSE;
        break;
    case OPT_COUNT:
        if (!parse_number(name, value, 1, WIRT_CLI_EVENTS_COUNT_MAX, &args->count, error))
            return FALSE;
        break;
    case OPT_FILE:
        set_string(&args->file, value);
        break;
    case OPT_DELETE:
        args->remove = TRUE;
        break;
    case OPT_SUBNET:
        set_string(&args->subnet, value);
        break;
    case OPT_MODE:
        set_string(&args->net_mode, value);
        break;
    case OPT_DHCP:
        args->dhcp = 1;
        break;
    case OPT_NO_DHCP:
        args->dhcp = 0;
        break;
    case OPT_BOX:
        set_string(&args->box, value);
        break;
    case OPT_NETWORK:
        set_string(&args->network, value);
        break;
    case OPT_IP:
        set_string(&args->ip, value);
        break;
    case OPT_MAC:
        set_string(&args->mac, value);
        break;
    case OPT_DISK_SIZE:
        if (!parse_disk_size(value, &args->disk_bytes, error))
            return FALSE;
        break;
    case OPT_SSH_KEY:
        set_string(&args->ssh_key, value);
        break;
    case OPT_SSH_USER:
        set_string(&args->ssh_user, value);
        break;
    case OPT_MACHINE:
        set_string(&args->machine, value);
        break;
    case OPT_DISK_CACHE:
        set_string(&args->disk_cache, value);
        break;
    case OPT_NESTED:
        args->nested = TRUE;
        break;
    }
    return TRUE;
}

/* Handles argv[*index], an option, moving *index past its value. */
static gboolean
parse_option(WirtCliArgs *args, const CommandInfo *cmd, int argc, const char *const *argv,
             int *index, GError **error)
{
    const char *arg = argv[*index];
    g_autofree char *name = NULL;
    const char *value = NULL;
    const char *eq = NULL;

    if (!g_str_has_prefix(arg, "--")) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "unknown option '%s'", arg);
        return FALSE;
    }
    eq = strchr(arg, '=');
    name = eq ? g_strndup(arg + 2, (gsize)(eq - arg - 2)) : g_strdup(arg + 2);
    value = eq ? eq + 1 : NULL;

    for (gsize i = 0; i < G_N_ELEMENTS(option_table); i++) {
        if (!g_str_equal(option_table[i].name, name))
            continue;
        if (!(option_table[i].bit & OPT_GLOBAL) && !(cmd && (cmd->options & option_table[i].bit)))
            break;
        if (!option_table[i].takes_value && value) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "option '--%s' takes no value",
                        name);
            return FALSE;
        }
        if (option_table[i].takes_value && !value) {
            if (*index + 1 >= argc) {
                g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "option '--%s' needs a value",
                            name);
                return FALSE;
            }
            value = argv[++*index];
        }
        return apply_option(args, option_table[i].bit, name, value, error);
    }
    if (cmd) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "%s: unknown option '--%s'", cmd->name,
                    name);
        return FALSE;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(option_table); i++) {
        if (g_str_equal(option_table[i].name, name)) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                        "option '--%s' belongs after the command", name);
            return FALSE;
        }
    }
    g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "unknown option '--%s'", name);
    return FALSE;
}

/* Checks and stores the positional arguments of @cmd. */
static gboolean
parse_positionals(WirtCliArgs *args, const CommandInfo *cmd, GPtrArray *pos, GError **error)
{
    /* help takes a topic of up to two words: "help token create" */
    guint max = cmd->pos == POS_NONE ? 0 : cmd->pos == POS_TOPIC || cmd->pos == POS_BOX_ADD ? 2 : 1;
    gboolean required = cmd->pos == POS_REF || cmd->pos == POS_DOMAIN || cmd->pos == POS_TOKEN ||
                        cmd->pos == POS_USER || cmd->pos == POS_BOX || cmd->pos == POS_BOX_ADD ||
                        cmd->pos == POS_NET;
    const char *first = pos->len > 0 ? g_ptr_array_index(pos, 0) : NULL;

    if (pos->len > max) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "%s: unexpected argument '%s'",
                    cmd->name, (const char *)g_ptr_array_index(pos, max));
        return FALSE;
    }
    if (required && !first) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "%s: missing %s", cmd->name,
                    cmd->pos == POS_DOMAIN ? "DOMAIN"
                    : cmd->pos == POS_USER ? "USER"
                                           : "NAME");
        return FALSE;
    }
    if (!first)
        return TRUE;

    switch (cmd->pos) {
    case POS_REF:
    case POS_REF_OPT: {
        g_autofree char *owner = NULL;
        g_autofree char *name = NULL;

        if (!wirt_name_parse_ref(first, &owner, &name, error)) {
            g_prefix_error(error, "%s: ", cmd->name);
            return FALSE;
        }
        if (owner && args->owner && !g_str_equal(owner, args->owner)) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                        "%s: '%s' and '--owner %s' name different owners", cmd->name, first,
                        args->owner);
            return FALSE;
        }
        set_string(&args->ref, first);
        if (owner)
            set_string(&args->owner, owner);
        set_string(&args->name, name);
        break;
    }
    case POS_DOMAIN:
        set_string(&args->ref, first);
        set_string(&args->domain, first);
        break;
    case POS_LIST:
        if (!g_str_equal(first, "list")) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                        "%s: unknown subcommand '%s' (only 'list')", cmd->name, first);
            return FALSE;
        }
        break;
    case POS_TOPIC: {
        g_autofree char *topic =
            pos->len > 1 ? g_strjoin(" ", first, g_ptr_array_index(pos, 1), NULL) : g_strdup(first);

        if (!command_lookup(topic) && !group_lookup(topic)) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "help: unknown command '%s'", topic);
            return FALSE;
        }
        set_string(&args->command_name, topic);
        break;
    }
    case POS_TOKEN:
        /* wirtd's rule for token names is the VM name rule; wirt_name_validate()'s own
         * message would speak of a VM. */
        if (!check_name(cmd, "token", first, error))
            return FALSE;
        set_string(&args->ref, first);
        set_string(&args->name, first);
        break;
    case POS_USER:
        set_string(&args->user, first);
        break;
    case POS_BOX:
    case POS_BOX_ADD:
        if (!check_name(cmd, "box", first, error))
            return FALSE;
        if (cmd->pos == POS_BOX_ADD && pos->len < 2) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "%s: missing FILE", cmd->name);
            return FALSE;
        }
        set_string(&args->ref, first);
        set_string(&args->name, first);
        if (cmd->pos == POS_BOX_ADD)
            set_string(&args->file, g_ptr_array_index(pos, 1));
        break;
    case POS_NET:
        if (!check_name(cmd, "network", first, error))
            return FALSE;
        set_string(&args->ref, first);
        set_string(&args->name, first);
        break;
    case POS_NONE:
        break;
    }
    return TRUE;
}

/* Cross-option rules that one option alone cannot check. */
static gboolean
check_command(WirtCliArgs *args, const CommandInfo *cmd, GError **error)
{
    if (cmd->command == WIRT_CLI_CMD_STOP && args->force && args->timeout >= 0) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "stop: '--force' and '--timeout' exclude each other");
        return FALSE;
    }
    if (cmd->command == WIRT_CLI_CMD_ADOPT) {
        if (!args->owner || !args->name) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "adopt: missing '--%s'",
                        args->owner ? "name" : "owner");
            return FALSE;
        }
        if (!wirt_name_validate(args->name, error)) {
            g_prefix_error(error, "adopt: ");
            return FALSE;
        }
    }
    if (cmd->command == WIRT_CLI_CMD_ADMIN_PASSWD &&
        !wirt_cli_passwd_check_user(args->user, error)) {
        g_prefix_error(error, "admin passwd: ");
        return FALSE;
    }
    return TRUE;
}

/**
 * wirt_cli_args_parse:
 * @argc: the number of @argv elements
 * @argv: (array length=argc): the command line, program name first
 * @error: set to %WIRT_ERROR_INVALID with a one-line message on a usage error
 *
 * Global options (--socket, --format, --help, --version) are accepted before and after the
 * command; a command's own options only after it. "--" ends the options. --help anywhere
 * turns the command line into a request for that command's help.
 * Returns: (transfer full) (nullable): the parsed command line, or %NULL with @error set.
 */
WirtCliArgs *
wirt_cli_args_parse(int argc, const char *const *argv, GError **error)
{
    g_autoptr(WirtCliArgs) args = g_new0(WirtCliArgs, 1);
    g_autoptr(GPtrArray) pos = g_ptr_array_new();
    const CommandInfo *cmd = NULL;
    const char *group = NULL; /* "token" read, its subcommand not yet */
    gboolean options_done = FALSE;
    gboolean help = FALSE;
    gboolean version = FALSE;

    args->timeout = -1;
    args->dhcp = -1;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];

        if (!options_done && g_str_equal(arg, "--")) {
            options_done = TRUE;
            if (cmd && cmd->command == WIRT_CLI_CMD_SSH) { /* the rest is the remote command */
                args->ssh_command = g_strdupv((char **)argv + i + 1);
                break;
            }
        } else if (!options_done && (g_str_equal(arg, "-h") || g_str_equal(arg, "--help"))) {
            help = TRUE;
        } else if (!options_done && g_str_equal(arg, "--version")) {
            version = TRUE;
        } else if (!options_done && arg[0] == '-' && arg[1] != '\0') {
            if (!parse_option(args, cmd, argc, argv, &i, error))
                return NULL;
        } else if (!cmd && group) {
            g_autofree char *full = g_strjoin(" ", group, arg, NULL);

            if (!(cmd = command_lookup(full))) {
                g_autofree char *known = group_subcommands(group);
                g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                            "%s: unknown subcommand '%s' (%s)", group, arg, known);
                return NULL;
            }
        } else if (!cmd) {
            if (!(cmd = command_lookup(arg)) && !(group = group_lookup(arg))) {
                g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "unknown command '%s'", arg);
                return NULL;
            }
        } else {
            g_ptr_array_add(pos, (gpointer)arg);
        }
    }

    if (version && !help) {
        args->command = WIRT_CLI_CMD_VERSION;
        return g_steal_pointer(&args);
    }
    if (help || (cmd && cmd->command == WIRT_CLI_CMD_HELP)) {
        args->command = WIRT_CLI_CMD_HELP;
        if (cmd && cmd->command == WIRT_CLI_CMD_HELP) {
            if (!parse_positionals(args, cmd, pos, error))
                return NULL;
        } else if (cmd || group) {
            set_string(&args->command_name, cmd ? cmd->name : group);
        }
        return g_steal_pointer(&args);
    }
    if (!cmd && group) {
        g_autofree char *known = group_subcommands(group);
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "%s: missing subcommand (%s)", group,
                    known);
        return NULL;
    }
    if (!cmd) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "missing command");
        return NULL;
    }
    args->command = cmd->command;
    set_string(&args->command_name, cmd->name);
    if (!parse_positionals(args, cmd, pos, error) || !check_command(args, cmd, error))
        return NULL;
    return g_steal_pointer(&args);
}

/**
 * wirt_cli_args_hint:
 * @argc: the number of @argv elements
 * @argv: (array length=argc): the command line that failed to parse
 *
 * Finds the command word (or words: "token create") the way wirt_cli_args_parse() does,
 * without judging the rest.
 * Returns: (transfer full): "Try 'wirt COMMAND --help'." (COMMAND may be a group such as
 * "token") or "Try 'wirt --help'.", never %NULL.
 */
char *
wirt_cli_args_hint(int argc, const char *const *argv)
{
    const char *group = NULL;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];

        if (g_str_equal(arg, "--"))
            break;
        if (g_str_equal(arg, "--socket") || g_str_equal(arg, "--format")) {
            i++;
            continue;
        }
        if (arg[0] == '-')
            continue;
        if (group) {
            g_autofree char *full = g_strjoin(" ", group, arg, NULL);
            if (command_lookup(full))
                return g_strdup_printf("Try 'wirt %s --help'.", full);
            break;
        }
        if ((group = group_lookup(arg)))
            continue;
        if (command_lookup(arg) && !g_str_equal(arg, "help"))
            return g_strdup_printf("Try 'wirt %s --help'.", arg);
        break;
    }
    if (group)
        return g_strdup_printf("Try 'wirt %s --help'.", group);
    return g_strdup("Try 'wirt --help'.");
}

static const char global_options_help[] =
    "  --socket PATH        wirtd's socket (default: $WIRT_SOCKET, else " WIRT_CLI_DEFAULT_SOCKET
    ")\n"
    "  --format table|json  output format (default: table)\n"
    "  -h, --help           show help and exit\n";

/**
 * wirt_cli_args_help:
 * @topic: (nullable): a command name ("list", "token create"), a group ("token"), or %NULL
 * for the overview
 * Returns: (transfer full): the help text, ending in a newline; an unknown @topic gives the
 * overview.
 */
char *
wirt_cli_args_help(const char *topic)
{
    const CommandInfo *cmd = topic ? command_lookup(topic) : NULL;
    const char *group = topic ? group_lookup(topic) : NULL;
    g_autoptr(GString) out = g_string_new(NULL);

    if (group) {
        g_autofree char *prefix = g_strconcat(group, " ", NULL);

        for (gsize i = 0; i < G_N_ELEMENTS(group_table); i++) {
            if (g_str_equal(group_table[i].name, group))
                g_string_append_printf(out, "Usage: wirt %s COMMAND [ARG…]\n\n%c%s.\n\n", group,
                                       g_ascii_toupper(group_table[i].summary[0]),
                                       group_table[i].summary + 1);
        }
        g_string_append(out, "Commands:\n");
        for (gsize i = 0; i < G_N_ELEMENTS(command_table); i++) {
            if (g_str_has_prefix(command_table[i].name, prefix))
                g_string_append_printf(out, "  %-20s %s\n", command_table[i].name,
                                       command_table[i].summary);
        }
        g_string_append_printf(out, "\nGlobal options:\n%s", global_options_help);
        g_string_append_printf(out, "\nRun 'wirt %s COMMAND --help' for a command's options.\n",
                               group);
        return g_string_free(g_steal_pointer(&out), FALSE);
    }
    if (cmd && cmd->command != WIRT_CLI_CMD_HELP) {
        g_string_append_printf(out, "Usage: wirt %s\n\n", cmd->synopsis);
        g_string_append_printf(out, "%c%s.\n", g_ascii_toupper(cmd->summary[0]), cmd->summary + 1);
        if (cmd->pos == POS_REF || cmd->pos == POS_REF_OPT)
            g_string_append(out, "NAME is a VM name, or OWNER/NAME for another user's VM.\n");
        if (cmd->pos == POS_TOKEN)
            g_string_append(out, "NAME is the token's label: letters, digits and '-'.\n");
        if (cmd->options_help)
            g_string_append_printf(out, "\nOptions:\n%s", cmd->options_help);
        g_string_append_printf(out, "\nGlobal options:\n%s", global_options_help);
        return g_string_free(g_steal_pointer(&out), FALSE);
    }

    g_string_append(out, "Usage: wirt [--socket PATH] [--format table|json] COMMAND [ARG…]\n\n"
                         "Manage your virtual machines through wirtd.\n\nCommands:\n");
    for (gsize i = 0; i < G_N_ELEMENTS(command_table); i++)
        if (command_table[i].command != WIRT_CLI_CMD_SSH_PROXY) /* a helper for ssh */
            g_string_append_printf(out, "  %-20s %s\n", command_table[i].name,
                                   command_table[i].summary);
    g_string_append_printf(out, "\nGlobal options:\n%s", global_options_help);
    g_string_append(out, "  --version            show the version and exit\n\n"
                         "Run 'wirt COMMAND --help' for a command's options; see wirt(1).\n");
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/**
 * wirt_cli_args_socket_path:
 * @args: (transfer none): parsed arguments
 *
 * --socket, else a non-empty $WIRT_SOCKET, else %WIRT_CLI_DEFAULT_SOCKET.
 * Returns: (transfer none): the socket path to connect to, never %NULL.
 */
const char *
wirt_cli_args_socket_path(const WirtCliArgs *args)
{
    const char *env = g_getenv("WIRT_SOCKET");

    if (args->socket_path)
        return args->socket_path;
    if (env && env[0] != '\0')
        return env;
    return WIRT_CLI_DEFAULT_SOCKET;
}
