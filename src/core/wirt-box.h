/* wirt-box.h: a streaming, untrusting reader of Vagrant libvirt box files (docs/boxes.md). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* vagrant-libvirt writes metadata.json's virtual_size in GiB. */
#define WIRT_BOX_GIB (G_GUINT64_CONSTANT(1) << 30)
/* At most this many tar entries (box.img, metadata.json, Vagrantfile, info.json, a few extras). */
#define WIRT_BOX_MAX_ENTRIES 64

typedef struct {
    guint64 max_virtual_size; /* bytes: cap on metadata's virtual_size and the qcow2 size */
    guint64 max_image_bytes;  /* bytes: cap on box.img's length in the archive */
    gsize max_meta_bytes;     /* bytes: cap on metadata.json and on every other small entry */
    guint64 quota_left;       /* bytes of the owner's box quota left; G_MAXUINT64: none */
} WirtBoxLimits;

/* Defaults for a daemon without configuration: 1 TiB virtual, 64 GiB image, 64 KiB text. */
void wirt_box_limits_init_default(WirtBoxLimits *out_limits);

/* The fields of a qcow2 header that the checks need (all host-endian). */
typedef struct {
    guint version;                 /* 2 or 3 */
    guint cluster_bits;            /* 9..21 */
    guint header_length;           /* 72 for v2, >= 104 for v3 */
    guint64 virtual_size;          /* bytes, the header's "size" */
    guint64 incompatible_features; /* v3 only; 0 for v2 */
} WirtQcow2Header;

/* The number of leading bytes wirt_box_qcow2_header_parse() looks at (the v3 header). */
#define WIRT_QCOW2_HEADER_BYTES 104

gboolean wirt_box_qcow2_header_parse(const guint8 *buf, gsize len, guint64 max_virtual_size,
                                     WirtQcow2Header *out_header, GError **error);

/* What box.img is, known once wirt_box_reader_open_image() has returned. */
typedef struct {
    guint64 size;          /* bytes of box.img in the archive (as its tar header says) */
    WirtQcow2Header qcow2; /* its validated header */
} WirtBoxImage;

typedef struct {
    char *provider;             /* "libvirt" */
    char *format;               /* "qcow2" */
    guint64 virtual_size_gib;   /* metadata.json's virtual_size */
    guint64 virtual_size_bytes; /* the same in bytes */
    guint64 image_bytes;        /* box.img's length */
    guint64 qcow2_virtual_size; /* box.img's header "size", <= virtual_size_bytes */
    guint qcow2_version;        /* 2 or 3 */
    gboolean has_vagrantfile;   /* a Vagrantfile was present (skipped, never evaluated) */
    char **ignored_entries;     /* (array zero-terminated=1): other regular files, skipped */
} WirtBoxInfo;

void wirt_box_info_clear(WirtBoxInfo *info);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(WirtBoxInfo, wirt_box_info_clear)

typedef struct _WirtBoxReader WirtBoxReader;

/* The reader pulls from @in (blocking reads: run it in a GTask worker in wirtd, like the
 * virStorageVolUpload stream it feeds). Memory is bounded by the limits, never by the box. */
WirtBoxReader *wirt_box_reader_new(GInputStream *in, const WirtBoxLimits *limits,
                                   GCancellable *cancellable);
void wirt_box_reader_free(WirtBoxReader *reader);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WirtBoxReader, wirt_box_reader_free)

/* Reads entries up to box.img and checks its qcow2 header (and metadata.json, if it came
 * first); then wirt_box_reader_read_image() hands out box.img's bytes. */
gboolean wirt_box_reader_open_image(WirtBoxReader *reader, WirtBoxImage *out_image, GError **error);
/* Copies up to @len bytes of box.img into @buf; *out_len == 0 means box.img is complete. */
gboolean wirt_box_reader_read_image(WirtBoxReader *reader, guint8 *buf, gsize len, gsize *out_len,
                                    GError **error);
/* The same without a copy: *@out_data points into the reader until its next call. */
gboolean wirt_box_reader_read_image_block(WirtBoxReader *reader, gsize max, const guint8 **out_data,
                                          gsize *out_len, GError **error);
/* Reads the rest of the archive and cross-checks box.img against metadata.json. Only when
 * this returns TRUE may the bytes handed out be kept: on any error, discard them. */
gboolean wirt_box_reader_finish(WirtBoxReader *reader, WirtBoxInfo *out_info, GError **error);

G_END_DECLS
