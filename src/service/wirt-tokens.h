/* wirt-tokens.h: API tokens for the TCP front door, stored hashed.
 *
 * A token is "wirt_" + 16 hex id + "_" + 43 base64url characters of secret
 * (256 random bits). Only SHA-256 of the secret is kept, in one root-only file
 * of JSON lines, so the file never holds a usable credential; the token itself
 * is shown once, when it is made.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define WIRT_TOKENS_PER_USER 20

typedef struct _WirtTokens WirtTokens;

WirtTokens *wirt_tokens_open(const char *path, GError **error);
void wirt_tokens_free(WirtTokens *tokens);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WirtTokens, wirt_tokens_free)

/* (transfer full): {"id","name","user","created","token"}; the only time the token is seen. */
JsonNode *wirt_tokens_create(WirtTokens *tokens, const char *user, const char *name,
                             GError **error);
/* (transfer full): an array of {"id","name","user","created","last_used"} for @user (NULL: all). */
JsonNode *wirt_tokens_list(WirtTokens *tokens, const char *user);
gboolean wirt_tokens_revoke(WirtTokens *tokens, const char *user, const char *name, GError **error);
/* (transfer full) (nullable): the user a valid token belongs to. Constant-time compare. */
char *wirt_tokens_verify(WirtTokens *tokens, const char *token);

G_END_DECLS
