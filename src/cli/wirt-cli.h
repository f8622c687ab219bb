/* wirt-cli.h: the wirt command: parse, ask wirtd, print. main.c only calls wirt_cli_main(). */
#pragma once

#include <json-glib/json-glib.h>

#include "wirt-cli-args.h"
#include "wirt-cli-request.h"

G_BEGIN_DECLS

/* Sends one request and returns the answer's JSON (transfer full), or NULL with error set.
 * The real one is wirt_cli_client_send(); tests pass a fake. */
typedef JsonNode *(*WirtCliSendFunc)(const WirtCliRequest *request, gpointer user_data,
                                     GError **error);

gboolean wirt_cli_run(const WirtCliArgs *args, WirtCliSendFunc send, gpointer user_data,
                      GString *out, GError **error);
int wirt_cli_exit_code(const GError *error);
int wirt_cli_main(int argc, const char *const *argv);

G_END_DECLS
