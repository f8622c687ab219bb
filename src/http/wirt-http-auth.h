/* wirt-http-auth.h: who is calling over TCP. HTTP Basic checked by PAM or a
 * password file, or an API token (Bearer), with login throttling. */
#pragma once

#include <gio/gio.h>

#include "core/wirt-config.h"
#include "service/wirt-tokens.h"

G_BEGIN_DECLS

typedef struct _WirtAuth WirtAuth;

WirtAuth *wirt_auth_new(const WirtHttpConfig *config, WirtTokens *tokens);
void wirt_auth_free(WirtAuth *auth);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WirtAuth, wirt_auth_free)

/* Checks an Authorization header from @address. The result names the user and
 * whether the method used belongs to the admin realm (admin-auth). Failures are
 * UNAUTHORIZED (after a delay that grows with repeated failures) or, once a user
 * or address passes fail-limit, DENIED with *out_retry_after seconds (429). */
void wirt_auth_verify_async(WirtAuth *auth, const char *authorization, const char *address,
                            GAsyncReadyCallback callback, gpointer user_data);
char *wirt_auth_verify_finish(WirtAuth *auth, GAsyncResult *result, gboolean *out_admin_realm,
                              guint *out_retry_after, GError **error);

/* Browser sessions: an unguessable id for the cookie and a CSRF token that
 * state-changing requests must echo in X-CSRF-Token. In memory: a restart
 * logs browsers out. */
char *wirt_auth_session_new(WirtAuth *auth, const char *user, gboolean admin_realm,
                            char **out_csrf);
/* (transfer none) (nullable): the session's user, when @id is live. */
const char *wirt_auth_session_get(WirtAuth *auth, const char *id, gboolean *out_admin_realm,
                                  const char **out_csrf);
void wirt_auth_session_end(WirtAuth *auth, const char *id);

/* Pure, for tests: "Basic dXNlcjpwdw==" -> ("user", "pw"). */
gboolean wirt_auth_parse_basic(const char *authorization, char **out_user, char **out_password);

G_END_DECLS
