/* wirt-seed.c: cloud-init NoCloud seed images (see wirt-seed.h).
 *
 * Every value that goes into the YAML is checked against a strict grammar first and
 * then written double-quoted, so a user's key comment can never add YAML of its own
 * (e.g. a runcmd: a seed is run as root in the guest).
 */
#include "wirt-seed.h"

#include <stdint.h> /* libisofs.h uses uint32_t without including it */
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Its copy of libburn's struct burn_source, which we read the image from. */
#define LIBISOFS_WITHOUT_LIBBURN 1
#include <libisofs/libisofs.h>

#include "wirt-error.h"
#include "wirt-names.h"

static const char *const key_types[] = {
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    NULL,
};

static gboolean
is_base64(const char *s)
{
    if (!*s)
        return FALSE;
    for (; *s; s++)
        if (!g_ascii_isalnum(*s) && *s != '+' && *s != '/' && *s != '=')
            return FALSE;
    return TRUE;
}

/**
 * wirt_seed_check_key:
 * Returns: %TRUE when @line is "TYPE BASE64" or "TYPE BASE64 COMMENT" with a known type
 * and a comment of printable ASCII without quotes or backslashes.
 */
gboolean
wirt_seed_check_key(const char *line, GError **error)
{
    g_auto(GStrv) parts = NULL;
    const char *comment;

    if (!line || !*line || strlen(line) > WIRT_SEED_MAX_KEY_BYTES) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "ssh key: empty or longer than %d bytes",
                    WIRT_SEED_MAX_KEY_BYTES);
        return FALSE;
    }
    for (const char *c = line; *c; c++) {
        if (*c < 0x20 || *c > 0x7e || *c == '"' || *c == '\\') {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                        "ssh key: only printable ASCII without quotes or backslashes");
            return FALSE;
        }
    }
    parts = g_strsplit(line, " ", 3);
    if (!parts[0] || !parts[1] || !g_strv_contains(key_types, parts[0]) || !is_base64(parts[1])) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "ssh key: not an OpenSSH public key line (TYPE BASE64 [COMMENT], TYPE one "
                    "of ssh-ed25519, ssh-rsa, ecdsa-sha2-*, sk-*)");
        return FALSE;
    }
    comment = parts[2];
    (void)comment; /* any printable ASCII, checked above */
    return TRUE;
}

static gboolean
check_spec(const WirtSeedSpec *spec, GError **error)
{
    guint n = 0;

    if (!wirt_name_validate(spec->hostname, error))
        return FALSE;
    if (!spec->instance_id || !*spec->instance_id || strlen(spec->instance_id) > 128) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "seed: instance id missing or too long");
        return FALSE;
    }
    for (const char *c = spec->instance_id; *c; c++) {
        if (!g_ascii_isalnum(*c) && *c != '-' && *c != '.' && *c != '_') {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                        "seed: instance id may hold only letters, digits, '-', '.' and '_'");
            return FALSE;
        }
    }
    for (; spec->ssh_keys && spec->ssh_keys[n]; n++)
        if (!wirt_seed_check_key(spec->ssh_keys[n], error))
            return FALSE;
    if (n > WIRT_SEED_MAX_KEYS) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "seed: more than %d ssh keys",
                    WIRT_SEED_MAX_KEYS);
        return FALSE;
    }
    return TRUE;
}

/**
 * wirt_seed_meta_data:
 * Returns: (transfer full): the meta-data file, or %NULL with @error.
 */
char *
wirt_seed_meta_data(const WirtSeedSpec *spec, GError **error)
{
    if (!check_spec(spec, error))
        return NULL;
    return g_strdup_printf("instance-id: \"%s\"\nlocal-hostname: \"%s\"\n", spec->instance_id,
                           spec->hostname);
}

/**
 * wirt_seed_user_data:
 * Returns: (transfer full): the #cloud-config user-data file, or %NULL with @error. The
 * keys go to the image's default user (cloud-init's ssh_authorized_keys).
 */
char *
wirt_seed_user_data(const WirtSeedSpec *spec, GError **error)
{
    GString *out;

    if (!check_spec(spec, error))
        return NULL;
    out = g_string_new("#cloud-config\n");
    g_string_append_printf(out, "hostname: \"%s\"\n", spec->hostname);
    g_string_append(out, "ssh_authorized_keys:");
    if (!spec->ssh_keys || !spec->ssh_keys[0])
        g_string_append(out, " []");
    g_string_append_c(out, '\n');
    for (guint i = 0; spec->ssh_keys && spec->ssh_keys[i]; i++)
        g_string_append_printf(out, "  - \"%s\"\n", spec->ssh_keys[i]);
    return g_string_free(out, FALSE);
}

static gboolean
add_file(IsoDir *root, const char *name, char *text, GError **error)
{
    IsoStream *stream = NULL;
    gsize len = strlen(text);
    unsigned char *buf = malloc(len ? len : 1); /* libisofs frees it with free() */

    if (!buf) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "seed: out of memory");
        return FALSE;
    }
    memcpy(buf, text, len);
    if (iso_memory_stream_new(buf, len, &stream) < 0) {
        free(buf);
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "seed: cannot make %s", name);
        return FALSE;
    }
    if (iso_tree_add_new_file(root, name, stream, NULL) < 0) {
        iso_stream_unref(stream);
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "seed: cannot add %s", name);
        return FALSE;
    }
    return TRUE; /* the new file took our reference to the stream */
}

static gpointer
init_libisofs(gpointer data G_GNUC_UNUSED)
{
    return GINT_TO_POINTER(iso_init() >= 0);
}

/**
 * wirt_seed_build_iso:
 * Returns: (transfer full): the seed image, or %NULL with @error.
 */
GBytes *
wirt_seed_build_iso(const WirtSeedSpec *spec, GError **error)
{
    static GOnce once = G_ONCE_INIT;
    g_autofree char *meta = NULL;
    g_autofree char *user = NULL;
    IsoImage *image = NULL;
    IsoWriteOpts *opts = NULL;
    struct burn_source *src = NULL;
    GByteArray *out = NULL;
    unsigned char block[2048];
    int n;

    if (!(meta = wirt_seed_meta_data(spec, error)) || !(user = wirt_seed_user_data(spec, error)))
        return NULL;
    if (!GPOINTER_TO_INT(g_once(&once, init_libisofs, NULL))) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "seed: libisofs does not start");
        return NULL;
    }
    if (iso_image_new("cidata", &image) < 0) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "seed: cannot make an image");
        return NULL;
    }
    iso_image_set_volume_id(image, "cidata");
    if (!add_file(iso_image_get_root(image), "meta-data", meta, error) ||
        !add_file(iso_image_get_root(image), "user-data", user, error))
        goto fail;
    if (iso_write_opts_new(&opts, 0) < 0) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "seed: cannot set write options");
        goto fail;
    }
    /* Rock Ridge and Joliet keep "meta-data" as it is (plain ISO 9660 would make it
     * META_DAT.;1); one fixed timestamp keeps the image the same for the same input. */
    iso_write_opts_set_rockridge(opts, 1);
    iso_write_opts_set_joliet(opts, 1);
    iso_write_opts_set_replace_mode(opts, 1, 1, 1, 1);
    iso_write_opts_set_replace_timestamps(opts, 2);
    iso_write_opts_set_default_timestamp(opts, 0);
    iso_write_opts_set_always_gmt(opts, 1);
    if (iso_image_create_burn_source(image, opts, &src) < 0) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "seed: cannot write the image");
        goto fail;
    }
    out = g_byte_array_new();
    while ((n = src->read_xt(src, block, sizeof(block))) > 0)
        g_byte_array_append(out, block, (guint)n);
    src->free_data(src);
    free(src);
    iso_write_opts_free(opts);
    iso_image_unref(image);
    if (n < 0 || out->len == 0) {
        g_byte_array_unref(out);
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "seed: writing the image failed");
        return NULL;
    }
    return g_byte_array_free_to_bytes(out);

fail:
    if (opts)
        iso_write_opts_free(opts);
    iso_image_unref(image);
    return NULL;
}
