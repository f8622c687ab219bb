/* wirt-cli-args.h: the wirt command line, parsed strictly into one struct (no I/O). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define WIRT_CLI_DEFAULT_SOCKET "/run/wirt/wirtd.sock"
/* The largest --memory we accept: 16 TiB, in MiB. wirtd applies the real limits. */
#define WIRT_CLI_MEMORY_MAX_MIB (G_GUINT64_CONSTANT(16) * 1024 * 1024)
/* The largest events --count: any bound will do, this one keeps it well inside a guint. */
#define WIRT_CLI_EVENTS_COUNT_MAX G_GUINT64_CONSTANT(1000000000)
/* `wirt admin passwd` without --file: the file docs/configuration.md's admin-auth example names. */
#define WIRT_CLI_ADMINS_FILE "/etc/wirt/admins"

typedef enum {
    WIRT_CLI_CMD_HELP,
    WIRT_CLI_CMD_VERSION,
    WIRT_CLI_CMD_LIST,
    WIRT_CLI_CMD_INFO,
    WIRT_CLI_CMD_CREATE,
    WIRT_CLI_CMD_START,
    WIRT_CLI_CMD_STOP,
    WIRT_CLI_CMD_DESTROY,
    WIRT_CLI_CMD_REBOOT,
    WIRT_CLI_CMD_SUSPEND,
    WIRT_CLI_CMD_RESUME,
    WIRT_CLI_CMD_DELETE,
    WIRT_CLI_CMD_AUTOSTART,
    WIRT_CLI_CMD_ADOPT,
    WIRT_CLI_CMD_POOL_LIST,
    WIRT_CLI_CMD_NODE_LIST,
    WIRT_CLI_CMD_QUOTA,
    WIRT_CLI_CMD_HISTORY,
    WIRT_CLI_CMD_WHOAMI,
    WIRT_CLI_CMD_EVENTS,
    WIRT_CLI_CMD_TOKEN_CREATE,
    WIRT_CLI_CMD_TOKEN_LIST,
    WIRT_CLI_CMD_TOKEN_REVOKE,
    WIRT_CLI_CMD_ADMIN_PASSWD,
    WIRT_CLI_CMD_BOX_ADD,
    WIRT_CLI_CMD_BOX_LIST,
    WIRT_CLI_CMD_BOX_REMOVE,
    WIRT_CLI_CMD_NET_CREATE,
    WIRT_CLI_CMD_NET_LIST,
    WIRT_CLI_CMD_NET_DELETE,
    WIRT_CLI_CMD_SSH,       /* wirt-cli-ssh.c: execs ssh */
    WIRT_CLI_CMD_SSH_PROXY, /* hidden: ssh's ProxyCommand (wirt-cli-ssh.c) */
} WirtCliCommand;

typedef enum {
    WIRT_CLI_FORMAT_TABLE,
    WIRT_CLI_FORMAT_JSON,
} WirtCliFormat;

/* One parsed command line. Strings are owned; NULL means "not given". */
typedef struct {
    WirtCliCommand command;
    char *command_name; /* "list", "pool", "token create"; the help topic for HELP (a command or
                         * a group such as "token"), may be NULL */
    char *socket_path;  /* --socket; see wirt_cli_args_socket_path() */
    WirtCliFormat format;
    char *ref;          /* NAME as typed ("web" or "bob/web"); adopt: DOMAIN; token, box: NAME */
    char *owner;        /* from OWNER/NAME or --owner */
    char *name;         /* the short VM name of NAME; adopt: --name; token: the token's NAME */
    char *domain;       /* adopt: the libvirt domain */
    char *pool;         /* create --pool */
    char *node;         /* create, adopt --node */
    char *user;         /* quota, token list/revoke --user; admin passwd: USER */
    char *file;         /* admin passwd --file; NULL: WIRT_CLI_ADMINS_FILE; box add: FILE */
    guint64 memory_mib; /* create --memory; 0: not given */
    guint64 vcpus;      /* create --cpus; 0: not given */
    gint64 timeout;     /* stop --timeout; -1: not given */
    guint64 limit;      /* history --limit; 0: not given */
    guint64 count;      /* events --count; 0: not given (until interrupted) */
    gboolean force;     /* stop --force */
    gboolean disable;   /* autostart --disable */
    gboolean remove;    /* admin passwd --delete */
    char *subnet;       /* net create --subnet */
    char *net_mode;     /* net create --mode */
    int dhcp;           /* net create --dhcp 1, --no-dhcp 0, not given -1 */
    char *box;          /* create --box */
    char *network;      /* create --network */
    char *ip;           /* create --ip */
    char *mac;          /* create --mac */
    guint64 disk_bytes; /* create --disk-size; 0: not given */
    char *ssh_key;      /* create --ssh-key: a public key file; ssh --ssh-key: a private key */
    char *ssh_user;     /* create --ssh-user */
    char *machine;      /* create --machine */
    char *disk_cache;   /* create --disk-cache */
    gboolean nested;    /* create --nested */
    char **ssh_keys;    /* create --box: the public key lines read from the key files */
    char **ssh_command; /* ssh: the words after "--", or NULL */
} WirtCliArgs;

WirtCliArgs *wirt_cli_args_parse(int argc, const char *const *argv, GError **error);
void wirt_cli_args_free(WirtCliArgs *args);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WirtCliArgs, wirt_cli_args_free)

char *wirt_cli_args_hint(int argc, const char *const *argv);
char *wirt_cli_args_help(const char *topic);
const char *wirt_cli_args_socket_path(const WirtCliArgs *args);
gboolean wirt_cli_args_parse_memory(const char *text, guint64 *out_mib, GError **error);

G_END_DECLS
