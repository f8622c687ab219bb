/* wirt-cli-passwd.c: `wirt admin passwd USER`: sets or removes USER's line in the password
 * file of `[http] admin-auth=file:PATH` (docs/configuration.md), on wirtd's host, without
 * wirtd.
 *
 * The file is "user:hash" lines, '#' comments; wirtd checks a login with crypt_r() against
 * every line of the user. We hash with yescrypt through libxcrypt and rewrite the file
 * atomically (PATH.tmp, fsync, rename), so wirtd never reads half a file. Everything that
 * decides the new content is one pure function, wirt_cli_passwd_update(), so the unit tests
 * cover it without root or a terminal.
 *
 * The password lives only in fixed stack buffers that are wiped on every path; we do not
 * use getpass(3): it is obsolete and leaves the password in a buffer we cannot wipe. */
#include "wirt-cli-passwd.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "core/wirt-error.h"
#include "core/wirt-names.h"
#include "util/wirt-util.h"

G_STATIC_ASSERT(WIRT_CLI_PASSWD_MAX < CRYPT_MAX_PASSPHRASE_SIZE);

/**
 * wirt_cli_passwd_check_user:
 * @user: (nullable): a user name for the password file
 * @error: set to %WIRT_ERROR_INVALID naming what is wrong
 *
 * wirtd's user name rules (no ':', '/', whitespace or control characters), and no leading
 * '#', which would make the line a comment.
 * Returns: %TRUE when @user can stand before the ':' of a line.
 */
gboolean
wirt_cli_passwd_check_user(const char *user, GError **error)
{
    if (!wirt_name_validate_owner(user, error))
        return FALSE;
    if (user[0] == '#') {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "user name '%s' starts with '#' (a comment in the password file)", user);
        return FALSE;
    }
    return TRUE;
}

/* Whether @line is @user's: the part before its first ':' is @user, as wirtd reads it. */
static gboolean
line_is_users(const char *line, const char *user)
{
    const char *colon = strchr(line, ':');
    gsize len = strlen(user);

    return line[0] != '#' && colon && (gsize)(colon - line) == len && strncmp(line, user, len) == 0;
}

/**
 * wirt_cli_passwd_update:
 * @old_text: the file's content ("" for a missing file)
 * @user: the user whose line changes; must pass wirt_cli_passwd_check_user()
 * @hash: (nullable): the new crypt(3) hash, or %NULL to remove @user's line
 * @error: set to %WIRT_ERROR_INVALID for a bad @user, to %WIRT_ERROR_NOT_FOUND when @hash is
 * %NULL and @user has no line
 *
 * Pure. @user's line is replaced where it stands (or appended at the end when there is none);
 * every other line, comments and blank lines included, is kept byte for byte. Further lines
 * of @user are dropped: wirtd accepts a password that matches any of them, so a stale
 * duplicate would keep an old password working. The result always ends with a newline.
 * Returns: (transfer full) (nullable): the new content, or %NULL with @error set.
 */
char *
wirt_cli_passwd_update(const char *old_text, const char *user, const char *hash, GError **error)
{
    g_auto(GStrv) lines = NULL;
    g_autoptr(GString) out = NULL;
    gboolean found = FALSE;
    guint n = 0;

    g_return_val_if_fail(old_text != NULL, NULL);
    g_return_val_if_fail(hash == NULL || (hash[0] != '\0' && !strpbrk(hash, ":\n\r")), NULL);

    if (!wirt_cli_passwd_check_user(user, error))
        return NULL;
    lines = g_strsplit(old_text, "\n", -1);
    n = g_strv_length(lines);
    if (n > 0 && lines[n - 1][0] == '\0')
        n--; /* after the final newline, or an empty file */
    out = g_string_sized_new(strlen(old_text) + strlen(user) + (hash ? strlen(hash) : 0) + 2);
    for (guint i = 0; i < n; i++) {
        if (line_is_users(lines[i], user)) {
            if (hash && !found)
                g_string_append_printf(out, "%s:%s\n", user, hash);
            found = TRUE;
            continue;
        }
        g_string_append_printf(out, "%s\n", lines[i]);
    }
    if (!found && !hash) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND, "%s has no password line", user);
        return NULL;
    }
    if (!found)
        g_string_append_printf(out, "%s:%s\n", user, hash);
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/**
 * wirt_cli_passwd_hash:
 * @password: the password, not empty
 * @error: set to %WIRT_ERROR_FAILED when libxcrypt cannot make a salt or a hash
 *
 * A yescrypt hash ("$y$…") with libxcrypt's default cost and a salt from the kernel's
 * random source. libxcrypt's work area, which holds state derived from @password, is wiped.
 * Returns: (transfer full) (nullable): the hash, or %NULL with @error set.
 */
char *
wirt_cli_passwd_hash(const char *password, GError **error)
{
    /* libxcrypt allocates with malloc(); these are released with free(), by hand. */
    char *setting = NULL;
    void *data = NULL;
    int size = 0;
    const char *hashed = NULL;
    char *result = NULL;
    int saved = 0;

    g_return_val_if_fail(password != NULL && password[0] != '\0', NULL);

    errno = 0;
    if (!(setting = crypt_gensalt_ra("$y$", 0, NULL, 0))) {
        saved = errno;
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "cannot make a yescrypt salt: %s",
                    g_strerror(saved));
        return NULL;
    }
    errno = 0;
    hashed = crypt_ra(password, setting, &data, &size);
    saved = errno;
    /* On failure crypt_ra returns NULL or a string starting with '*', never a hash. */
    if (hashed && hashed[0] == '$')
        result = g_strdup(hashed);
    else
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "cannot hash the password: %s",
                    saved ? g_strerror(saved) : "yescrypt refused it");
    if (data) {
        explicit_bzero(data, (size_t)size);
        free(data);
    }
    free(setting);
    return result;
}

/**
 * wirt_cli_passwd_read_file:
 * @path: the password file
 * @out_text: (out) (transfer full): its content; "" when it does not exist; set only on success
 * @error: set to %WIRT_ERROR_INVALID when @path is a symbolic link, not a regular file, larger
 * than %WIRT_CLI_PASSWD_FILE_MAX or holds a NUL byte; to %WIRT_ERROR_FAILED when it cannot
 * be read
 *
 * Opened with O_NOFOLLOW: the rename that replaces it would replace a link, not its target,
 * so a link is refused here rather than silently turned into a file.
 * Returns: %TRUE on success.
 */
gboolean
wirt_cli_passwd_read_file(const char *path, char **out_text, GError **error)
{
    g_auto(WirtFd) fd = -1;
    g_autoptr(GString) text = NULL;
    struct stat st;
    char chunk[4096];
    int saved = 0;

    /* O_NONBLOCK: a FIFO planted at PATH must not hang us before fstat() refuses it. */
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        saved = errno;
        if (saved == ENOENT) {
            *out_text = g_strdup("");
            return TRUE;
        }
        if (saved == ELOOP)
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                        "%s is a symbolic link: give the file itself", path);
        else
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "cannot open %s: %s", path,
                        g_strerror(saved));
        return FALSE;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID, "%s is not a regular file", path);
        return FALSE;
    }
    text = g_string_sized_new(
        st.st_size > 0 && st.st_size <= WIRT_CLI_PASSWD_FILE_MAX ? (gsize)st.st_size : 0);
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            saved = errno;
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "cannot read %s: %s", path,
                        g_strerror(saved));
            return FALSE;
        }
        if (n == 0)
            break;
        if (text->len + (gsize)n > WIRT_CLI_PASSWD_FILE_MAX) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                        "%s is larger than %d bytes: not a password file", path,
                        WIRT_CLI_PASSWD_FILE_MAX);
            return FALSE;
        }
        g_string_append_len(text, chunk, n);
    }
    if (memchr(text->str, '\0', text->len)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "%s holds a NUL byte: not a password file", path);
        return FALSE;
    }
    *out_text = g_string_free(g_steal_pointer(&text), FALSE);
    return TRUE;
}

/* fsync()s the folder of @path, so that the rename survives a crash. Best effort: some
 * file systems refuse fsync on a folder, and the file itself is already safe. */
static void
sync_folder(const char *path)
{
    g_autofree char *folder = g_path_get_dirname(path);
    g_auto(WirtFd) fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0)
        (void)fsync(fd);
}

/**
 * wirt_cli_passwd_write_file:
 * @path: the password file to replace (or create)
 * @text: its new content
 * @error: set to %WIRT_ERROR_CONFLICT when PATH.tmp exists (another run, or one that was
 * killed: remove it), else to %WIRT_ERROR_FAILED naming the step that failed
 *
 * Writes PATH.tmp (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600 whatever the umask), fsyncs it and
 * renames it over @path, so a reader sees the old file or the new one, never a part. On
 * failure PATH.tmp is removed and @path is untouched.
 * Returns: %TRUE on success.
 */
gboolean
wirt_cli_passwd_write_file(const char *path, const char *text, GError **error)
{
    g_autofree char *tmp = g_strconcat(path, ".tmp", NULL);
    g_auto(WirtFd) fd = -1;
    g_autoptr(GError) local = NULL;
    const char *step = NULL;
    int raw = -1;
    int saved = 0;

    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
    if (fd < 0) {
        saved = errno;
        if (saved == EEXIST)
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_CONFLICT,
                        "%s exists: another 'wirt admin passwd' is running, or one was "
                        "interrupted (then remove it)",
                        tmp);
        else
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "cannot create %s: %s", tmp,
                        g_strerror(saved));
        return FALSE;
    }
    if (fchmod(fd, 0600) != 0) {
        step = "set the mode of";
    } else if (!wirt_util_write_all(fd, text, strlen(text), &local)) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "cannot write %s: %s", tmp,
                    local->message);
        unlink(tmp);
        return FALSE;
    } else if (fsync(fd) != 0) {
        step = "sync";
    } else {
        raw = fd;
        fd = -1;
        if (close(raw) != 0)
            step = "close";
        else if (rename(tmp, path) != 0)
            step = "rename into place";
    }
    if (step) {
        saved = errno;
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "cannot %s %s: %s", step, tmp,
                    g_strerror(saved));
        unlink(tmp);
        return FALSE;
    }
    sync_folder(path);
    return TRUE;
}

/* ---------------------------------------------------------------- the password */

/* A password, wiped when it goes out of scope whichever way the function leaves. */
typedef struct {
    char text[WIRT_CLI_PASSWD_MAX + 1];
} PasswdBuffer;

static void
passwd_buffer_wipe(PasswdBuffer *buffer)
{
    explicit_bzero(buffer, sizeof(*buffer));
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(PasswdBuffer, passwd_buffer_wipe)

/* Reads one line (without its newline) from @fd into @buffer, a byte at a time so that
 * nothing after the line is consumed and no stdio buffer keeps a copy. */
static gboolean
read_line(int fd, PasswdBuffer *buffer, GError **error)
{
    gsize len = 0;
    gboolean any = FALSE;

    for (;;) {
        char c = 0;
        ssize_t n = read(fd, &c, 1);
        int saved = errno;

        if (n < 0 && saved == EINTR)
            continue;
        if (n < 0) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "cannot read the password: %s",
                        g_strerror(saved));
            return FALSE;
        }
        if (n == 0 || c == '\n') {
            if (n == 0 && !any) {
                g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                            "no password given (end of input)");
                return FALSE;
            }
            break;
        }
        any = TRUE;
        if (len >= WIRT_CLI_PASSWD_MAX) {
            explicit_bzero(&c, sizeof(c));
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                        "the password is longer than %d bytes", WIRT_CLI_PASSWD_MAX);
            return FALSE;
        }
        buffer->text[len++] = c;
        explicit_bzero(&c, sizeof(c));
    }
    buffer->text[len] = '\0';
    return TRUE;
}

/* The terminal's settings while echo is off, for the signal handler to put back: a Ctrl-C
 * at the prompt must not leave the user's shell without echo. */
static struct termios saved_termios;
static volatile sig_atomic_t saved_termios_fd = -1;

static void
on_signal_restore_echo(int sig)
{
    int fd = saved_termios_fd;

    if (fd >= 0)
        (void)tcsetattr(fd, TCSANOW, &saved_termios);
    (void)!write(STDERR_FILENO, "\n", 1);
    /* SA_RESETHAND put the default action back: the signal ends us once we return. */
    raise(sig);
}

static const int echo_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

/* Prompts on stderr and reads one line from the terminal @fd with echo off. */
static gboolean
read_hidden(int fd, const char *prompt, PasswdBuffer *buffer, GError **error)
{
    struct sigaction action;
    struct sigaction old[G_N_ELEMENTS(echo_signals)];
    struct termios quiet;
    gboolean ok = FALSE;
    int saved = 0;

    if (tcgetattr(fd, &saved_termios) != 0) {
        saved = errno;
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED, "cannot read the terminal's settings: %s",
                    g_strerror(saved));
        return FALSE;
    }
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_signal_restore_echo;
    action.sa_flags = SA_RESETHAND;
    sigemptyset(&action.sa_mask);
    saved_termios_fd = fd;
    for (gsize i = 0; i < G_N_ELEMENTS(echo_signals); i++)
        sigaction(echo_signals[i], &action, &old[i]);

    quiet = saved_termios;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    quiet.c_lflag |= ECHONL; /* the Enter still moves to the next line */
    fputs(prompt, stderr);
    fflush(stderr);
    if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
        saved = errno;
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_FAILED,
                    "cannot switch the terminal's echo off: %s", g_strerror(saved));
    } else {
        ok = read_line(fd, buffer, error);
        (void)tcsetattr(fd, TCSAFLUSH, &saved_termios);
    }

    saved_termios_fd = -1;
    for (gsize i = 0; i < G_N_ELEMENTS(echo_signals); i++)
        sigaction(echo_signals[i], &old[i], NULL);
    return ok;
}

/* The new password: twice, hidden, from a terminal; once from anything else (a script). */
static gboolean
read_password(int fd, const char *user, PasswdBuffer *out_password, GError **error)
{
    g_auto(PasswdBuffer) again = {{0}};
    g_autofree char *prompt = NULL;

    if (!isatty(fd)) {
        if (!read_line(fd, out_password, error))
            return FALSE;
    } else {
        prompt = g_strdup_printf("New admin password for %s: ", user);
        if (!read_hidden(fd, prompt, out_password, error) ||
            (out_password->text[0] != '\0' &&
             !read_hidden(fd, "Retype the new password: ", &again, error)))
            return FALSE;
        if (out_password->text[0] != '\0' && !g_str_equal(out_password->text, again.text)) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                        "the passwords do not match; nothing changed");
            return FALSE;
        }
    }
    if (out_password->text[0] == '\0') {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "an empty password is refused; nothing changed");
        return FALSE;
    }
    return TRUE;
}

/**
 * wirt_cli_passwd_run:
 * @args: (transfer none): a parsed `admin passwd USER [--file PATH] [--delete]`
 * @input_fd: where the password comes from (standard input): a terminal is asked twice with
 * echo off, anything else gives one line
 * @out: where to append the one line printed on success: "USER: password set in PATH" or
 * "USER: removed from PATH"
 * @error: %WIRT_ERROR_DENIED when not run as root; %WIRT_ERROR_INVALID for an empty or
 * mismatched password or a file that is not a password file; %WIRT_ERROR_NOT_FOUND for
 * --delete of a user without a line; %WIRT_ERROR_CONFLICT or %WIRT_ERROR_FAILED from
 * wirt_cli_passwd_write_file(). Every message starts with "admin passwd: ".
 *
 * The file is read (and checked) before the password is asked for, and only replaced once
 * everything else worked. The password is wiped before this returns.
 * Returns: %TRUE on success.
 */
gboolean
wirt_cli_passwd_run(const WirtCliArgs *args, int input_fd, GString *out, GError **error)
{
    const char *path = args->file ? args->file : WIRT_CLI_ADMINS_FILE;
    g_auto(PasswdBuffer) password = {{0}};
    g_autofree char *old_text = NULL;
    g_autofree char *hash = NULL;
    g_autofree char *new_text = NULL;
    g_autoptr(GError) local = NULL;

    g_return_val_if_fail(args->command == WIRT_CLI_CMD_ADMIN_PASSWD, FALSE);

    /* The file holds the keys to the admin realm: wirtd's own (root) files only. */
    if (geteuid() != 0) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_DENIED,
                    "admin passwd: must be run as root (%s is root's file)", path);
        return FALSE;
    }
    if (!wirt_cli_passwd_read_file(path, &old_text, error) ||
        (!args->remove && (!read_password(input_fd, args->user, &password, error) ||
                           !(hash = wirt_cli_passwd_hash(password.text, error))))) {
        g_prefix_error(error, "admin passwd: ");
        return FALSE;
    }
    if (!(new_text = wirt_cli_passwd_update(old_text, args->user, hash, &local))) {
        if (g_error_matches(local, WIRT_ERROR, WIRT_ERROR_NOT_FOUND))
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_NOT_FOUND,
                        "admin passwd: %s has no line in %s", args->user, path);
        else
            g_propagate_prefixed_error(error, g_steal_pointer(&local), "admin passwd: ");
        return FALSE;
    }
    if (!wirt_cli_passwd_write_file(path, new_text, error)) {
        g_prefix_error(error, "admin passwd: ");
        return FALSE;
    }
    if (args->remove)
        g_string_append_printf(out, "%s: removed from %s\n", args->user, path);
    else
        g_string_append_printf(out, "%s: password set in %s\n", args->user, path);
    return TRUE;
}
