/* wirt-cli-net.h: `wirt net create|list|delete` (requests and tables, no I/O). */
#pragma once

#include <json-glib/json-glib.h>

#include "wirt-cli-args.h"
#include "wirt-cli-request.h"

G_BEGIN_DECLS

/* (transfer full): the request of a WIRT_CLI_CMD_NET_* command. */
WirtCliRequest *wirt_cli_net_request(const WirtCliArgs *args);
/* NAME OWNER MODE SUBNET DHCP ACTIVE; FALSE with @error when @networks is not an array. */
gboolean wirt_cli_net_format_list(JsonNode *networks, GString *out, GError **error);
/* (transfer full): the line `net create` or `net delete` prints. */
char *wirt_cli_net_action_line(const WirtCliArgs *args, JsonNode *answer);

G_END_DECLS
