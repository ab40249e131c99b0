#!/bin/bash
# Runs one riscv64m guest under Keel in M-mode and stops QEMU once the
# guest's summary line ("riscv64m-<name>: ALL PASSED" / "... N FAILED")
# is out: the guest cannot power the board off under Keel, it waits in WFI.
#   run-keel.sh ELF [SMP] [TIMEOUT_S]
# Exit status: 0 all passed, 1 failures, 2 no summary within the timeout.
set -u
elf=$1
smp=${2:-1}
limit=${3:-120}
top=$(cd "$(dirname "$0")/../../.." && pwd)
name=$(basename "$elf" .elf)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$top/tools/keel-run" --arch riscv64 --no-h --smp "$smp" --mem 512M \
    --vm "name=$name,cpus=$smp,kernel=$elf,mem=64M" </dev/null >"$out" 2>&1 &
pid=$!
status=2
for ((i = 0; i < limit * 10; i++)); do
    if grep -q "riscv64m-$name: ALL PASSED" "$out"; then status=0; break; fi
    if grep -q "riscv64m-$name: [0-9]* FAILED" "$out"; then status=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
sleep 0.2
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
tr -d '\r' <"$out"
[ $status = 2 ] && echo "run-keel.sh: no summary from $name within ${limit}s"
exit $status
