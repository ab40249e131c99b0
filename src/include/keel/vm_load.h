#ifndef KEEL_VM_LOAD_H
#define KEEL_VM_LOAD_H

#include <keel/vm.h>

/* Copies the pristine kernel and initrd into guest RAM and writes the guest DT. */
int vm_load_images(struct vm *vm);

#endif
