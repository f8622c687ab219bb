/* wirt-tokens.c: API tokens for the TCP front door, stored hashed. */
#include "wirt-tokens.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/wirt-error.h"
#include "core/wirt-names.h"
#include "util/wirt-util.h"

#define ID_HEX 16
#define SECRET_BYTES 32
#define NAME_MAX_LEN 64

typedef struct {
    char *id;
    char *name;
    char *user;
    char *created;
    char *hash; /* hex SHA-256 of the secret */
    char *last_used;
} Token;

struct _WirtTokens {
    char *path;
    GPtrArray *tokens; /* Token* */
};

static void
token_free(gpointer data)
{
    Token *t = data;

    g_free(t->id);
    g_free(t->name);
    g_free(t->user);
    g_free(t->created);
    g_free(t->hash);
    g_free(t->last_used);
    g_free(t);
}

static char *
sha256_hex(const char *text)
{
    return g_compute_checksum_for_string(G_CHECKSUM_SHA256, text, -1);
}

static gboolean
load(WirtTokens *tokens, GError **error)
{
    g_autofree char *data = NULL;
    g_autoptr(GError) local = NULL;
    g_auto(GStrv) lines = NULL;

    if (!g_file_get_contents(tokens->path, &data, NULL, &local)) {
        if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            return TRUE;
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "tokens: %s", local->message);
        return FALSE;
    }
    lines = g_strsplit(data, "\n", -1);
    for (int i = 0; lines[i]; i++) {
        g_autoptr(JsonParser) parser = json_parser_new_immutable();
        JsonObject *obj;
        Token *t;

        if (!*lines[i] || !json_parser_load_from_data(parser, lines[i], -1, NULL) ||
            !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)))
            continue;
        obj = json_node_get_object(json_parser_get_root(parser));
        t = g_new0(Token, 1);
        t->id = g_strdup(json_object_get_string_member_with_default(obj, "id", NULL));
        t->name = g_strdup(json_object_get_string_member_with_default(obj, "name", NULL));
        t->user = g_strdup(json_object_get_string_member_with_default(obj, "user", NULL));
        t->created = g_strdup(json_object_get_string_member_with_default(obj, "created", NULL));
        t->hash = g_strdup(json_object_get_string_member_with_default(obj, "hash", NULL));
        if (!t->id || !t->name || !t->user || !t->hash) {
            token_free(t);
            continue;
        }
        g_ptr_array_add(tokens->tokens, t);
    }
    return TRUE;
}

/* What one token says about itself. The file keeps its hash (and never the
 * token); the API shows the token once, at creation, and later when it was last used. */
typedef enum {
    TOKEN_FOR_FILE,
    TOKEN_FOR_CREATE,
    TOKEN_FOR_LIST,
} TokenView;

static JsonNode *
token_to_json(const Token *t, TokenView view, const char *token)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "id");
    json_builder_add_string_value(b, t->id);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, t->name);
    json_builder_set_member_name(b, "user");
    json_builder_add_string_value(b, t->user);
    json_builder_set_member_name(b, "created");
    json_builder_add_string_value(b, t->created);
    switch (view) {
    case TOKEN_FOR_FILE:
        json_builder_set_member_name(b, "hash");
        json_builder_add_string_value(b, t->hash);
        break;
    case TOKEN_FOR_CREATE:
        json_builder_set_member_name(b, "token");
        json_builder_add_string_value(b, token);
        break;
    case TOKEN_FOR_LIST:
        json_builder_set_member_name(b, "last_used");
        if (t->last_used)
            json_builder_add_string_value(b, t->last_used);
        else
            json_builder_add_null_value(b);
        break;
    }
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

/* Rewrites the whole file: a temporary file in the same directory, then rename(2). */
static gboolean
save(WirtTokens *tokens, GError **error)
{
    g_autoptr(GString) out = g_string_new(NULL);
    g_autofree char *tmp = g_strconcat(tokens->path, ".tmp", NULL);
    g_auto(WirtFd) fd = -1;

    for (guint i = 0; i < tokens->tokens->len; i++) {
        g_autoptr(JsonNode) node =
            token_to_json(g_ptr_array_index(tokens->tokens, i), TOKEN_FOR_FILE, NULL);
        g_autofree char *line = json_to_string(node, FALSE);

        g_string_append_printf(out, "%s\n", line);
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || !wirt_util_write_all(fd, out->str, out->len, NULL) || fsync(fd) < 0 ||
        rename(tmp, tokens->path) < 0) {
        int saved = errno;
        unlink(tmp);
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "tokens: cannot write %s: %s",
                    tokens->path, g_strerror(saved));
        return FALSE;
    }
    return TRUE;
}

/**
 * wirt_tokens_open:
 * @path: the token file; its directory is made 0700 when missing
 * Returns: (transfer full) (nullable): the store, or %NULL with @error set.
 */
WirtTokens *
wirt_tokens_open(const char *path, GError **error)
{
    g_autoptr(WirtTokens) tokens = g_new0(WirtTokens, 1);
    g_autofree char *dir = g_path_get_dirname(path);

    tokens->path = g_strdup(path);
    tokens->tokens = g_ptr_array_new_with_free_func(token_free);
    if (g_mkdir_with_parents(dir, 0700) < 0) {
        int saved = errno;
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "tokens: cannot create %s: %s", dir,
                    g_strerror(saved));
        return NULL;
    }
    if (!load(tokens, error))
        return NULL;
    return g_steal_pointer(&tokens);
}

/**
 * wirt_tokens_free:
 * @tokens: (nullable): the store
 */
void
wirt_tokens_free(WirtTokens *tokens)
{
    if (!tokens)
        return;
    g_free(tokens->path);
    g_clear_pointer(&tokens->tokens, g_ptr_array_unref);
    g_free(tokens);
}

/**
 * wirt_tokens_create:
 * @user: the token's owner
 * @name: a label the user picks (the VM name rules), unique per user
 * Returns: (transfer full) (nullable): the new token with its secret, or %NULL
 * with INVALID (bad name), CONFLICT (name taken) or QUOTA (too many).
 */
JsonNode *
wirt_tokens_create(WirtTokens *tokens, const char *user, const char *name, GError **error)
{
    guint8 id_raw[ID_HEX / 2];
    g_autofree char *secret = NULL;
    g_autofree char *token = NULL;
    guint mine = 0;
    Token *t;

    if (!wirt_name_validate(name, NULL)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "token name '%s' may only contain letters, digits and '-'", name);
        return NULL;
    }
    for (guint i = 0; i < tokens->tokens->len; i++) {
        Token *other = g_ptr_array_index(tokens->tokens, i);
        if (!g_str_equal(other->user, user))
            continue;
        mine++;
        if (g_str_equal(other->name, name)) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_CONFLICT, "token %s already exists", name);
            return NULL;
        }
    }
    if (mine >= WIRT_TOKENS_PER_USER) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_QUOTA, "quota: tokens %u of %u used", mine,
                    WIRT_TOKENS_PER_USER);
        return NULL;
    }
    wirt_util_random_bytes(id_raw, sizeof(id_raw));
    secret = wirt_util_random_token(SECRET_BYTES);
    t = g_new0(Token, 1);
    t->id = g_new0(char, ID_HEX + 1);
    for (gsize i = 0; i < sizeof(id_raw); i++)
        g_snprintf(t->id + 2 * i, 3, "%02x", id_raw[i]);
    t->name = g_strdup(name);
    t->user = g_strdup(user);
    t->created = wirt_util_iso8601_now();
    t->hash = sha256_hex(secret);
    g_ptr_array_add(tokens->tokens, t);
    if (!save(tokens, error)) {
        g_ptr_array_remove(tokens->tokens, t);
        wirt_util_secure_free(g_steal_pointer(&secret));
        return NULL;
    }
    token = g_strdup_printf("wirt_%s_%s", t->id, secret);
    wirt_util_secure_free(g_steal_pointer(&secret));
    {
        JsonNode *node = token_to_json(t, TOKEN_FOR_CREATE, token);
        wirt_util_secure_free(g_steal_pointer(&token));
        return node;
    }
}

/**
 * wirt_tokens_list:
 * @user: (nullable): whose tokens; %NULL for everyone's
 * Returns: (transfer full): the tokens, without their secrets.
 */
JsonNode *
wirt_tokens_list(WirtTokens *tokens, const char *user)
{
    g_autoptr(JsonArray) array = json_array_new();

    for (guint i = 0; i < tokens->tokens->len; i++) {
        Token *t = g_ptr_array_index(tokens->tokens, i);
        if (!user || g_str_equal(t->user, user))
            json_array_add_element(array, token_to_json(t, TOKEN_FOR_LIST, NULL));
    }
    return json_node_init_array(json_node_alloc(), array);
}

/**
 * wirt_tokens_revoke:
 * Returns: %TRUE when @user's token @name is gone, else %FALSE with NOT_FOUND.
 */
gboolean
wirt_tokens_revoke(WirtTokens *tokens, const char *user, const char *name, GError **error)
{
    for (guint i = 0; i < tokens->tokens->len; i++) {
        Token *t = g_ptr_array_index(tokens->tokens, i);
        if (g_str_equal(t->user, user) && g_str_equal(t->name, name)) {
            Token *kept = g_ptr_array_steal_index(tokens->tokens, i);
            if (!save(tokens, error)) {
                g_ptr_array_insert(tokens->tokens, (gint)i, kept);
                return FALSE;
            }
            token_free(kept);
            return TRUE;
        }
    }
    g_set_error(error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND, "token %s: not found", name);
    return FALSE;
}

/**
 * wirt_tokens_verify:
 * @token: what the client sent after "Bearer "
 * Returns: (transfer full) (nullable): the owner's name, or %NULL.
 */
char *
wirt_tokens_verify(WirtTokens *tokens, const char *token)
{
    g_autofree char *hash = NULL;
    const char *id, *secret;

    if (!token || !g_str_has_prefix(token, "wirt_") || strlen(token) < 5 + ID_HEX + 2)
        return NULL;
    id = token + 5;
    if (id[ID_HEX] != '_')
        return NULL;
    secret = id + ID_HEX + 1;
    hash = sha256_hex(secret);
    for (guint i = 0; i < tokens->tokens->len; i++) {
        Token *t = g_ptr_array_index(tokens->tokens, i);
        if (strncmp(t->id, id, ID_HEX) != 0 || strlen(t->id) != ID_HEX)
            continue;
        if (!wirt_util_secret_equal(t->hash, hash))
            return NULL;
        g_free(t->last_used);
        t->last_used = wirt_util_iso8601_now();
        return g_strdup(t->user);
    }
    return NULL;
}
