# Host unit tests of src/irqchip/vplic.c (the emulated RISC-V PLIC): cmocka,
# ASan and UBSan, any sanitizer report fails the target.
#   make unit-vplic
# Included by tests/unit/unit.mk ("make unit"), whose unit_suite builds it.
# No arch include path: the model must build without one.

$(eval $(call unit_suite,vplic,src/irqchip/vplic.c tests/unit/vplic/test_vplic.c,\
	-Isrc/include -Wno-unused-parameter))
