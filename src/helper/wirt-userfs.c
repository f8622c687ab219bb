/* wirt-userfs: the only wirt code that touches users' home folders.
 *
 * wirtd starts one or more of these (root, single-threaded) with a
 * SOCK_SEQPACKET socket on fd 3 (see wirt-userfs-proto.h for the messages).
 * For each attached member it watches ~/DIR/command/vm/NAME/ (and the legacy
 * ~/LEGACY/dom-NAME/) with inotify, takes command files and hands their bytes
 * to wirtd, and writes what wirtd answers into ~/DIR/info and ~/DIR/logs.
 *
 * How it stays inside the member's tree with no more than the member's rights
 * (docs/security.md, "Files API"):
 * - Everything in the user-writable part (command/, the legacy tree, and info/
 *   or logs/ when they are the user's) is done with the member's file-system
 *   identity: setfsuid/setfsgid and the member's groups. This process has one
 *   thread, so that switch is whole; the kernel then checks the member's
 *   rights and drops CAP_DAC_OVERRIDE and friends from the effective set.
 * - Every path below the home is resolved by the kernel relative to a
 *   directory fd with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 *   RESOLVE_NO_MAGICLINKS): a symlink anywhere, a "..", or a directory swapped
 *   for a link is refused, not followed. The last component is opened with
 *   O_NOFOLLOW | O_NONBLOCK, and the open fd must be a regular file with one
 *   link owned by the member, no bigger than max-command-bytes.
 * - A command is taken by renaming it to a hidden name (renameat2 NOREPLACE)
 *   and reading that; it is removed only after wirtd has written its result.
 *   A rename cannot be redirected by the user (both names are in one verified
 *   directory fd), and a leftover hidden file after a crash is a pending command.
 * - info/ and logs/ are made by root inside ~/DIR (mkdirat on the verified fd),
 *   owned root:GROUP 0750, so the member can read but not change them, and
 *   root writes only inside directories the member cannot write to. Where root
 *   cannot make them (NFS with root_squash) or the member made them first, they
 *   are the member's and are written as the member.
 * The process keeps only CAP_SETUID, CAP_SETGID, CAP_DAC_OVERRIDE,
 * CAP_DAC_READ_SEARCH, CAP_CHOWN, CAP_FOWNER and CAP_LEASE, and sets no_new_privs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "core/wirt-names.h"
#include "util/wirt-util.h"
#include "wirt-build-config.h"
#include "wirt-userfs-proto.h"

#define CONTROL_FD 3
#define SETTLE_NS (G_GINT64_CONSTANT(1000000000)) /* scans take untouched files after 1 s */
#define ROTATE_READ_MAX (16 * 1024 * 1024)
#define MAX_VM_DIRS 1024 /* per member; more are reported, not read */

typedef enum {
    W_HOME,
    W_TOP,     /* ~/DIR */
    W_COMMAND, /* ~/DIR/command */
    W_VMS,     /* ~/DIR/command/vm */
    W_VM,      /* ~/DIR/command/vm/NAME */
    W_LEGACY,  /* ~/LEGACY */
    W_DOM,     /* ~/LEGACY/dom-NAME */
} WatchKind;

typedef struct _User User;

typedef struct {
    int wd;
    WatchKind kind;
    User *user;
    char *vm; /* W_VM, W_DOM */
} Watch;

struct _User {
    uid_t uid;
    gid_t gid;
    GArray *groups; /* gid_t */
    char *name;
    char *home;
    GHashTable *watches; /* wd -> Watch* (owned by the global table) */
    GHashTable *told;    /* problems already reported, so each is said once */
    gboolean dirty;      /* a structural change: set up watches and scan again */
    gboolean had_top;    /* ~/DIR existed at the last sync */
    GHashTable *sent;    /* "vm/taken" handed to wirtd and not yet done */
};

typedef struct {
    const char *dir;
    const char *legacy;
    guint max_bytes;
    guint max_pending;
    guint64 log_max;
    guint log_keep;
    int ifd;
    GHashTable *users;   /* uid -> User* */
    GHashTable *watches; /* wd -> Watch* */
    gboolean as_user;    /* the file-system identity is a member's */
} Helper;

static Helper H;

/* ------------------------------------------------------------ identity */

static void
become_root(void)
{
    if (!H.as_user)
        return;
    setfsuid(0);
    setfsgid(0);
    /* This process has one thread: the raw syscall is the whole process. */
    if (syscall(SYS_setgroups, 0, NULL) < 0 || setfsuid((uid_t)-1) != 0) {
        fprintf(stderr, "wirt-userfs: cannot return to root: %s\n", g_strerror(errno));
        _exit(70);
    }
    H.as_user = FALSE;
}

static gboolean
become_user(const User *u)
{
    become_root();
    if (syscall(SYS_setgroups, (size_t)u->groups->len, (const gid_t *)u->groups->data) < 0)
        return FALSE;
    setfsgid(u->gid);
    setfsuid(u->uid);
    H.as_user = TRUE;
    /* setfsuid reports the previous value: ask again to be sure it took. */
    if ((uid_t)setfsuid((uid_t)-1) != u->uid || (gid_t)setfsgid((gid_t)-1) != u->gid) {
        become_root();
        errno = EPERM;
        return FALSE;
    }
    return TRUE;
}

static void
drop_capabilities(void)
{
    static const int keep[] = {CAP_SETUID, CAP_SETGID, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH,
                               CAP_CHOWN,  CAP_FOWNER, CAP_LEASE};
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2] = {{0}};

    for (int cap = 0; cap <= 63; cap++) {
        gboolean kept = FALSE;
        for (gsize i = 0; i < G_N_ELEMENTS(keep); i++)
            kept |= keep[i] == cap;
        if (!kept)
            (void)prctl(PR_CAPBSET_DROP, cap, 0, 0, 0); /* EINVAL past the kernel's last cap */
    }
    for (gsize i = 0; i < G_N_ELEMENTS(keep); i++) {
        data[keep[i] / 32].effective |= 1u << (keep[i] % 32);
        data[keep[i] / 32].permitted |= 1u << (keep[i] % 32);
    }
    if (syscall(SYS_capset, &hdr, data) < 0)
        fprintf(stderr, "wirt-userfs: capset: %s (keeping root's capabilities)\n",
                g_strerror(errno));
    (void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

/* --------------------------------------------------------- file access */

/* openat2 beneath @dirfd, never through a symlink: the kernel walks @path. */
static int
open_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
    struct open_how how = {
        .flags = (guint64)(flags | O_CLOEXEC | O_NOCTTY),
        .mode = (flags & O_CREAT) ? mode : 0,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    long fd;

    do
        fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
    while (fd < 0 && errno == EINTR);
    return (int)fd;
}

static int
open_dir(int dirfd, const char *path)
{
    return open_beneath(dirfd, path, O_RDONLY | O_DIRECTORY, 0);
}

static void
send_msg(const char *op, GVariant *args)
{
    g_autoptr(GBytes) bytes = wirt_userfs_encode(op, args);
    gsize len;
    const guint8 *data = g_bytes_get_data(bytes, &len);
    ssize_t n;

    for (;;) {
        struct pollfd pfd = {CONTROL_FD, POLLOUT, 0};

        n = send(CONTROL_FD, data, len, MSG_NOSIGNAL);
        if (n >= 0)
            return;
        if (errno == EINTR)
            continue;
        /* The socket's queue is full (net.unix.max_dgram_qlen is small): wirtd reads on
         * its main loop and never waits for us, so waiting here cannot deadlock. */
        if ((errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) &&
            (poll(&pfd, 1, -1) >= 0 || errno == EINTR))
            continue;
        /* wirtd went away (EPIPE, ECONNRESET): nothing left to do. */
        _exit(0);
    }
}

/* Tells wirtd (which tells the member) about @what, once per distinct message. */
static void G_GNUC_PRINTF(2, 3) problem(User *u, const char *format, ...)
{
    va_list args;
    g_autofree char *message = NULL;
    GVariantBuilder b;

    va_start(args, format);
    message = g_strdup_vprintf(format, args);
    va_end(args);
    if (g_hash_table_contains(u->told, message))
        return;
    g_hash_table_add(u->told, g_strdup(message));
    g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
    g_variant_builder_add(&b, "{sv}", "uid", g_variant_new_uint32(u->uid));
    g_variant_builder_add(&b, "{sv}", "message", g_variant_new_string(message));
    send_msg("problem", g_variant_builder_end(&b));
}

static const char *
describe_errno(int err)
{
    switch (err) {
    case ELOOP:
        return "it is (or passes through) a symbolic link";
    case EXDEV:
        return "it leads outside the tree";
    case ENOTDIR:
        return "it is not a directory";
    case EACCES:
    case EPERM:
        return "permission denied";
    default:
        return g_strerror(err);
    }
}

/* The member's home, as the member: must be a directory the member owns. */
static int
open_home(User *u)
{
    struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                           .resolve = RESOLVE_NO_MAGICLINKS};
    struct stat st;
    int fd;

    if (!g_path_is_absolute(u->home))
        return -1;
    /* The path to the home is the admin's (it may pass through symlinks like /home ->
     * /srv/home); only what is below it is the member's. */
    fd = (int)syscall(SYS_openat2, AT_FDCWD, u->home, &how, sizeof(how));
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) < 0 || st.st_uid != u->uid) {
        close(fd);
        errno = EPERM;
        return -1;
    }
    return fd;
}

/* ------------------------------------------------------------- watches */

static void
watch_free(gpointer data)
{
    Watch *w = data;

    g_free(w->vm);
    g_free(w);
}

static void
watch_add(User *u, int dirfd, WatchKind kind, const char *vm, guint32 mask)
{
    char path[64];
    Watch *w;
    int wd;

    g_snprintf(path, sizeof(path), "/proc/self/fd/%d", dirfd);
    /* The magic link names exactly the inode dirfd holds: no path is walked again. */
    wd = inotify_add_watch(H.ifd, path, mask | IN_ONLYDIR | IN_EXCL_UNLINK);
    if (wd < 0) {
        if (errno == ENOSPC)
            problem(u, "inotify: out of watches (fs.inotify.max_user_watches); commands are "
                       "picked up by the periodic rescan only");
        return;
    }
    w = g_hash_table_lookup(H.watches, GINT_TO_POINTER(wd));
    if (w && w->user == u && w->kind == kind && g_strcmp0(w->vm, vm) == 0)
        return;
    if (w) /* the same inode under another role (moved): take the new one */
        g_hash_table_remove(w->user->watches, GINT_TO_POINTER(wd));
    w = g_new0(Watch, 1);
    w->wd = wd;
    w->kind = kind;
    w->user = u;
    w->vm = g_strdup(vm);
    g_hash_table_replace(H.watches, GINT_TO_POINTER(wd), w);
    g_hash_table_add(u->watches, GINT_TO_POINTER(wd));
}

static void
user_unwatch_all(User *u)
{
    GHashTableIter it;
    gpointer key;

    g_hash_table_iter_init(&it, u->watches);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        inotify_rm_watch(H.ifd, GPOINTER_TO_INT(key));
        g_hash_table_remove(H.watches, key);
    }
    g_hash_table_remove_all(u->watches);
}

/* ------------------------------------------------------------ commands */

typedef struct {
    char *name; /* as found: "start" or ".wirt-taken.start.1a2b" */
    gint64 mtime;
} Entry;

static gint
entry_compare(gconstpointer a, gconstpointer b)
{
    const Entry *x = a, *y = b;

    if (x->mtime != y->mtime)
        return x->mtime < y->mtime ? -1 : 1;
    return strcmp(x->name, y->name);
}

static gint64
mtime_ns(const struct stat *st)
{
    return (gint64)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* The action a taken name stands for: ".wirt-taken.ACTION.RANDOM" -> "ACTION". */
static char *
taken_action(const char *taken)
{
    const char *start = taken + strlen(WIRT_USERFS_TAKEN_PREFIX);
    const char *dot = strrchr(start, '.');

    return dot && dot > start ? g_strndup(start, (gsize)(dot - start)) : NULL;
}

static void
send_command(User *u, const char *layout, const char *vm, const char *action, const char *taken,
             gint64 mtime, const char *data, gsize len, const char *error)
{
    GVariantBuilder b;

    g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
    g_variant_builder_add(&b, "{sv}", "uid", g_variant_new_uint32(u->uid));
    g_variant_builder_add(&b, "{sv}", "layout", g_variant_new_string(layout));
    g_variant_builder_add(&b, "{sv}", "vm", g_variant_new_string(vm));
    g_variant_builder_add(&b, "{sv}", "action", g_variant_new_string(action));
    g_variant_builder_add(&b, "{sv}", "taken", g_variant_new_string(taken));
    g_variant_builder_add(&b, "{sv}", "mtime", g_variant_new_int64(mtime));
    g_variant_builder_add(&b, "{sv}", "data",
                          g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, data ? data : "", len, 1));
    g_variant_builder_add(&b, "{sv}", "error", g_variant_new_string(error ? error : ""));
    send_msg("command", g_variant_builder_end(&b));
}

/* Reads the already-renamed command @taken in @dirfd and sends it to wirtd. As the member. */
static void
read_taken(User *u, int dirfd, const char *layout, const char *vm, const char *action,
           const char *taken, gint64 mtime)
{
    g_auto(WirtFd) fd = -1;
    g_autofree char *data = NULL;
    g_autofree char *error = NULL;
    struct stat st;
    gsize len = 0;

    /* Never open what is not a plain file: a device or a FIFO has side effects. */
    if (fstatat(dirfd, taken, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
        error = g_strdup(S_ISLNK(st.st_mode) ? "it is a symbolic link; a command must be a "
                                               "plain file"
                                             : "it is not a regular file");
    else if ((fd = openat(dirfd, taken,
                          O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) < 0) {
        error = g_strdup_printf("cannot read it: %s", describe_errno(errno));
    } else if (fstat(fd, &st) < 0) {
        error = g_strdup_printf("cannot read it: %s", g_strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        error = g_strdup("it is not a regular file");
    } else if (st.st_nlink != 1) {
        error = g_strdup_printf("it has %ju hard links; a command file must have exactly one",
                                (uintmax_t)st.st_nlink);
    } else if (st.st_uid != u->uid) {
        error = g_strdup_printf("it belongs to uid %u, not to you", (guint)st.st_uid);
    } else if ((guint64)st.st_size > H.max_bytes) {
        error = g_strdup_printf("it is %jd bytes; the limit is %u (max-command-bytes)",
                                (intmax_t)st.st_size, H.max_bytes);
    } else {
        ssize_t n;
        data = g_malloc((gsize)H.max_bytes + 1);
        while ((n = read(fd, data + len, (gsize)H.max_bytes + 1 - len)) > 0 ||
               (n < 0 && errno == EINTR))
            if (n > 0)
                len += (gsize)n;
        if (n < 0)
            error = g_strdup_printf("cannot read it: %s", g_strerror(errno));
        else if (len > H.max_bytes)
            error = g_strdup_printf("it grew past %u bytes (max-command-bytes)", H.max_bytes);
    }
    if (error)
        len = 0;
    g_hash_table_add(u->sent, g_strdup_printf("%s/%s", vm, taken));
    send_command(u, layout, vm, action, taken, mtime, error ? NULL : data, len, error);
}

/* Takes the command file @name in @dirfd (as the member): checks it is a
 * finished regular file, renames it to a hidden name, reads and sends it.
 * @closed: inotify said a writer closed it, so no settle time is needed. */
static void
take(User *u, int dirfd, const char *layout, const char *vm, const char *name, gboolean closed)
{
    g_autofree char *taken = NULL;
    struct stat st;
    guint8 rnd[4];

    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return; /* gone already */
    if (S_ISDIR(st.st_mode)) {
        problem(u, "%s/%s: a directory where a command file was expected; ignored", vm, name);
        return;
    }
    if (S_ISREG(st.st_mode) && !closed) {
        /* Still being written? A read lease is refused while anyone has it open
         * for writing; filesystems without leases (NFS) get the settle time. */
        g_auto(WirtFd) fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        struct timespec now;
        if (fd < 0)
            return;
        if (fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
            (void)fcntl(fd, F_SETLEASE, F_UNLCK);
        } else if (errno == EAGAIN || errno == EBUSY) {
            return; /* its close event will bring it back */
        } else {
            clock_gettime(CLOCK_REALTIME, &now);
            if ((gint64)now.tv_sec * 1000000000 + now.tv_nsec - mtime_ns(&st) < SETTLE_NS)
                return;
        }
    }
    wirt_util_random_bytes(rnd, sizeof(rnd));
    taken = g_strdup_printf(WIRT_USERFS_TAKEN_PREFIX "%s.%02x%02x%02x%02x", name, rnd[0], rnd[1],
                            rnd[2], rnd[3]);
    if (renameat2(dirfd, name, dirfd, taken, RENAME_NOREPLACE) < 0) {
        if (errno != ENOENT)
            problem(u, "%s/%s: cannot take it: %s", vm, name, describe_errno(errno));
        return;
    }
    read_taken(u, dirfd, layout, vm, name, taken, mtime_ns(&st));
}

/* Every finished command in one VM directory, oldest first; leftovers of a
 * crash (hidden taken files) are sent again. At most max-pending per call. */
static void
scan_vm_dir(User *u, int dirfd, const char *layout, const char *vm, guint *budget)
{
    g_autoptr(GArray) entries = g_array_new(FALSE, FALSE, sizeof(Entry));
    DIR *d;
    struct dirent *de;
    int dup_fd = dup(dirfd);

    if (dup_fd < 0 || !(d = fdopendir(dup_fd))) {
        if (dup_fd >= 0)
            close(dup_fd);
        return;
    }
    while ((de = readdir(d))) {
        struct stat st;
        Entry e;
        if (de->d_name[0] == '.' && !g_str_has_prefix(de->d_name, WIRT_USERFS_TAKEN_PREFIX))
            continue;
        if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        e.name = g_strdup(de->d_name);
        e.mtime = mtime_ns(&st);
        g_array_append_val(entries, e);
    }
    closedir(d);
    g_array_sort(entries, entry_compare);
    for (guint i = 0; i < entries->len; i++) {
        Entry *e = &g_array_index(entries, Entry, i);
        if (*budget > 0) {
            if (g_str_has_prefix(e->name, WIRT_USERFS_TAKEN_PREFIX)) {
                /* Only leftovers of an earlier run: what we sent is wirtd's until "done". */
                g_autofree char *action = taken_action(e->name);
                g_autofree char *key = g_strdup_printf("%s/%s", vm, e->name);
                if (action && !g_hash_table_contains(u->sent, key)) {
                    read_taken(u, dirfd, layout, vm, action, e->name, e->mtime);
                    (*budget)--;
                }
            } else {
                take(u, dirfd, layout, vm, e->name, FALSE);
                (*budget)--;
            }
        }
        g_free(e->name);
    }
}

/* Opens VM directory @name of @parent (command/vm or the legacy tree) as the member. */
static int
open_vm_dir(User *u, int parent, const char *shown, const char *name)
{
    struct stat st;
    int fd = open_dir(parent, name);

    if (fd < 0) {
        if (errno != ENOENT)
            problem(u, "%s/%s: ignored: %s", shown, name, describe_errno(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0 || st.st_uid != u->uid) {
        problem(u, "%s/%s: ignored: it does not belong to you", shown, name);
        close(fd);
        return -1;
    }
    return fd;
}

/* Calls @func for each VM directory in @dirfd: "NAME" (or "dom-NAME" when @prefix). */
static void
each_vm_dir(User *u, int dirfd, const char *shown, const char *prefix,
            void (*func)(User *u, int vmfd, const char *vm, gpointer data), gpointer data)
{
    DIR *d;
    struct dirent *de;
    int dup_fd = dup(dirfd);
    guint n = 0;

    if (dup_fd < 0 || !(d = fdopendir(dup_fd))) {
        if (dup_fd >= 0)
            close(dup_fd);
        return;
    }
    while ((de = readdir(d))) {
        const char *vm = de->d_name;
        g_autoptr(GError) error = NULL;
        g_auto(WirtFd) vmfd = -1;

        if (vm[0] == '.')
            continue;
        if (prefix) {
            if (!g_str_has_prefix(vm, prefix))
                continue;
            vm += strlen(prefix);
        }
        if (!wirt_name_validate(vm, &error)) {
            g_autofree char *escaped = g_strescape(de->d_name, NULL);
            problem(u, "%s/%.80s: ignored: %s", shown, escaped, error->message);
            continue;
        }
        if (++n > MAX_VM_DIRS) {
            problem(u, "%s: more than %d VM directories; the rest are ignored", shown, MAX_VM_DIRS);
            break;
        }
        if ((vmfd = open_vm_dir(u, dirfd, shown, de->d_name)) >= 0)
            func(u, vmfd, vm, data);
    }
    closedir(d);
}

typedef struct {
    const char *layout;
    guint budget;
} ScanData;

static void
scan_one(User *u, int vmfd, const char *vm, gpointer data)
{
    ScanData *sd = data;
    WatchKind kind = g_str_equal(sd->layout, "wirt") ? W_VM : W_DOM;

    watch_add(u, vmfd, kind, vm,
              IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF);
    scan_vm_dir(u, vmfd, sd->layout, vm, &sd->budget);
}

/* Sets up the member's watches and takes every finished command: at attach,
 * after structural changes and on each rescan. All as the member. */
static void
user_sync(User *u)
{
    g_auto(WirtFd) home = -1;
    g_auto(WirtFd) top = -1;
    g_auto(WirtFd) command = -1;
    g_auto(WirtFd) vms = -1;
    g_auto(WirtFd) legacy = -1;
    ScanData sd = {"wirt", H.max_pending};
    struct stat st;

    u->dirty = FALSE;
    if (!become_user(u)) {
        fprintf(stderr, "wirt-userfs: %s: cannot take on the identity: %s\n", u->name,
                g_strerror(errno));
        return;
    }
    if ((home = open_home(u)) < 0) {
        become_root();
        return; /* no home (yet), or not theirs: nothing to watch */
    }
    watch_add(u, home, W_HOME, NULL, IN_CREATE | IN_MOVED_TO);
    if ((top = open_dir(home, H.dir)) >= 0) {
        if (fstat(top, &st) == 0 && st.st_uid == u->uid) {
            if (!u->had_top) {
                /* New (or first seen): wirtd fills info/ for the member's VMs. */
                GVariantBuilder b;
                u->had_top = TRUE;
                g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
                g_variant_builder_add(&b, "{sv}", "uid", g_variant_new_uint32(u->uid));
                send_msg("tree", g_variant_builder_end(&b));
            }
            watch_add(u, top, W_TOP, NULL, IN_CREATE | IN_MOVED_TO);
            if ((command = open_dir(top, "command")) >= 0) {
                watch_add(u, command, W_COMMAND, NULL, IN_CREATE | IN_MOVED_TO);
                if ((vms = open_dir(command, "vm")) >= 0) {
                    watch_add(u, vms, W_VMS, NULL, IN_CREATE | IN_MOVED_TO);
                    each_vm_dir(u, vms, "command/vm", NULL, scan_one, &sd);
                } else if (errno != ENOENT) {
                    problem(u, "%s/command/vm: ignored: %s", H.dir, describe_errno(errno));
                }
            } else if (errno != ENOENT) {
                problem(u, "%s/command: ignored: %s", H.dir, describe_errno(errno));
            }
        } else {
            problem(u, "~/%s: ignored: it does not belong to you", H.dir);
        }
    } else {
        u->had_top = FALSE;
        if (errno != ENOENT)
            problem(u, "~/%s: ignored: %s", H.dir, describe_errno(errno));
    }
    if (H.legacy && (legacy = open_dir(home, H.legacy)) >= 0) {
        sd.layout = "legacy";
        if (fstat(legacy, &st) == 0 && st.st_uid == u->uid) {
            watch_add(u, legacy, W_LEGACY, NULL, IN_CREATE | IN_MOVED_TO);
            each_vm_dir(u, legacy, H.legacy, "dom-", scan_one, &sd);
        }
    }
    if (sd.budget == 0)
        u->dirty = TRUE; /* more waiting: go on after this round */
    become_root();
}

/* One VM directory after inotify named @name in it (as the member). */
static void
user_take_named(User *u, Watch *w, const char *name, gboolean closed)
{
    g_auto(WirtFd) home = -1;
    g_auto(WirtFd) vmfd = -1;
    g_autofree char *path = NULL;

    if (name[0] == '.' || !become_user(u))
        return;
    if ((home = open_home(u)) >= 0) {
        path = w->kind == W_VM ? g_build_filename(H.dir, "command", "vm", w->vm, NULL)
                               : g_strdup_printf("%s/dom-%s", H.legacy, w->vm);
        if ((vmfd = open_dir(home, path)) >= 0)
            take(u, vmfd, w->kind == W_VM ? "wirt" : "legacy", w->vm, name, closed);
        else
            u->dirty = TRUE; /* moved or replaced: re-resolve everything */
    }
    become_root();
}

static void
on_inotify(void)
{
    char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t len;

    while ((len = read(H.ifd, buf, sizeof(buf))) > 0) {
        for (char *p = buf; p < buf + len;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            Watch *w = g_hash_table_lookup(H.watches, GINT_TO_POINTER(ev->wd));

            p += sizeof(*ev) + ev->len;
            if (ev->mask & IN_Q_OVERFLOW) {
                GHashTableIter it;
                gpointer value;
                g_hash_table_iter_init(&it, H.users);
                while (g_hash_table_iter_next(&it, NULL, &value))
                    ((User *)value)->dirty = TRUE;
                continue;
            }
            if (!w)
                continue;
            if (ev->mask & IN_IGNORED) {
                g_hash_table_remove(w->user->watches, GINT_TO_POINTER(ev->wd));
                w->user->dirty = TRUE;
                g_hash_table_remove(H.watches, GINT_TO_POINTER(ev->wd));
                continue;
            }
            if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
                w->user->dirty = TRUE;
                continue;
            }
            /* A new entry may still be being written: take() checks with a lease. A
             * close or a rename-into means it is finished. */
            if ((w->kind == W_VM || w->kind == W_DOM) && ev->len && !(ev->mask & IN_ISDIR) &&
                (ev->mask & (IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO)))
                user_take_named(w->user, w, ev->name, !(ev->mask & IN_CREATE));
            else if (ev->len && ev->name[0] != '.' &&
                     (w->kind != W_HOME || g_str_equal(ev->name, H.dir) ||
                      g_strcmp0(ev->name, H.legacy) == 0))
                w->user->dirty = TRUE;
        }
    }
}

/* ------------------------------------------------------ info/ and logs/ */

typedef struct {
    int fd;
    gboolean root; /* root-owned: write as root; else the member's: write as the member */
} OutDir;

/* ~/DIR/@sub (info or logs), made by root as root:GID 0750 when it does not exist. */
static gboolean
out_dir_open(User *u, const char *sub, OutDir *out)
{
    g_auto(WirtFd) home = -1;
    g_auto(WirtFd) top = -1;
    struct stat st;
    int fd;

    out->fd = -1;
    if (!become_user(u))
        return FALSE;
    if ((home = open_home(u)) < 0 || (top = open_dir(home, H.dir)) < 0 || fstat(top, &st) < 0 ||
        st.st_uid != u->uid) {
        become_root();
        return FALSE;
    }
    become_root();
    /* root, but only one new entry in a directory fd we verified: nothing is followed.
     * Usually it is there: open first, make it only when missing. */
    if ((fd = open_dir(top, sub)) >= 0) {
        /* as found; its owner decides below */
    } else if (errno != ENOENT) {
        problem(u, "~/%s/%s: nothing is written there: %s", H.dir, sub, describe_errno(errno));
        return FALSE;
    } else if (mkdirat(top, sub, 0750) == 0) {
        fd = open_dir(top, sub);
        if (fd >= 0 && fchown(fd, 0, u->gid) < 0) {
            close(fd);
            fd = -1;
        }
    } else if (errno == EEXIST) {
        fd = open_dir(top, sub);
    } else {
        /* root may not write here (NFS root_squash): the member makes it. */
        if (!become_user(u))
            return FALSE;
        if (mkdirat(top, sub, 0750) < 0 && errno != EEXIST) {
            become_root();
            return FALSE;
        }
        fd = open_dir(top, sub);
    }
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0)
            close(fd);
        become_root();
        return FALSE;
    }
    if (st.st_uid == 0 && !(st.st_mode & 022)) {
        become_root();
        out->root = TRUE;
    } else if (st.st_uid == u->uid) {
        if (!become_user(u)) {
            close(fd);
            return FALSE;
        }
        out->root = FALSE;
    } else {
        problem(u, "~/%s/%s belongs to uid %u: nothing is written there", H.dir, sub,
                (guint)st.st_uid);
        close(fd);
        become_root();
        return FALSE;
    }
    out->fd = fd;
    return TRUE; /* the identity now matches the directory's owner */
}

/* A subdirectory of an OutDir, made with the same owner. */
static int
out_subdir(User *u, const OutDir *parent, int dirfd, const char *name)
{
    int fd = open_dir(dirfd, name);

    if (fd >= 0 || errno != ENOENT)
        return fd;
    if (mkdirat(dirfd, name, 0750) == 0 && parent->root) {
        fd = open_dir(dirfd, name);
        if (fd >= 0 && fchown(fd, 0, u->gid) < 0) {
            close(fd);
            return -1;
        }
        return fd;
    }
    return open_dir(dirfd, name);
}

static gboolean
write_atomic(User *u, const OutDir *od, int dirfd, const char *name, const guint8 *data, gsize len)
{
    g_autofree char *tmp = g_strdup_printf(".%s.tmp", name);
    g_autoptr(GError) error = NULL;
    g_auto(WirtFd) fd = -1;

    (void)unlinkat(dirfd, tmp, 0);
    fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd < 0)
        return FALSE;
    if ((od->root && fchown(fd, 0, u->gid) < 0) ||
        !wirt_util_write_all(fd, (const char *)data, len, &error) ||
        renameat(dirfd, tmp, dirfd, name) < 0) {
        (void)unlinkat(dirfd, tmp, 0);
        return FALSE;
    }
    return TRUE;
}

/* Appends to a log file that must be a regular file with one link, made like its directory. */
static int
open_log(User *u, const OutDir *od, int dirfd, const char *name, struct stat *st)
{
    /* Read too: rotate() compresses what is there. */
    int fd = openat(dirfd, name, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
                    0640);

    if (fd < 0)
        return -1;
    if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || st->st_nlink != 1 ||
        st->st_uid != (od->root ? 0 : u->uid)) {
        close(fd);
        return -1;
    }
    if (od->root && st->st_gid != u->gid && fchown(fd, 0, u->gid) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* NAME.log -> NAME.log.1.gz, older ones shifted, past log-keep removed. */
static void
rotate(User *u, const OutDir *od, int dirfd, const char *name, int fd, const struct stat *st)
{
    g_autofree char *plain = NULL;
    g_autofree guint8 *packed = NULL;
    z_stream z = {0};
    gsize plain_len = (gsize)st->st_size, packed_len;
    ssize_t n;

    /* Past ROTATE_READ_MAX (log-max-bytes was lowered a lot): start afresh, uncompressed. */
    if (H.log_keep == 0 || plain_len > MAX(H.log_max * 4, ROTATE_READ_MAX)) {
        (void)ftruncate(fd, 0);
        return;
    }
    for (guint i = H.log_keep; i >= 1; i--) {
        g_autofree char *from = g_strdup_printf("%s.%u.gz", name, i - 1);
        g_autofree char *to = g_strdup_printf("%s.%u.gz", name, i);
        if (i == H.log_keep)
            (void)unlinkat(dirfd, to, 0);
        if (i > 1)
            (void)renameat(dirfd, from, dirfd, to);
    }
    plain = g_malloc(plain_len ? plain_len : 1);
    n = pread(fd, plain, plain_len, 0);
    if (n < 0)
        return;
    plain_len = (gsize)n;
    packed_len = compressBound((uLong)plain_len) + 64;
    packed = g_malloc(packed_len);
    if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return;
    z.next_in = (Bytef *)plain;
    z.avail_in = (uInt)plain_len;
    z.next_out = packed;
    z.avail_out = (uInt)packed_len;
    if (deflate(&z, Z_FINISH) == Z_STREAM_END) {
        g_autofree char *first = g_strdup_printf("%s.1.gz", name);
        if (write_atomic(u, od, dirfd, first, packed, z.total_out))
            (void)ftruncate(fd, 0);
    }
    deflateEnd(&z);
}

static void
append_log(User *u, const char *which, const char *vm, const char *line)
{
    OutDir od;
    g_auto(WirtFd) vmdir = -1;
    g_auto(WirtFd) fd = -1;
    g_autofree char *name = NULL;
    g_autofree char *text = g_strconcat(line, "\n", NULL);
    g_autoptr(GError) error = NULL;
    struct stat st;
    int dirfd;

    if (!out_dir_open(u, "logs", &od))
        return;
    dirfd = od.fd;
    if (g_str_equal(which, "vm")) {
        if (!wirt_name_validate(vm, NULL) || (vmdir = out_subdir(u, &od, od.fd, "vm")) < 0)
            goto out;
        dirfd = vmdir;
        name = g_strconcat(vm, ".log", NULL);
    } else {
        name = g_strdup("history.log");
    }
    if ((fd = open_log(u, &od, dirfd, name, &st)) < 0) {
        problem(u, "~/%s/logs/%s%s: not a plain file of its own; not written", H.dir,
                vmdir >= 0 ? "vm/" : "", name);
        goto out;
    }
    if ((guint64)st.st_size + strlen(text) > H.log_max)
        rotate(u, &od, dirfd, name, fd, &st);
    (void)wirt_util_write_all(fd, text, strlen(text), &error);
out:
    close(od.fd);
    become_root();
}

/* info/vm/VM/status.json and settings.json (empty: removed) for each (VM, status,
 * settings) of @items, in one visit of info/. */
static void
write_info(User *u, GVariant *items)
{
    OutDir od;
    g_auto(WirtFd) vms = -1;
    static const char *const names[2] = {"status.json", "settings.json"};

    if (g_variant_n_children(items) == 0 || !out_dir_open(u, "info", &od))
        return;
    if ((vms = out_subdir(u, &od, od.fd, "vm")) >= 0) {
        for (gsize i = 0; i < g_variant_n_children(items); i++) {
            const char *vm;
            g_autoptr(GVariant) status = NULL;
            g_autoptr(GVariant) settings = NULL;
            GVariant *data[2];
            g_auto(WirtFd) vmdir = -1;

            g_variant_get_child(items, i, "(&s@ay@ay)", &vm, &status, &settings);
            data[0] = status;
            data[1] = settings;
            if (!wirt_name_validate(vm, NULL) || (vmdir = out_subdir(u, &od, vms, vm)) < 0)
                continue;
            for (guint f = 0; f < 2; f++) {
                gsize len;
                const guint8 *bytes = g_variant_get_fixed_array(data[f], &len, 1);
                if (len)
                    (void)write_atomic(u, &od, vmdir, names[f], bytes, len);
                else
                    (void)unlinkat(vmdir, names[f], 0);
            }
        }
    }
    close(od.fd);
    become_root();
}

/* After wirtd wrote the result: remove the taken file (or, in the legacy
 * layout, write log/ and move the command into history/, as seed 000 did). */
static void
finish(User *u, const char *layout, const char *vm, const char *taken, const char *action,
       gboolean ok, const char *message)
{
    g_auto(WirtFd) home = -1;
    g_auto(WirtFd) vmfd = -1;
    g_auto(WirtFd) top = -1;
    g_autofree char *path = NULL;

    if (!g_str_has_prefix(taken, WIRT_USERFS_TAKEN_PREFIX) || strchr(taken, '/') ||
        !wirt_name_validate(vm, NULL))
        return;
    path = g_strdup_printf("%s/%s", vm, taken);
    g_hash_table_remove(u->sent, path);
    g_clear_pointer(&path, g_free);
    if (!become_user(u))
        return;
    if ((home = open_home(u)) < 0)
        goto out;
    if (g_str_equal(layout, "wirt")) {
        path = g_build_filename(H.dir, "command", "vm", vm, NULL);
        if ((vmfd = open_dir(home, path)) >= 0 && unlinkat(vmfd, taken, 0) < 0 && errno == EISDIR)
            (void)unlinkat(vmfd, taken, AT_REMOVEDIR);
        goto out;
    }
    if (!H.legacy || (top = open_dir(home, H.legacy)) < 0)
        goto out;
    path = g_strdup_printf("dom-%s", vm);
    if ((vmfd = open_dir(top, path)) >= 0) {
        g_autoptr(GDateTime) now = g_date_time_new_now_local();
        g_autofree char *stamp = g_date_time_format(now, "%d_%b_%y_%H.%M");
        g_autofree char *log_name =
            g_strdup_printf("%s-%s-dom-%s-%s.log", stamp, u->name, vm, action);
        g_autofree char *hist_name = g_strdup_printf("%s-dom-%s-%s", stamp, vm, action);
        g_autofree char *text = g_strdup_printf("%s: %s\n", ok ? "ok" : "error", message);
        g_autoptr(GError) error = NULL;
        g_auto(WirtFd) logdir = -1;
        g_auto(WirtFd) histdir = -1;
        g_auto(WirtFd) fd = -1;

        (void)mkdirat(top, "log", 0770);
        (void)mkdirat(top, "history", 0770);
        if ((logdir = open_dir(top, "log")) >= 0) {
            for (guint i = 2;
                 (fd = openat(logdir, log_name,
                              O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0660)) < 0 &&
                 errno == EEXIST && i < 100;
                 i++) {
                g_free(log_name);
                log_name = g_strdup_printf("%s-%s-dom-%s-%s.%u.log", stamp, u->name, vm, action, i);
            }
            if (fd >= 0)
                (void)wirt_util_write_all(fd, text, strlen(text), &error);
        }
        if ((histdir = open_dir(top, "history")) >= 0) {
            for (guint i = 2; renameat2(vmfd, taken, histdir, hist_name, RENAME_NOREPLACE) < 0 &&
                              errno == EEXIST && i < 100;
                 i++) {
                g_free(hist_name);
                hist_name = g_strdup_printf("%s-dom-%s-%s.%u", stamp, vm, action, i);
            }
        }
        (void)unlinkat(vmfd, taken, 0); /* when history/ could not take it */
    }
out:
    become_root();
}

/* -------------------------------------------------------------- control */

static void
user_free(gpointer data)
{
    User *u = data;

    user_unwatch_all(u);
    g_hash_table_unref(u->watches);
    g_hash_table_unref(u->told);
    g_hash_table_unref(u->sent);
    g_array_unref(u->groups);
    g_free(u->name);
    g_free(u->home);
    g_free(u);
}

static User *
lookup_user(GVariant *args)
{
    guint32 uid;

    if (!g_variant_lookup(args, "uid", "u", &uid))
        return NULL;
    return g_hash_table_lookup(H.users, GUINT_TO_POINTER(uid));
}

static void
handle_attach(GVariant *args)
{
    guint32 uid, gid;
    const char *name, *home;
    g_autoptr(GVariant) groups = NULL;
    User *u;
    gsize n;
    const guint32 *list;

    if (!g_variant_lookup(args, "uid", "u", &uid) || !g_variant_lookup(args, "gid", "u", &gid) ||
        !g_variant_lookup(args, "user", "&s", &name) ||
        !g_variant_lookup(args, "home", "&s", &home) ||
        !(groups = g_variant_lookup_value(args, "groups", G_VARIANT_TYPE("au"))) || uid == 0)
        return;
    if ((u = g_hash_table_lookup(H.users, GUINT_TO_POINTER(uid)))) {
        /* Again (groups or home changed): keep what was sent, watch afresh. */
        user_unwatch_all(u);
        g_free(u->name);
        g_free(u->home);
        g_array_set_size(u->groups, 0);
        u->had_top = FALSE;
    } else {
        u = g_new0(User, 1);
        u->uid = uid;
        u->groups = g_array_new(FALSE, FALSE, sizeof(gid_t));
        u->watches = g_hash_table_new(NULL, NULL);
        u->told = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        u->sent = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_hash_table_insert(H.users, GUINT_TO_POINTER(uid), u);
    }
    u->gid = gid;
    u->name = g_strdup(name);
    u->home = g_strdup(home);
    list = g_variant_get_fixed_array(groups, &n, sizeof(guint32));
    for (gsize i = 0; i < n && i < 65536; i++) {
        gid_t g = list[i];
        g_array_append_val(u->groups, g);
    }
    user_sync(u);
}

static void
handle_message(const char *op, GVariant *args)
{
    User *u = NULL;

    if (g_str_equal(op, "attach")) {
        handle_attach(args);
        return;
    }
    if (g_str_equal(op, "rescan")) {
        GHashTableIter it;
        gpointer value;
        g_hash_table_iter_init(&it, H.users);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
            user_sync(value);
        }
        return;
    }
    if (!(u = lookup_user(args)))
        return;
    if (g_str_equal(op, "detach")) {
        g_hash_table_remove(H.users, GUINT_TO_POINTER(u->uid));
    } else if (g_str_equal(op, "info")) {
        g_autoptr(GVariant) items =
            g_variant_lookup_value(args, "items", G_VARIANT_TYPE("a(sayay)"));
        if (items)
            write_info(u, items);
    } else if (g_str_equal(op, "append")) {
        const char *log, *vm, *line;
        if (g_variant_lookup(args, "log", "&s", &log) && g_variant_lookup(args, "vm", "&s", &vm) &&
            g_variant_lookup(args, "line", "&s", &line) && !strchr(line, '\n'))
            append_log(u, log, vm, line);
    } else if (g_str_equal(op, "done")) {
        const char *layout, *vm, *taken, *action, *message;
        gboolean ok;
        if (g_variant_lookup(args, "layout", "&s", &layout) &&
            g_variant_lookup(args, "vm", "&s", &vm) &&
            g_variant_lookup(args, "taken", "&s", &taken) &&
            g_variant_lookup(args, "action", "&s", &action) &&
            g_variant_lookup(args, "ok", "b", &ok) &&
            g_variant_lookup(args, "message", "&s", &message))
            finish(u, layout, vm, taken, action, ok, message);
    }
}

static void
on_control(void)
{
    for (;;) {
        g_autofree guint8 *data = NULL;
        g_autofree char *op = NULL;
        g_autoptr(GVariant) args = NULL;
        g_autoptr(GError) error = NULL;
        gsize len;
        int r = wirt_userfs_recv(CONTROL_FD, &data, &len);

        if (r == 0)
            _exit(0); /* wirtd closed the socket: we are done */
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            if (errno == EMSGSIZE)
                continue;
            _exit(0);
        }
        if (!wirt_userfs_decode(data, len, &op, &args, &error)) {
            fprintf(stderr, "wirt-userfs: %s\n", error->message);
            continue;
        }
        handle_message(op, args);
    }
}

static gboolean
parse_options(int argc, char **argv, GError **error)
{
    g_autofree char *dir = NULL;
    g_autofree char *legacy = NULL;
    gint max_bytes = 65536, max_pending = 64, log_keep = 5;
    gint64 log_max = 1024 * 1024;
    gboolean version = FALSE;
    GOptionEntry entries[] = {
        {"dir", 0, 0, G_OPTION_ARG_STRING, &dir, "the tree in each home (default: wirt)", "NAME"},
        {"legacy-dir", 0, 0, G_OPTION_ARG_STRING, &legacy, "seed 000's old tree (off if absent)",
         "NAME"},
        {"max-command-bytes", 0, 0, G_OPTION_ARG_INT, &max_bytes, "biggest command file", "N"},
        {"max-pending", 0, 0, G_OPTION_ARG_INT, &max_pending, "commands per member per scan", "N"},
        {"log-max-bytes", 0, 0, G_OPTION_ARG_INT64, &log_max, "rotate logs past this size", "N"},
        {"log-keep", 0, 0, G_OPTION_ARG_INT, &log_keep, "compressed old logs kept", "N"},
        {"version", 0, 0, G_OPTION_ARG_NONE, &version, "print the version and exit", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- wirtd's helper for users' ~/wirt");

    g_option_context_set_summary(ctx, "Started by wirtd with its socket on fd 3; not for "
                                      "interactive use.");
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, error))
        return FALSE;
    if (version) {
        printf("wirt-userfs %s\n", WIRT_VERSION);
        exit(0);
    }
    H.dir = g_steal_pointer(&dir);
    if (!H.dir)
        H.dir = "wirt";
    H.legacy = legacy && *legacy ? g_steal_pointer(&legacy) : NULL;
    H.max_bytes = (guint)CLAMP(max_bytes, 1, 1024 * 1024);
    H.max_pending = (guint)CLAMP(max_pending, 1, 100000);
    H.log_max = (guint64)MAX(log_max, 4096);
    H.log_keep = (guint)CLAMP(log_keep, 0, 100);
    if (strchr(H.dir, '/') || (H.legacy && strchr(H.legacy, '/'))) {
        g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                            "--dir and --legacy-dir name one directory in the home");
        return FALSE;
    }
    return TRUE;
}

int
main(int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    struct stat st;

    if (!parse_options(argc, argv, &error)) {
        fprintf(stderr, "wirt-userfs: %s\n", error->message);
        return 2;
    }
    if (fstat(CONTROL_FD, &st) < 0 || !S_ISSOCK(st.st_mode)) {
        fprintf(stderr, "wirt-userfs: fd 3 is not wirtd's socket; wirtd starts this helper\n");
        return 2;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "wirt-userfs: must run as root (it acts as each member in turn)\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    /* A lease (take(): "is it still being written?") is broken with SIGIO when a writer
     * opens the file; its default action would kill us. We drop the lease at once anyway. */
    signal(SIGIO, SIG_IGN);
    drop_capabilities();
    H.users = g_hash_table_new_full(NULL, NULL, NULL, user_free);
    H.watches = g_hash_table_new_full(NULL, NULL, NULL, watch_free);
    if ((H.ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
        fprintf(stderr, "wirt-userfs: inotify: %s\n", g_strerror(errno));
        return 1;
    }
    (void)fcntl(CONTROL_FD, F_SETFL, fcntl(CONTROL_FD, F_GETFL) | O_NONBLOCK);
    for (;;) {
        struct pollfd fds[2] = {{CONTROL_FD, POLLIN, 0}, {H.ifd, POLLIN, 0}};
        GHashTableIter it;
        gpointer value;
        gboolean again = FALSE;

        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            return 1;
        if (fds[1].revents & POLLIN)
            on_inotify();
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR))
            on_control();
        /* Structural changes: set up watches again and scan, once per round. */
        do {
            again = FALSE;
            g_hash_table_iter_init(&it, H.users);
            while (g_hash_table_iter_next(&it, NULL, &value)) {
                if (((User *)value)->dirty) {
                    user_sync(value);
                    again |= ((User *)value)->dirty;
                }
            }
        } while (again && !(poll(fds, 2, 0) > 0)); /* keep draining backlogs unless news came */
    }
}
