# Host unit tests of src/arch/riscv64m/pmp.c (PMP entries as data: what an
# entry matches, which entry decides, and the entries Keel in M-mode gives
# a VM's harts): cmocka, ASan and UBSan.
#   make unit-pmp
# Included by tests/unit/unit.mk ("make unit"), whose unit_suite builds it.

PMP_SRCS := src/arch/riscv64m/pmp.c tests/unit/pmp/test_pmp.c
$(eval $(call unit_suite,pmp,$(PMP_SRCS),-Isrc/include -Isrc/arch/riscv64m/include \
	-Isrc/arch/riscv64/include -Wno-unused-parameter))
