# Host unit tests of the vCPU switch's save/load pairs (pauth.c, mte.c,
# debug.c, pmu.c) against a model of the system registers: fake_sysreg.h,
# force-included, turns every MRS, MSR and barrier into a logged call.
#   make unit-regsave
REGSAVE_SRCS := src/arch/aarch64/pauth.c src/arch/aarch64/mte.c src/arch/aarch64/debug.c \
	src/arch/aarch64/pmu.c tests/unit/regsave/fake_sysreg.c tests/unit/regsave/test_regsave.c
$(eval $(call unit_suite,regsave,$(REGSAVE_SRCS),-include tests/unit/regsave/fake_sysreg.h \
	-Isrc/include -Isrc/arch/aarch64/include -Itests/unit/regsave -Wno-unused-parameter))
