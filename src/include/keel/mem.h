#ifndef KEEL_MEM_H
#define KEEL_MEM_H

#include <keel/types.h>

struct mem_boot_info {
    u64 image_start, image_end; /* Keel's image including BSS */
    u64 dtb, dtb_size;
};

void mem_init(const struct mem_boot_info *info);

/* Small objects (core/obj_alloc.c): zeroed, 16-byte aligned. */
void *obj_alloc(size_t size);
void obj_free(void *p);

#endif
