/* wirt-error.h: the one error domain; front doors map codes through one table. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define WIRT_ERROR (wirt_error_quark())

typedef enum {
    WIRT_ERROR_FAILED,       /* 500, exit 1 */
    WIRT_ERROR_INVALID,      /* 400, exit 2 */
    WIRT_ERROR_NOT_FOUND,    /* 404, exit 3: also "exists but is not yours" */
    WIRT_ERROR_DENIED,       /* 403, exit 4 */
    WIRT_ERROR_QUOTA,        /* 409, exit 5 */
    WIRT_ERROR_CONFLICT,     /* 409, exit 6: wrong state, name taken */
    WIRT_ERROR_HOST_DOWN,    /* 503, exit 7 */
    WIRT_ERROR_UNAUTHORIZED, /* 401, exit 4: no usable identity */
    WIRT_ERROR_MEDIA_TYPE,   /* 415, exit 2: a body that is not application/json */
} WirtError;

GQuark wirt_error_quark(void);

/* The one mapping table: code <-> stable string, HTTP status, CLI exit code. */
const char *wirt_error_code_name(WirtError code);
gboolean wirt_error_code_from_name(const char *name, WirtError *out_code);
guint wirt_error_http_status(WirtError code);
int wirt_error_exit_code(WirtError code);

G_END_DECLS
