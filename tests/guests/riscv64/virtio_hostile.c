/*
 * virtio_hostile for RISC-V: the Arm guest's source, built with the
 * RISC-V libguest (the architecture's differences are at its top). See
 * tests/guests/hostile/virtio_hostile.c.
 */
#include "../hostile/virtio_hostile.c"
