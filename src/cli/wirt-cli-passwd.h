/* wirt-cli-passwd.h: `wirt admin passwd`: the admin password file of admin-auth=file:PATH. */
#pragma once

#include <glib.h>

#include "wirt-cli-args.h"

G_BEGIN_DECLS

/* The longest password read, in bytes: libxcrypt's limit (CRYPT_MAX_PASSPHRASE_SIZE, 512
 * with the NUL), which wirtd's crypt_r() shares; a longer one could never log in. */
#define WIRT_CLI_PASSWD_MAX 511
/* The largest password file read: a line per admin is far below it. */
#define WIRT_CLI_PASSWD_FILE_MAX (1024 * 1024)

gboolean wirt_cli_passwd_check_user(const char *user, GError **error);
char *wirt_cli_passwd_update(const char *old_text, const char *user, const char *hash,
                             GError **error);
char *wirt_cli_passwd_hash(const char *password, GError **error);
gboolean wirt_cli_passwd_read_file(const char *path, char **out_text, GError **error);
gboolean wirt_cli_passwd_write_file(const char *path, const char *text, GError **error);
gboolean wirt_cli_passwd_run(const WirtCliArgs *args, int input_fd, GString *out, GError **error);

G_END_DECLS
