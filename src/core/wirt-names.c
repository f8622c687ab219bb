/* wirt-names.c: VM name rules and the owner+name -> libvirt domain name mapping. */
#include "wirt-names.h"

#include <string.h>

#include "wirt-error.h"

/**
 * wirt_name_validate:
 * @name: (nullable): a VM's short name
 * Returns: %TRUE, or %FALSE with %WIRT_ERROR_INVALID saying what is wrong.
 *
 * The grammar is strict on purpose: names become part of libvirt domain names
 * and, in later issues, of file names in users' trees (libvirt CVE-2015-5313
 * was a '/' in a volume name).
 */
gboolean
wirt_name_validate(const char *name, GError **error)
{
    gsize len = name ? strlen(name) : 0;

    if (len == 0) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "vm name is empty");
        return FALSE;
    }
    if (len > WIRT_NAME_MAX) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "vm name is %zu characters long, at most %d are allowed", len, WIRT_NAME_MAX);
        return FALSE;
    }
    if (!g_ascii_isalnum(name[0])) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "vm name '%.*s' must start with a letter or digit", (int)len, name);
        return FALSE;
    }
    for (gsize i = 0; i < len; i++) {
        if (!g_ascii_isalnum(name[i]) && name[i] != '-') {
            g_autofree char *shown = g_strescape(name, NULL);
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                        "vm name '%s' may only contain letters, digits and '-'", shown);
            return FALSE;
        }
    }
    return TRUE;
}

/**
 * wirt_name_validate_owner:
 * @owner: (nullable): a user name
 * Returns: %TRUE, or %FALSE with %WIRT_ERROR_INVALID.
 *
 * Accepts what NSS backends (files, LDAP, SSSD "user@domain") hand out, but no
 * '/', no whitespace or control characters, and at most 64 bytes.
 */
gboolean
wirt_name_validate_owner(const char *owner, GError **error)
{
    gsize len = owner ? strlen(owner) : 0;

    if (len == 0 || len > 64) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "user name must be 1 to 64 bytes");
        return FALSE;
    }
    if (!g_utf8_validate(owner, (gssize)len, NULL)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "user name is not valid UTF-8");
        return FALSE;
    }
    for (gsize i = 0; i < len; i++) {
        unsigned char c = (unsigned char)owner[i];
        if (c <= ' ' || c == 0x7f || c == '/' || c == ':') {
            g_autofree char *shown = g_strescape(owner, NULL);
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "user name '%s' is not valid",
                        shown);
            return FALSE;
        }
    }
    if (owner[0] == '-' || owner[0] == '.') {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "user name '%s' is not valid", owner);
        return FALSE;
    }
    return TRUE;
}

/**
 * wirt_name_domain:
 * @owner: a valid owner
 * @name: a valid VM name
 * Returns: (transfer full): the libvirt domain name, "owner.name".
 */
char *
wirt_name_domain(const char *owner, const char *name)
{
    return g_strconcat(owner, ".", name, NULL);
}

/**
 * wirt_name_parse_ref:
 * @ref: "NAME" or "OWNER/NAME"
 * @out_owner: (out) (transfer full) (nullable): the owner, NULL when @ref has none
 * @out_name: (out) (transfer full): the VM name
 * Returns: %TRUE, or %FALSE with %WIRT_ERROR_INVALID; outputs are set only on success.
 */
gboolean
wirt_name_parse_ref(const char *ref, char **out_owner, char **out_name, GError **error)
{
    const char *slash = ref ? strchr(ref, '/') : NULL;
    g_autofree char *owner = NULL;
    g_autofree char *name = NULL;

    if (slash) {
        owner = g_strndup(ref, (gsize)(slash - ref));
        name = g_strdup(slash + 1);
        if (!wirt_name_validate_owner(owner, error))
            return FALSE;
    } else {
        name = g_strdup(ref);
    }
    if (!wirt_name_validate(name, error))
        return FALSE;
    *out_owner = g_steal_pointer(&owner);
    *out_name = g_steal_pointer(&name);
    return TRUE;
}
