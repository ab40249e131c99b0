# Host unit tests of src/vdev/vpl011.c (the emulated PL011): cmocka, ASan and
# UBSan, any sanitizer report fails the target.
#   make unit-vpl011
# Included by tests/unit/unit.mk ("make unit"), whose unit_suite builds it.

$(eval $(call unit_suite,vpl011,src/vdev/vpl011.c tests/unit/vpl011/test_vpl011.c,\
	-Isrc/include -Isrc/arch/aarch64/include -Wno-unused-parameter))
