/* wirt-cli-ssh.h: `wirt ssh` (runs the system's ssh through wirtd) and its hidden
 * helper `wirt ssh-proxy`, ssh's ProxyCommand (a websocket to GET /1.0/vms/NAME/ssh). */
#pragma once

#include <json-glib/json-glib.h>

#include "wirt-cli-args.h"
#include "wirt-cli-client.h"

G_BEGIN_DECLS

/* Where Debian's vagrant package keeps Vagrant's insecure private key. */
#define WIRT_CLI_SSH_VAGRANT_GEMS "/usr/share/rubygems-integration/all/gems"
#define WIRT_CLI_SSH_VAGRANT_KEY "/usr/share/vagrant/keys/vagrant"

/* What wirt_cli_ssh_argv() needs to know of the machine; tests pass their own. */
typedef struct {
    const char *self;            /* this wirt binary, for the ProxyCommand */
    const char *home;            /* the user's home */
    const char *insecure_key;    /* (nullable) Vagrant's insecure private key, if installed */
    const char *const *own_keys; /* (nullable) the user's existing ~/.ssh/id_* private keys */
} WirtCliSshHost;

GStrv wirt_cli_ssh_argv(const WirtCliArgs *args, JsonNode *vm, const WirtCliSshHost *host,
                        GError **error);
char *wirt_cli_ssh_find_insecure_key(void);
gboolean wirt_cli_ssh_run(const WirtCliArgs *args, WirtCliClient *client, GError **error);
gboolean wirt_cli_ssh_proxy_run(const WirtCliArgs *args, WirtCliClient *client, GError **error);

G_END_DECLS
