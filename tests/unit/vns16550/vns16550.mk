# Host unit tests of src/vdev/vns16550.c (the emulated NS16550A): cmocka, ASan
# and UBSan, any sanitizer report fails the target.
#   make unit-vns16550
# Included by tests/unit/unit.mk ("make unit"), whose unit_suite builds it.
# No arch include path: the model must build without one.

$(eval $(call unit_suite,vns16550,src/vdev/vns16550.c tests/unit/vns16550/test_vns16550.c,\
	-Isrc/include -Wno-unused-parameter))
