/* wirt-http-auth.c: who is calling over TCP.
 *
 * Passwords are checked in a small pool of worker threads (PAM can block for
 * seconds: pam_unix delays failures), never on the main loop. A verified
 * user+password is remembered for cache-seconds under an HMAC with a key made
 * at start, so neither the password nor a plain hash of it is kept, and a
 * script doing many requests is not charged a PAM round per request.
 *
 * Throttling counts failures per user and per address over fail-window; each
 * failure is answered a little later than the last, and past fail-limit the
 * user or address is refused with 429 for lockout seconds. Every failure is
 * logged as "auth failure for user 'NAME' from ADDRESS" for fail2ban.
 */
#include "wirt-http-auth.h"

#include <crypt.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "core/wirt-error.h"
#include "util/wirt-util.h"

#define AUTH_THREADS 4
#define PASSWORD_MAX 1024
#define THROTTLE_MAX_ENTRIES 100000

struct _WirtAuth {
    const WirtHttpConfig *config;
    WirtTokens *tokens;
    GThreadPool *pool;
    GHashTable *throttle; /* "u:NAME" or "a:ADDRESS" -> Throttle* */
    GHashTable *cache;    /* HMAC hex -> CacheEntry* */
    GHashTable *sessions; /* SHA-256 of the cookie value -> Session* */
    guint8 key[32];       /* HMAC key for the cache, random per process */
};

typedef struct {
    guint failures;
    gint64 window_start; /* monotonic µs */
    gint64 locked_until;
} Throttle;

typedef struct {
    char *user;
    gboolean admin_realm;
    gint64 expires;
    char *file;       /* the password file that accepted, or NULL (PAM) */
    char *file_stamp; /* its inode, size and mtime then: any change ends the entry */
} CacheEntry;

typedef struct {
    char *user;
    gboolean admin_realm;
    char *csrf;
    gint64 expires;
} Session;

static void
session_free(gpointer data)
{
    Session *session = data;

    g_free(session->user);
    wirt_util_secure_free(session->csrf);
    g_free(session);
}

typedef struct {
    WirtAuth *auth;
    char *user;
    char *password; /* wiped when freed */
    char *address;
    char *cache_key;
    GStrv methods;       /* auth ∪ admin-auth, in order */
    GStrv admin_methods; /* admin-auth */
    /* results */
    char *method;         /* the one that accepted */
    gboolean admin_realm; /* that method is in admin-auth */
    guint retry_after;
} Check;

static void
check_free(gpointer data)
{
    Check *c = data;

    g_free(c->user);
    wirt_util_secure_free(c->password);
    g_free(c->address);
    g_free(c->cache_key);
    g_strfreev(c->methods);
    g_strfreev(c->admin_methods);
    g_free(c->method);
    g_free(c);
}

static void
cache_entry_free(gpointer data)
{
    CacheEntry *e = data;

    g_free(e->user);
    g_free(e->file);
    g_free(e->file_stamp);
    g_free(e);
}

/* ------------------------------------------------------------- the methods */

typedef struct {
    const char *password;
} PamData;

static int
pam_conversation(int n, const struct pam_message **msgs, struct pam_response **out_resp,
                 void *appdata)
{
    PamData *data = appdata;
    struct pam_response *resp = calloc((size_t)n, sizeof(*resp));

    if (!resp)
        return PAM_BUF_ERR;
    for (int i = 0; i < n; i++) {
        if (msgs[i]->msg_style == PAM_PROMPT_ECHO_OFF || msgs[i]->msg_style == PAM_PROMPT_ECHO_ON)
            resp[i].resp = strdup(data->password); /* PAM frees it with free() */
    }
    *out_resp = resp;
    return PAM_SUCCESS;
}

static gboolean
check_pam(const Check *c)
{
    PamData data = {c->password};
    struct pam_conv conv = {pam_conversation, &data};
    pam_handle_t *pamh = NULL;
    int rc;

    if (pam_start(c->auth->config->pam_service, c->user, &conv, &pamh) != PAM_SUCCESS)
        return FALSE;
    pam_set_item(pamh, PAM_RHOST, c->address);
    rc = pam_authenticate(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
    if (rc == PAM_SUCCESS)
        rc = pam_acct_mgmt(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
    pam_end(pamh, rc);
    return rc == PAM_SUCCESS;
}

/* "user:hash" lines (yescrypt, bcrypt, sha512-crypt…), '#' comments. */
static gboolean
check_file(const Check *c, const char *path)
{
    g_autofree char *data = NULL;
    g_auto(GStrv) lines = NULL;
    gboolean ok = FALSE;

    if (!g_file_get_contents(path, &data, NULL, NULL))
        return FALSE;
    lines = g_strsplit(data, "\n", -1);
    for (int i = 0; lines[i] && !ok; i++) {
        char *colon = strchr(lines[i], ':');
        struct crypt_data cd;
        const char *got;

        if (lines[i][0] == '#' || !colon)
            continue;
        *colon = '\0';
        if (!g_str_equal(lines[i], c->user))
            continue;
        g_strchomp(colon + 1);
        memset(&cd, 0, sizeof(cd));
        got = crypt_r(c->password, colon + 1, &cd);
        /* crypt_r returns a "*" string on failure; a hash never matches it. */
        ok = got && got[0] != '*' && strlen(got) == strlen(colon + 1) &&
             wirt_util_secret_equal(got, colon + 1);
        explicit_bzero(&cd, sizeof(cd));
    }
    explicit_bzero(data, strlen(data));
    return ok;
}

static void
check_in_worker(gpointer data, gpointer user_data G_GNUC_UNUSED)
{
    GTask *task = data;
    Check *c = g_task_get_task_data(task);

    for (int i = 0; c->methods[i] && !c->method; i++) {
        const char *m = c->methods[i];
        gboolean ok = g_str_equal(m, "pam")          ? check_pam(c)
                      : g_str_has_prefix(m, "file:") ? check_file(c, m + 5)
                                                     : FALSE;
        if (ok)
            c->method = g_strdup(m);
    }
    g_task_return_boolean(task, c->method != NULL);
    g_object_unref(task);
}

/* ------------------------------------------------------------- throttling */

static Throttle *
throttle_get(WirtAuth *auth, const char *kind, const char *who, gboolean create)
{
    g_autofree char *key = g_strconcat(kind, who ? who : "", NULL);
    Throttle *t = g_hash_table_lookup(auth->throttle, key);

    if (!t && create) {
        if (g_hash_table_size(auth->throttle) >= THROTTLE_MAX_ENTRIES)
            g_hash_table_remove_all(auth->throttle); /* a flood of names: start over */
        t = g_new0(Throttle, 1);
        g_hash_table_insert(auth->throttle, g_steal_pointer(&key), t);
    }
    return t;
}

static guint
seconds_locked(WirtAuth *auth, const char *kind, const char *who)
{
    Throttle *t = throttle_get(auth, kind, who, FALSE);
    gint64 now = g_get_monotonic_time();

    if (!t || t->locked_until <= now)
        return 0;
    return (guint)((t->locked_until - now + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC);
}

/* Returns how many failures in a row @who has now. */
static guint
note_failure(WirtAuth *auth, const char *kind, const char *who)
{
    Throttle *t = throttle_get(auth, kind, who, TRUE);
    gint64 now = g_get_monotonic_time();

    if (now - t->window_start > (gint64)auth->config->fail_window * G_USEC_PER_SEC) {
        t->window_start = now;
        t->failures = 0;
    }
    if (++t->failures >= auth->config->fail_limit)
        t->locked_until = now + (gint64)auth->config->lockout * G_USEC_PER_SEC;
    return t->failures;
}

static void
note_success(WirtAuth *auth, const char *user, const char *address)
{
    g_autofree char *u = g_strconcat("u:", user, NULL);
    g_autofree char *a = g_strconcat("a:", address, NULL);

    g_hash_table_remove(auth->throttle, u);
    g_hash_table_remove(auth->throttle, a);
}

/* ------------------------------------------------------------------ cache */

static char *
cache_key(WirtAuth *auth, const char *user, const char *password)
{
    g_autoptr(GHmac) hmac = g_hmac_new(G_CHECKSUM_SHA256, auth->key, sizeof(auth->key));

    g_hmac_update(hmac, (const guchar *)user, (gssize)strlen(user) + 1);
    g_hmac_update(hmac, (const guchar *)password, (gssize)strlen(password));
    return g_strdup(g_hmac_get_string(hmac));
}

/* Identifies a version of a file: when an admin changes or removes a password
 * (wirt admin passwd), logins cached from the old file stop at once. */
static char *
file_stamp(const char *path)
{
    struct stat st;

    if (stat(path, &st) < 0)
        return NULL;
    return g_strdup_printf("%ju:%jd:%jd.%09ld", (uintmax_t)st.st_ino, (intmax_t)st.st_size,
                           (intmax_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

/* ---------------------------------------------------------------- parsing */

/**
 * wirt_auth_parse_basic:
 * @authorization: an Authorization header value
 * @out_user: (out) (transfer full): the user name
 * @out_password: (out) (transfer full): the password; wipe it with wirt_util_secure_free()
 * Returns: %TRUE for a well-formed "Basic" credential with a non-empty user.
 */
gboolean
wirt_auth_parse_basic(const char *authorization, char **out_user, char **out_password)
{
    g_autofree guchar *decoded = NULL;
    gsize len = 0;
    char *colon;
    g_autofree char *text = NULL;

    if (!authorization || g_ascii_strncasecmp(authorization, "Basic ", 6) != 0)
        return FALSE;
    decoded = g_base64_decode(authorization + 6, &len);
    if (!decoded || len == 0 || len > PASSWORD_MAX || memchr(decoded, '\0', len))
        return FALSE;
    text = g_strndup((const char *)decoded, len);
    explicit_bzero(decoded, len);
    colon = strchr(text, ':');
    if (!colon || colon == text || !g_utf8_validate(text, -1, NULL)) {
        explicit_bzero(text, len);
        return FALSE;
    }
    *colon = '\0';
    *out_user = g_strdup(text);
    *out_password = g_strdup(colon + 1);
    explicit_bzero(text, len);
    return TRUE;
}

/* ------------------------------------------------------------------- API */

/**
 * wirt_auth_new:
 * @config: (transfer none): [http]; must outlive the object
 * @tokens: (transfer none) (nullable): the token store, when "token" is a method
 * Returns: (transfer full): the authenticator.
 */
WirtAuth *
wirt_auth_new(const WirtHttpConfig *config, WirtTokens *tokens)
{
    WirtAuth *auth = g_new0(WirtAuth, 1);

    auth->config = config;
    auth->tokens = tokens;
    auth->pool = g_thread_pool_new(check_in_worker, NULL, AUTH_THREADS, FALSE, NULL);
    auth->throttle = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    auth->cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, cache_entry_free);
    auth->sessions = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, session_free);
    wirt_util_random_bytes(auth->key, sizeof(auth->key));
    return auth;
}

/**
 * wirt_auth_free:
 * @auth: (nullable): the authenticator; waits for checks in flight
 */
void
wirt_auth_free(WirtAuth *auth)
{
    if (!auth)
        return;
    g_thread_pool_free(auth->pool, FALSE, TRUE);
    g_hash_table_unref(auth->throttle);
    g_hash_table_unref(auth->cache);
    g_hash_table_unref(auth->sessions);
    explicit_bzero(auth->key, sizeof(auth->key));
    g_free(auth);
}

static gboolean
has_method(GStrv methods, const char *method)
{
    return methods && g_strv_contains((const char *const *)methods, method);
}

static void
log_failure(const char *user, const char *address, const char *why)
{
    g_autofree char *shown = g_strescape(user ? user : "", NULL);

    /* The one line fail2ban matches: see docs/security.md. */
    g_message("auth failure for user '%s' from %s: %s", shown, address, why);
}

typedef struct {
    GTask *task;
    GError *error;
} DelayedFailure;

static gboolean
on_failure_delay(gpointer data)
{
    DelayedFailure *d = data;

    g_task_return_error(d->task, d->error);
    g_object_unref(d->task);
    g_free(d);
    return G_SOURCE_REMOVE;
}

/* Answers a failure after a delay that grows with the failures in a row. */
static void
fail_later(GTask *task, guint failures, GError *error)
{
    DelayedFailure *d = g_new0(DelayedFailure, 1);
    guint ms = MIN(failures, 8u) * 250;

    d->task = task;
    d->error = error;
    g_timeout_add(ms, on_failure_delay, d);
}

static void
fail_now_or_later(WirtAuth *auth, GTask *task, const char *user, const char *address,
                  const char *why)
{
    Check *c = g_task_get_task_data(task);
    guint by_user = user ? note_failure(auth, "u:", user) : 0;
    guint by_address = note_failure(auth, "a:", address);

    log_failure(user, address, why);
    c->retry_after = 0;
    fail_later(task, MAX(by_user, by_address),
               g_error_new(WIRT_ERROR, WIRT_ERROR_UNAUTHORIZED,
                           "authentication failed: wrong user name, password or token"));
}

static void
on_checked(GObject *source G_GNUC_UNUSED, GAsyncResult *res, gpointer user_data)
{
    GTask *outer = user_data;
    Check *c = g_task_get_task_data(outer);
    WirtAuth *auth = c->auth;

    if (!g_task_propagate_boolean(G_TASK(res), NULL)) {
        fail_now_or_later(auth, outer, c->user, c->address, "wrong password");
        return;
    }
    note_success(auth, c->user, c->address);
    c->admin_realm = has_method(c->admin_methods, c->method);
    if (auth->config->cache_seconds) {
        CacheEntry *e = g_new0(CacheEntry, 1);
        e->user = g_strdup(c->user);
        e->admin_realm = c->admin_realm;
        if (g_str_has_prefix(c->method, "file:")) {
            e->file = g_strdup(c->method + 5);
            e->file_stamp = file_stamp(e->file);
        }
        e->expires = g_get_monotonic_time() + (gint64)auth->config->cache_seconds * G_USEC_PER_SEC;
        if (g_hash_table_size(auth->cache) > THROTTLE_MAX_ENTRIES)
            g_hash_table_remove_all(auth->cache);
        g_hash_table_replace(auth->cache, g_strdup(c->cache_key), e);
    }
    g_task_return_pointer(outer, g_strdup(c->user), g_free);
    g_object_unref(outer);
}

static GStrv
all_methods(const WirtHttpConfig *config)
{
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();

    for (int i = 0; config->auth[i]; i++)
        g_strv_builder_add(b, config->auth[i]);
    for (int i = 0; config->admin_auth[i]; i++)
        if (!g_strv_contains((const char *const *)config->auth, config->admin_auth[i]))
            g_strv_builder_add(b, config->admin_auth[i]);
    return g_strv_builder_end(b);
}

/**
 * wirt_auth_verify_async:
 * @authorization: (nullable): the Authorization header
 * @address: the client's address (for throttling and the log)
 */
void
wirt_auth_verify_async(WirtAuth *auth, const char *authorization, const char *address,
                       GAsyncReadyCallback callback, gpointer user_data)
{
    GTask *task = g_task_new(NULL, NULL, callback, user_data);
    Check *c = g_new0(Check, 1);
    g_autofree char *user = NULL;
    char *password = NULL;
    guint locked;

    c->auth = auth;
    c->address = g_strdup(address ? address : "?");
    c->methods = all_methods(auth->config);
    c->admin_methods = g_strdupv(auth->config->admin_auth);
    g_task_set_task_data(task, c, check_free);

    if (!authorization) {
        g_task_return_new_error(task, WIRT_ERROR, WIRT_ERROR_UNAUTHORIZED,
                                "authentication required: HTTP Basic or a Bearer API token");
        g_object_unref(task);
        return;
    }
    if ((locked = seconds_locked(auth, "a:", c->address))) {
        c->retry_after = locked;
        g_task_return_new_error(task, WIRT_ERROR, WIRT_ERROR_DENIED,
                                "too many failed logins from %s: try again in %u s", c->address,
                                locked);
        g_object_unref(task);
        return;
    }

    if (g_ascii_strncasecmp(authorization, "Bearer ", 7) == 0) {
        g_autofree char *owner = NULL;
        if (has_method(c->methods, "token") && auth->tokens &&
            (owner = wirt_tokens_verify(auth->tokens, authorization + 7))) {
            note_success(auth, owner, c->address);
            c->method = g_strdup("token");
            c->admin_realm = has_method(c->admin_methods, "token");
            c->user = g_strdup(owner);
            g_task_return_pointer(task, g_steal_pointer(&owner), g_free);
            g_object_unref(task);
            return;
        }
        fail_now_or_later(auth, task, NULL, c->address, "bad token");
        return;
    }
    if (!wirt_auth_parse_basic(authorization, &user, &password)) {
        fail_now_or_later(auth, task, NULL, c->address, "malformed Authorization header");
        return;
    }
    c->user = g_strdup(user);
    c->password = password;
    if ((locked = seconds_locked(auth, "u:", user))) {
        c->retry_after = locked;
        log_failure(user, c->address, "locked out");
        g_task_return_new_error(task, WIRT_ERROR, WIRT_ERROR_DENIED,
                                "too many failed logins for %s: try again in %u s", user, locked);
        g_object_unref(task);
        return;
    }
    c->cache_key = cache_key(auth, user, password);
    {
        CacheEntry *e = g_hash_table_lookup(auth->cache, c->cache_key);
        g_autofree char *stamp = e && e->file ? file_stamp(e->file) : NULL;

        if (e && e->file && g_strcmp0(stamp, e->file_stamp) != 0) {
            g_hash_table_remove(auth->cache, c->cache_key); /* the file changed: check again */
            e = NULL;
        }
        if (e && e->expires > g_get_monotonic_time()) {
            c->admin_realm = e->admin_realm;
            g_task_return_pointer(task, g_strdup(e->user), g_free);
            g_object_unref(task);
            return;
        }
    }
    {
        /* The pool's thread completes an inner task; on_checked finishes @task. */
        GTask *inner = g_task_new(NULL, NULL, on_checked, task);
        g_task_set_task_data(inner, c, NULL);
        g_thread_pool_push(auth->pool, inner, NULL);
    }
}

/**
 * wirt_auth_verify_finish:
 * @out_admin_realm: (out): whether the accepting method is in admin-auth
 * @out_retry_after: (out): seconds to put in Retry-After when locked out, else 0
 * Returns: (transfer full) (nullable): the user name, or %NULL with @error set.
 */
char *
wirt_auth_verify_finish(WirtAuth *auth G_GNUC_UNUSED, GAsyncResult *result,
                        gboolean *out_admin_realm, guint *out_retry_after, GError **error)
{
    Check *c = g_task_get_task_data(G_TASK(result));

    *out_retry_after = c->retry_after;
    *out_admin_realm = c->admin_realm;
    return g_task_propagate_pointer(G_TASK(result), error);
}

/* ---------------------------------------------------------------- sessions */

/**
 * wirt_auth_session_new:
 * @user: who logged in
 * @admin_realm: whether with an admin-auth method
 * @out_csrf: (out) (transfer full): the session's CSRF token
 * Returns: (transfer full): the cookie value. Only its SHA-256 is kept.
 */
char *
wirt_auth_session_new(WirtAuth *auth, const char *user, gboolean admin_realm, char **out_csrf)
{
    g_autofree char *id = wirt_util_random_token(32);
    Session *session = g_new0(Session, 1);
    gint64 now = g_get_monotonic_time();
    GHashTableIter iter;
    gpointer value;

    /* Drop expired sessions while we are here: the table stays as small as its users. */
    g_hash_table_iter_init(&iter, auth->sessions);
    while (g_hash_table_iter_next(&iter, NULL, &value))
        if (((Session *)value)->expires <= now)
            g_hash_table_iter_remove(&iter);
    session->user = g_strdup(user);
    session->admin_realm = admin_realm;
    session->csrf = wirt_util_random_token(32);
    session->expires = now + (gint64)auth->config->session_seconds * G_USEC_PER_SEC;
    g_hash_table_replace(auth->sessions, g_compute_checksum_for_string(G_CHECKSUM_SHA256, id, -1),
                         session);
    *out_csrf = g_strdup(session->csrf);
    return g_steal_pointer(&id);
}

/**
 * wirt_auth_session_get:
 * @out_admin_realm: (out): how the session's user logged in
 * @out_csrf: (out) (transfer none): its CSRF token
 * Returns: (transfer none) (nullable): the user of a live session.
 */
const char *
wirt_auth_session_get(WirtAuth *auth, const char *id, gboolean *out_admin_realm,
                      const char **out_csrf)
{
    g_autofree char *key = id ? g_compute_checksum_for_string(G_CHECKSUM_SHA256, id, -1) : NULL;
    Session *session = key ? g_hash_table_lookup(auth->sessions, key) : NULL;

    if (!session)
        return NULL;
    if (session->expires <= g_get_monotonic_time()) {
        g_hash_table_remove(auth->sessions, key);
        return NULL;
    }
    *out_admin_realm = session->admin_realm;
    *out_csrf = session->csrf;
    return session->user;
}

/**
 * wirt_auth_session_end:
 * @id: (nullable): a cookie value; unknown ones are ignored
 */
void
wirt_auth_session_end(WirtAuth *auth, const char *id)
{
    g_autofree char *key = id ? g_compute_checksum_for_string(G_CHECKSUM_SHA256, id, -1) : NULL;

    if (key)
        g_hash_table_remove(auth->sessions, key);
}
