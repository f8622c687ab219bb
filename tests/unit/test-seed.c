/* test-seed.c: cloud-init NoCloud seeds (core/wirt-seed.c): the files, the refusals, and
 * the ISO read back by real tools (blkid for the label, xorriso for the files). */
#include <glib/gstdio.h>
#include <string.h>

#include "core/wirt-error.h"
#include "core/wirt-seed.h"

#define KEY1                                                                                       \
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBzUxB7kP4e8ZqK0dSq2bYx4sM0c8wU2m0fPq0Zr1y2Z alice@host"
#define KEY2 "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7"

static const char *const keys[] = {KEY1, KEY2, NULL};

static void
test_files(void)
{
    WirtSeedSpec spec = {"6a1e0000-0000-4000-8000-000000000001", "web", keys};
    g_autofree char *meta = wirt_seed_meta_data(&spec, NULL);
    g_autofree char *user = wirt_seed_user_data(&spec, NULL);

    g_assert_cmpstr(meta, ==,
                    "instance-id: \"6a1e0000-0000-4000-8000-000000000001\"\n"
                    "local-hostname: \"web\"\n");
    g_assert_cmpstr(user, ==,
                    "#cloud-config\nhostname: \"web\"\nssh_authorized_keys:\n  - \"" KEY1
                    "\"\n  - \"" KEY2 "\"\n");
}

static void
test_no_keys(void)
{
    WirtSeedSpec spec = {"i-1", "web", NULL};
    g_autofree char *user = wirt_seed_user_data(&spec, NULL);

    g_assert_nonnull(strstr(user, "ssh_authorized_keys: []\n"));
}

static const struct {
    const char *key;
    gboolean ok;
} key_cases[] = {
    {KEY1, TRUE},
    {KEY2, TRUE},
    {"ecdsa-sha2-nistp256 AAAAE2VjZHNh", TRUE},
    {"sk-ssh-ed25519@openssh.com AAAAGnNr", TRUE},
    {"ssh-ed25519 AAAAC3Nz", TRUE},
    {"ssh-ed25519 AAAAC3Nz a comment with spaces", TRUE},
    {"ssh-dss AAAAB3NzaC1kc3M", FALSE},
    {"ssh-ed25519", FALSE},
    {"ssh-ed25519 ", FALSE},
    {"ssh-ed25519 AAAA$$", FALSE},
    {"ssh-ed25519 AAAA x\"\nruncmd: [reboot]", FALSE},
    {"ssh-ed25519 AAAA x\nruncmd: [reboot]", FALSE},
    {"ssh-ed25519 AAAA back\\slash", FALSE},
    {"ssh-ed25519 AAAA caf\xc3\xa9", FALSE},
    {"", FALSE},
    {"command=\"/bin/sh\" ssh-ed25519 AAAA", FALSE},
};

static void
test_keys(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(key_cases); i++) {
        g_autoptr(GError) error = NULL;
        gboolean ok = wirt_seed_check_key(key_cases[i].key, &error);
        g_test_message("key case %zu", i);
        g_assert_cmpint(ok, ==, key_cases[i].ok);
        if (!ok)
            g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
    }
}

static void
test_refusals(void)
{
    const char *const bad_key[] = {"ssh-ed25519 AAAA x\nruncmd: [reboot]", NULL};
    g_autofree char *many_storage = NULL;
    const char *many[WIRT_SEED_MAX_KEYS + 2];
    WirtSeedSpec bad_host = {"i-1", "web\nruncmd", NULL};
    WirtSeedSpec bad_id = {"i 1: x", "web", NULL};
    WirtSeedSpec bad_keys = {"i-1", "web", bad_key};
    WirtSeedSpec too_many = {"i-1", "web", many};
    GError *error = NULL;

    for (guint i = 0; i < WIRT_SEED_MAX_KEYS + 1; i++)
        many[i] = KEY2;
    many[WIRT_SEED_MAX_KEYS + 1] = NULL;
    g_assert_null(wirt_seed_user_data(&bad_host, &error));
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_null(wirt_seed_meta_data(&bad_id, &error));
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_null(wirt_seed_build_iso(&bad_keys, &error));
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_null(wirt_seed_user_data(&too_many, &error));
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
    g_clear_error(&error);
}

/* The image, read back by the tools a guest's blkid and an admin would use. */
static void
test_iso(void)
{
    WirtSeedSpec spec = {"i-42", "web", keys};
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) iso = wirt_seed_build_iso(&spec, &error);
    g_autoptr(GBytes) again = wirt_seed_build_iso(&spec, NULL);
    g_autofree char *dir = g_dir_make_tmp("wirt-seed-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "seed.iso", NULL);
    g_autofree char *out_dir = g_build_filename(dir, "out", NULL);
    g_autofree char *label = NULL;
    g_autofree char *meta = NULL;
    g_autofree char *user = NULL;
    g_autofree char *meta_path = g_build_filename(out_dir, "meta-data", NULL);
    g_autofree char *user_path = g_build_filename(out_dir, "user-data", NULL);
    g_autofree char *xorriso = g_find_program_in_path("xorriso");
    g_autofree char *blkid = g_find_program_in_path("blkid");
    int status = 0;

    g_assert_no_error(error);
    g_assert_nonnull(iso);
    g_assert_cmpuint(g_bytes_get_size(iso) % 2048, ==, 0);
    g_assert_cmpuint(g_bytes_get_size(iso), <, 1024 * 1024);
    g_assert_true(g_bytes_equal(iso, again)); /* the same input, the same image */
    g_assert_true(g_file_set_contents(path, g_bytes_get_data(iso, NULL),
                                      (gssize)g_bytes_get_size(iso), NULL));
    if (!xorriso || !blkid) {
        g_test_skip("xorriso or blkid is not installed");
    } else {
        const char *blkid_argv[] = {blkid, "-o", "value", "-s", "LABEL", path, NULL};
        const char *x_argv[] = {xorriso,    "-osirrox", "on",    "-indev", path,
                                "-extract", "/",        out_dir, NULL};
        g_assert_true(g_spawn_sync(NULL, (char **)blkid_argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                   &label, NULL, &status, NULL));
        g_assert_cmpstr(g_strstrip(label), ==, "cidata");
        g_assert_true(g_spawn_sync(NULL, (char **)x_argv, NULL,
                                   G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                                   NULL, NULL, NULL, &status, NULL));
        g_assert_true(g_spawn_check_wait_status(status, NULL));
        g_assert_true(g_file_get_contents(meta_path, &meta, NULL, NULL));
        g_assert_true(g_file_get_contents(user_path, &user, NULL, NULL));
        g_assert_nonnull(strstr(meta, "local-hostname: \"web\""));
        g_assert_nonnull(strstr(user, KEY1));
        (void)g_chmod(out_dir, 0700);
        (void)g_chmod(meta_path, 0600);
        (void)g_chmod(user_path, 0600);
        g_unlink(meta_path);
        g_unlink(user_path);
        g_rmdir(out_dir);
    }
    g_unlink(path);
    g_rmdir(dir);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/seed/files", test_files);
    g_test_add_func("/seed/no-keys", test_no_keys);
    g_test_add_func("/seed/keys", test_keys);
    g_test_add_func("/seed/refusals", test_refusals);
    g_test_add_func("/seed/iso", test_iso);
    return g_test_run();
}
