# Host unit tests of src/core/console_guest.c (the VM's console on buffers in
# guest memory, behind Keel's console hypercalls and SBI DBCN), against fakes
# of vm_ipa_span() (a VM whose RAM is three discontiguous host allocations),
# the console multiplexer and the cache maintenance. cmocka, ASan and UBSan.
#   make unit-console-guest
# Included by tests/unit/unit.mk ("make unit"), whose unit_suite builds it.

CONG_SRCS := src/core/console_guest.c tests/unit/console_guest/test_console_guest.c
$(eval $(call unit_suite,console_guest,$(CONG_SRCS),-Isrc/include -Isrc/arch/aarch64/include \
	-Wno-unused-parameter))
