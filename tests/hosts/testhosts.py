"""Test hosts for Ansible: real machines as far as Ansible can tell, all on this one.

Each host is a **container run by runc** with its own network namespace (a veth on a bridge of our
own, an address of its own, and a default route to an address on that bridge that no one holds, so
nothing gets beyond it), its own root filesystem (an overlay on a
shared Debian 12 image, so a write on one host changes only that host) and **systemd as PID 1**
starting sshd, as on the machines a workshop provisions. Ansible reaches them over real SSH with a
key made for the test session, as a sudo-capable user.

What no container can have of its own is the kernel's memory and swap accounting: ``/proc/meminfo``
and ``/proc/swaps`` are the machine's. A host made with ``swap_mb`` gets its own copies of those two
files bind-mounted in, the way lxcfs gives containers their own view of ``/proc`` — that is the one
place the test hosts are dressed up, and ``swap_mb`` says so where it is used.

The image is built once with debootstrap from Debian's archive into the versioned cache
(``$KUBEDOJO_CACHE/v1/testhosts``) and reused by later sessions and CI runs.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import resource
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kubedojo.local.images import debian_mirror
from kubedojo.onprem.preflight import KUBESPRAY_DEBIAN_PACKAGES
from kubedojo.paths import CacheDirs

IMAGE_VERSION = "debian12-systemd-sshd-2"
IMAGE_PACKAGES = (
    "systemd",
    "systemd-sysv",
    "openssh-server",
    "python3",
    "sudo",
    "iproute2",
    "procps",
    "nfs-common",  # as a prepared machine has it (the test hosts reach no package mirror)
)
NODE_IMAGE_VERSION = "debian12-systemd-sshd-node-1"
NODE_PACKAGES = (*KUBESPRAY_DEBIAN_PACKAGES, "ipset", "iputils-ping", "mergerfs", "kmod")
"""What kubespray installs on a Debian 12 node (iptables proxy mode), here beforehand as on a prepared
offline machine: the test hosts reach no package mirror. kmod: kubespray looks for modules with it."""
ADMIN_USER = "kdadmin"
RUNC_ROOT = Path("/run/kubedojo-testhosts/runc")
CGROUP_PARENT = "kubedojo-testhosts"
_CAPABILITIES = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_SETFCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_RAW",
    "CAP_NET_ADMIN",
    "CAP_SYS_CHROOT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_PTRACE",
    "CAP_MKNOD",
    "CAP_AUDIT_WRITE",
]
_CAPABILITY_NAMES = (
    *("CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID"),
    *("SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW"),
    *("IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT"),
    *("SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD"),
    *("LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG"),
    *("WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE"),
)
"""Linux's capabilities by number."""


def held_capabilities() -> list[str]:
    """Every capability in this process's bounding set: what a privileged container gets, as kind's
    node containers do (a sandbox may withhold some; here CAP_SYS_RESOURCE, which runc then refuses
    to grant: "unable to apply caps: operation not permitted")."""
    line = next(ln for ln in Path("/proc/self/status").read_text().splitlines() if ln.startswith("CapBnd:"))
    bits = int(line.split()[1], 16)
    return [f"CAP_{name}" for number, name in enumerate(_CAPABILITY_NAMES) if bits >> number & 1]


NETNS_DIR = Path("/run/netns")
NODE_SYSCTLS = (
    # The kubelet sets these (unless its protectKernelDefaults) and kubespray raises the inotify ones:
    # none is per namespace, so a node host changes them for the whole machine, as kind's nodes do.
    # TestHosts puts the machine's values back when its node hosts stop.
    "kernel/panic",
    "kernel/panic_on_oops",
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
    "fs/inotify/max_user_instances",
    "fs/inotify/max_user_watches",
)
"""Kernel settings a node host may change for the whole machine (runc refuses bind mounts under
/proc/sys, so a host cannot have its own copies)."""


def is_mount_point(path: Path) -> bool:
    return any(line.split()[1] == str(path) for line in Path("/proc/self/mounts").read_text().splitlines())


def unmount_netns_dir_if_unused(was_mount_point: bool) -> None:
    """`ip netns add` leaves /run/netns bind-mounted; undo that if it was not so before and no
    namespace is left in it."""
    if not was_mount_point and is_mount_point(NETNS_DIR) and not any(NETNS_DIR.iterdir()):
        _run("umount", str(NETNS_DIR), check=False)


def _run(*argv: str, timeout: float = 60.0, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {result.returncode}: {result.stderr.strip()}")
    return result


def ensure_image(cache: CacheDirs, node: bool = False) -> Path:
    """The test hosts' root filesystem, built once into the cache (about 90 s); ``node``: with what a
    Kubernetes node needs as well."""
    version = NODE_IMAGE_VERSION if node else IMAGE_VERSION
    final = cache.root / "testhosts" / version
    rootfs = final / "rootfs"
    if (final / "complete").is_file():
        return rootfs
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=final.parent))
    try:
        target = work / "rootfs"
        _run(
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(IMAGE_PACKAGES)}",
            "bookworm",
            str(target),
            debian_mirror(),
            timeout=1800,
        )
        if node:
            # apt resolves what debootstrap's --include cannot (virtual packages such as logind).
            shutil.copyfile("/etc/resolv.conf", target / "etc/resolv.conf")
            env = {
                "DEBIAN_FRONTEND": "noninteractive",
                "LC_ALL": "C",
                "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            }
            for argv in (
                ["apt-get", "update"],
                ["apt-get", "install", "-y", "--no-install-recommends", *NODE_PACKAGES],
            ):
                result = subprocess.run(
                    ["chroot", str(target), *argv],
                    capture_output=True,
                    text=True,
                    timeout=1800,
                    env=env,
                    check=False,
                )
                if result.returncode != 0:
                    raise RuntimeError(
                        f"{' '.join(argv[:3])} in the node image exited {result.returncode}: {result.stdout[-500:]}"
                    )
            _run("chroot", str(target), "apt-get", "clean")
        for leftover in ("var/lib/apt/lists", "var/cache/apt/archives"):
            shutil.rmtree(target / leftover, ignore_errors=True)
            (target / leftover).mkdir(parents=True, exist_ok=True)
        (target / "etc/resolv.conf").write_text("")
        _run("chroot", str(target), "useradd", "--create-home", "--shell", "/bin/bash", ADMIN_USER)
        sudoers = target / "etc/sudoers.d" / ADMIN_USER
        sudoers.write_text(f"{ADMIN_USER} ALL=(ALL) NOPASSWD: ALL\n")
        sudoers.chmod(0o440)
        if node:
            # The machine's kernel log is not the host's own: journald leaves /dev/kmsg alone.
            conf = target / "etc/systemd/journald.conf.d"
            conf.mkdir(parents=True, exist_ok=True)
            (conf / "kubedojo.conf").write_text("[Journal]\nReadKMsg=no\n")
        (work / "complete").write_text(version + "\n")
        if final.exists():
            shutil.rmtree(final)
        os.replace(work, final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rootfs


@dataclass(frozen=True)
class KeyPair:
    private: Path
    public_line: str

    @classmethod
    def create(cls, directory: Path) -> KeyPair:
        key = Ed25519PrivateKey.generate()
        private = directory / "id_ed25519"
        private.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.OpenSSH,
                serialization.NoEncryption(),
            )
        )
        private.chmod(0o600)
        public = key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        line = public.decode() + " kubedojo-test\n"
        (directory / "id_ed25519.pub").write_text(line)
        return cls(private, line)


@dataclass
class TestHost:
    """One host: a network namespace, an overlay root filesystem and a runc container."""

    name: str
    address: str
    workdir: Path
    swap_mb: int = 0
    sudo_password: bool = False
    """True: the admin user's sudo asks for a password (so become fails, as on a badly set-up host)."""
    node: bool = False
    """True: able to run a Kubernetes node (see :meth:`_node_spec`)."""
    running: bool = field(default=False, init=False)

    __test__ = False  # not a pytest test class

    @property
    def netns(self) -> str:
        return f"kdh-{self.name}"

    @property
    def container(self) -> str:
        return f"kdh-{self.name}"

    @property
    def veth(self) -> str:
        return veth_name(self.name)

    @property
    def root(self) -> Path:
        """The host's own files (the overlay), as it sees them."""
        return self.workdir / "merged"

    def start(
        self, image: Path, bridge: str, prefix: int, key: KeyPair, dead_end: str, nameserver: str
    ) -> None:
        _run("umount", str(self.root), check=False)  # left over from an interrupted session
        shutil.rmtree(self.workdir, ignore_errors=True)
        for sub in ("upper", "work", "merged", "bundle", "proc", "containerd"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        veth = self.veth
        _run("ip", "link", "delete", veth, check=False)  # a socket can keep a namespace alive a while
        _run("ip", "netns", "delete", self.netns, check=False)
        _run("ip", "netns", "add", self.netns)
        _run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", self.netns)
        _run("ip", "link", "set", veth, "master", bridge, "up")
        _run("ip", "-n", self.netns, "addr", "add", f"{self.address}/{prefix}", "dev", "eth0")
        _run("ip", "-n", self.netns, "link", "set", "eth0", "up")
        _run("ip", "-n", self.netns, "link", "set", "lo", "up")
        # A default route, as every real machine has (Ansible's default_ipv4 fact and kubespray need
        # it), through an address nobody holds: packets for anywhere else die unanswered on the bridge.
        _run("ip", "-n", self.netns, "route", "add", "default", "via", dead_end)
        _run(
            "mount",
            "-t",
            "overlay",
            "overlay",
            "-o",
            f"lowerdir={image},upperdir={self.workdir / 'upper'},workdir={self.workdir / 'work'}",
            str(self.root),
        )
        self._personalise(key, nameserver)
        (self.workdir / "bundle" / "config.json").write_text(json.dumps(self._spec(), indent=1))
        RUNC_ROOT.mkdir(parents=True, exist_ok=True)
        _run(
            "runc",
            "--root",
            str(RUNC_ROOT),
            "run",
            "--detach",
            "--bundle",
            str(self.workdir / "bundle"),
            self.container,
            timeout=60,
        )
        self.running = True

    def _personalise(self, key: KeyPair, nameserver: str) -> None:
        (self.root / "etc/hostname").write_text(self.name + "\n")
        # A resolver, as every machine names one (nothing answers there: lookups fail at once).
        (self.root / "etc/resolv.conf").write_text(f"nameserver {nameserver}\n")
        (self.root / "etc/machine-id").write_text(secrets.token_hex(16) + "\n")
        (self.root / "etc/hosts").write_text(f"127.0.0.1 localhost\n{self.address} {self.name}\n")
        home = self.root / "home" / ADMIN_USER
        ssh_dir = home / ".ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        (ssh_dir / "authorized_keys").write_text(key.public_line)
        (ssh_dir / "authorized_keys").chmod(0o600)
        uid_gid = (home.stat().st_uid, home.stat().st_gid)
        for path in (ssh_dir, ssh_dir / "authorized_keys"):
            os.chown(path, *uid_gid)
        if self.sudo_password:
            (self.root / "etc/sudoers.d" / ADMIN_USER).unlink()
            (self.root / "etc/sudoers.d" / f"{ADMIN_USER}-password").write_text(
                f"{ADMIN_USER} ALL=(ALL) ALL\n"
            )

    def _proc_overrides(self) -> list[dict[str, object]]:
        """This host's own /proc/meminfo and /proc/swaps, when it is to have swap (see the module doc)."""
        if not self.swap_mb:
            return []
        meminfo = []
        for line in Path("/proc/meminfo").read_text().splitlines():
            key = line.split(":", 1)[0]
            if key in ("SwapTotal", "SwapFree"):
                line = f"{key}:{self.swap_mb * 1024:>16} kB"
            meminfo.append(line)
        (self.workdir / "proc" / "meminfo").write_text("\n".join(meminfo) + "\n")
        (self.workdir / "proc" / "swaps").write_text(
            "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
            f"/swapfile                               file\t\t{self.swap_mb * 1024}\t\t0\t\t-2\n"
        )
        return [
            {
                "destination": f"/proc/{name}",
                "type": "bind",
                "source": str(self.workdir / "proc" / name),
                "options": ["bind", "ro"],
            }
            for name in ("meminfo", "swaps")
        ]

    def _node_spec(self, spec: dict[str, Any]) -> dict[str, Any]:
        """What a Kubernetes node needs of its machine, as kind gives its node containers: every
        capability this process holds, its own cgroup namespace with every device allowed, /dev/kmsg (the kubelet's OOM watcher), shared mount
        propagation, containerd's store off the overlay root (overlayfs cannot stack on it), the
        open-files limit this machine allows. Network settings are the host's own (its network
        namespace); the kernel settings in :data:`NODE_SYSCTLS` are the machine's (TestHosts restores
        them)."""
        linux = spec["linux"]
        held = held_capabilities()
        spec["process"]["capabilities"] = {k: held for k in ("bounding", "effective", "permitted")}
        linux["namespaces"].append({"type": "cgroup"})
        linux["resources"]["devices"] = [{"allow": True, "access": "rwm"}]
        linux["devices"] = [{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11, "fileMode": 0o640}]
        linux["rootfsPropagation"] = "rshared"
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        spec["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": hard, "soft": hard}]
        mounts = spec["mounts"]
        mounts.append(
            {
                "destination": "/var/lib/containerd",
                "type": "bind",
                "source": str(self.workdir / "containerd"),
                "options": ["rbind", "rw"],
            }
        )
        return spec

    def _spec(self) -> dict[str, Any]:
        spec = self._base_spec()
        return self._node_spec(spec) if self.node else spec

    def _base_spec(self) -> dict[str, Any]:
        return {
            "ociVersion": "1.0.2",
            "process": {
                "terminal": False,
                "user": {"uid": 0, "gid": 0},
                "args": ["/sbin/init"],
                "env": [
                    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "container=kubedojo-testhost",
                ],
                "cwd": "/",
                "capabilities": {k: _CAPABILITIES for k in ("bounding", "effective", "permitted")},
                "noNewPrivileges": False,
            },
            "root": {"path": str(self.root), "readonly": False},
            "hostname": self.name,
            "mounts": [
                {"destination": "/proc", "type": "proc", "source": "proc"},
                {
                    "destination": "/dev",
                    "type": "tmpfs",
                    "source": "tmpfs",
                    "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
                },
                {
                    "destination": "/dev/pts",
                    "type": "devpts",
                    "source": "devpts",
                    "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
                },
                {
                    "destination": "/dev/shm",
                    "type": "tmpfs",
                    "source": "shm",
                    "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
                },
                {
                    "destination": "/dev/mqueue",
                    "type": "mqueue",
                    "source": "mqueue",
                    "options": ["nosuid", "noexec", "nodev"],
                },
                {
                    "destination": "/sys",
                    "type": "sysfs",
                    "source": "sysfs",
                    "options": ["nosuid", "noexec", "nodev", "ro"],
                },
                {
                    "destination": "/sys/fs/cgroup",
                    "type": "cgroup",
                    "source": "cgroup",
                    "options": ["nosuid", "noexec", "nodev", "relatime", "rw"],
                },
                {
                    "destination": "/run",
                    "type": "tmpfs",
                    "source": "tmpfs",
                    "options": ["nosuid", "nodev", "mode=755"],
                },
                {
                    "destination": "/run/lock",
                    "type": "tmpfs",
                    "source": "tmpfs",
                    "options": ["nosuid", "nodev", "noexec"],
                },
                {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]},
                *self._proc_overrides(),
            ],
            "linux": {
                "cgroupsPath": f"/{CGROUP_PARENT}/{self.name}",
                "resources": {"devices": [{"allow": False, "access": "rwm"}]},
                "namespaces": [
                    {"type": "pid"},
                    {"type": "ipc"},
                    {"type": "uts"},
                    {"type": "mount"},
                    {"type": "network", "path": f"/var/run/netns/{self.netns}"},
                ],
            },
        }

    def wait_ssh(self, timeout: float = 60.0) -> None:
        """Until sshd answers with its banner (systemd boots in about a second)."""
        deadline = time.monotonic() + timeout
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.address, 22), timeout=2) as conn,
            ):
                conn.settimeout(2)
                if conn.recv(4).startswith(b"SSH-"):
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"test host {self.name} ({self.address}): no sshd after {timeout:g} s")
            time.sleep(0.2)

    def sh(self, script: str, timeout: float = 60.0, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a shell script inside the host as root (set-up and inspection, not via Ansible)."""
        return _run(
            "runc",
            "--root",
            str(RUNC_ROOT),
            "exec",
            self.container,
            "sh",
            "-c",
            script,
            timeout=timeout,
            check=check,
        )

    def stop(self) -> None:
        if self.running:
            _run("runc", "--root", str(RUNC_ROOT), "kill", self.container, "KILL", check=False)
            _run("runc", "--root", str(RUNC_ROOT), "delete", "--force", self.container, check=False)
            self.running = False
        _run("umount", str(self.root), check=False)
        _run("ip", "link", "delete", self.veth, check=False)
        _run("ip", "netns", "delete", self.netns, check=False)


def veth_name(host: str) -> str:
    """The host end of a test host's veth (link names have at most 15 characters)."""
    return f"kdv-{host}"[:15]


def runc_containers() -> list[str]:
    return _run("runc", "--root", str(RUNC_ROOT), "list", "-q", check=False).stdout.split()


def _links() -> list[str]:
    return [line.split()[0].split("@")[0] for line in _run("ip", "-br", "link").stdout.splitlines()]


def _namespaces() -> list[str]:
    return [line.split()[0] for line in _run("ip", "netns", "list").stdout.splitlines() if line]


def clear_killed_hosts(names: Collection[str] | None = None) -> list[str]:
    """Remove what a test session that died without stopping its hosts left behind: their
    containers (they keep running when only the test process dies, and their systemd keeps extra
    cgroup hierarchies alive), root file systems, veths, namespaces and, for ``names=None`` (every
    test host, for a session that starts before any of its own), the bridges."""

    def ours(host: str) -> bool:
        return names is None or host in names

    cleared = []
    for container in runc_containers():
        if container.startswith("kdh-") and ours(container.removeprefix("kdh-")):
            _run("runc", "--root", str(RUNC_ROOT), "delete", "--force", container, check=False)
            cleared.append(f"container {container}")
    for line in Path("/proc/mounts").read_text().splitlines():
        kind, mount_point = line.split()[2], line.split()[1]
        merged = Path(mount_point)
        if (
            kind == "overlay"
            and merged.name == "merged"
            and "/testhosts" in mount_point
            and ours(merged.parent.name)
        ):
            _run("umount", mount_point, check=False)
            cleared.append(f"mount {mount_point}")
    veths = None if names is None else {veth_name(n) for n in names}
    for link in _links():
        if (link.startswith("kdv-") and (veths is None or link in veths)) or (
            names is None and link.startswith("kdhosts")
        ):
            _run("ip", "link", "delete", link, check=False)
            cleared.append(f"link {link}")
    for namespace in _namespaces():
        if namespace.startswith("kdh-") and ours(namespace.removeprefix("kdh-")):
            _run("ip", "netns", "delete", namespace, check=False)
            cleared.append(f"netns {namespace}")
    if names is None:
        for parent in Path("/sys/fs/cgroup").glob(f"*/{CGROUP_PARENT}"):
            with contextlib.suppress(OSError):
                parent.rmdir()
                cleared.append(f"cgroup {parent}")
    return cleared


class TestNetwork:
    """A bridge with the controller's address on it; the hosts' veths join it."""

    __test__ = False

    def __init__(self, bridge: str = "kdhosts0", cidr: str = "10.199.0.0/24") -> None:
        self.bridge = bridge
        self.network = ipaddress.IPv4Network(cidr)
        self.gateway = str(self.network.network_address + 1)

    def address(self, index: int) -> str:
        return str(self.network.network_address + 10 + index)

    @property
    def dead_end(self) -> str:
        """The hosts' default gateway: an address on the bridge that no one holds."""
        return str(self.network.broadcast_address - 1)

    def up(self) -> None:
        self.down()
        _run("ip", "link", "add", self.bridge, "type", "bridge")
        _run("ip", "addr", "add", f"{self.gateway}/{self.network.prefixlen}", "dev", self.bridge)
        _run("ip", "link", "set", self.bridge, "up")

    def down(self) -> None:
        _run("ip", "link", "delete", self.bridge, check=False)


@dataclass
class HostSpec:
    name: str
    swap_mb: int = 0
    sudo_password: bool = False
    node: bool = False


class TestHosts:
    """Several hosts on one bridge, started together and removed together."""

    __test__ = False

    def __init__(
        self, cache: CacheDirs, workdir: Path, specs: list[HostSpec], network: TestNetwork | None = None
    ) -> None:
        self.cache = cache
        self.workdir = workdir
        self.network = network or TestNetwork()
        self.specs = specs
        self.hosts: dict[str, TestHost] = {}
        self.key: KeyPair | None = None
        self.cleared: list[str] = []
        """What :meth:`start` removed of an earlier session with the same host names."""

    @property
    def unused_address(self) -> str:
        """An address on the bridge's network where no host answers."""
        return self.network.address(200)

    def start(self) -> None:
        self._netns_was_mounted = is_mount_point(NETNS_DIR)
        self.hosts = {
            spec.name: TestHost(
                spec.name,
                self.network.address(index),
                self.workdir / spec.name,
                swap_mb=spec.swap_mb,
                sudo_password=spec.sudo_password,
                node=spec.node,
            )
            for index, spec in enumerate(self.specs, start=1)
        }
        self.cleared = self.clear_interrupted_session()
        images = {node: ensure_image(self.cache, node) for node in {s.node for s in self.specs}}
        self._machine_sysctls = {
            key: (Path("/proc/sys") / key).read_text()
            for key in NODE_SYSCTLS
            if any(s.node for s in self.specs)
        }
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.key = KeyPair.create(self.workdir)
        self.network.up()
        try:
            for host in self.hosts.values():
                host.start(
                    images[host.node],
                    self.network.bridge,
                    self.network.network.prefixlen,
                    self.key,
                    self.network.dead_end,
                    self.network.gateway,
                )
            for host in self.hosts.values():
                host.wait_ssh()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for host in self.hosts.values():
            host.stop()
        for key, value in getattr(self, "_machine_sysctls", {}).items():
            (Path("/proc/sys") / key).write_text(value)
        self.network.down()
        unmount_netns_dir_if_unused(getattr(self, "_netns_was_mounted", True))
        with contextlib.suppress(OSError):
            for sub in Path("/sys/fs/cgroup").iterdir():
                with contextlib.suppress(OSError):
                    (sub / CGROUP_PARENT).rmdir()  # fails, as it should, while other hosts run

    def clear_interrupted_session(self) -> list[str]:
        """Remove what an earlier session left of these hosts (see :func:`clear_killed_hosts`)."""
        return clear_killed_hosts(self.hosts)

    def leftovers(self) -> list[str]:
        """What of these hosts is still on the machine after :meth:`stop` (should be nothing)."""
        namespaces = set(_namespaces())
        found = [f"netns {h.netns}" for h in self.hosts.values() if h.netns in namespaces]
        links = set(_links())
        found += [
            f"link {name}"
            for name in sorted(links & {self.network.bridge, *(h.veth for h in self.hosts.values())})
        ]
        found += [
            f"mount {line.split()[1]}"
            for line in Path("/proc/mounts").read_text().splitlines()
            if str(self.workdir) in line.split()[1]
        ]
        containers = set(runc_containers())
        found += [f"container {h.container}" for h in self.hosts.values() if h.container in containers]
        found += [
            str(p)
            for h in self.hosts.values()
            for p in Path("/sys/fs/cgroup").glob(f"*/{CGROUP_PARENT}/{h.name}")
        ]
        if not containers:
            found += [str(p) for p in Path("/sys/fs/cgroup").glob(f"*/{CGROUP_PARENT}")]
        return found

    @contextlib.contextmanager
    def running(self) -> Iterator[TestHosts]:
        self.start()
        try:
            yield self
        finally:
            self.stop()


if __name__ == "__main__":  # `python3 -m tests.hosts.testhosts`: build the hosts' root ahead (scripts/test)
    from kubedojo.config import parse_config

    print(f"test hosts' root filesystem: {ensure_image(CacheDirs.under(parse_config({}).cache_root))}")
