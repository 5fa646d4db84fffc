/* Synthetic images shared by the data-set and batch tests: pixel values that
 * differ from image to image and position to position, so a misplaced byte
 * shows, and labels that cycle through the classes. */
#ifndef DSRBENCH_TEST_IMAGES_H
#define DSRBENCH_TEST_IMAGES_H
#include <stddef.h>

#include "dataset.h"

unsigned test_pixel(size_t image, size_t offset);
unsigned test_label(size_t image, int classes);
/* count images of c x h x w, the first being image number first_image */
struct dataset test_dataset(int count, int c, int h, int w, int classes, int first_image);

#endif
