/*
 * The unit tests' fake guest (tests/unit/virtio/fake_guest.c), compiled
 * here so that it lives under tests/fuzz/ and, like the harness itself, is
 * built without coverage instrumentation (fuzz.mk): libFuzzer's feedback
 * comes from the device models only.
 */
#include "../../unit/virtio/fake_guest.c"
