#!/usr/bin/env python3
"""Runs a command the way a systemd unit's sandbox would, where systemd is not PID 1 (a container,
CI): the unit's SystemCallFilter= as a real seccomp filter (libseccomp, default action: kill the
process with SIGSYS, as systemd does without SystemCallErrorNumber=), its UMask=, its
ProtectProc=invisible (a private mount namespace with /proc mounted hidepid=invisible), and its
user and capabilities (a uid of its own standing in for DynamicUser=, with the unit's
AmbientCapabilities= and CapabilityBoundingSet=).

    sudo scripts/run-as-unit.py UNIT_FILE [--uid N] -- COMMAND [ARGS...]

Syscall groups (@system-service, ...) are expanded with `systemd-analyze syscall-filter`, so the
filter is systemd's own list for this systemd version. Exits with the command's status; a
command killed by the filter exits 128+31 (SIGSYS).
"""
import ctypes
import os
import re
import subprocess
import sys

SCMP_ACT_KILL_PROCESS = 0x80000000
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_ACT_ERRNO_EPERM = 0x00050000 | 1
SCMP_CMP_EQ = 4
SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE = 0, 1, 2, 3, 5


class ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]
CLONE_NEWNS = 0x00020000
MS_REC, MS_PRIVATE = 0x4000, 1 << 18


def unit_settings(path):
    """Every Key=value of the [Service] section, in order (a key may repeat)."""
    out, section = [], None
    for line in open(path):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]" and "=" in line:
            key, value = line.split("=", 1)
            out.append((key.strip(), value.strip()))
    return out


def expand(name, groups, seen=None):
    """A syscall name or @group, as the set of syscall names it stands for."""
    if not name.startswith("@"):
        return {name}
    seen = seen or set()
    if name in seen:
        return set()
    seen.add(name)
    out = set()
    for member in groups.get(name, []):
        out |= expand(member, groups, seen)
    return out


def syscall_groups():
    text = subprocess.run(["systemd-analyze", "syscall-filter"], capture_output=True, text=True, check=True).stdout
    groups, current = {}, None
    for line in text.splitlines():
        if line.startswith("@"):
            current = line.split()[0]
            groups[current] = []
        elif current and line.strip() and not line.strip().startswith("#"):
            groups[current].append(line.split()[0])
    return groups


def allowed_syscalls(settings):
    """SystemCallFilter= lines applied in order: the first sets an allow list, later ones add
    (plain) or remove (~) names, as systemd.exec(5) describes."""
    groups = syscall_groups()
    allowed = None
    for key, value in settings:
        if key != "SystemCallFilter":
            continue
        deny = value.startswith("~")
        names = set()
        for word in value.lstrip("~").split():
            names |= expand(word, groups)
        if allowed is None:
            if deny:
                sys.exit("run-as-unit: a deny-list filter is not supported here")
            allowed = names
        elif deny:
            allowed -= names
        else:
            allowed |= names
    return allowed


def apply_seccomp(allowed, restrict_realtime):
    lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    ctx = lib.seccomp_init(SCMP_ACT_KILL_PROCESS)
    if not ctx:
        sys.exit("run-as-unit: seccomp_init failed")
    for name in sorted(allowed):
        if restrict_realtime and name == "sched_setscheduler":
            continue  # by policy, below
        nr = lib.seccomp_syscall_resolve_name(name.encode())
        if nr < 0:
            continue  # not a syscall of this architecture
        if lib.seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) != 0:
            sys.exit(f"run-as-unit: seccomp_rule_add {name} failed")
    if restrict_realtime and "sched_setscheduler" in allowed:
        # A realtime policy fails with EPERM; the others (OTHER, BATCH, IDLE) are allowed.
        lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(ArgCmp)]
        nr = lib.seccomp_syscall_resolve_name(b"sched_setscheduler")
        for policy, action in ((SCHED_FIFO, SCMP_ACT_ERRNO_EPERM), (SCHED_RR, SCMP_ACT_ERRNO_EPERM),
                               (SCHED_OTHER, SCMP_ACT_ALLOW), (SCHED_BATCH, SCMP_ACT_ALLOW), (SCHED_IDLE, SCMP_ACT_ALLOW)):
            cmp = ArgCmp(1, SCMP_CMP_EQ, policy, 0)
            if lib.seccomp_rule_add_array(ctx, action, nr, 1, ctypes.byref(cmp)) != 0:
                sys.exit("run-as-unit: RestrictRealtime rule failed")
    if lib.seccomp_load(ctx) != 0:
        sys.exit("run-as-unit: seccomp_load failed")


def caps_list(value):
    return ",".join("+" + c.lower().removeprefix("cap_") for c in value.split())


def main():
    args = sys.argv[1:]
    if "--" not in args:
        sys.exit(__doc__)
    cut = args.index("--")
    own, command = args[:cut], args[cut + 1:]
    if own and own[0] == "--stage2":
        # Inside the sandbox, as the unit's user: the filter last, right before the command.
        settings = unit_settings(own[1])
        apply_seccomp(allowed_syscalls(settings), dict(settings).get("RestrictRealtime") == "yes")
        os.execvp(command[0], command)
    unit = own[0]
    uid = int(own[own.index("--uid") + 1]) if "--uid" in own else 64_123
    settings = unit_settings(unit)
    values = {}
    for key, value in settings:
        values[key] = value
    libc = ctypes.CDLL(None, use_errno=True)
    if values.get("ProtectProc") == "invisible":
        if libc.unshare(CLONE_NEWNS) != 0:
            sys.exit("run-as-unit: unshare(CLONE_NEWNS) failed")
        libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None)
        if libc.mount(b"proc", b"/proc", b"proc", 0, b"hidepid=invisible") != 0:
            sys.exit(f"run-as-unit: mount proc hidepid=invisible: {os.strerror(ctypes.get_errno())}")
    if "UMask" in values:
        os.umask(int(values["UMask"], 8))
    caps = caps_list(values.get("AmbientCapabilities", ""))
    bounding = caps_list(values.get("CapabilityBoundingSet", values.get("AmbientCapabilities", "")))
    setpriv = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
               f"--inh-caps=-all,{caps}" if caps else "--inh-caps=-all",
               f"--ambient-caps=-all,{caps}" if caps else "--ambient-caps=-all",
               f"--bounding-set=-all,{bounding}" if bounding else "--bounding-set=-all"]
    if values.get("NoNewPrivileges") == "yes":
        setpriv.append("--no-new-privs")
    os.execvp("setpriv", setpriv + [sys.executable, os.path.abspath(__file__), "--stage2", unit, "--"] + command)


if __name__ == "__main__":
    main()
