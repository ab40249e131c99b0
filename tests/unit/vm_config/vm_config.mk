# Host unit tests of the VM configuration parser: src/core/vm_config.c with
# shmem.c, passthrough.c and dt.c, on device trees each test builds with
# libfdt. cmocka, ASan and UBSan; any sanitizer report fails the target.
#   make unit-vm-config
# Included by tests/unit/unit.mk ("make unit"), whose unit_suite builds it.
# vm_config.c and shmem.c keep boot state in file statics, so they are
# compiled through tests/fuzz/vm_config/config_unity.c, which can reset it;
# the fakes for VM creation, the allocator and the GIC are the fuzzers'
# (tests/fuzz/common/fake_core.c).

VMCFG_SRCS := tests/unit/vm_config/test_vm_config.c tests/unit/fake_arch.c \
	tests/fuzz/common/fake_core.c tests/fuzz/vm_config/config_unity.c src/core/passthrough.c src/core/vdev_config.c src/core/hdisk_config.c \
	src/core/dt.c src/core/dt_index.c src/core/guest_dt.c src/arch/aarch64/guest_dt.c src/drivers/gic.c tests/unit/fake_gic.c src/irqchip/vgic_dt.c \
	src/lib/str_copy.c
$(eval $(call unit_suite,vm_config,$(VMCFG_SRCS),-Isrc/include -Isrc/arch/aarch64/include \
	-Itests/unit -Itests/fuzz/common -Wno-unused-parameter,-lfdt))
