/* fuzz-box.c: the Vagrant box reader (tar + metadata.json + qcow2 header). A box is uploaded
 * by any user, so every byte of it is untrusted. The limits are those of tests/unit/test-box.c,
 * whose cases seed fuzz/corpus/box (WIRT_BOX_CORPUS_DIR=fuzz/corpus/box test-box). */
#include "core/wirt-box.h"
#include "fuzz.h"

static void
read_all(GBytes *bytes, gsize out_chunk)
{
    g_autoptr(GInputStream) in = g_memory_input_stream_new_from_bytes(bytes);
    g_autoptr(WirtBoxReader) reader = NULL;
    g_autoptr(GError) error = NULL;
    g_auto(WirtBoxInfo) info = {0};
    WirtBoxLimits limits = {
        .max_virtual_size = 16 * WIRT_BOX_GIB,
        .max_image_bytes = 64 * 1024 * 1024,
        .max_meta_bytes = 4096,
        .quota_left = G_MAXUINT64,
    };
    WirtBoxImage image = {0};
    guint8 buf[4096];
    guint64 total = 0;
    gsize n = 0;

    reader = wirt_box_reader_new(in, &limits, NULL);
    if (wirt_box_reader_open_image(reader, &image, &error)) {
        /* What is handed out was checked: a qcow2 header within the limits. */
        g_assert_true(image.qcow2.version == 2 || image.qcow2.version == 3);
        g_assert_cmpuint(image.qcow2.virtual_size, <=, limits.max_virtual_size);
        g_assert_cmpuint(image.size, <=, limits.max_image_bytes);
        while (wirt_box_reader_read_image(reader, buf, out_chunk, &n, &error) && n > 0)
            total += n;
    }
    if (wirt_box_reader_finish(reader, &info, error ? NULL : &error)) {
        g_assert_no_error(error);
        g_assert_cmpuint(total, ==, info.image_bytes);
        g_assert_cmpuint(info.qcow2_virtual_size, <=, info.virtual_size_bytes);
        g_assert_cmpstr(info.provider, ==, "libvirt");
    } else {
        g_assert_nonnull(error);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(GBytes) bytes = NULL;
    WirtQcow2Header header;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    bytes = g_bytes_new_static(data, size);
    read_all(bytes, 4096);
    read_all(bytes, 7);
    /* The header parser alone, on the raw input. */
    wirt_box_qcow2_header_parse(data, size, G_MAXUINT64, &header, NULL);
    return 0;
}
