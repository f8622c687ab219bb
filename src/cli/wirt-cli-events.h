/* wirt-cli-events.h: `wirt events`: wirtd's live event stream (GET /1.0/events, a websocket). */
#pragma once

#include <json-glib/json-glib.h>
#include <stdio.h>

#include "wirt-cli-args.h"
#include "wirt-cli-client.h"

G_BEGIN_DECLS

/* What the stream needs to know to print a message; see wirt_cli_events_take_message(). */
typedef struct {
    WirtCliFormat format;
    char *user;        /* the caller: from GET /1.0, then from the stream's hello; may be NULL */
    gboolean admin;    /* likewise */
    guint64 vm_events; /* VM events printed so far */
} WirtCliEventsView;

void wirt_cli_events_view_clear(WirtCliEventsView *view);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(WirtCliEventsView, wirt_cli_events_view_clear)

gboolean wirt_cli_events_take_message(WirtCliEventsView *view, const char *data, gsize len,
                                      GString *out, GError **error);
gboolean wirt_cli_events_run(WirtCliClient *client, const WirtCliArgs *args, const char *user,
                             gboolean admin, FILE *out, GError **error);

G_END_DECLS
