"""Shared helpers for the QEMU system tests.

`keel` is a factory fixture: keel("--smp", "2", ...) starts tools/keel-run
with those arguments under pexpect and returns a KeelProcess. Everything QEMU
prints goes to build/systest/<test name>.log (one file per process, so a
failure can be diagnosed after the run), and every process a test started is
killed at its teardown, whatever happened.

Environment:
  KEEL_BIN       Keel image to boot (default build/keel.bin)
  KEEL_QEMU      QEMU binary for every run, through tools/keel-run or bare
                 (default qemu-system-aarch64 from PATH)
  KEEL_SYSTEST_TIMEOUT_SCALE  multiply every timeout (slow or busy machines)
"""
import os
import re
import subprocess
import shlex
import shutil
import sys
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")

REPO = Path(__file__).resolve().parents[2]
KEEL_RUN = REPO / "tools" / "keel-run"
KEEL_BIN = Path(os.environ.get("KEEL_BIN", REPO / "build" / "keel.bin"))
GUESTS = REPO / ".cache" / "guests"
GUEST_IMAGE = GUESTS / "Image"
GUEST_INITRD = GUESTS / "initramfs.cpio.gz"
LOG_DIR = REPO / "build" / "systest"
TIMEOUT_SCALE = float(os.environ.get("KEEL_SYSTEST_TIMEOUT_SCALE", "1"))
# tools/keel-run reads KEEL_QEMU itself; bare_qemu and the tool check use it here.
QEMU = os.environ.get("KEEL_QEMU") or "qemu-system-aarch64"

PROMPT = "keel-guest# "
GUEST_READY = "KEEL-GUEST-READY"
# busybox's line editor asks for the cursor position after each prompt.
_CURSOR_QUERY = "\x1b[6n"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# Keel's own log lines: "[    1.234567] cpu0 warn: ..."
KEEL_LOG_LINE = re.compile(r"^\[\s*\d+\.\d{6}\] cpu\d+ (error|warn|info|debug|trace): .*$", re.M)
# Keel is in trouble: its own fault/panic dumps, or a CPU giving up.
KEEL_FATAL = re.compile(r"\*\*\* Keel (fault|panic)|cpu\d+: stopped\.")

# Input goes in chunks, each echoed back by the guest's shell before the next
# is sent: a test then never depends on how much typed-ahead input Keel can
# queue for the guest's 32-entry UART FIFO (before e60a060 it dropped whatever
# did not fit; test_console_input_burst_is_not_lost checks that it queues now).
TYPE_CHUNK = 16


def scaled(seconds):
    return seconds * TIMEOUT_SCALE


def linux_vm_spec(name="linux", cpus=2, mem="512M", bootargs="console=ttyAMA0", **extra):
    spec = [f"name={name}", f"cpus={cpus}", f"mem={mem}", f"kernel={GUEST_IMAGE}",
            f"initrd={GUEST_INITRD}"]
    spec += [f"{k}={v}" for k, v in extra.items()]
    spec.append(f"bootargs={bootargs}")  # last: it takes the rest of the spec
    return ",".join(spec)


def clean(text):
    """Console text as lines would read: no CRs, no escape sequences."""
    return _ANSI.sub("", text).replace("\r", "")


class KeelProcess:
    """One tools/keel-run (QEMU, after keel-run exec()s it) under pexpect;
    or, with argv given, any other command (e.g. a bare QEMU)."""

    def __init__(self, args, log_path, timeout, argv=None):
        self.args = list(args)
        if argv is None:
            argv = [sys.executable, str(KEEL_RUN), "--keel", str(KEEL_BIN), *self.args]
        self.log_path = log_path
        self.logfile = open(log_path, "w", encoding="utf-8", errors="replace")
        self.logfile.write(f"# cd {shlex.quote(str(REPO))} && {shlex.join(argv)}\n")
        self.logfile.flush()
        try:
            self.child = pexpect.spawn(argv[0], argv[1:], cwd=str(REPO), encoding="utf-8",
                                       codec_errors="replace", timeout=scaled(timeout),
                                       dimensions=(50, 200), echo=False)
        except Exception:
            self.logfile.close()
            raise
        # What the console printed (typed input shows up as the guest's echo).
        self.child.logfile_read = self.logfile
        # Everything received so far, kept for assertions on whole runs.
        self._seen = []

    # -- reading -----------------------------------------------------------
    def _note(self):
        self._seen.append(self.child.before or "")
        if isinstance(self.child.after, str):
            self._seen.append(self.child.after)

    @property
    def output(self):
        """All console output consumed by expect calls so far (cleaned)."""
        return clean("".join(self._seen))

    def expect(self, pattern, timeout=30):
        """Like pexpect's expect (regex or list of them); returns the match object."""
        try:
            self.child.expect(pattern, timeout=scaled(timeout))
        except pexpect.TIMEOUT:
            raise AssertionError(f"timed out after {timeout}s waiting for {pattern!r}; "
                                 f"recent output:\n{self._recent()}\n(log: {self.log_path})") \
                from None
        except pexpect.EOF:
            raise AssertionError(f"QEMU exited while waiting for {pattern!r}; recent output:\n"
                                 f"{self._recent()}\n(log: {self.log_path})") from None
        self._note()
        return self.child.match

    def expect_exact(self, text, timeout=30):
        return self.expect(re.escape(text), timeout)

    def expect_line(self, regex, timeout=30):
        """Wait for a whole console line that starts with regex (and ends
        there, if regex ends with "$"); returns the match."""
        if regex.endswith("$"):
            regex = regex[:-1] + r"\r*\n"
        else:
            regex += r"[^\n]*\n"
        return self.expect(r"(?m)^" + regex, timeout)

    def expect_eof(self, timeout=30):
        """Wait for QEMU to exit by itself; returns what it printed last."""
        try:
            self.child.expect(pexpect.EOF, timeout=scaled(timeout))
        except pexpect.TIMEOUT:
            raise AssertionError(f"QEMU still running after {timeout}s; recent output:\n"
                                 f"{self._recent()}\n(log: {self.log_path})") from None
        rest = self.child.before or ""
        self._seen.append(rest)
        return clean(rest)

    def read_for(self, seconds):
        """Everything printed during the next `seconds` (for checking that
        nothing happens; never used to wait for something that does)."""
        try:
            self.child.expect(pexpect.EOF, timeout=scaled(seconds))
        except pexpect.TIMEOUT:
            pass
        text = self.child.before or ""
        self._seen.append(text)
        return clean(text)

    def _recent(self):
        tail = "".join(self._seen)[-1500:] + (self.child.before or "")[-1500:]
        return clean(tail)[-2500:]

    # -- writing -----------------------------------------------------------
    def send(self, text):
        self.child.send(text)

    # -- lifetime ----------------------------------------------------------
    def alive(self):
        return self.child.isalive()

    def kill(self):
        try:
            if not self.child.closed and self.child.isalive():
                self.child.terminate(force=True)
            self.child.close(force=True)
        finally:
            self.logfile.close()


class GuestShell:
    """The busybox shell of a guest on Keel's console."""

    def __init__(self, keel):
        self.keel = keel

    def wait_ready(self, timeout=90):
        self.keel.expect_exact(GUEST_READY, timeout)
        self.wait_prompt(timeout)
        return self

    def wait_prompt(self, timeout=30):
        # The prompt, and its cursor query when it came with it.
        self.keel.expect(re.escape(PROMPT) + r"(?:\x1b\[6n)?", timeout)

    def type(self, text, timeout=10):
        """Type text, TYPE_CHUNK characters at a time, each chunk's echo
        awaited before the next goes."""
        for i in range(0, len(text), TYPE_CHUNK):
            chunk = text[i:i + TYPE_CHUNK]
            self.keel.send(chunk)
            self.keel.expect_exact(chunk, timeout)

    def run(self, command, timeout=30):
        """Run one short shell command; returns its output (cleaned, without
        the echoed command line and the next prompt)."""
        # Prompt + command must fit the guest's 80 columns, or the line editor
        # redraws the line and its echo no longer matches what was typed.
        assert "\n" not in command and len(PROMPT) + len(command) < 80, command
        self.type(command)
        self.keel.send("\r")
        self.keel.expect(r"\r?\n", timeout)
        self.keel.expect(re.escape(PROMPT), timeout)
        out = clean(self.keel.child.before)
        return out

    def start(self, command):
        """Type a command and press Enter without waiting for it to finish."""
        self.type(command)
        self.keel.send("\r")
        self.keel.expect(r"\r?\n", 10)


def _missing_host_tools():
    return [t for t in (QEMU, "dtc", "fdtget") if not shutil.which(t)]


def _log_base(request):
    return re.sub(r"[^A-Za-z0-9_.=+-]+", "_", request.node.name).strip("_")


@pytest.fixture
def _processes(request):
    """Every process a test starts, killed at its teardown."""
    procs = []

    def start(args, timeout, argv=None):
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        suffix = f"-{len(procs) + 1}" if procs else ""
        proc = KeelProcess(args, LOG_DIR / f"{_log_base(request)}{suffix}.log", timeout, argv)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.kill()


@pytest.fixture
def keel(_processes):
    """Factory: keel(*keel_run_args, timeout=30) -> KeelProcess."""
    missing = _missing_host_tools()
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (run scripts/deps.sh)")
    if not KEEL_BIN.is_file():
        pytest.skip(f"{KEEL_BIN} not built (run make)")

    def start(*args, timeout=30):
        return _processes(args, timeout)

    return start


@pytest.fixture
def bare_qemu(_processes):
    """Factory: bare_qemu(*qemu_args) runs QEMU without Keel (the guest
    straight on the emulated CPU), for control experiments."""
    if not shutil.which(QEMU):
        pytest.skip(f"{QEMU} not installed (run scripts/deps.sh)")

    def start(*args, timeout=30):
        return _processes(args, timeout, argv=[QEMU, "-nographic",
                                               "-nic", "none", *args])

    return start


def built_test_guests(*names):
    """`make testguests` (bare-metal guests, build/guests/); the directory,
    after checking that each named guest's ELF is there."""
    subprocess.run(["make", "-s", "testguests"], cwd=REPO, check=True, capture_output=True)
    out = REPO / "build" / "guests"
    for g in names:
        assert (out / f"{g}.elf").is_file(), f"build/guests/{g}.elf was not built"
    return out


@pytest.fixture
def need_guest():
    for f in (GUEST_IMAGE, GUEST_INITRD):
        if not f.is_file():
            pytest.skip(f"{f.relative_to(REPO)} missing (run scripts/fetch-guests.sh)")


@pytest.fixture
def linux(keel, need_guest):
    """Factory: linux(smp=2, cpus=2, append=None, extra=(), gic=3, vm_opts={})
    boots Keel with one Linux VM on a GICv3 (or GICv2) host and returns
    (KeelProcess, GuestShell) at the guest's first prompt. vm_opts: more
    keel-run VM keys (e.g. {"mte": "on"})."""

    def boot(smp=2, cpus=2, mem="2G", vm_mem="512M", append=None, extra=(), name="linux", gic=3,
             vm_opts=None):
        args = ["--smp", str(smp), "--mem", mem, "--gic", str(gic)]
        if append:
            args += ["--append", append]
        args += ["--vm", linux_vm_spec(name=name, cpus=cpus, mem=vm_mem, **(vm_opts or {})), *extra]
        proc = keel(*args, timeout=60)
        shell = GuestShell(proc).wait_ready()
        return proc, shell

    return boot


# ---- Keel's console multiplexer and shell, shared by the multi-VM tests ----

ESC = "\x1d"  # Ctrl-]: Keel's console escape that QEMU does not intercept


def focus(proc, key, name):
    """Moves console input with the escape key; waits for Keel to confirm."""
    proc.send(ESC + key)
    proc.expect(rf"\[keel\] console input goes to {re.escape(name)}\.")


def shell_cmd(proc, command, timeout=30):
    """Runs a Keel shell command (focus on the shell) and returns its output."""
    proc.send(command + "\r")
    proc.expect_exact(command, timeout)
    proc.expect(r"keel> ", timeout)
    return proc.child.before.replace("\r", "")


def free_pages(proc):
    """The free page count the shell's `mem` reports."""
    out = shell_cmd(proc, "mem")
    return int(re.search(r"free: (\d+) pages", out).group(1))
