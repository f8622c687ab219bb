/* wirt-error.c: the error domain and its one mapping table. */
#include "wirt-error.h"

/* clang-format off */
G_DEFINE_QUARK(wirt-error-quark, wirt_error)
/* clang-format on */

static const struct {
    WirtError code;
    const char *name;
    guint http_status;
    int exit_code;
} error_table[] = {
    {WIRT_ERROR_FAILED, "failed", 500, 1},
    {WIRT_ERROR_INVALID, "invalid", 400, 2},
    {WIRT_ERROR_NOT_FOUND, "not-found", 404, 3},
    {WIRT_ERROR_DENIED, "denied", 403, 4},
    {WIRT_ERROR_QUOTA, "quota", 409, 5},
    {WIRT_ERROR_CONFLICT, "conflict", 409, 6},
    {WIRT_ERROR_HOST_DOWN, "host-down", 503, 7},
    {WIRT_ERROR_UNAUTHORIZED, "unauthorized", 401, 4},
    {WIRT_ERROR_MEDIA_TYPE, "unsupported-media-type", 415, 2},
};

/**
 * wirt_error_code_name:
 * Returns: (transfer none): the stable string used in JSON errors, e.g. "not-found".
 */
const char *
wirt_error_code_name(WirtError code)
{
    for (gsize i = 0; i < G_N_ELEMENTS(error_table); i++)
        if (error_table[i].code == code)
            return error_table[i].name;
    return "failed";
}

/**
 * wirt_error_code_from_name:
 * Returns: %TRUE and sets @out_code when @name is a known code string.
 */
gboolean
wirt_error_code_from_name(const char *name, WirtError *out_code)
{
    for (gsize i = 0; name && i < G_N_ELEMENTS(error_table); i++) {
        if (g_str_equal(error_table[i].name, name)) {
            *out_code = error_table[i].code;
            return TRUE;
        }
    }
    return FALSE;
}

/**
 * wirt_error_http_status:
 * Returns: the HTTP status a front door answers for @code.
 */
guint
wirt_error_http_status(WirtError code)
{
    for (gsize i = 0; i < G_N_ELEMENTS(error_table); i++)
        if (error_table[i].code == code)
            return error_table[i].http_status;
    return 500;
}

/**
 * wirt_error_exit_code:
 * Returns: the exit status the CLI uses for @code.
 */
int
wirt_error_exit_code(WirtError code)
{
    for (gsize i = 0; i < G_N_ELEMENTS(error_table); i++)
        if (error_table[i].code == code)
            return error_table[i].exit_code;
    return 1;
}
