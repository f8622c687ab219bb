/* wirt-box.c: a streaming, untrusting reader of Vagrant libvirt box files.
 *
 * A box is a tar archive (plain, gzip, bzip2 or xz) with metadata.json, box.img (qcow2) and
 * optionally a Vagrantfile and info.json. It arrives from a user as a byte stream, and wirtd
 * pipes box.img straight into virStorageVolUpload(), so this reader never holds more than
 * one metadata.json and a few buffers in memory, and never touches the file system: nothing
 * is extracted, names are only compared against the three we know.
 *
 * Everything in a box is untrusted (docs/boxes.md; libvirt's kbase "Secure usage"):
 *   - the tar: only regular files; no links, devices or directories (except a leading
 *     "./"), no absolute names, no ".." components, no subdirectories, no duplicates;
 *   - metadata.json: bounded, UTF-8, shallow, an object with provider "libvirt", format
 *     "qcow2" and a positive integer virtual_size (GiB) under the cap;
 *   - box.img: its qcow2 header is parsed here, from the first bytes, before any byte is
 *     handed out: version 2 or 3, no backing file (CVE-2015-5162-class host file and network
 *     access), no external data file, no encryption, no unknown incompatible feature, sane
 *     cluster size, virtual size under the cap and not above metadata's.
 * Any refusal is a WIRT_ERROR_INVALID with a reason a user can act on, and is sticky: every
 * later call returns the same error.
 *
 * libarchive runs with only the tar format and only the filters whose library it was built
 * with: a filter without its library would spawn an external program (gzip -d, xz -d).
 */
#include "wirt-box.h"

#include <archive.h>
#include <archive_entry.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "wirt-error.h"

#define QCOW2_MAGIC 0x514649fbu /* "QFI\xfb" */
#define QCOW2_V2_HEADER_BYTES 72
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
/* Incompatible feature bits of qcow2 v3 (qemu docs/interop/qcow2.txt). */
#define QCOW2_INCOMPAT_DIRTY (G_GUINT64_CONSTANT(1) << 0)
#define QCOW2_INCOMPAT_CORRUPT (G_GUINT64_CONSTANT(1) << 1)
#define QCOW2_INCOMPAT_DATA_FILE (G_GUINT64_CONSTANT(1) << 2)
#define QCOW2_INCOMPAT_COMPRESSION (G_GUINT64_CONSTANT(1) << 3)
#define QCOW2_INCOMPAT_EXTL2 (G_GUINT64_CONSTANT(1) << 4)
#define QCOW2_INCOMPAT_KNOWN                                                                       \
    (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_DATA_FILE |                    \
     QCOW2_INCOMPAT_COMPRESSION | QCOW2_INCOMPAT_EXTL2)

/* One read from the input: as large as one virStreamSend (libvirt's RPC messages carry at most
 * 256 KiB), since box.img's bytes are handed out of this buffer without a copy. */
#define BOX_INPUT_BUFFER (256 * 1024)
/* The most zeros handed out at once for a hole in a sparse box.img. */
#define BOX_ZEROS (64 * 1024)
#define BOX_JSON_MAX_DEPTH 32
#define BOX_NAME_SHOWN 128

typedef enum {
    BOX_STATE_ENTRIES, /* between entries */
    BOX_STATE_IMAGE,   /* inside box.img, its header checked */
    BOX_STATE_END,     /* past the last entry */
    BOX_STATE_FAILED,  /* refused: reader->failed says why */
} BoxState;

typedef enum {
    BOX_STEP_ERROR,
    BOX_STEP_OTHER, /* an entry other than box.img, fully consumed */
    BOX_STEP_IMAGE, /* box.img: positioned after its header */
    BOX_STEP_END,
} BoxStep;

struct _WirtBoxReader {
    GInputStream *in;
    GCancellable *cancellable;
    WirtBoxLimits limits;
    struct archive *ar;
    gboolean opened;
    BoxState state;
    GError *failed;

    guint8 *input;       /* libarchive's read buffer */
    guint64 input_bytes; /* bytes taken from @in so far */
    gboolean input_eof;
    GError *input_error;
    guint8 magic[6]; /* the upload's first bytes, for error messages */
    gsize magic_len;

    guint n_entries;
    GHashTable *seen; /* normalised names */
    GPtrArray *ignored;
    gboolean has_vagrantfile;

    gboolean have_meta;
    char *provider;
    char *format;
    guint64 virtual_size_gib;

    gboolean have_image;
    WirtBoxImage image;
    guint8 head[WIRT_QCOW2_HEADER_BYTES]; /* box.img's first bytes, handed out first */
    gsize head_len;
    gsize head_pos;
    guint64 image_read; /* bytes of box.img taken from the archive */
    /* box.img is read with archive_read_data_block(), never archive_read_data() (the two
     * must not be mixed in one entry): the part of the current block not taken yet. */
    const guint8 *block;
    gsize block_len;
    guint64 block_offset; /* where @block starts in box.img: ahead of @image_read at a hole */
    gboolean block_end;   /* libarchive has no more blocks of box.img */
};

/**
 * wirt_box_limits_init_default:
 * @out_limits: (out caller-allocates): filled with wirt's defaults
 */
void
wirt_box_limits_init_default(WirtBoxLimits *out_limits)
{
    g_return_if_fail(out_limits != NULL);
    out_limits->max_virtual_size = 1024 * WIRT_BOX_GIB;
    out_limits->max_image_bytes = 64 * WIRT_BOX_GIB;
    out_limits->max_meta_bytes = 64 * 1024;
    out_limits->quota_left = G_MAXUINT64;
}

static guint32
be32(const guint8 *p)
{
    return (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 | (guint32)p[3];
}

static guint64
be64(const guint8 *p)
{
    return (guint64)be32(p) << 32 | be32(p + 4);
}

/**
 * wirt_box_qcow2_header_parse:
 * @buf: the first bytes of an image
 * @len: how many there are (WIRT_QCOW2_HEADER_BYTES are enough; fewer when the image is shorter)
 * @max_virtual_size: the largest virtual size accepted, in bytes
 * @out_header: (out caller-allocates): set on success only
 * Returns: %TRUE when @buf starts a qcow2 v2/v3 header wirt accepts, else %FALSE with
 *   %WIRT_ERROR_INVALID naming the reason (not qcow2, truncated, backing file, external data
 *   file, encryption, unknown incompatible feature, cluster size, virtual size).
 */
gboolean
wirt_box_qcow2_header_parse(const guint8 *buf, gsize len, guint64 max_virtual_size,
                            WirtQcow2Header *out_header, GError **error)
{
    WirtQcow2Header header = {0};
    guint64 backing_offset;
    guint32 crypt_method;

    g_return_val_if_fail(buf != NULL || len == 0, FALSE);
    g_return_val_if_fail(out_header != NULL, FALSE);

    if (len < 4 || be32(buf) != QCOW2_MAGIC) {
        g_set_error_literal(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                            "box: box.img is not a qcow2 image (no QFI\\xfb magic)");
        return FALSE;
    }
    if (len < 8) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "box: box.img's qcow2 header is truncated (%" G_GSIZE_FORMAT " bytes)", len);
        return FALSE;
    }
    header.version = be32(buf + 4);
    if (header.version != 2 && header.version != 3) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "box: box.img is qcow2 version %u; only versions 2 and 3 are accepted",
                    header.version);
        return FALSE;
    }
    header.header_length = header.version == 2 ? QCOW2_V2_HEADER_BYTES : WIRT_QCOW2_HEADER_BYTES;
    if (len < header.header_length) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "box: box.img's qcow2 v%u header is truncated (%" G_GSIZE_FORMAT
                    " of %u bytes)",
                    header.version, len, header.header_length);
        return FALSE;
    }
    /* A backing file is a path or URL the host would open on the guest's behalf: any host
     * file, an NBD or HTTP server (libvirt kbase "Secure usage"; CVE-2015-5162 class). */
    backing_offset = be64(buf + 8);
    if (backing_offset != 0) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "box: box.img names a backing file (%u bytes at offset %" G_GUINT64_FORMAT
                    "); a box image must be self-contained",
                    be32(buf + 16), backing_offset);
        return FALSE;
    }
    header.cluster_bits = be32(buf + 20);
    if (header.cluster_bits < QCOW2_MIN_CLUSTER_BITS ||
        header.cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "box: box.img has cluster_bits %u; qcow2 allows %d to %d", header.cluster_bits,
                    QCOW2_MIN_CLUSTER_BITS, QCOW2_MAX_CLUSTER_BITS);
        return FALSE;
    }
    header.virtual_size = be64(buf + 24);
    crypt_method = be32(buf + 32);
    if (crypt_method != 0) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "box: box.img is encrypted (crypt_method %u); a box image must not be",
                    crypt_method);
        return FALSE;
    }
    if (header.virtual_size > max_virtual_size) {
        g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                    "box: box.img's virtual size %" G_GUINT64_FORMAT
                    " bytes is over the limit of %" G_GUINT64_FORMAT " bytes",
                    header.virtual_size, max_virtual_size);
        return FALSE;
    }
    if (header.version == 3) {
        header.incompatible_features = be64(buf + 72);
        header.header_length = be32(buf + 100);
        /* The data would live in another file the host opens: same risk as a backing file. */
        if (header.incompatible_features & QCOW2_INCOMPAT_DATA_FILE) {
            g_set_error_literal(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                                "box: box.img keeps its data in an external data file; a box "
                                "image must be self-contained");
            return FALSE;
        }
        if (header.incompatible_features & QCOW2_INCOMPAT_CORRUPT) {
            g_set_error_literal(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                                "box: box.img is marked corrupt by qemu");
            return FALSE;
        }
        if (header.incompatible_features & ~QCOW2_INCOMPAT_KNOWN) {
            g_set_error(
                error, WIRT_ERROR, WIRT_ERROR_INVALID,
                "box: box.img uses unknown qcow2 incompatible features (0x%" G_GINT64_MODIFIER "x)",
                header.incompatible_features & ~QCOW2_INCOMPAT_KNOWN);
            return FALSE;
        }
        if (header.header_length < WIRT_QCOW2_HEADER_BYTES ||
            header.header_length > (1u << header.cluster_bits)) {
            g_set_error(error, WIRT_ERROR, WIRT_ERROR_INVALID,
                        "box: box.img's qcow2 header_length %u is not between %d and the cluster "
                        "size %u",
                        header.header_length, WIRT_QCOW2_HEADER_BYTES, 1u << header.cluster_bits);
            return FALSE;
        }
    }
    *out_header = header;
    return TRUE;
}

/**
 * wirt_box_info_clear:
 * @info: info whose strings are freed (the struct itself is not)
 */
void
wirt_box_info_clear(WirtBoxInfo *info)
{
    g_clear_pointer(&info->provider, g_free);
    g_clear_pointer(&info->format, g_free);
    g_clear_pointer(&info->ignored_entries, g_strfreev);
    memset(info, 0, sizeof(*info));
}

/* A name from the archive, fit for an error message: escaped, and cut when long. */
static char *
printable(const char *text)
{
    g_autofree char *cut = g_strndup(text, BOX_NAME_SHOWN);
    g_autofree char *escaped = g_strescape(cut, NULL);

    if (strlen(text) > BOX_NAME_SHOWN)
        return g_strconcat(escaped, "...", NULL);
    return g_steal_pointer(&escaped);
}

static void fail(WirtBoxReader *reader, GError **error, const char *format, ...)
    G_GNUC_PRINTF(3, 4);

/* Records the reader's one refusal and reports it. */
static void
fail(WirtBoxReader *reader, GError **error, const char *format, ...)
{
    va_list args;

    va_start(args, format);
    g_clear_error(&reader->failed);
    reader->failed = g_error_new_valist(WIRT_ERROR, WIRT_ERROR_INVALID, format, args);
    va_end(args);
    reader->state = BOX_STATE_FAILED;
    g_set_error_literal(error, WIRT_ERROR, WIRT_ERROR_INVALID, reader->failed->message);
}

/* Takes over an error set by a helper (the qcow2 parser, the quota) as the reader's refusal. */
static void
fail_with(WirtBoxReader *reader, GError **error, const GError *local_error)
{
    g_clear_error(&reader->failed);
    reader->failed = g_error_copy(local_error); /* its code too: INVALID, or QUOTA */
    reader->state = BOX_STATE_FAILED;
    g_set_error_literal(error, local_error->domain, local_error->code, local_error->message);
}

/* Whether the upload starts like a gzip, bzip2 or xz stream: then an early end is a
 * truncation, not a wrong format, even before libarchive has seen a tar header. */
static gboolean
looks_compressed(const WirtBoxReader *reader)
{
    static const guint8 gzip[] = {0x1f, 0x8b};
    static const guint8 bzip2[] = {'B', 'Z', 'h'};
    static const guint8 xz[] = {0xfd, '7', 'z', 'X', 'Z', 0x00};
    const guint8 *m = reader->magic;
    gsize n = reader->magic_len;

    return (n >= sizeof(gzip) && memcmp(m, gzip, sizeof(gzip)) == 0) ||
           (n >= sizeof(bzip2) && memcmp(m, bzip2, sizeof(bzip2)) == 0) ||
           (n >= sizeof(xz) && memcmp(m, xz, sizeof(xz)) == 0);
}

/* libarchive's own reasons are technical; say first what it means for the user. */
static void
fail_archive(WirtBoxReader *reader, GError **error)
{
    const char *why = archive_error_string(reader->ar);

    if (!why)
        why = "unknown error";
    if (reader->input_error)
        fail(reader, error, "box: cannot read the upload: %s", reader->input_error->message);
    else if (reader->input_eof && reader->input_bytes == 0)
        fail(reader, error, "box: the upload is empty");
    else if (archive_format(reader->ar) == 0 && (!reader->input_eof || !looks_compressed(reader)))
        /* No tar header recognised, and not a compressed stream cut short. */
        fail(reader, error, "box: not a tar archive (plain, gzip, bzip2 or xz): %s", why);
    else if (reader->input_eof)
        fail(reader, error,
             "box: the archive is truncated (the upload ended after %" G_GUINT64_FORMAT
             " bytes): %s",
             reader->input_bytes, why);
    else
        fail(reader, error, "box: the archive is damaged: %s", why);
}

static gboolean
check_failed(WirtBoxReader *reader, GError **error)
{
    if (reader->state != BOX_STATE_FAILED)
        return FALSE;
    g_set_error_literal(error, reader->failed->domain, reader->failed->code,
                        reader->failed->message);
    return TRUE;
}

static la_ssize_t
box_read_cb(struct archive *ar, void *user_data, const void **out_buf)
{
    WirtBoxReader *reader = user_data;
    gssize n = -1;
    gsize got = 0;

    if (reader->input_eof) {
        *out_buf = reader->input;
        return 0;
    }
    /* A socket hands out what it has; a full buffer makes full 256 KiB stream messages. */
    if (g_input_stream_read_all(reader->in, reader->input, BOX_INPUT_BUFFER, &got,
                                reader->cancellable,
                                reader->input_error ? NULL : &reader->input_error))
        n = (gssize)got;
    if (n < 0) {
        reader->input_bytes += got; /* counted, for "the upload ended after N bytes" */
        archive_set_error(ar, EIO, "read failed");
        return -1;
    }
    if (n == 0)
        reader->input_eof = TRUE;
    if (reader->magic_len < sizeof(reader->magic)) {
        gsize take = MIN((gsize)n, sizeof(reader->magic) - reader->magic_len);

        memcpy(reader->magic + reader->magic_len, reader->input, take);
        reader->magic_len += take;
    }
    reader->input_bytes += (guint64)n;
    *out_buf = reader->input;
    return n;
}

/**
 * wirt_box_reader_new:
 * @in: (transfer none): the box's bytes (blocking reads; referenced, not closed)
 * @limits: caps on the box (copied)
 * @cancellable: (nullable): cancels reads from @in
 * Returns: (transfer full): a reader positioned before the first entry. Nothing is read
 *   until wirt_box_reader_open_image() or wirt_box_reader_finish().
 */
WirtBoxReader *
wirt_box_reader_new(GInputStream *in, const WirtBoxLimits *limits, GCancellable *cancellable)
{
    WirtBoxReader *reader = NULL;

    g_return_val_if_fail(G_IS_INPUT_STREAM(in), NULL);
    g_return_val_if_fail(limits != NULL, NULL);
    g_return_val_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable), NULL);

    reader = g_new0(WirtBoxReader, 1);
    reader->in = g_object_ref(in);
    reader->cancellable = cancellable ? g_object_ref(cancellable) : NULL;
    reader->limits = *limits;
    reader->input = g_malloc(BOX_INPUT_BUFFER);
    reader->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    reader->ignored = g_ptr_array_new_with_free_func(g_free);
    reader->ar = archive_read_new();
    /* Only tar; and a filter only when libarchive has its library, so that it never runs an
     * external decompressor. */
    archive_read_support_format_tar(reader->ar);
    if (archive_zlib_version())
        archive_read_support_filter_gzip(reader->ar);
    if (archive_bzlib_version())
        archive_read_support_filter_bzip2(reader->ar);
    if (archive_liblzma_version())
        archive_read_support_filter_xz(reader->ar);
    reader->state = BOX_STATE_ENTRIES;
    return reader;
}

/**
 * wirt_box_reader_free:
 * @reader: (nullable): a reader; its input stream is unreferenced, not closed
 */
void
wirt_box_reader_free(WirtBoxReader *reader)
{
    if (!reader)
        return;
    if (reader->ar)
        archive_read_free(reader->ar);
    g_clear_object(&reader->in);
    g_clear_object(&reader->cancellable);
    g_clear_error(&reader->failed);
    g_clear_error(&reader->input_error);
    g_free(reader->input);
    g_hash_table_unref(reader->seen);
    g_ptr_array_unref(reader->ignored);
    g_free(reader->provider);
    g_free(reader->format);
    g_free(reader);
}

static gboolean
ensure_open(WirtBoxReader *reader, GError **error)
{
    if (reader->opened)
        return TRUE;
    reader->opened = TRUE;
    if (archive_read_open(reader->ar, reader, NULL, box_read_cb, NULL) != ARCHIVE_OK) {
        fail_archive(reader, error);
        return FALSE;
    }
    return TRUE;
}

/* Reads exactly @len bytes of the current entry, or fails (short entry = truncated). */
static gboolean
read_exact(WirtBoxReader *reader, const char *name, guint8 *buf, gsize len, GError **error)
{
    gsize got = 0;

    while (got < len) {
        la_ssize_t n = archive_read_data(reader->ar, buf + got, len - got);

        if (n < 0) {
            fail_archive(reader, error);
            return FALSE;
        }
        if (n == 0) {
            fail(reader, error,
                 "box: %s ended after %" G_GSIZE_FORMAT " of the %" G_GSIZE_FORMAT
                 " bytes its tar header announced",
                 name, got, len);
            return FALSE;
        }
        got += (gsize)n;
    }
    return TRUE;
}

/* After the last byte of an entry: libarchive must agree that the entry is over. */
static gboolean
expect_entry_end(WirtBoxReader *reader, const char *name, guint64 announced, GError **error)
{
    guint8 extra;
    la_ssize_t n = archive_read_data(reader->ar, &extra, 1);

    if (n < 0) {
        fail_archive(reader, error);
        return FALSE;
    }
    if (n > 0) {
        fail(reader, error,
             "box: %s holds more than the %" G_GUINT64_FORMAT " bytes its tar header announced",
             name, announced);
        return FALSE;
    }
    return TRUE;
}

/* A shallow bound on [ and { nesting, so that the JSON parser's recursion stays small. */
static gboolean
json_depth_ok(const char *text, gsize len, guint max_depth)
{
    guint depth = 0;
    gboolean in_string = FALSE, escaped = FALSE;

    for (gsize i = 0; i < len; i++) {
        char c = text[i];

        if (in_string) {
            if (escaped)
                escaped = FALSE;
            else if (c == '\\')
                escaped = TRUE;
            else if (c == '"')
                in_string = FALSE;
        } else if (c == '"') {
            in_string = TRUE;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                return FALSE;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return TRUE;
}

/* A string member that must be present and equal @want. */
static gboolean
meta_expect_string(WirtBoxReader *reader, JsonObject *root, const char *key, const char *want,
                   char **out_value, GError **error)
{
    JsonNode *node = json_object_get_member(root, key);
    const char *value;
    g_autofree char *shown = NULL;

    if (!node) {
        fail(reader, error, "box: metadata.json has no \"%s\" (expected \"%s\")", key, want);
        return FALSE;
    }
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING) {
        fail(reader, error, "box: metadata.json: \"%s\" must be a string", key);
        return FALSE;
    }
    value = json_node_get_string(node);
    if (!g_str_equal(value, want)) {
        shown = printable(value);
        fail(reader, error, "box: metadata.json: %s is \"%s\"; only \"%s\" is accepted", key, shown,
             want);
        return FALSE;
    }
    *out_value = g_strdup(value);
    return TRUE;
}

/* vagrant-libvirt's multi-disk form ("disks": [{"path": …}, …]) names other images; a box is
 * accepted only when that list is box.img alone. */
static gboolean
meta_check_disks(WirtBoxReader *reader, JsonObject *root, GError **error)
{
    JsonNode *node = json_object_get_member(root, "disks");
    JsonNode *disk = NULL;
    JsonNode *path = NULL;

    if (!node)
        return TRUE;
    if (JSON_NODE_HOLDS_ARRAY(node) && json_array_get_length(json_node_get_array(node)) == 1)
        disk = json_array_get_element(json_node_get_array(node), 0);
    if (disk && JSON_NODE_HOLDS_OBJECT(disk))
        path = json_object_get_member(json_node_get_object(disk), "path");
    if (!path || !JSON_NODE_HOLDS_VALUE(path) || json_node_get_value_type(path) != G_TYPE_STRING ||
        !g_str_equal(json_node_get_string(path), "box.img")) {
        fail(reader, error,
             "box: metadata.json lists \"disks\" other than one box.img; multi-disk boxes are "
             "not supported");
        return FALSE;
    }
    return TRUE;
}

static gboolean
cross_check(WirtBoxReader *reader, GError **error)
{
    guint64 meta_bytes = reader->virtual_size_gib * WIRT_BOX_GIB;

    if (!reader->have_meta || !reader->have_image)
        return TRUE;
    /* vagrant-libvirt rounds virtual_size up to whole GiB and creates the volume with it. */
    if (reader->image.qcow2.virtual_size > meta_bytes) {
        fail(reader, error,
             "box: box.img's virtual size (%" G_GUINT64_FORMAT
             " bytes) is larger than metadata.json's virtual_size (%" G_GUINT64_FORMAT
             " GiB = %" G_GUINT64_FORMAT " bytes)",
             reader->image.qcow2.virtual_size, reader->virtual_size_gib, meta_bytes);
        return FALSE;
    }
    return TRUE;
}

static gboolean
parse_metadata(WirtBoxReader *reader, const char *text, gsize len, GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    g_autoptr(GError) local_error = NULL;
    g_autofree char *provider = NULL;
    g_autofree char *format = NULL;
    JsonNode *root_node;
    JsonObject *root;
    JsonNode *size_node;
    gint64 size;

    if (memchr(text, '\0', len)) {
        fail(reader, error, "box: metadata.json is not text (it holds NUL bytes)");
        return FALSE;
    }
    if (!g_utf8_validate_len(text, len, NULL)) {
        fail(reader, error, "box: metadata.json is not valid UTF-8");
        return FALSE;
    }
    if (!json_depth_ok(text, len, BOX_JSON_MAX_DEPTH)) {
        fail(reader, error, "box: metadata.json nests deeper than %d levels", BOX_JSON_MAX_DEPTH);
        return FALSE;
    }
    if (!json_parser_load_from_data(parser, text, (gssize)len, &local_error)) {
        fail(reader, error, "box: metadata.json is not JSON: %s", local_error->message);
        return FALSE;
    }
    root_node = json_parser_get_root(parser);
    if (!root_node || !JSON_NODE_HOLDS_OBJECT(root_node)) {
        fail(reader, error, "box: metadata.json is not a JSON object");
        return FALSE;
    }
    root = json_node_get_object(root_node);
    if (!meta_expect_string(reader, root, "provider", "libvirt", &provider, error) ||
        !meta_expect_string(reader, root, "format", "qcow2", &format, error))
        return FALSE;
    size_node = json_object_get_member(root, "virtual_size");
    if (!size_node) {
        fail(reader, error, "box: metadata.json has no \"virtual_size\" (GiB)");
        return FALSE;
    }
    if (!JSON_NODE_HOLDS_VALUE(size_node) || json_node_get_value_type(size_node) != G_TYPE_INT64 ||
        (size = json_node_get_int(size_node)) <= 0) {
        fail(reader, error, "box: metadata.json: virtual_size must be a positive integer (GiB)");
        return FALSE;
    }
    if ((guint64)size > reader->limits.max_virtual_size / WIRT_BOX_GIB) {
        fail(reader, error,
             "box: metadata.json: virtual_size %" G_GINT64_FORMAT
             " GiB is over the limit of %" G_GUINT64_FORMAT " GiB",
             size, reader->limits.max_virtual_size / WIRT_BOX_GIB);
        return FALSE;
    }
    if (!meta_check_disks(reader, root, error))
        return FALSE;
    reader->provider = g_steal_pointer(&provider);
    reader->format = g_steal_pointer(&format);
    reader->virtual_size_gib = (guint64)size;
    reader->have_meta = TRUE;
    return cross_check(reader, error);
}

static gboolean
read_metadata(WirtBoxReader *reader, guint64 size, GError **error)
{
    g_autofree char *text = NULL;

    if (size > reader->limits.max_meta_bytes) {
        fail(reader, error,
             "box: metadata.json is %" G_GUINT64_FORMAT " bytes, over the limit of %" G_GSIZE_FORMAT
             " bytes",
             size, reader->limits.max_meta_bytes);
        return FALSE;
    }
    text = g_malloc((gsize)size + 1);
    if (!read_exact(reader, "metadata.json", (guint8 *)text, (gsize)size, error) ||
        !expect_entry_end(reader, "metadata.json", size, error))
        return FALSE;
    text[size] = '\0';
    return parse_metadata(reader, text, (gsize)size, error);
}

/* The next piece of box.img after the @reader->image_read bytes taken so far, at most @max
 * bytes: a pointer into libarchive's buffer (valid until the next call into libarchive), or
 * into a block of zeros for a hole of a sparse entry, which it fills as archive_read_data()
 * does. *@out_len is 0 at the end of box.img's data. */
static gboolean
image_next(WirtBoxReader *reader, gsize max, const guint8 **out_data, gsize *out_len,
           GError **error)
{
    static const guint8 zeros[BOX_ZEROS];
    gsize take;

    while (reader->block_len == 0 && reader->block_offset <= reader->image_read) {
        const void *data = NULL;
        size_t size = 0;
        la_int64_t offset = 0;
        int r;

        if (reader->block_end) {
            *out_data = NULL;
            *out_len = 0;
            return TRUE;
        }
        r = archive_read_data_block(reader->ar, &data, &size, &offset);
        if (r == ARCHIVE_EOF) {
            /* The end's offset is the file's size: a sparse file may end in a hole. */
            reader->block_end = TRUE;
            if (offset > 0 && (guint64)offset > reader->image_read)
                reader->block_offset = (guint64)offset;
            continue;
        }
        if (r < ARCHIVE_OK) {
            fail_archive(reader, error);
            return FALSE;
        }
        if (offset < 0 || (guint64)offset < reader->image_read) {
            fail(reader, error, "box: the archive is damaged: box.img's blocks are out of order");
            return FALSE;
        }
        reader->block = data;
        reader->block_len = size;
        reader->block_offset = (guint64)offset;
    }
    if (reader->block_offset > reader->image_read) {
        take = (gsize)MIN(reader->block_offset - reader->image_read, (guint64)MIN(max, BOX_ZEROS));
        *out_data = zeros;
    } else {
        take = MIN(max, reader->block_len);
        *out_data = reader->block;
        reader->block += take;
        reader->block_len -= take;
        reader->block_offset += take;
    }
    reader->image_read += take;
    if (reader->image_read > reader->image.size) {
        fail(reader, error,
             "box: box.img holds more than the %" G_GUINT64_FORMAT
             " bytes its tar header announced",
             reader->image.size);
        return FALSE;
    }
    *out_len = take;
    return TRUE;
}

static gboolean
begin_image(WirtBoxReader *reader, guint64 size, GError **error)
{
    g_autoptr(GError) local_error = NULL;

    if (size > reader->limits.max_image_bytes) {
        fail(reader, error,
             "box: box.img is %" G_GUINT64_FORMAT " bytes, over the limit of %" G_GUINT64_FORMAT
             " bytes",
             size, reader->limits.max_image_bytes);
        return FALSE;
    }
    reader->head_len = (gsize)MIN(size, (guint64)WIRT_QCOW2_HEADER_BYTES);
    reader->head_pos = 0;
    reader->image.size = size;
    reader->image_read = 0;
    reader->block = NULL;
    reader->block_len = 0;
    reader->block_offset = 0;
    reader->block_end = FALSE;
    while (reader->image_read < reader->head_len) {
        const guint8 *data = NULL;
        gsize got = (gsize)reader->image_read;
        gsize n = 0;

        if (!image_next(reader, reader->head_len - got, &data, &n, error))
            return FALSE;
        if (n == 0) {
            fail(reader, error,
                 "box: box.img ended after %" G_GSIZE_FORMAT " of the %" G_GSIZE_FORMAT
                 " bytes its tar header announced",
                 got, reader->head_len);
            return FALSE;
        }
        memcpy(reader->head + got, data, n);
    }
    if (!wirt_box_qcow2_header_parse(reader->head, reader->head_len,
                                     reader->limits.max_virtual_size, &reader->image.qcow2,
                                     &local_error)) {
        fail_with(reader, error, local_error);
        return FALSE;
    }
    /* The owner's quota ([quota] box-gib): a refusal of its own kind (409), not a bad box. */
    if (reader->image.qcow2.virtual_size > reader->limits.quota_left) {
        g_autoptr(GError) quota =
            g_error_new(WIRT_ERROR, WIRT_ERROR_QUOTA,
                        "quota: box-gib: this box's virtual size is %" G_GUINT64_FORMAT
                        " MiB and %" G_GUINT64_FORMAT " MiB of your box quota is left",
                        reader->image.qcow2.virtual_size >> 20, reader->limits.quota_left >> 20);
        fail_with(reader, error, quota);
        return FALSE;
    }
    if (reader->image.qcow2.header_length > size) {
        fail(reader, error,
             "box: box.img's qcow2 header is truncated (header_length %u, image %" G_GUINT64_FORMAT
             " bytes)",
             reader->image.qcow2.header_length, size);
        return FALSE;
    }
    reader->have_image = TRUE;
    reader->state = BOX_STATE_IMAGE;
    return cross_check(reader, error);
}

/* Checks one entry's name and type. Returns its normalised name (inside the entry: no copy)
 * for a regular file, "" for the one leading "./" directory, or %NULL after a refusal. */
static const char *
check_entry(WirtBoxReader *reader, struct archive_entry *entry, GError **error)
{
    const char *raw = archive_entry_pathname(entry);
    const char *name;
    g_autofree char *shown = NULL;
    g_auto(GStrv) parts = NULL;
    mode_t type = archive_entry_filetype(entry);

    if (!raw || !*raw) {
        fail(reader, error, "box: the archive has an entry without a readable name");
        return NULL;
    }
    shown = printable(raw);
    if (raw[0] == '/') {
        fail(reader, error, "box: entry '%s' has an absolute name", shown);
        return NULL;
    }
    parts = g_strsplit(raw, "/", -1);
    for (gsize i = 0; parts[i]; i++) {
        if (g_str_equal(parts[i], "..")) {
            fail(reader, error, "box: entry '%s' has a '..' component", shown);
            return NULL;
        }
    }
    if (archive_entry_hardlink(entry)) {
        fail(reader, error, "box: entry '%s' is a hard link; only regular files are accepted",
             shown);
        return NULL;
    }
    switch (type) {
    case AE_IFREG:
        break;
    case AE_IFDIR:
        /* "tar -C dir -cf box ." starts with "./"; any other directory is refused. */
        if (reader->n_entries == 1 && (g_str_equal(raw, ".") || g_str_equal(raw, "./")))
            return "";
        fail(reader, error, "box: entry '%s' is a directory; a box holds only regular files",
             shown);
        return NULL;
    case AE_IFLNK:
        fail(reader, error, "box: entry '%s' is a symbolic link; only regular files are accepted",
             shown);
        return NULL;
    case AE_IFCHR:
    case AE_IFBLK:
        fail(reader, error, "box: entry '%s' is a device node; only regular files are accepted",
             shown);
        return NULL;
    default:
        fail(reader, error,
             "box: entry '%s' is not a regular file (a FIFO, socket or unknown type)", shown);
        return NULL;
    }
    if (archive_entry_symlink(entry)) {
        fail(reader, error, "box: entry '%s' is a symbolic link; only regular files are accepted",
             shown);
        return NULL;
    }
    name = g_str_has_prefix(raw, "./") ? raw + 2 : raw;
    if (!*name || g_str_equal(name, ".")) {
        fail(reader, error, "box: entry '%s' has an empty name", shown);
        return NULL;
    }
    if (strchr(name, '/')) {
        fail(reader, error, "box: entry '%s' is in a subdirectory; a box is flat", shown);
        return NULL;
    }
    if (g_hash_table_contains(reader->seen, name)) {
        fail(reader, error, "box: entry '%s' appears twice in the archive", shown);
        return NULL;
    }
    g_hash_table_add(reader->seen, g_strdup(name));
    if (!archive_entry_size_is_set(entry) || archive_entry_size(entry) < 0) {
        fail(reader, error, "box: entry '%s' has no size in its tar header", shown);
        return NULL;
    }
    return name;
}

/* Reads the next entry's header and deals with it: box.img stops after its checked header,
 * everything else is consumed. */
static BoxStep
next_entry(WirtBoxReader *reader, GError **error)
{
    struct archive_entry *entry = NULL;
    const char *name;
    guint64 size;
    int r;

    if (!ensure_open(reader, error))
        return BOX_STEP_ERROR;
    r = archive_read_next_header(reader->ar, &entry);
    if (r == ARCHIVE_EOF) {
        reader->state = BOX_STATE_END;
        return BOX_STEP_END;
    }
    if (r < ARCHIVE_WARN) {
        fail_archive(reader, error);
        return BOX_STEP_ERROR;
    }
    if (++reader->n_entries > WIRT_BOX_MAX_ENTRIES) {
        fail(reader, error, "box: the archive has more than %d entries", WIRT_BOX_MAX_ENTRIES);
        return BOX_STEP_ERROR;
    }
    if (!(name = check_entry(reader, entry, error)))
        return BOX_STEP_ERROR;
    if (!*name)
        return BOX_STEP_OTHER; /* the leading "./" */
    size = (guint64)archive_entry_size(entry);
    if (g_str_equal(name, "box.img"))
        return begin_image(reader, size, error) ? BOX_STEP_IMAGE : BOX_STEP_ERROR;
    if (g_str_equal(name, "metadata.json"))
        return read_metadata(reader, size, error) ? BOX_STEP_OTHER : BOX_STEP_ERROR;
    /* Vagrantfile, info.json and anything else (packer's "include" files) are skipped
     * unread: never evaluated, never extracted; only their size is bounded. */
    if (size > reader->limits.max_meta_bytes) {
        g_autofree char *shown = printable(name);
        fail(reader, error,
             "box: entry '%s' is %" G_GUINT64_FORMAT " bytes, over the limit of %" G_GSIZE_FORMAT
             " bytes for entries other than box.img",
             shown, size, reader->limits.max_meta_bytes);
        return BOX_STEP_ERROR;
    }
    if (g_str_equal(name, "Vagrantfile"))
        reader->has_vagrantfile = TRUE;
    else if (!g_str_equal(name, "info.json"))
        g_ptr_array_add(reader->ignored, g_strdup(name));
    if (archive_read_data_skip(reader->ar) < ARCHIVE_WARN) {
        fail_archive(reader, error);
        return BOX_STEP_ERROR;
    }
    return BOX_STEP_OTHER;
}

/**
 * wirt_box_reader_open_image:
 * @reader: a reader that has not yet reached box.img
 * @out_image: (out caller-allocates) (optional): box.img's size and qcow2 header, on success
 * Returns: %TRUE when the reader stands at box.img's data with its header checked (and
 *   cross-checked with metadata.json if that came first); %FALSE with %WIRT_ERROR_INVALID
 *   on any refusal on the way, or when the archive has no box.img.
 */
gboolean
wirt_box_reader_open_image(WirtBoxReader *reader, WirtBoxImage *out_image, GError **error)
{
    g_return_val_if_fail(reader != NULL, FALSE);
    if (check_failed(reader, error))
        return FALSE;
    g_return_val_if_fail(!reader->have_image && reader->state == BOX_STATE_ENTRIES, FALSE);

    for (;;) {
        switch (next_entry(reader, error)) {
        case BOX_STEP_ERROR:
            return FALSE;
        case BOX_STEP_OTHER:
            continue;
        case BOX_STEP_END:
            fail(reader, error, "box: the archive has no box.img");
            return FALSE;
        case BOX_STEP_IMAGE:
            if (out_image)
                *out_image = reader->image;
            return TRUE;
        }
    }
}

/* box.img's next piece for the read functions below: its header from @reader->head
 * first, then libarchive's blocks; at its end, the length check and the next state. */
static gboolean
image_piece(WirtBoxReader *reader, gsize max, const guint8 **out_data, gsize *out_len,
            GError **error)
{
    const guint8 *data = NULL;
    gsize n = 0;

    if (reader->state != BOX_STATE_IMAGE) {
        *out_data = NULL;
        *out_len = 0; /* already complete */
        return TRUE;
    }
    if (reader->head_pos < reader->head_len) {
        n = MIN(max, reader->head_len - reader->head_pos);
        *out_data = reader->head + reader->head_pos;
        reader->head_pos += n;
        *out_len = n;
        return TRUE;
    }
    if (!image_next(reader, max, &data, &n, error))
        return FALSE;
    if (n == 0) {
        if (reader->image_read != reader->image.size) {
            fail(reader, error,
                 "box: box.img's tar header announced %" G_GUINT64_FORMAT
                 " bytes, but %" G_GUINT64_FORMAT " were read",
                 reader->image.size, reader->image_read);
            return FALSE;
        }
        reader->state = BOX_STATE_ENTRIES;
    }
    *out_data = data;
    *out_len = n;
    return TRUE;
}

/**
 * wirt_box_reader_read_image:
 * @reader: a reader on which wirt_box_reader_open_image() succeeded
 * @buf: (out caller-allocates): where the bytes go
 * @len: room in @buf, > 0
 * @out_len: (out): bytes stored; 0 once box.img is complete (its length checked)
 * Returns: %TRUE, or %FALSE with %WIRT_ERROR_INVALID (truncated archive, length mismatch).
 *   The bytes are box.img's exactly, header first; they are trustworthy only once
 *   wirt_box_reader_finish() has succeeded.
 */
gboolean
wirt_box_reader_read_image(WirtBoxReader *reader, guint8 *buf, gsize len, gsize *out_len,
                           GError **error)
{
    gsize done = 0;

    g_return_val_if_fail(reader != NULL, FALSE);
    g_return_val_if_fail(buf != NULL && len > 0, FALSE);
    g_return_val_if_fail(out_len != NULL, FALSE);
    if (check_failed(reader, error))
        return FALSE;
    g_return_val_if_fail(reader->have_image, FALSE);

    /* Fills @buf as far as box.img goes, as archive_read_data() did. */
    while (done < len) {
        const guint8 *data = NULL;
        gsize n = 0;

        if (!image_piece(reader, len - done, &data, &n, error))
            return FALSE;
        if (n == 0)
            break;
        memcpy(buf + done, data, n);
        done += n;
    }
    *out_len = done;
    return TRUE;
}

/**
 * wirt_box_reader_read_image_block:
 * @reader: a reader on which wirt_box_reader_open_image() succeeded
 * @max: the most bytes wanted, > 0
 * @out_data: (out) (transfer none): the bytes, inside the reader: valid until the next call
 *   on @reader
 * @out_len: (out): their number, at most @max; 0 once box.img is complete (its length checked)
 *
 * As wirt_box_reader_read_image(), without the copy: for a plain tar the bytes are those
 * read from the input stream. Pieces are as large as the reader's input buffer allows.
 * Returns: %TRUE, or %FALSE with %WIRT_ERROR_INVALID.
 */
gboolean
wirt_box_reader_read_image_block(WirtBoxReader *reader, gsize max, const guint8 **out_data,
                                 gsize *out_len, GError **error)
{
    g_return_val_if_fail(reader != NULL, FALSE);
    g_return_val_if_fail(max > 0, FALSE);
    g_return_val_if_fail(out_data != NULL && out_len != NULL, FALSE);
    if (check_failed(reader, error))
        return FALSE;
    g_return_val_if_fail(reader->have_image, FALSE);

    return image_piece(reader, max, out_data, out_len, error);
}

/* Reads the rest of box.img without handing it out (its length is still checked). */
static gboolean
drain_image(WirtBoxReader *reader, GError **error)
{
    const guint8 *data = NULL;
    gsize n = 0;

    do {
        if (!image_piece(reader, BOX_INPUT_BUFFER, &data, &n, error))
            return FALSE;
    } while (n > 0);
    return TRUE;
}

/**
 * wirt_box_reader_finish:
 * @reader: a reader, before or after box.img (unread image bytes are read and dropped)
 * @out_info: (out caller-allocates) (optional): what the box is, on success only; its
 *   fields are overwritten, so pass a zeroed or cleared struct
 * Returns: %TRUE when the whole archive was read and accepted: metadata.json and box.img
 *   present, and box.img's virtual size within metadata.json's; else %FALSE with
 *   %WIRT_ERROR_INVALID, and whatever was taken from box.img must be discarded.
 */
gboolean
wirt_box_reader_finish(WirtBoxReader *reader, WirtBoxInfo *out_info, GError **error)
{
    g_return_val_if_fail(reader != NULL, FALSE);
    if (check_failed(reader, error))
        return FALSE;

    while (reader->state != BOX_STATE_END) {
        if (reader->state == BOX_STATE_IMAGE) {
            if (!drain_image(reader, error))
                return FALSE;
            continue;
        }
        if (next_entry(reader, error) == BOX_STEP_ERROR)
            return FALSE;
    }
    if (!reader->have_meta && !reader->have_image) {
        fail(reader, error,
             "box: the archive has neither metadata.json nor box.img (not a Vagrant libvirt "
             "box)");
        return FALSE;
    }
    if (!reader->have_meta) {
        fail(reader, error, "box: the archive has no metadata.json");
        return FALSE;
    }
    if (!reader->have_image) {
        fail(reader, error, "box: the archive has no box.img");
        return FALSE;
    }
    if (!cross_check(reader, error))
        return FALSE;
    if (out_info) {
        g_ptr_array_add(reader->ignored, NULL);
        out_info->provider = g_strdup(reader->provider);
        out_info->format = g_strdup(reader->format);
        out_info->virtual_size_gib = reader->virtual_size_gib;
        out_info->virtual_size_bytes = reader->virtual_size_gib * WIRT_BOX_GIB;
        out_info->image_bytes = reader->image.size;
        out_info->qcow2_virtual_size = reader->image.qcow2.virtual_size;
        out_info->qcow2_version = reader->image.qcow2.version;
        out_info->has_vagrantfile = reader->has_vagrantfile;
        out_info->ignored_entries = g_strdupv((char **)reader->ignored->pdata);
        g_ptr_array_remove_index(reader->ignored, reader->ignored->len - 1);
    }
    return TRUE;
}
