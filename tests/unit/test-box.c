/* test-box.c: the Vagrant libvirt box reader (src/core/wirt-box.c, docs/boxes.md).
 *
 * Boxes are built in memory with libarchive's writer, fed through an input stream that
 * returns at most N bytes per read, and read out through buffers of M bytes. Every refusal
 * rule has a case that checks its message.
 *
 * WIRT_BOX_CORPUS_DIR=fuzz/corpus/box writes every box under 64 KiB there as a seed for
 * fuzz/fuzz-box.c (which uses the same limits as these tests).
 */
#include <archive.h>
#include <archive_entry.h>
#include <string.h>

#include "core/wirt-box.h"
#include "core/wirt-error.h"

/* The limits the tests (and fuzz-box.c) use: small, so that every cap is reachable. */
#define TEST_MAX_VIRTUAL (16 * WIRT_BOX_GIB)
#define TEST_MAX_IMAGE (64 * 1024 * 1024)
#define TEST_MAX_META 4096

/* An input stream that hands out at most @chunk bytes per read, as a slow socket would. */
#define TEST_TYPE_CHUNKED_STREAM (test_chunked_stream_get_type())
G_DECLARE_FINAL_TYPE(TestChunkedStream, test_chunked_stream, TEST, CHUNKED_STREAM, GInputStream)

struct _TestChunkedStream {
    GInputStream parent;
    GBytes *data;
    gsize pos;
    gsize chunk;
};

G_DEFINE_TYPE(TestChunkedStream, test_chunked_stream, G_TYPE_INPUT_STREAM)

static gssize
test_chunked_stream_read(GInputStream *stream, void *buf, gsize count,
                         GCancellable *cancellable G_GNUC_UNUSED, GError **error G_GNUC_UNUSED)
{
    TestChunkedStream *self = TEST_CHUNKED_STREAM(stream);
    gsize len = 0;
    const guint8 *data = g_bytes_get_data(self->data, &len);
    gsize n = MIN(MIN(count, self->chunk), len - self->pos);

    memcpy(buf, data + self->pos, n);
    self->pos += n;
    return (gssize)n;
}

static void
test_chunked_stream_finalize(GObject *object)
{
    g_bytes_unref(TEST_CHUNKED_STREAM(object)->data);
    G_OBJECT_CLASS(test_chunked_stream_parent_class)->finalize(object);
}

static void
test_chunked_stream_class_init(TestChunkedStreamClass *klass)
{
    G_OBJECT_CLASS(klass)->finalize = test_chunked_stream_finalize;
    G_INPUT_STREAM_CLASS(klass)->read_fn = test_chunked_stream_read;
}

static void
test_chunked_stream_init(TestChunkedStream *self G_GNUC_UNUSED)
{
}

static GInputStream *
chunked_stream_new(GBytes *data, gsize chunk)
{
    TestChunkedStream *self = g_object_new(TEST_TYPE_CHUNKED_STREAM, NULL);

    self->data = g_bytes_ref(data);
    self->chunk = chunk;
    return G_INPUT_STREAM(self);
}

/* ---- building qcow2 headers and boxes ---- */

typedef struct {
    guint32 magic;
    guint32 version;
    guint64 backing_offset;
    guint32 cluster_bits;
    guint64 size;
    guint32 crypt;
    guint64 incompat;
    guint32 header_length;
    gsize total; /* bytes of box.img */
} Qcow2Spec;

/* Fields left 0 take a good image's values (see qcow2_resolve()). */
static const Qcow2Spec qcow2_good = {0};

static Qcow2Spec
qcow2_resolve(const Qcow2Spec *q)
{
    Qcow2Spec r = *q;

    r.magic = r.magic ? r.magic : 0x514649fb;
    r.version = r.version ? r.version : 3;
    r.cluster_bits = r.cluster_bits ? r.cluster_bits : 16;
    r.size = r.size ? r.size : WIRT_BOX_GIB;
    r.header_length = r.header_length ? r.header_length : 104;
    r.total = r.total ? r.total : 1536;
    return r;
}

static void
put32(guint8 *p, guint32 v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

static void
put64(guint8 *p, guint64 v)
{
    put32(p, v >> 32);
    put32(p + 4, (guint32)v);
}

static GBytes *
make_qcow2(const Qcow2Spec *spec)
{
    const Qcow2Spec resolved = qcow2_resolve(spec);
    const Qcow2Spec *q = &resolved;
    guint8 *img = g_malloc(q->total);
    guint8 header[112] = {0};

    g_autoptr(GRand) rand = g_rand_new_with_seed(42);

    /* Random bytes: nothing periodic to hide reordered chunks, nothing for gzip to squeeze. */
    for (gsize i = 0; i < q->total; i++)
        img[i] = (guint8)g_rand_int(rand);
    put32(header, q->magic);
    put32(header + 4, q->version);
    put64(header + 8, q->backing_offset);
    put32(header + 16, q->backing_offset ? 12 : 0);
    put32(header + 20, q->cluster_bits);
    put64(header + 24, q->size);
    put32(header + 32, q->crypt);
    put64(header + 72, q->incompat);
    put32(header + 96, 4); /* refcount_order */
    put32(header + 100, q->header_length);
    memcpy(img, header, MIN(q->total, q->version == 2 ? 72u : 104u));
    return g_bytes_new_take(img, q->total);
}

typedef enum {
    COMP_NONE,
    COMP_GZIP,
    COMP_BZIP2,
    COMP_XZ,
} Compression;

typedef struct {
    const char *name;
    GBytes *data;     /* regular files */
    mode_t type;      /* 0: AE_IFREG */
    const char *link; /* symlink target, or hardlink target with @hardlink */
    gboolean hardlink;
} TestEntry;

static int
write_open_cb(struct archive *ar G_GNUC_UNUSED, void *user_data G_GNUC_UNUSED)
{
    return ARCHIVE_OK;
}

static la_ssize_t
write_cb(struct archive *ar G_GNUC_UNUSED, void *user_data, const void *buf, size_t len)
{
    g_byte_array_append(user_data, buf, (guint)len);
    return (la_ssize_t)len;
}

static GBytes *
write_tar(const TestEntry *entries, gsize n, Compression comp)
{
    struct archive *ar = archive_write_new();
    GByteArray *out = g_byte_array_new();

    g_assert_cmpint(archive_write_set_format_pax_restricted(ar), ==, ARCHIVE_OK);
    switch (comp) {
    case COMP_NONE:
        break;
    case COMP_GZIP:
        g_assert_cmpint(archive_write_add_filter_gzip(ar), ==, ARCHIVE_OK);
        break;
    case COMP_BZIP2:
        g_assert_cmpint(archive_write_add_filter_bzip2(ar), ==, ARCHIVE_OK);
        break;
    case COMP_XZ:
        g_assert_cmpint(archive_write_add_filter_xz(ar), ==, ARCHIVE_OK);
        break;
    }
    archive_write_set_bytes_in_last_block(ar, 1);
    g_assert_cmpint(archive_write_open(ar, out, write_open_cb, write_cb, NULL), ==, ARCHIVE_OK);
    for (gsize i = 0; i < n; i++) {
        struct archive_entry *entry = archive_entry_new();
        gsize len = 0;
        const void *data = entries[i].data ? g_bytes_get_data(entries[i].data, &len) : NULL;

        archive_entry_set_pathname(entry, entries[i].name);
        archive_entry_set_filetype(entry, entries[i].type ? entries[i].type : AE_IFREG);
        archive_entry_set_perm(entry, 0644);
        archive_entry_set_mtime(entry, 1700000000, 0);
        archive_entry_set_size(entry, (la_int64_t)len);
        if (entries[i].link && entries[i].hardlink)
            archive_entry_set_hardlink(entry, entries[i].link);
        else if (entries[i].link)
            archive_entry_set_symlink(entry, entries[i].link);
        g_assert_cmpint(archive_write_header(ar, entry), ==, ARCHIVE_OK);
        if (len)
            g_assert_cmpint(archive_write_data(ar, data, len), ==, (la_ssize_t)len);
        archive_entry_free(entry);
    }
    g_assert_cmpint(archive_write_close(ar), ==, ARCHIVE_OK);
    archive_write_free(ar);
    return g_byte_array_free_to_bytes(out);
}

#define META_GOOD "{\"provider\":\"libvirt\",\"format\":\"qcow2\",\"virtual_size\":1}"

/* One box: metadata and image plus extra entries, in a chosen order. */
typedef struct {
    const char *meta; /* NULL: no metadata.json */
    Qcow2Spec qcow2;
    gboolean no_image;
    gboolean image_first;
    gboolean dot_slash; /* "./" directory first and "./" names, as "tar -C dir ." writes */
    const TestEntry *before;
    gsize n_before;
    const TestEntry *after;
    gsize n_after;
    Compression comp;
} BoxSpec;

static GBytes *
build_box(const BoxSpec *spec, GBytes **out_image)
{
    g_autoptr(GArray) entries = g_array_new(FALSE, TRUE, sizeof(TestEntry));
    g_autoptr(GBytes) meta = spec->meta ? g_bytes_new_static(spec->meta, strlen(spec->meta)) : NULL;
    g_autoptr(GBytes) image = spec->no_image ? NULL : make_qcow2(&spec->qcow2);
    g_autoptr(GBytes) vagrantfile =
        g_bytes_new_static("Vagrant.configure(\"2\") do |c|\nend\n", 35);
    TestEntry e_meta = {.name = spec->dot_slash ? "./metadata.json" : "metadata.json",
                        .data = meta};
    TestEntry e_image = {.name = spec->dot_slash ? "./box.img" : "box.img", .data = image};
    TestEntry e_vagrantfile = {.name = spec->dot_slash ? "./Vagrantfile" : "Vagrantfile",
                               .data = vagrantfile};
    TestEntry e_dir = {.name = "./", .type = AE_IFDIR};

    if (spec->dot_slash)
        g_array_append_val(entries, e_dir);
    g_array_append_vals(entries, spec->before, (guint)spec->n_before);
    if (image && spec->image_first)
        g_array_append_val(entries, e_image);
    if (meta)
        g_array_append_val(entries, e_meta);
    g_array_append_val(entries, e_vagrantfile);
    if (image && !spec->image_first)
        g_array_append_val(entries, e_image);
    g_array_append_vals(entries, spec->after, (guint)spec->n_after);
    if (out_image)
        *out_image = image ? g_bytes_ref(image) : NULL;
    return write_tar((const TestEntry *)(void *)entries->data, entries->len, spec->comp);
}

static void
save_corpus(const char *name, GBytes *box)
{
    const char *dir = g_getenv("WIRT_BOX_CORPUS_DIR");
    g_autofree char *file = NULL;
    g_autofree char *path = NULL;
    g_autoptr(GError) error = NULL;

    if (!dir || g_bytes_get_size(box) > 65536)
        return;
    file = g_strdup(name[0] == '/' ? name + 1 : name);
    g_strdelimit(file, "/", '-');
    path = g_build_filename(dir, file, NULL);
    g_assert_true(g_file_set_contents(path, g_bytes_get_data(box, NULL),
                                      (gssize)g_bytes_get_size(box), &error));
}

static void
test_limits(WirtBoxLimits *limits)
{
    limits->max_virtual_size = TEST_MAX_VIRTUAL;
    limits->max_image_bytes = TEST_MAX_IMAGE;
    limits->max_meta_bytes = TEST_MAX_META;
    limits->quota_left = G_MAXUINT64;
}

/* Reads a whole box: open, stream box.img out through @out_chunk-byte reads, finish.
 * @out_handed: how many image bytes were handed out before the first error. */
static gboolean
read_box(GBytes *box, const WirtBoxLimits *limits, gsize in_chunk, gsize out_chunk,
         GByteArray *out_image, WirtBoxInfo *out_info, GError **error)
{
    g_autoptr(GInputStream) in = chunked_stream_new(box, in_chunk);
    g_autoptr(WirtBoxReader) reader = wirt_box_reader_new(in, limits, NULL);
    g_autofree guint8 *buf = g_malloc(out_chunk);
    WirtBoxImage image = {0};
    gsize n = 0;

    if (!wirt_box_reader_open_image(reader, &image, error))
        return FALSE;
    do {
        if (!wirt_box_reader_read_image(reader, buf, out_chunk, &n, error))
            return FALSE;
        g_assert_cmpuint(n, <=, out_chunk);
        g_byte_array_append(out_image, buf, (guint)n);
    } while (n > 0);
    g_assert_cmpuint(out_image->len, ==, image.size);
    return wirt_box_reader_finish(reader, out_info, error);
}

/* ---- accepted boxes ---- */

static const TestEntry extras_info[] = {
    {.name = "info.json", .type = 0},
    {.name = "README", .type = 0},
};

typedef struct {
    const char *path;
    BoxSpec spec;
    const char *ignored; /* the one ignored entry expected, or NULL */
} GoodCase;

static const GoodCase good_cases[] = {
    {"/box/good/plain", {.meta = META_GOOD, .qcow2 = qcow2_good}},
    {"/box/good/gzip", {.meta = META_GOOD, .qcow2 = qcow2_good, .comp = COMP_GZIP}},
    {"/box/good/bzip2", {.meta = META_GOOD, .qcow2 = qcow2_good, .comp = COMP_BZIP2}},
    {"/box/good/xz", {.meta = META_GOOD, .qcow2 = qcow2_good, .comp = COMP_XZ}},
    {"/box/good/image-first", {.meta = META_GOOD, .qcow2 = qcow2_good, .image_first = TRUE}},
    {"/box/good/image-first-gzip",
     {.meta = META_GOOD, .qcow2 = qcow2_good, .image_first = TRUE, .comp = COMP_GZIP}},
    {"/box/good/dot-slash", {.meta = META_GOOD, .qcow2 = qcow2_good, .dot_slash = TRUE}},
    {"/box/good/qcow2-v2",
     {.meta = META_GOOD,
      .qcow2 =
          {.magic = 0x514649fb, .version = 2, .cluster_bits = 16, .size = 1 << 20, .total = 600}}},
    {"/box/good/v3-dirty-compression",
     {.meta = META_GOOD,
      .qcow2 = {.magic = 0x514649fb,
                .version = 3,
                .cluster_bits = 9,
                .size = WIRT_BOX_GIB,
                .incompat = 0x19,
                .header_length = 112,
                .total = 4096}}},
    {"/box/good/size-equals-metadata",
     {.meta = "{\"provider\":\"libvirt\",\"format\":\"qcow2\",\"virtual_size\":16,\"extra\":[1]}",
      .qcow2 = {.magic = 0x514649fb,
                .version = 3,
                .cluster_bits = 21,
                .size = 16 * WIRT_BOX_GIB,
                .header_length = 104,
                .total = 104}}},
    {"/box/good/disks-box-img",
     {.meta = "{\"provider\":\"libvirt\",\"format\":\"qcow2\",\"virtual_size\":1,"
              "\"disks\":[{\"path\":\"box.img\"}]}",
      .qcow2 = qcow2_good}},
    {"/box/good/extras",
     {.meta = META_GOOD, .qcow2 = qcow2_good, .after = extras_info, .n_after = 2},
     "README"},
};

static void
test_good(gconstpointer data)
{
    const GoodCase *c = data;
    static const gsize chunks[][2] = {{1, 1}, {7, 7}, {65536, 65536}, {1, 65536}, {65536, 7}};
    g_autoptr(GBytes) image = NULL;
    g_autoptr(GBytes) box = NULL;
    WirtBoxLimits limits;
    Qcow2Spec q;

    if (c->spec.comp == COMP_BZIP2 && !archive_bzlib_version()) {
        g_test_skip("libarchive without bzip2");
        return;
    }
    if (c->spec.comp == COMP_XZ && !archive_liblzma_version()) {
        g_test_skip("libarchive without xz");
        return;
    }
    box = build_box(&c->spec, &image);
    save_corpus(c->path, box);
    test_limits(&limits);
    q = qcow2_resolve(&c->spec.qcow2);
    for (gsize i = 0; i < G_N_ELEMENTS(chunks); i++) {
        g_autoptr(GByteArray) out = g_byte_array_new();
        g_autoptr(GError) error = NULL;
        g_auto(WirtBoxInfo) info = {0};

        g_assert_true(read_box(box, &limits, chunks[i][0], chunks[i][1], out, &info, &error));
        g_assert_no_error(error);
        g_assert_cmpmem(out->data, out->len, g_bytes_get_data(image, NULL),
                        g_bytes_get_size(image));
        g_assert_cmpstr(info.provider, ==, "libvirt");
        g_assert_cmpstr(info.format, ==, "qcow2");
        g_assert_cmpuint(info.virtual_size_bytes, ==, info.virtual_size_gib * WIRT_BOX_GIB);
        g_assert_cmpuint(info.qcow2_virtual_size, ==, q.size);
        g_assert_cmpuint(info.qcow2_version, ==, q.version);
        g_assert_cmpuint(info.image_bytes, ==, q.total);
        g_assert_true(info.has_vagrantfile);
        if (c->ignored) {
            g_assert_cmpuint(g_strv_length(info.ignored_entries), ==, 1);
            g_assert_cmpstr(info.ignored_entries[0], ==, c->ignored);
        } else {
            g_assert_cmpuint(g_strv_length(info.ignored_entries), ==, 0);
        }
    }
}

/* The owner's box quota: a box larger than what is left is a QUOTA refusal, not a bad box. */
static void
test_quota(void)
{
    g_autoptr(GBytes) image = NULL;
    g_autoptr(GBytes) box = NULL;
    WirtBoxLimits limits;
    const BoxSpec spec = {.meta = META_GOOD, .qcow2 = qcow2_good};
    Qcow2Spec q;

    box = build_box(&spec, &image);
    q = qcow2_resolve(&spec.qcow2);
    test_limits(&limits);
    for (int exact = 0; exact < 2; exact++) {
        g_autoptr(GByteArray) out = g_byte_array_new();
        g_autoptr(GError) error = NULL;
        g_auto(WirtBoxInfo) info = {0};

        limits.quota_left = exact ? q.size : q.size - 1;
        if (exact) {
            g_assert_true(read_box(box, &limits, 65536, 65536, out, &info, &error));
            g_assert_no_error(error);
        } else {
            g_assert_false(read_box(box, &limits, 65536, 65536, out, &info, &error));
            g_assert_error(error, WIRT_ERROR, WIRT_ERROR_QUOTA);
            g_assert_true(g_str_has_prefix(error->message, "quota: box-gib: "));
            g_assert_cmpuint(out->len, ==, 0); /* refused before a byte of the image */
        }
    }
}

/* A box.img of a few MiB, gzip-compressed, comes out byte for byte. */
static void
test_large_image(void)
{
    BoxSpec spec = {.meta = META_GOOD, .qcow2 = qcow2_good, .comp = COMP_GZIP};
    g_autoptr(GBytes) image = NULL;
    g_autoptr(GBytes) box = NULL;
    WirtBoxLimits limits;
    static const gsize chunks[][2] = {{65536, 65536}, {7, 65536}, {65536, 7}};

    spec.qcow2.total = 3 * 1024 * 1024 + 123;
    box = build_box(&spec, &image);
    test_limits(&limits);
    for (gsize i = 0; i < G_N_ELEMENTS(chunks); i++) {
        g_autoptr(GByteArray) out = g_byte_array_new();
        g_autoptr(GError) error = NULL;
        g_auto(WirtBoxInfo) info = {0};

        g_assert_true(read_box(box, &limits, chunks[i][0], chunks[i][1], out, &info, &error));
        g_assert_no_error(error);
        g_assert_true(out->len == g_bytes_get_size(image));
        g_assert_true(memcmp(out->data, g_bytes_get_data(image, NULL), out->len) == 0);
        g_assert_cmpuint(info.image_bytes, ==, spec.qcow2.total);
    }
}

/* finish() alone validates a whole box without handing anything out. */
static void
test_validate_only(void)
{
    BoxSpec spec = {.meta = META_GOOD, .qcow2 = qcow2_good, .comp = COMP_GZIP};
    g_autoptr(GBytes) box = build_box(&spec, NULL);
    g_autoptr(GInputStream) in = chunked_stream_new(box, 7);
    g_autoptr(WirtBoxReader) reader = NULL;
    g_autoptr(GError) error = NULL;
    g_auto(WirtBoxInfo) info = {0};
    WirtBoxLimits limits;

    test_limits(&limits);
    reader = wirt_box_reader_new(in, &limits, NULL);
    g_assert_true(wirt_box_reader_finish(reader, &info, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(info.image_bytes, ==, 1536);
}

/* The header is checked before the first byte is handed out, and errors are sticky. */
static void
test_sticky_error(void)
{
    BoxSpec spec = {.meta = META_GOOD, .qcow2 = qcow2_good};
    g_autoptr(GBytes) box = NULL;
    g_autoptr(GInputStream) in = NULL;
    g_autoptr(WirtBoxReader) reader = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GError) again = NULL;
    WirtBoxLimits limits;
    WirtBoxImage image = {.size = 42};

    spec.qcow2.backing_offset = 4096;
    box = build_box(&spec, NULL);
    in = chunked_stream_new(box, 7);
    test_limits(&limits);
    reader = wirt_box_reader_new(in, &limits, NULL);
    g_assert_false(wirt_box_reader_open_image(reader, &image, &error));
    g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
    g_assert_cmpuint(image.size, ==, 42); /* never clobbered on failure */
    g_assert_false(wirt_box_reader_finish(reader, NULL, &again));
    g_assert_cmpstr(again->message, ==, error->message);
}

/* ---- refusals ---- */

static GBytes *
bytes_of_size(gsize n)
{
    return g_bytes_new_take(g_malloc0(n), n);
}

typedef struct {
    const char *path;
    BoxSpec spec;
    const char *expect;      /* a substring of the message */
    gboolean header_refusal; /* refused before any image byte is handed out */
    gsize truncate_to;       /* cut the archive to this many bytes (0: keep) */
    gsize truncate_by;       /* or cut this many bytes off its end */
    guint64 max_image;       /* limit override */
    const char *raw;         /* not an archive: these bytes instead */
} BadCase;

static const TestEntry e_symlink[] = {{.name = "box.img", .type = AE_IFLNK, .link = "/etc/shadow"}};
static const TestEntry e_hardlink[] = {
    {.name = "box.img", .type = AE_IFREG, .link = "/etc/shadow", .hardlink = TRUE}};
static const TestEntry e_chardev[] = {{.name = "zero", .type = AE_IFCHR}};
static const TestEntry e_blockdev[] = {{.name = "sda", .type = AE_IFBLK}};
static const TestEntry e_fifo[] = {{.name = "fifo", .type = AE_IFIFO}};
static const TestEntry e_dir[] = {{.name = "sub/", .type = AE_IFDIR}};
static const TestEntry e_dot_dir_late[] = {{.name = "./", .type = AE_IFDIR}};
static const TestEntry e_absolute[] = {{.name = "/etc/cron.d/box"}};
static const TestEntry e_dotdot[] = {{.name = "../../etc/cron.d/box"}};
static const TestEntry e_dotdot_mid[] = {{.name = "./x/../box.img"}};
static const TestEntry e_subdir[] = {{.name = "images/box.img"}};
static const TestEntry e_dup_meta[] = {{.name = "./metadata.json"}};
static const TestEntry e_dup_vagrantfile[] = {{.name = "Vagrantfile"}};
static const TestEntry e_dot[] = {{.name = "./."}};

#define BAD(p, e, ...)                                                                             \
    {                                                                                              \
        p, {.meta = META_GOOD, .qcow2 = qcow2_good, __VA_ARGS__}, e                                \
    }
#define BAD_META(p, m, e)                                                                          \
    {                                                                                              \
        p, {.meta = m, .qcow2 = qcow2_good}, e, TRUE                                               \
    }
#define META_WITH(tail) "{\"provider\":\"libvirt\",\"format\":\"qcow2\"" tail "}"
#define BAD_QCOW2(p, e, ...)                                                                       \
    {                                                                                              \
        p, {.meta = META_GOOD, .qcow2 = {__VA_ARGS__}}, e, TRUE                                    \
    }

static const BadCase bad_cases[] = {
    /* the tar */
    BAD("/box/bad/tar/symlink", "symbolic link", .before = e_symlink, .n_before = 1),
    BAD("/box/bad/tar/hardlink", "hard link", .before = e_hardlink, .n_before = 1),
    BAD("/box/bad/tar/chardev", "device node", .before = e_chardev, .n_before = 1),
    BAD("/box/bad/tar/blockdev", "device node", .before = e_blockdev, .n_before = 1),
    BAD("/box/bad/tar/fifo", "not a regular file", .before = e_fifo, .n_before = 1),
    BAD("/box/bad/tar/directory", "is a directory", .before = e_dir, .n_before = 1),
    BAD("/box/bad/tar/dot-dir-late", "is a directory", .after = e_dot_dir_late, .n_after = 1),
    BAD("/box/bad/tar/absolute", "absolute name", .before = e_absolute, .n_before = 1),
    BAD("/box/bad/tar/dotdot", "'..' component", .before = e_dotdot, .n_before = 1),
    BAD("/box/bad/tar/dotdot-middle", "'..' component", .before = e_dotdot_mid, .n_before = 1),
    BAD("/box/bad/tar/subdirectory", "subdirectory", .before = e_subdir, .n_before = 1),
    BAD("/box/bad/tar/dot-name", "empty name", .before = e_dot, .n_before = 1),
    BAD("/box/bad/tar/duplicate-metadata", "'./metadata.json' appears twice", .after = e_dup_meta,
        .n_after = 1),
    BAD("/box/bad/tar/duplicate-vagrantfile", "appears twice", .after = e_dup_vagrantfile,
        .n_after = 1),
    {"/box/bad/tar/no-metadata", {.qcow2 = qcow2_good}, "no metadata.json"},
    {"/box/bad/tar/no-image", {.meta = META_GOOD, .no_image = TRUE}, "no box.img"},
    {"/box/bad/tar/not-tar",
     {0},
     "not a tar archive",
     FALSE,
     0,
     0,
     0,
     "this is not a tar archive at all, just some words that go on for a while ...."},
    {"/box/bad/tar/empty", {0}, "the upload is empty", FALSE, 0, 0, 0, ""},
    {"/box/bad/tar/truncated-plain",
     {.meta = META_GOOD, .qcow2 = qcow2_good},
     "truncated",
     FALSE,
     0,
     1024 + 700},
    {"/box/bad/tar/truncated-gzip",
     {.meta = META_GOOD, .qcow2 = qcow2_good, .comp = COMP_GZIP},
     "truncated",
     FALSE,
     0,
     100},
    {"/box/bad/tar/truncated-in-header",
     {.meta = META_GOOD, .qcow2 = qcow2_good, .image_first = TRUE},
     "truncated",
     TRUE,
     512 + 50},
    {"/box/bad/tar/image-too-big",
     {.meta = META_GOOD, .qcow2 = qcow2_good},
     "over the limit of 1024",
     TRUE,
     0,
     0,
     1024},
    /* metadata.json */
    BAD_META("/box/bad/meta/not-json", "{provider", "not JSON"),
    BAD_META("/box/bad/meta/not-object", "[1, 2, 3]", "not a JSON object"),
    BAD_META("/box/bad/meta/empty", "", "not a JSON object"),
    BAD_META("/box/bad/meta/not-utf8", "{\"provider\":\"libvirt\xff\"}", "not valid UTF-8"),
    BAD_META("/box/bad/meta/deep",
             "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
             "nests deeper"),
    BAD_META("/box/bad/meta/provider-missing", "{\"format\":\"qcow2\",\"virtual_size\":1}",
             "no \"provider\""),
    BAD_META("/box/bad/meta/provider-virtualbox",
             "{\"provider\":\"virtualbox\",\"format\":\"qcow2\",\"virtual_size\":1}",
             "provider is \"virtualbox\""),
    BAD_META("/box/bad/meta/provider-number",
             "{\"provider\":7,\"format\":\"qcow2\",\"virtual_size\":1}", "must be a string"),
    BAD_META("/box/bad/meta/format-raw",
             "{\"provider\":\"libvirt\",\"format\":\"raw\",\"virtual_size\":1}",
             "format is \"raw\""),
    BAD_META("/box/bad/meta/format-missing", "{\"provider\":\"libvirt\",\"virtual_size\":1}",
             "no \"format\""),
    BAD_META("/box/bad/meta/size-missing", META_WITH(""), "no \"virtual_size\""),
    BAD_META("/box/bad/meta/size-string", META_WITH(",\"virtual_size\":\"1\""), "positive integer"),
    BAD_META("/box/bad/meta/size-zero", META_WITH(",\"virtual_size\":0"), "positive integer"),
    BAD_META("/box/bad/meta/size-negative", META_WITH(",\"virtual_size\":-5"), "positive integer"),
    BAD_META("/box/bad/meta/size-fraction", META_WITH(",\"virtual_size\":1.5"), "positive integer"),
    BAD_META("/box/bad/meta/size-over-cap", META_WITH(",\"virtual_size\":17"),
             "over the limit of 16 GiB"),
    BAD_META("/box/bad/meta/size-huge", META_WITH(",\"virtual_size\":9223372036854775807"),
             "over the limit"),
    BAD_META("/box/bad/meta/disks-path-number",
             META_WITH(",\"virtual_size\":1,\"disks\":[{\"path\":7}]"), "multi-disk"),
    BAD_META("/box/bad/meta/disks-not-array",
             META_WITH(",\"virtual_size\":1,\"disks\":\"box.img\""), "multi-disk"),
    BAD_META("/box/bad/meta/disks",
             META_WITH(",\"virtual_size\":1,\"disks\":[{\"path\":\"box_1.img\"},{\"path\":"
                       "\"box_2.img\"}]"),
             "multi-disk"),
    /* box.img */
    BAD_QCOW2("/box/bad/qcow2/magic", "not a qcow2 image", .magic = 0x7f454c46),
    BAD_QCOW2("/box/bad/qcow2/tiny", "not a qcow2 image", .total = 3),
    BAD_QCOW2("/box/bad/qcow2/version-1", "version 1", .version = 1),
    BAD_QCOW2("/box/bad/qcow2/version-4", "version 4", .version = 4),
    BAD_QCOW2("/box/bad/qcow2/truncated-v3", "header is truncated", .total = 80),
    BAD_QCOW2("/box/bad/qcow2/truncated-v2", "header is truncated", .version = 2, .total = 50),
    BAD_QCOW2("/box/bad/qcow2/truncated-header-length", "header is truncated", .header_length = 512,
              .total = 200),
    BAD_QCOW2("/box/bad/qcow2/backing-file", "backing file", .backing_offset = 112),
    BAD_QCOW2("/box/bad/qcow2/data-file", "external data file", .incompat = 1 << 2),
    BAD_QCOW2("/box/bad/qcow2/corrupt", "marked corrupt", .incompat = 1 << 1),
    BAD_QCOW2("/box/bad/qcow2/unknown-incompat", "unknown qcow2 incompatible features (0x20)",
              .incompat = 1 << 5),
    BAD_QCOW2("/box/bad/qcow2/encrypted", "encrypted", .crypt = 1),
    BAD_QCOW2("/box/bad/qcow2/cluster-bits-8", "cluster_bits 8", .cluster_bits = 8),
    BAD_QCOW2("/box/bad/qcow2/cluster-bits-22", "cluster_bits 22", .cluster_bits = 22),
    BAD_QCOW2("/box/bad/qcow2/header-length", "header_length 64", .header_length = 64),
    BAD_QCOW2("/box/bad/qcow2/size-over-cap", "over the limit", .size = 17 * WIRT_BOX_GIB),
    /* cross-checks: metadata first refuses at the header, image first at the end */
    BAD_QCOW2("/box/bad/cross/larger-than-metadata", "larger than metadata.json's virtual_size",
              .size = WIRT_BOX_GIB + 1),
    {"/box/bad/cross/larger-than-metadata-image-first",
     {.meta = META_GOOD,
      .qcow2 = {.magic = 0x514649fb,
                .version = 3,
                .cluster_bits = 16,
                .size = 2 * WIRT_BOX_GIB,
                .header_length = 104,
                .total = 1536},
      .image_first = TRUE},
     "larger than metadata.json's virtual_size"},
};

/* (transfer full) @box, cut to @keep bytes or by @drop bytes from its end (both 0: whole). */
static GBytes *
cut_box(GBytes *box, gsize keep, gsize drop)
{
    g_autoptr(GBytes) whole = box;
    gsize size = g_bytes_get_size(whole);

    if (!keep && !drop)
        return g_steal_pointer(&whole);
    keep = keep ? keep : size - drop;
    g_assert_cmpuint(keep, <, size);
    return g_bytes_new_from_bytes(whole, 0, keep);
}

static void
test_bad(gconstpointer data)
{
    const BadCase *c = data;
    static const gsize chunks[][2] = {{1, 1}, {7, 7}, {65536, 65536}};
    g_autoptr(GBytes) box = NULL;
    WirtBoxLimits limits;

    if (c->raw)
        box = g_bytes_new_static(c->raw, strlen(c->raw));
    else
        box = cut_box(build_box(&c->spec, NULL), c->truncate_to, c->truncate_by);
    save_corpus(c->path, box);
    test_limits(&limits);
    if (c->max_image)
        limits.max_image_bytes = c->max_image;
    for (gsize i = 0; i < G_N_ELEMENTS(chunks); i++) {
        g_autoptr(GByteArray) out = g_byte_array_new();
        g_autoptr(GError) error = NULL;
        g_auto(WirtBoxInfo) info = {0};

        g_assert_false(read_box(box, &limits, chunks[i][0], chunks[i][1], out, &info, &error));
        g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
        if (i == 0)
            g_test_message("%s", error->message);
        if (!strstr(error->message, c->expect))
            g_error("%s: message '%s' lacks '%s'", c->path, error->message, c->expect);
        if (c->header_refusal)
            g_assert_cmpuint(out->len, ==, 0);
        g_assert_null(info.provider); /* out_info untouched */
    }
}

/* Too many entries, and a big skipped entry. */
static void
test_entry_caps(void)
{
    g_autoptr(GBytes) empty = g_bytes_new_static("", 0);
    g_autoptr(GBytes) big = bytes_of_size(TEST_MAX_META + 1);
    g_autoptr(GArray) many = g_array_new(FALSE, TRUE, sizeof(TestEntry));
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    TestEntry e_big[] = {{.name = "README", .data = big}};
    WirtBoxLimits limits;

    for (guint i = 0; i < WIRT_BOX_MAX_ENTRIES; i++) {
        TestEntry e = {.data = empty};

        g_ptr_array_add(names, g_strdup_printf("extra-%u", i));
        e.name = names->pdata[i];
        g_array_append_val(many, e);
    }
    test_limits(&limits);
    {
        BoxSpec spec = {.meta = META_GOOD,
                        .qcow2 = qcow2_good,
                        .before = (const TestEntry *)(void *)many->data,
                        .n_before = many->len};
        g_autoptr(GBytes) box = build_box(&spec, NULL);
        g_autoptr(GByteArray) out = g_byte_array_new();
        g_autoptr(GError) error = NULL;

        save_corpus("/box/bad/tar/too-many-entries", box);
        g_assert_false(read_box(box, &limits, 7, 7, out, NULL, &error));
        g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
        g_assert_nonnull(strstr(error->message, "more than 64 entries"));
    }
    {
        BoxSpec spec = {.meta = META_GOOD, .qcow2 = qcow2_good, .after = e_big, .n_after = 1};
        g_autoptr(GBytes) box = build_box(&spec, NULL);
        g_autoptr(GByteArray) out = g_byte_array_new();
        g_autoptr(GError) error = NULL;

        save_corpus("/box/bad/tar/big-extra", box);
        g_assert_false(read_box(box, &limits, 7, 7, out, NULL, &error));
        g_assert_nonnull(strstr(error->message, "'README' is 4097 bytes, over the limit"));
    }
    {
        g_autofree char *meta = g_strdup_printf("%-*s", TEST_MAX_META + 1, META_GOOD);
        BoxSpec spec = {.meta = meta, .qcow2 = qcow2_good};
        g_autoptr(GBytes) box = build_box(&spec, NULL);
        g_autoptr(GByteArray) out = g_byte_array_new();
        g_autoptr(GError) error = NULL;

        save_corpus("/box/bad/meta/too-big", box);
        g_assert_false(read_box(box, &limits, 7, 7, out, NULL, &error));
        g_assert_nonnull(strstr(error->message, "metadata.json is 4097 bytes, over the limit"));
    }
    {
        /* metadata.json with a NUL byte inside */
        static const char nul_meta[] = "{\"provider\":\"libvirt\"}\0{}";
        g_autoptr(GBytes) nul = g_bytes_new_static(nul_meta, sizeof(nul_meta) - 1);
        g_autoptr(GBytes) image = make_qcow2(&qcow2_good);
        TestEntry entries[] = {{.name = "metadata.json", .data = nul},
                               {.name = "box.img", .data = image}};
        g_autoptr(GBytes) box = write_tar(entries, G_N_ELEMENTS(entries), COMP_NONE);
        g_autoptr(GByteArray) out = g_byte_array_new();
        g_autoptr(GError) error = NULL;

        save_corpus("/box/bad/meta/nul", box);
        g_assert_false(read_box(box, &limits, 7, 7, out, NULL, &error));
        g_assert_nonnull(strstr(error->message, "NUL"));
    }
}

/* GNU tar -S (vagrant-libvirt's create_box.sh) and pax sparse entries: holes come out as
 * zeros and the length is the file's. Made once with GNU tar 1.34 and kept in the fuzz
 * corpus: box.img is a 104-byte qcow2 v3 header (1 GiB, cluster_bits 16), "SPARSE-DATA" at
 * 1 MiB, and holes up to 2 MiB + 512 bytes; then
 *   tar czf box-good-gnu-sparse-tar-S -S ./metadata.json ./Vagrantfile ./box.img
 *   tar --format=posix -czSf box-good-pax-sparse metadata.json Vagrantfile box.img */
static void
test_sparse(gconstpointer data)
{
    const char *file = data;
    const char *root = g_getenv("WIRT_SOURCE_ROOT");
    g_autofree char *path = NULL;
    g_autofree char *contents = NULL;
    g_autoptr(GBytes) box = NULL;
    g_autoptr(GError) error = NULL;
    gsize len = 0;
    WirtBoxLimits limits;

    if (!root) {
        g_test_skip("WIRT_SOURCE_ROOT is not set");
        return;
    }
    path = g_build_filename(root, "fuzz", "corpus", "box", file, NULL);
    g_assert_true(g_file_get_contents(path, &contents, &len, &error));
    box = g_bytes_new_take(g_steal_pointer(&contents), len);
    test_limits(&limits);
    for (gsize out_chunk = 7; out_chunk <= 65536; out_chunk *= 97) {
        g_autoptr(GByteArray) out = g_byte_array_new();
        g_auto(WirtBoxInfo) info = {0};
        static const char marker[] = "SPARSE-DATA";

        g_assert_true(read_box(box, &limits, 7, out_chunk, out, &info, &error));
        g_assert_no_error(error);
        g_assert_cmpuint(out->len, ==, (2 << 20) + 512);
        g_assert_cmpuint(info.image_bytes, ==, out->len);
        g_assert_cmpuint(info.qcow2_virtual_size, ==, WIRT_BOX_GIB);
        g_assert_true(memcmp(out->data, "QFI\xfb", 4) == 0);
        g_assert_true(memcmp(out->data + (1 << 20), marker, sizeof(marker) - 1) == 0);
        for (gsize i = 104; i < out->len; i++)
            if (i < (1 << 20) || i >= (1 << 20) + sizeof(marker) - 1)
                g_assert_cmpuint(out->data[i], ==, 0);
    }
}

/* The header parser on its own, at every length of a good header. */
static void
test_qcow2_prefixes(void)
{
    g_autoptr(GBytes) image = make_qcow2(&qcow2_good);
    const guint8 *data = g_bytes_get_data(image, NULL);

    for (gsize len = 0; len <= WIRT_QCOW2_HEADER_BYTES; len++) {
        g_autoptr(GError) error = NULL;
        WirtQcow2Header header = {0};
        gboolean ok = wirt_box_qcow2_header_parse(data, len, TEST_MAX_VIRTUAL, &header, &error);

        g_assert_true(ok == (len == WIRT_QCOW2_HEADER_BYTES));
        if (ok) {
            g_assert_cmpuint(header.version, ==, 3);
            g_assert_cmpuint(header.cluster_bits, ==, 16);
            g_assert_cmpuint(header.virtual_size, ==, WIRT_BOX_GIB);
        } else {
            g_assert_error(error, WIRT_ERROR, WIRT_ERROR_INVALID);
        }
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

    for (gsize i = 0; i < G_N_ELEMENTS(good_cases); i++)
        g_test_add_data_func(good_cases[i].path, &good_cases[i], test_good);
    g_test_add_func("/box/good/large-image", test_large_image);
    g_test_add_func("/box/quota", test_quota);
    g_test_add_func("/box/good/validate-only", test_validate_only);
    g_test_add_data_func("/box/good/gnu-sparse", "box-good-gnu-sparse-tar-S", test_sparse);
    g_test_add_data_func("/box/good/pax-sparse", "box-good-pax-sparse", test_sparse);
    g_test_add_func("/box/bad/sticky-error", test_sticky_error);
    for (gsize i = 0; i < G_N_ELEMENTS(bad_cases); i++)
        g_test_add_data_func(bad_cases[i].path, &bad_cases[i], test_bad);
    g_test_add_func("/box/bad/entry-caps", test_entry_caps);
    g_test_add_func("/box/qcow2/prefixes", test_qcow2_prefixes);
    return g_test_run();
}
