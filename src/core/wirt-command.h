/* wirt-command.h: command files of the files API (~/wirt/command/vm/NAME/ACTION).
 *
 * A command is a file named after its action; its content, if any, holds the
 * parameters. This is the one parser of those bytes: pure, no I/O, fuzzed.
 */
#pragma once

#include <glib.h>

#include "wirt-model.h"

G_BEGIN_DECLS

/* The biggest command file wirtd reads unless [files] max-command-bytes says otherwise. */
#define WIRT_COMMAND_MAX_BYTES_DEFAULT 65536

typedef struct {
    WirtAction action;
    /* stop / shutdown */
    gboolean force;
    gint timeout; /* < 0: the config's stop-timeout */
    /* autostart; config's "autostart" */
    gboolean enable;
    /* create: 0 means the config's default; config: 0 means unchanged */
    guint64 memory_mib;
    guint vcpus;
    char *pool; /* create only */
    char *node; /* create only */
    /* config: which settings it changes */
    gboolean set_autostart;
} WirtCommand;

void wirt_command_clear(WirtCommand *cmd);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(WirtCommand, wirt_command_clear)

/* The command file names, NULL-terminated, in the order `--help` lists them. */
const char *const *wirt_command_names(void);

/* Parses the command file @file_name with content @data (@len bytes, not
 * NUL-terminated). INVALID with a message for the user when the name is not a
 * command or the content is not valid parameters for it. Whitespace around the
 * content is ignored; NUL bytes and invalid UTF-8 are refused. */
gboolean wirt_command_parse(const char *file_name, const char *data, gsize len,
                            WirtCommand *out_cmd, GError **error);

/* "start", "stop --force", "create memory=512 cpus=1": how history shows it. */
char *wirt_command_describe(const WirtCommand *cmd);

G_END_DECLS
