/* Synthetic images shared by the data-set and batch tests. */
#include "test_images.h"

#include <criterion/criterion.h>

/* distinct-looking pixel values, so a misplaced byte shows */
unsigned test_pixel(size_t image, size_t offset)
{
    return (unsigned)((image * 131 + offset * 7 + (offset * offset) % 13) & 0xff);
}

unsigned test_label(size_t image, int classes)
{
    return (unsigned)((image * 7 + 3) % (size_t)classes);
}

/* a data set in memory with the test pixels and labels */
struct dataset test_dataset(int count, int c, int h, int w, int classes,
                                   int first_image)
{
    struct dataset d;
    char err[512];
    cr_assert_eq(dataset_alloc(&d, (uint32_t)count, (uint32_t)c, (uint32_t)h, (uint32_t)w,
                               (uint32_t)classes, "test", err, sizeof err),
                 0, "%s", err);
    size_t image_bytes = dataset_image_bytes(&d);
    for (int i = 0; i < count; i++) {
        d.labels[i] = (int32_t)test_label((size_t)(first_image + i), classes);
        for (size_t k = 0; k < image_bytes; k++)
            d.pixels[i * image_bytes + k] = (uint8_t)test_pixel((size_t)(first_image + i), k);
    }
    return d;
}
