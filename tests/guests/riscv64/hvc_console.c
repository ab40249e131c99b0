/*
 * hvc_console for RISC-V: the Arm guest's source, built with the RISC-V
 * libguest (the architecture's differences are at its top). See
 * tests/guests/hvc/hvc_console.c.
 */
#include "../hvc/hvc_console.c"
