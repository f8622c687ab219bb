/* wirt-files-bench: the files API's latency, measured as a member sees it.
 *
 *   wirt-files-bench latency VM COUNT     (run as the member, from anywhere)
 *
 * Alternately writes ~/wirt/command/vm/VM/destroy and .../start (the VM must
 * exist and run), and times each from the close(2) of the command file to the
 * moment ~/wirt/info/vm/VM/status.json shows the new state (it waits on
 * inotify for the atomic rename of status.json, then reads it). Prints one line:
 *   count=N p50_ms=… p90_ms=… p99_ms=… max_ms=… mean_ms=…
 * Exit status 1 when a command gets no answer within 10 s.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#define ANSWER_TIMEOUT_MS 10000

static gint64
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (gint64)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static gboolean
status_says(const char *path, const char *state)
{
    g_autofree char *text = NULL;
    g_autofree char *want = g_strdup_printf("\"state\":\"%s\"", state);

    return g_file_get_contents(path, &text, NULL, NULL) && strstr(text, want);
}

static int
compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y ? 1 : 0;
}

int
main(int argc, char **argv)
{
    const char *home = g_get_home_dir();
    g_autofree char *cmd_dir = NULL;
    g_autofree char *info_dir = NULL;
    g_autofree char *status = NULL;
    g_autofree double *ms = NULL;
    double sum = 0;
    int ifd, count;

    if (argc != 4 || strcmp(argv[1], "latency") != 0) {
        fprintf(stderr, "usage: wirt-files-bench latency VM COUNT\n");
        return 2;
    }
    count = atoi(argv[3]);
    if (count < 1)
        return 2;
    cmd_dir = g_build_filename(home, "wirt", "command", "vm", argv[2], NULL);
    info_dir = g_build_filename(home, "wirt", "info", "vm", argv[2], NULL);
    status = g_build_filename(info_dir, "status.json", NULL);
    if (g_mkdir_with_parents(cmd_dir, 0755) < 0) {
        fprintf(stderr, "wirt-files-bench: %s: %s\n", cmd_dir, g_strerror(errno));
        return 1;
    }
    ifd = inotify_init1(IN_CLOEXEC);
    if (ifd < 0 || inotify_add_watch(ifd, info_dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
        fprintf(stderr, "wirt-files-bench: watch %s: %s (does the VM exist?)\n", info_dir,
                g_strerror(errno));
        return 1;
    }
    ms = g_new0(double, count);
    for (int i = 0; i < count; i++) {
        const char *action = i % 2 == 0 ? "destroy" : "start";
        const char *state = i % 2 == 0 ? "shutoff" : "running";
        g_autofree char *file = g_build_filename(cmd_dir, action, NULL);
        gint64 t0, deadline;
        int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (fd < 0) {
            fprintf(stderr, "wirt-files-bench: %s: %s\n", file, g_strerror(errno));
            return 1;
        }
        close(fd);
        t0 = now_ns();
        deadline = t0 + (gint64)ANSWER_TIMEOUT_MS * 1000000;
        for (;;) {
            char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
            struct pollfd pfd = {ifd, POLLIN, 0};
            gint64 left = (deadline - now_ns()) / 1000000;

            if (status_says(status, state))
                break;
            if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
                fprintf(stderr, "wirt-files-bench: no '%s' in %s within %d ms after %s\n", state,
                        status, ANSWER_TIMEOUT_MS, action);
                return 1;
            }
            if (read(ifd, buf, sizeof(buf)) < 0 && errno != EINTR)
                return 1;
        }
        ms[i] = (double)(now_ns() - t0) / 1e6;
        sum += ms[i];
        /* Let the command file go (it is removed after status.json) before the next. */
        for (int tries = 0; tries < 1000 && g_file_test(file, G_FILE_TEST_EXISTS); tries++)
            g_usleep(200);
    }
    qsort(ms, (size_t)count, sizeof(double), compare_double);
    printf("count=%d p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f mean_ms=%.2f\n", count,
           ms[count / 2], ms[(count * 90) / 100], ms[(count * 99) / 100], ms[count - 1],
           sum / count);
    return 0;
}
