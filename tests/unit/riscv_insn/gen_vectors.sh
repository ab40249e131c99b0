#!/usr/bin/env bash
# Regenerates riscv_insn_vectors.h, the encodings test_riscv_insn.c checks
# src/arch/riscv64/insn.c against, from the real assembler:
#
#   bash tests/unit/riscv_insn/gen_vectors.sh          (from anywhere)
#   CROSS=riscv64-unknown-elf- bash .../gen_vectors.sh  (another toolchain)
#
# Every instruction below is assembled with $(CROSS)as and read back with
# $(CROSS)objdump -d -M numeric,no-aliases; the disassembly must say what was
# written (so the assembler did not pick another form, e.g. compress an
# instruction meant to be 32 bits long), and the encoding objdump shows goes
# into the table. The expected decode (size, write, sign extension,
# register, length) is written here beside each instruction from what the
# ISA manual says the instruction does, not from Keel's decoder.
#
# Accepted instructions also carry their 32-bit equivalent (the instruction
# itself, or the expansion of a compressed one, U 16.8), assembled the same
# way: the tests build htinst's transformed form from it (P 8.6.3).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=$here/riscv_insn_vectors.h
CROSS=${CROSS:-riscv64-linux-gnu-}
AS=${CROSS}as
OBJDUMP=${CROSS}objdump
# Everything the rejected list needs: Q (FLQ), V, H (HLV/HSV), Zfh (FLH), Zicbo*.
MARCH=rv64gqcv_h_zfh_zicbom_zicboz

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- the instructions ----
# accept ASM EXPANSION SIZE WRITE SIGN REG LEN
accept() {
    local asm=$1 exp=$2
    if [ "${asm#c.}" != "$asm" ]; then echo ".option rvc" >>"$tmp/acc.s"; else echo ".option norvc" >>"$tmp/acc.s"; fi
    echo "$asm" >>"$tmp/acc.s"
    printf '.option norvc\n%s\n' "$exp" >>"$tmp/acc_exp.s"
    printf '%s|%s|%s|%s|%s|%s|%s\n' "$asm" "$exp" "$3" "$4" "$5" "$6" "$7" >>"$tmp/acc.meta"
}
# reject CLASS ASM [EXPANSION]: CLASS amo, fp and hyp are memory accesses for
# which the spec defines a transformed htinst form (built from EXPANSION, or
# from ASM itself when it is 32 bits long); the others have none.
reject() {
    local class=$1 asm=$2 exp=${3:-}
    if [ "${asm#c.}" != "$asm" ]; then echo ".option rvc" >>"$tmp/rej.s"; else echo ".option norvc" >>"$tmp/rej.s"; fi
    echo "$asm" >>"$tmp/rej.s"
    case $class in
    amo | fp | hyp) printf '.option norvc\n%s\n' "${exp:-$asm}" >>"$tmp/rej_exp.s" ;;
    *) printf '.option norvc\nnop\n' >>"$tmp/rej_exp.s" ;; # a placeholder, not used
    esac
    printf '%s|%s|%s\n' "$class" "$asm" "$([ -n "$exp" ] && echo 1 || echo 0)" >>"$tmp/rej.meta"
}

regs=(0 1 2 8 15 31)   # x0, ra, sp, s0 (x8, first of rd'), a5 (x15, last of rd'), t6
bases=(2 10 31 0 8 15)
offsets=(-2048 -1 0 8 2047)

# RV64I loads (U 2.6, 5.3): LB/LH/LW sign-extend, LBU/LHU/LWU zero-extend, LD fills.
lds=(lb lh lw ld lbu lhu lwu)
ld_size=(1 2 4 8 1 2 4)
ld_sign=(true true true false false false false)
for k in "${!lds[@]}"; do
    for i in "${!regs[@]}"; do
        for j in "${!offsets[@]}"; do
            rs1=${bases[$(((i + j + k) % ${#bases[@]}))]}
            a="${lds[$k]} x${regs[$i]}, ${offsets[$j]}(x$rs1)"
            accept "$a" "$a" "${ld_size[$k]}" false "${ld_sign[$k]}" "${regs[$i]}" 4
        done
    done
done
# RV64I stores: the register moved is rs2.
sts=(sb sh sw sd)
for k in "${!sts[@]}"; do
    for i in "${!regs[@]}"; do
        for j in "${!offsets[@]}"; do
            rs1=${bases[$(((i + j + k + 1) % ${#bases[@]}))]}
            a="${sts[$k]} x${regs[$i]}, ${offsets[$j]}(x$rs1)"
            accept "$a" "$a" "$((1 << k))" true false "${regs[$i]}" 4
        done
    done
done

# RV64C CL/CS (U 16.3): rd'/rs1'/rs2' are x8..x15; offsets scaled by the size.
cregs=(8 9 12 15)
cbases=(8 10 13 15 11)
c_ops=(c.lw c.ld c.sw c.sd)
c_base=(lw ld sw sd)
c_size=(4 8 4 8)
c_write=(false false true true)
c_sign=(true false false false)
for k in "${!c_ops[@]}"; do
    if [ "${c_size[$k]}" = 4 ]; then offs=(0 4 64 124); else offs=(0 8 128 248); fi
    for i in "${!cregs[@]}"; do
        for j in "${!offs[@]}"; do
            rs1=${cbases[$(((i + j + k) % ${#cbases[@]}))]}
            accept "${c_ops[$k]} x${cregs[$i]}, ${offs[$j]}(x$rs1)" \
                "${c_base[$k]} x${cregs[$i]}, ${offs[$j]}(x$rs1)" \
                "${c_size[$k]}" "${c_write[$k]}" "${c_sign[$k]}" "${cregs[$i]}" 2
        done
    done
done
# RV64C CI/CSS, sp-relative: any rd but x0 (reserved) for loads, any rs2 for stores.
sp_ops=(c.lwsp c.ldsp c.swsp c.sdsp)
for k in "${!sp_ops[@]}"; do
    if [ "${c_size[$k]}" = 4 ]; then offs=(0 4 128 252); else offs=(0 8 256 504); fi
    if [ "${c_write[$k]}" = true ]; then rl=(0 1 2 8 15 31); else rl=(1 2 8 15 31); fi
    for r in "${rl[@]}"; do
        for o in "${offs[@]}"; do
            accept "${sp_ops[$k]} x$r, $o(x2)" "${c_base[$k]} x$r, $o(x2)" \
                "${c_size[$k]}" "${c_write[$k]}" "${c_sign[$k]}" "$r" 2
        done
    done
done

# Rejected. A (U 8): every AMO, LR, SC, with and without aq/rl.
amo_i=0
for w in w d; do
    for op in amoswap amoadd amoxor amoand amoor amomin amomax amominu amomaxu; do
        for ord in "" .aq .rl .aqrl; do
            r=${regs[$((amo_i % 6))]} s=${regs[$(((amo_i + 2) % 6))]} b=${bases[$((amo_i % 6))]}
            reject amo "$op.$w$ord x$r, x$s, (x$b)"
            amo_i=$((amo_i + 1))
        done
    done
    reject amo "lr.$w x1, (x10)"
    reject amo "lr.$w.aqrl x31, (x2)"
    reject amo "sc.$w x8, x15, (x10)"
    reject amo "sc.$w.aq x0, x31, (x2)"
done
# F, D, Q, Zfh loads and stores, and the compressed FP forms (U 11-13, 16.3).
for op in flh flw fld flq; do
    reject fp "$op f0, -2048(x2)"
    reject fp "$op f31, 2047(x10)"
done
for op in fsh fsw fsd fsq; do
    reject fp "$op f0, -2048(x2)"
    reject fp "$op f31, 2047(x10)"
done
reject fp "c.fld f8, 0(x9)" "fld f8, 0(x9)"
reject fp "c.fld f15, 248(x15)" "fld f15, 248(x15)"
reject fp "c.fsd f8, 8(x10)" "fsd f8, 8(x10)"
reject fp "c.fsd f15, 248(x15)" "fsd f15, 248(x15)"
reject fp "c.fldsp f0, 0(x2)" "fld f0, 0(x2)"
reject fp "c.fldsp f31, 504(x2)" "fld f31, 504(x2)"
reject fp "c.fsdsp f1, 8(x2)" "fsd f1, 8(x2)"
reject fp "c.fsdsp f31, 504(x2)" "fsd f31, 504(x2)"
# H: virtual-machine loads and stores (only HS/U can run them; a guest
# gets a virtual-instruction exception).
for op in hlv.b hlv.bu hlv.h hlv.hu hlvx.hu hlv.w hlvx.wu hlv.wu hlv.d; do
    reject hyp "$op x1, (x10)"
done
for op in hsv.b hsv.h hsv.w hsv.d; do
    reject hyp "$op x31, (x2)"
done
# V: vector loads and stores (LOAD-FP/STORE-FP opcodes, no transformation).
reject vector "vle8.v v1, (x10)"
reject vector "vle32.v v8, (x2)"
reject vector "vse64.v v8, (x10)"
reject vector "vlse32.v v1, (x2), x3"
reject vector "vluxei32.v v1, (x2), v3"
# Cache-block operations (MISC-MEM): CBO.ZERO writes memory but is no store.
reject cbo "cbo.zero (x10)"
reject cbo "cbo.clean (x10)"
reject cbo "cbo.flush (x2)"
reject cbo "cbo.inval (x31)"
# Arithmetic, 32- and 16-bit.
for a in "add x1, x2, x3" "addi x8, x15, -1" "addiw x31, x0, 2047" "lui x10, 0x12345" \
    "auipc x1, 0" "slli x2, x3, 63" "mul x5, x6, x7" "sub x0, x0, x0" "addw x1, x1, x1"; do
    reject alu "$a"
done
for a in "c.addi x8, 1" "c.li x15, -32" "c.mv x1, x2" "c.add x31, x31" "c.addi4spn x8, x2, 4" \
    "c.slli x1, 1" "c.lui x10, 1" "c.addiw x1, -1" "c.sub x8, x15" "c.and x9, x10" \
    "c.addi16sp x2, 16" "c.srli x8, 3"; do
    reject alu "$a"
done
# Jumps and branches.
for a in "beq x1, x2, ." "bne x8, x15, ." "jal x1, ." "jalr x1, 0(x2)" "c.j ." "c.jr x1" \
    "c.beqz x8, ." "c.bnez x15, ." "c.jalr x1"; do
    reject branch "$a"
done
# System and fences.
for a in "ecall" "ebreak" "c.ebreak" "csrrw x1, 0x100, x2" "csrrs x0, 0x180, x31" \
    "fence iorw, iorw" "fence.i" "wfi" "sfence.vma x0, x0" "sret" "hfence.gvma x0, x0"; do
    reject system "$a"
done

# ---- assemble, disassemble, check ----
# Prints "ENCODING|MNEMONIC OPERANDS" for every instruction of $1 (without
# objdump's "# address <symbol>" comments).
disasm() {
    "$AS" -march="$MARCH" "$1" -o "$1.o"
    "$OBJDUMP" -d -M numeric,no-aliases "$1.o" |
        awk -F'\t' '/^ +[0-9a-f]+:\t/ {
            e = $2; gsub(/ /, "", e); o = $4; sub(/[ \t]*#.*/, "", o); print e "|" $3 " " o }'
}
norm() { tr -d ' ' <<<"$1"; }

for f in acc acc_exp rej rej_exp; do
    disasm "$tmp/$f.s" >"$tmp/$f.dis"
done
n_acc=$(wc -l <"$tmp/acc.meta")
n_rej=$(wc -l <"$tmp/rej.meta")
for f in acc acc_exp; do
    [ "$(wc -l <"$tmp/$f.dis")" = "$n_acc" ] || { echo "$f: instruction count differs" >&2; exit 1; }
done
for f in rej rej_exp; do
    [ "$(wc -l <"$tmp/$f.dis")" = "$n_rej" ] || { echo "$f: instruction count differs" >&2; exit 1; }
done

# Checks one disassembled line against what was written: whole text, or the
# mnemonic only ($3 = 1: arithmetic, jumps and system instructions, whose
# operands objdump prints its own way: hex immediates, CSR names, targets).
check() {
    local want=$1 got=$2
    if [ "${3:-0}" = 1 ]; then want=${want%% *} got=${got%% *}; fi
    if [ "$(norm "$want")" != "$(norm "$got")" ]; then
        echo "gen_vectors: wrote '$1', objdump says '$2'" >&2
        exit 1
    fi
}

{
    echo "/*"
    echo " * Generated by tests/unit/riscv_insn/gen_vectors.sh from"
    echo " * $("$AS" --version | head -n 1) (-march=$MARCH):"
    echo " * do not edit, run the script. Expected fields are the ISA's, see the script."
    echo " */"
    echo "#ifndef RISCV_INSN_VECTORS_H"
    echo "#define RISCV_INSN_VECTORS_H"
    echo
    echo "#include <keel/types.h>"
    echo
    echo "struct rv_accept_vector {"
    echo "    const char *text;"
    echo "    u32 insn;   /* as assembled: 16 or 32 bits */"
    echo "    u32 insn32; /* its 32-bit equivalent (itself, or the expansion of a compressed one) */"
    echo "    unsigned int size;"
    echo "    bool write;"
    echo "    bool sign_extend;"
    echo "    unsigned int reg;"
    echo "    unsigned int len;"
    echo "};"
    echo
    echo "struct rv_reject_vector {"
    echo "    const char *text;"
    echo "    const char *class; /* amo fp hyp vector cbo alu branch system */"
    echo "    u32 insn;"
    echo "    u32 insn32; /* amo/fp/hyp: the 32-bit equivalent htinst transforms; else 0 */"
    echo "};"
    echo
    echo "static const struct rv_accept_vector rv_accept_vectors[] = {"
    paste -d'|' "$tmp/acc.meta" "$tmp/acc.dis" "$tmp/acc_exp.dis" |
        while IFS='|' read -r asm exp size write sign reg len enc dis enc32 dis32; do
            check "$asm" "$dis"
            check "$exp" "$dis32"
            printf '    { "%s", 0x%s, 0x%s, %s, %s, %s, %s, %s },\n' \
                "$asm" "$enc" "$enc32" "$size" "$write" "$sign" "$reg" "$len"
        done
    echo "};"
    echo
    echo "static const struct rv_reject_vector rv_reject_vectors[] = {"
    paste -d'|' "$tmp/rej.meta" "$tmp/rej.dis" "$tmp/rej_exp.dis" |
        while IFS='|' read -r class asm has_exp enc dis enc32 dis32; do
            case $class in
            alu | branch | system) check "$asm" "$dis" 1 ;;
            *) check "$asm" "$dis" ;;
            esac
            case $class in
            amo | fp | hyp) e32=0x$enc32 ;;
            *) e32=0 ;;
            esac
            if [ "$has_exp" = 0 ] && [ "$e32" != 0 ] && [ "$enc" != "$enc32" ]; then
                echo "gen_vectors: $asm: 32-bit form differs" >&2
                exit 1
            fi
            printf '    { "%s", "%s", 0x%s, %s },\n' "$asm" "$class" "$enc" "$e32"
        done
    echo "};"
    echo
    echo "#endif"
} >"$tmp/out.h"
mv "$tmp/out.h" "$out"
echo "gen_vectors: $n_acc accepted, $n_rej rejected -> $out"
