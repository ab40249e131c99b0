#!/usr/bin/env python3
"""Builds the table of docs/cpu-features.md: for every ID register field,
the host's value (tools/idprobe/run output), what a guest under Keel reads
(the IDREG lines the sysregs test guest prints) and why.

  tools/idprobe/run -cpu max -machine mte=on > host.txt
  tools/keel-run --cpu max --vm name=s,cpus=1,mem=64M,kernel=build/guests/sysregs.elf \\
      -- -machine mte=on > guest.txt
  tools/idprobe/idtable.py host.txt guest.txt

Field positions follow the Arm ARM (DDI 0487), section D13.2, each ID
register's description; the reasons are Keel's policy (src/arch/aarch64/sysreg.c).
"""
import re
import sys

# Reasons used by many fields.
ISA = "instructions only, no state beyond the general and FP/SIMD registers Keel resets"
EL2 = "an EL2 feature: guests run at EL1 with no virtual EL2"
STAGE1 = "the guest's own stage-1 translation, independent of Keel's stage 2"
INFO = "informative: describes the hardware, nothing to virtualise"
DEBUG = ("self-hosted debug passes through: the guest programs the CPU's own breakpoints, "
         "watchpoints and step (debug.c)")
VER = ("; Armv8.0 level: later versions add EL2 (VHE) and external-debug features, or registers "
       "behind MDCR_EL2 enables Keel leaves clear (EBWE, EnSTEPOP)")
PMU = ("the host's PMUv3, accessed directly with Keel's EL2 never counted (MDCR_EL2.HPMD, "
       "HCCD, or PMCR_EL0 trapped to keep DP set), up to PMUv3p5; 0 where the host has none or "
       "only Armv8.0's (no HPMD): then PMU registers are RAZ/WI")
PMU_EXT = "a PMU extension Keel does not handle: hidden"
PMU_EL2 = "an EL2 control of the PMU (HPMN 0): guests run at EL1 with no virtual EL2"
TRACE = "no trace: CPTR_EL2.TTA and MDCR_EL2.TTRF trap it"
RAS = "RAS error records are not virtualised: HCR_EL2.TERR traps them"
MTE = ("a VM with `keel,mte` gets the host's level (FEAT_MTE2 at least, else the VM is refused) "
       "and HCR_EL2.ATA; others see 0 and ATA stays clear (\"Memory tagging\")")
MTE_EXT = "not offered, tagged VM or not (\"Memory tagging\")"
PAUTH = ("keys reset to 0 when the vCPU starts, HCR_EL2.API/APK set: the instructions and the key "
         "registers are the guest's (Keel signs nothing)")
SCXT = ("SCXTNUM_EL0/EL1 (CSV2_2 and later) are not reset with the vCPU: HCR_EL2.EnSCXT clear "
        "traps them, so the value stays below 2")
HCRX = "needs an HCRX_EL2 enable Keel leaves clear (HCRX_EL2 = 0): its registers trap"
HIDE_NEW = "not handled yet; HCRX_EL2 = 0 and the fine-grained traps keep its registers trapped"

# (crm, op2, name, [(lowest bit, field, reason, kind)]); kind: "pass", "cap N", "hide", or
# "per VM" (hidden from the VM the table is made with: one without keel,mte).
# AArch32 registers passed whole are one row: field "(all)".
P, H = "pass", "hide"
REGS = [
    (1, 0, "ID_PFR0_EL1", [
        (0, "State0", "AArch32 EL0 instruction sets", P), (4, "State1", "T32 at EL0", P),
        (8, "State2", "Jazelle (trivial)", P), (12, "State3", "T32EE", P),
        (16, "CSV2", SCXT, "cap 1"), (20, "AMU", "no AMU: CPTR_EL2.TAM traps it", H),
        (24, "DIT", "PSTATE.DIT kept on exception entry", P), (28, "RAS", RAS, H)]),
    (1, 1, "ID_PFR1_EL1", [
        (0, "ProgMod", "AArch32 EL0 modes", P), (4, "Security", "no AArch32 EL3", H),
        (8, "MProgMod", "M-profile", H), (12, "Virtualization", EL2, H),
        (16, "GenTimer", "the generic timer (physical one emulated)", P),
        (20, "Sec_frac", "no AArch32 EL3", H), (24, "Virt_frac", EL2, H),
        (28, "GIC", "GICv3 system registers through the virtual CPU interface", "cap 1")]),
    (1, 2, "ID_DFR0_EL1", [
        (0, "CopDbg", DEBUG + VER, "cap 6"), (4, "CopSDbg", DEBUG, P),
        (8, "MMapDbg", DEBUG, P), (12, "CopTrc", TRACE, H), (16, "MMapTrc", TRACE, H),
        (20, "MProfDbg", DEBUG, P), (24, "PerfMon", PMU, "cap 6"), (28, "TraceFilt", TRACE, H)]),
    (1, 3, "ID_AFR0_EL1", [(0, "(all)", "IMPLEMENTATION DEFINED: nothing to promise", H)]),
    (1, 4, "ID_MMFR0_EL1", [(0, "(all)", "AArch32 memory model, for 32-bit EL0: " + INFO, P)]),
    (1, 5, "ID_MMFR1_EL1", [(0, "(all)", "AArch32 memory model: " + INFO, P)]),
    (1, 6, "ID_MMFR2_EL1", [(0, "(all)", "AArch32 memory model: " + INFO, P)]),
    (1, 7, "ID_MMFR3_EL1", [(0, "(all)", "AArch32 memory model: " + INFO, P)]),
    (2, 0, "ID_ISAR0_EL1", [(0, "(all)", "AArch32 EL0 " + ISA, P)]),
    (2, 1, "ID_ISAR1_EL1", [(0, "(all)", "AArch32 EL0 " + ISA, P)]),
    (2, 2, "ID_ISAR2_EL1", [(0, "(all)", "AArch32 EL0 " + ISA, P)]),
    (2, 3, "ID_ISAR3_EL1", [(0, "(all)", "AArch32 EL0 " + ISA, P)]),
    (2, 4, "ID_ISAR4_EL1", [(0, "(all)", "AArch32 EL0 " + ISA, P)]),
    (2, 5, "ID_ISAR5_EL1", [(0, "(all)", "AArch32 EL0 " + ISA, P)]),
    (2, 6, "ID_MMFR4_EL1", [(0, "(all)", "AArch32 memory model: " + INFO, P)]),
    (2, 7, "ID_ISAR6_EL1", [(0, "(all)", "AArch32 EL0 " + ISA, P)]),
    (3, 0, "MVFR0_EL1", [(0, "(all)", "AArch32 FP/SIMD " + ISA, P)]),
    (3, 1, "MVFR1_EL1", [(0, "(all)", "AArch32 FP/SIMD " + ISA, P)]),
    (3, 2, "MVFR2_EL1", [(0, "(all)", "AArch32 FP/SIMD " + ISA, P)]),
    (3, 4, "ID_PFR2_EL1", [
        (0, "CSV3", INFO, P), (4, "SSBS", "PSTATE.SSBS as on exception entry", P),
        (8, "RAS_frac", RAS, H)]),
    (3, 5, "ID_DFR1_EL1", [(0, "MTPMU", PMU_EXT, H), (4, "HPMN0", PMU_EL2, H)]),
    (3, 6, "ID_MMFR5_EL1", [(0, "(all)", "AArch32 memory model: " + INFO, P)]),
    (4, 0, "ID_AA64PFR0_EL1", [
        (0, "EL0", "AArch64 and AArch32 EL0 (32-bit userspace traps are handled)", P),
        (4, "EL1", "HCR_EL2.RW = 1: EL1 is AArch64 only", "cap 1"),
        (8, "EL2", EL2, H),
        (12, "EL3", "SMC traps to Keel (HCR_EL2.TSC), which answers as firmware would", P),
        (16, "FP", "FP registers, FPCR and FPSR are the vCPU's, zeroed when it starts", P),
        (20, "AdvSIMD", "as FP", P),
        (24, "GIC", "the vGICv3 CPU interface; no GICv4.1 direct injection", "cap 1"),
        (28, "RAS", RAS, H),
        (32, "SVE", "SVE state is not switched: CPTR_EL2.TZ traps it", H),
        (36, "SEL2", "no Secure EL2", H),
        (40, "MPAM", "not virtualised", H),
        (44, "AMU", "no AMU: CPTR_EL2.TAM traps it", H),
        (48, "DIT", "PSTATE.DIT kept on exception entry Keel injects", P),
        (52, "RME", "no Realm management", H),
        (56, "CSV2", SCXT, "cap 1"),
        (60, "CSV3", INFO, P)]),
    (4, 1, "ID_AA64PFR1_EL1", [
        (0, "BT", "guarded pages are stage 1; Keel clears SPSR.BTYPE when it steps over "
         "an emulated instruction", P),
        (4, "SSBS", "PSTATE.SSBS set from SCTLR_EL1.DSSBS on injected exceptions", P),
        (8, "MTE", MTE, "per VM"), (12, "RAS_frac", RAS, H), (16, "MPAM_frac", "not virtualised", H),
        (20, "(RES0)", "", H),
        (24, "SME", "SME state is not switched: CPTR_EL2.TSM traps it", H),
        (28, "RNDR_trap", "EL3's RNDR trap: nothing for a guest", H),
        (32, "CSV2_frac", SCXT, "cap 1"),
        (36, "NMI", "the vGIC has no superpriority interrupts; ALLINT only masks the guest itself",
         H),
        (40, "MTE_frac", MTE_EXT, H), (44, "GCS", HIDE_NEW, H), (48, "THE", HIDE_NEW, H),
        (52, "MTEX", MTE_EXT, H), (56, "DF2", HIDE_NEW, H), (60, "PFAR", HIDE_NEW, H)]),
    (4, 2, "ID_AA64PFR2_EL1", [(0, "(all)", "MTE and FPMR extensions: " + HIDE_NEW, H)]),
    (4, 4, "ID_AA64ZFR0_EL1", [(0, "(all)", "SVE hidden", H)]),
    (4, 5, "ID_AA64SMFR0_EL1", [(0, "(all)", "SME hidden", H)]),
    (4, 7, "ID_AA64FPFR0_EL1", [(0, "(all)", "FP8 needs FPMR (HCRX_EL2.EnFPM): " + HIDE_NEW, H)]),
    (5, 0, "ID_AA64DFR0_EL1", [
        (0, "DebugVer", DEBUG + VER, "cap 6"), (4, "TraceVer", TRACE, H),
        (8, "PMUVer", PMU, "cap 6"), (12, "BRPs", DEBUG, P), (16, "PMSS", PMU_EXT, H),
        (20, "WRPs", DEBUG, P), (24, "SEBEP", PMU_EXT, H), (28, "CTX_CMPs", DEBUG, P),
        (32, "PMSVer", "no SPE: MDCR_EL2.TPMS traps it", H),
        (36, "DoubleLock", "OSDLR_EL1 emulated per vCPU (MDCR_EL2.TDOSA); RAZ/WI, as on the CPU, where it has no double lock", P),
        (40, "TraceFilt", TRACE, H), (44, "TraceBuffer", TRACE, H), (48, "MTPMU", PMU_EXT, H),
        (52, "BRBE", "no branch records: the fine-grained traps catch them", H),
        (56, "ExtTrcBuff", TRACE, H), (60, "HPMN0", PMU_EL2, H)]),
    (5, 1, "ID_AA64DFR1_EL1", [(0, "(all)", "newer debug and PMU features: " + HIDE_NEW, H)]),
    (5, 4, "ID_AA64AFR0_EL1", [(0, "(all)", "IMPLEMENTATION DEFINED: nothing to promise", H)]),
    (5, 5, "ID_AA64AFR1_EL1", [(0, "(all)", "IMPLEMENTATION DEFINED: nothing to promise", H)]),
    (6, 0, "ID_AA64ISAR0_EL1", [
        (4, "AES", ISA, P), (8, "SHA1", ISA, P), (12, "SHA2", ISA, P), (16, "CRC32", ISA, P),
        (20, "Atomic", ISA, P),
        (24, "TME", "transactional state is not handled", H),
        (28, "RDM", ISA, P), (32, "SHA3", ISA, P), (36, "SM3", ISA, P), (40, "SM4", ISA, P),
        (44, "DP", ISA, P), (48, "FHM", ISA, P),
        (52, "TS", "flag manipulation: PSTATE.NZCV only", P),
        (56, "TLB", "TLBI by range and outer shareable: within the guest's VMID", P),
        (60, "RNDR", ISA, P)]),
    (6, 1, "ID_AA64ISAR1_EL1", [
        (0, "DPB", "DC CVAP/CVADP on the guest's own memory", P),
        (4, "APA", PAUTH, P), (8, "API", PAUTH, P),
        (12, "JSCVT", ISA, P), (16, "FCMA", ISA, P), (20, "LRCPC", ISA, P),
        (24, "GPA", PAUTH, P), (28, "GPI", PAUTH, P),
        (32, "FRINTTS", ISA, P), (36, "SB", ISA, P),
        (40, "SPECRES", "prediction restriction applies within the guest's own context (VMID)", P),
        (44, "BF16", ISA, P), (48, "DGH", ISA, P), (52, "I8MM", ISA, P),
        (56, "XS", "nXS TLBI and DSB: HCRX_EL2.FnXS clear keeps them ordinary", P),
        (60, "LS64", HCRX, H)]),
    (6, 2, "ID_AA64ISAR2_EL1", [
        (0, "WFxT", "WFIT/WFET run natively like WFI/WFE (each vCPU has its core)", P),
        (4, "RPRES", ISA, P), (8, "GPA3", PAUTH, P), (12, "APA3", PAUTH, P),
        (16, "MOPS", HCRX + " (MSCEn: the instructions are UNDEFINED)", H),
        (20, "BC", ISA, P), (24, "PAC_frac", PAUTH, P), (28, "CLRBHB", ISA, P),
        (32, "SYSREG_128", "128-bit system registers need HCRX_EL2.D128En: " + HIDE_NEW, H),
        (36, "SYSINSTR_128", "as SYSREG_128", H), (40, "PRFMSLC", "not reviewed yet", H),
        (44, "PCDPHINT", "not reviewed yet", H), (48, "RPRFM", "a prefetch hint", P),
        (52, "CSSC", ISA, P), (56, "LUT", "not reviewed yet", H),
        (60, "ATS1A", "not reviewed yet", H)]),
    (6, 3, "ID_AA64ISAR3_EL1", [(0, "(all)", "not reviewed yet: hidden until it is", H)]),
    (7, 0, "ID_AA64MMFR0_EL1", [
        (0, "PARange", "the guest's IPA space is 39 bits: 40 is the smallest range holding it",
         "cap 2"),
        (4, "ASIDBits", STAGE1, P),
        (8, "BigEnd", "Keel's MMIO emulation does not byte-swap for big-endian guests", H),
        (12, "SNSMem", INFO, P), (16, "BigEndEL0", "as BigEnd", H),
        (20, "TGran16", STAGE1, P), (24, "TGran64", STAGE1, P), (28, "TGran4", STAGE1, P),
        (32, "TGran16_2", EL2, H), (36, "TGran64_2", EL2, H), (40, "TGran4_2", EL2, H),
        (44, "ExS", "exception entry and return synchronisation (SCTLR_EL1.EIS/EOS)", P),
        (48, "(RES0)", "", H), (52, "(RES0)", "", H),
        (56, "FGT", EL2, H),
        (60, "ECV", "CNTVCTSS/CNTPCTSS readable at EL1; level 2 (CNTPOFF) is EL2's", "cap 1")]),
    (7, 1, "ID_AA64MMFR1_EL1", [
        (0, "HAFDBS", STAGE1 + "; HAFT (3) needs TCR2_EL1, hidden", "cap 2"),
        (4, "VMIDBits", EL2, H), (8, "VH", EL2, H), (12, "HPDS", STAGE1, P),
        (16, "LO", "LORegions are not virtualised: HCR_EL2.TLOR traps them", H),
        (20, "PAN", "PSTATE.PAN set from SCTLR_EL1.SPAN on injected exceptions", P),
        (24, "SpecSEI", INFO, P), (28, "XNX", EL2, H), (32, "TWED", EL2, H),
        (36, "ETS", INFO, P), (40, "HCX", EL2, H),
        (44, "AFP", "FPCR bits, zeroed with the FP state", P), (48, "nTLBPA", INFO, P),
        (52, "TIDCP1", "SCTLR_EL1.TIDCP: EL0 traps to the guest's own EL1", P),
        (56, "CMOW", "SCTLR_EL1.CMOW: the guest's own EL0", P), (60, "ECBHB", INFO, P)]),
    (7, 2, "ID_AA64MMFR2_EL1", [
        (0, "CnP", STAGE1, P), (4, "UAO", "PSTATE.UAO cleared on injected exceptions", P),
        (8, "LSM", STAGE1, P), (12, "IESB", "SCTLR_EL1.IESB: the guest's own", P),
        (16, "VARange", STAGE1, P), (20, "CCIDX", "CCSIDR_EL1 reads the hardware's format", P),
        (24, "NV", EL2, H), (28, "ST", STAGE1, P), (32, "AT", ISA, P), (36, "IDS", INFO, P),
        (40, "FWB", EL2, H), (44, "(RES0)", "", H), (48, "TTL", "TLBI level hints", P),
        (52, "BBM", STAGE1, P), (56, "EVT", EL2, H), (60, "E0PD", STAGE1, P)]),
    (7, 3, "ID_AA64MMFR3_EL1", [(0, "(all)", "TCR2, SCTLR2, PIE, POE, AIE and the rest: " + HCRX +
                                  "; not handled yet", H)]),
    (7, 4, "ID_AA64MMFR4_EL1", [(0, "(all)", "not reviewed yet: hidden until it is", H)]),
]


def read_values(path, pattern):
    """{(crm, op2): value} from lines naming S3_0_C0_C<crm>_<op2>."""
    vals = {}
    with open(path, errors="replace") as f:
        for line in f:
            m = re.search(pattern, line)
            if m:
                vals[(int(m.group(1)), int(m.group(2)))] = int(m.group(3), 16)
    return vals


def field(v, lo, whole):
    return f"{v:#x}" if whole else f"{(v >> lo) & 0xf:#x}"


def expected(h, lo, whole, kind):
    """What the guest should read of a field, by the policy this table states."""
    if whole:
        return h if kind == P else 0
    v = (h >> lo) & 0xf
    return v if kind == P else 0 if kind in (H, "per VM") else min(v, int(kind.split()[1]))


def rows(host, guest):
    """The markdown table, and the fields where the guest read something else
    than this table says Keel gives (sysreg.c and this file disagree)."""
    out = ["| register | field | bits | host | guest | Keel | why |",
           "| --- | --- | --- | ---: | ---: | --- | --- |"]
    wrong = []
    for crm, op2, name, fields in REGS:
        h, g = host.get((crm, op2)), guest.get((crm, op2))
        for lo, fname, why, kind in fields:
            if fname == "(RES0)":
                continue
            whole = fname == "(all)"
            bits = "63:0" if whole else f"{lo + 3}:{lo}"
            hv = "?" if h is None else field(h, lo, whole)
            gv = "?" if g is None else field(g, lo, whole)
            if h is not None and g is not None and \
                    expected(h, lo, whole, kind) != int(gv, 16):
                wrong.append(f"{name}.{fname}: host {hv}, guest {gv}, table says {kind}")
            out.append(f"| {name} | {fname} | {bits} | {hv} | {gv} | {kind} | {why} |")
    return "\n".join(out), wrong


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    host = read_values(argv[1], r"IDREG S3_0_C0_C(\d)_(\d) (?:0x)?([0-9a-f]+)")
    guest = read_values(argv[2], r"IDREG S3_0_C0_C(\d)_(\d) (?:0x)?([0-9a-f]+)")
    table, wrong = rows(host, guest)
    print(table)
    for w in wrong:
        print(f"idtable: {w}", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
