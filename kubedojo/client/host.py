"""Host settings the local cluster changes, and the means to put them back: sysctls, links and
routes, nftables tables, iptables chains, mounts and cgroups. Everything runs through a
:class:`~kubedojo.client.commands.Runner` or reads /proc and /sys.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import CommandError
from .commands import Runner

__all__ = ["Host", "MountEntry"]

_CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class MountEntry:
    mount_point: str
    fs_type: str
    source: str
    super_options: str = ""
    """The file system's own options (for cgroup v1, its controllers), comma-separated."""


class Host:
    """This machine, as far as the cluster touches it."""

    def __init__(self, runner: Runner | None = None, proc: Path = Path("/proc")) -> None:
        self.runner = runner or Runner()
        self.proc = proc

    # -- sysctls -----------------------------------------------------------------------------

    def sysctl_path(self, key: str) -> Path:
        return self.proc / "sys" / key.replace(".", "/")

    def get_sysctl(self, key: str) -> str | None:
        try:
            return self.sysctl_path(key).read_text().strip()
        except OSError:
            return None

    def set_sysctl(self, key: str, value: str) -> None:
        with contextlib.suppress(OSError):
            self.sysctl_path(key).write_text(value)

    def record_sysctls(self, keys: Iterable[str], record: Path) -> None:
        """Write the current values of ``keys`` to ``record`` unless a record already exists
        (a record means the cluster was up before and these are the pre-cluster values)."""
        if record.exists():
            return
        values = {key: self.get_sysctl(key) for key in keys}
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({"sysctls": values}, indent=2) + "\n")

    def restore_sysctls(self, record: Path) -> dict[str, str]:
        """Put back what :meth:`record_sysctls` saw; returns what was changed back."""
        try:
            values = json.loads(record.read_text())["sysctls"]
        except (OSError, ValueError, KeyError):
            return {}
        restored = {}
        for key, value in values.items():
            if value is not None and self.get_sysctl(key) != value:
                self.set_sysctl(key, value)
                restored[key] = value
        record.unlink()
        return restored

    # -- links and routes --------------------------------------------------------------------

    def link_exists(self, name: str) -> bool:
        return Path(f"/sys/class/net/{name}").exists()

    def ensure_bridge(self, name: str, address_cidr: str) -> None:
        if not self.link_exists(name):
            self.runner.run(["ip", "link", "add", name, "type", "bridge"])
        addresses = self.runner.output(["ip", "-o", "-4", "addr", "show", "dev", name])
        if f" {address_cidr} " not in addresses:
            self.runner.run(["ip", "addr", "replace", address_cidr, "dev", name])
        self.runner.run(["ip", "link", "set", name, "up"])

    def delete_link(self, name: str) -> bool:
        if not self.link_exists(name):
            return False
        self.runner.run(["ip", "link", "delete", name])
        return True

    def veths_on(self, bridge: str) -> list[str]:
        brif = Path(f"/sys/class/net/{bridge}/brif")
        return sorted(p.name for p in brif.iterdir()) if brif.is_dir() else []

    def ensure_unreachable_route(self, cidr: str) -> None:
        self.runner.run(["ip", "route", "replace", "unreachable", cidr])

    def delete_unreachable_route(self, cidr: str) -> bool:
        routes = self.runner.output(["ip", "-4", "route", "show", "type", "unreachable"])
        if not any(line.split()[1:2] == [cidr] for line in routes.splitlines()):
            return False
        self.runner.run(["ip", "route", "delete", "unreachable", cidr])
        return True

    # -- nftables and iptables -------------------------------------------------------------

    def nft_tables(self) -> list[str]:
        return [
            ln.removeprefix("table ").strip()
            for ln in self.runner.output(["nft", "list", "tables"]).splitlines()
            if ln.strip()
        ]

    def replace_nft_table(self, family: str, name: str, body: str) -> None:
        """Create or replace a whole nftables table atomically."""
        script = ""
        if f"{family} {name}" in self.nft_tables():
            script += f"delete table {family} {name}\n"
        script += f"table {family} {name} {{\n{body}\n}}\n"
        self.runner.run(["nft", "-f", "-"], input=script)

    def delete_nft_table(self, family: str, name: str) -> bool:
        if f"{family} {name}" not in self.nft_tables():
            return False
        self.runner.run(["nft", "delete", "table", family, name])
        return True

    def iptables_save(self, ipv6: bool = False) -> str:
        """The ruleset without packet counters, for before/after comparisons."""
        text = self.runner.output(["ip6tables-save" if ipv6 else "iptables-save"])
        lines = []
        for line in text.splitlines():
            if line.startswith("#"):
                continue
            lines.append(re.sub(r" \[\d+:\d+\]$", "", line))
        return "\n".join(lines)

    def delete_iptables_chains(self, prefix: str) -> int:
        """Remove every chain whose name starts with ``prefix`` (and the jumps to it), in both
        the IPv4 and IPv6 rulesets; returns how many chains went."""
        removed = 0
        for ipv6 in (False, True):
            tool = "ip6tables" if ipv6 else "iptables"
            table = ""
            jumps: list[tuple[str, list[str]]] = []
            chains: list[tuple[str, str]] = []
            for line in self.iptables_save(ipv6).splitlines():
                if line.startswith("*"):
                    table = line[1:]
                elif line.startswith(":") and line[1:].split()[0].startswith(prefix):
                    chains.append((table, line[1:].split()[0]))
                elif line.startswith("-A "):
                    parts = shlex.split(line)
                    if not parts[1].startswith(prefix) and _jumps_to(parts, prefix):
                        jumps.append((table, parts[1:]))
            for table, rule in jumps:
                with contextlib.suppress(CommandError):
                    self.runner.run([tool, "-w", "-t", table, "-D", *rule])
            for table, chain in chains:
                with contextlib.suppress(CommandError):
                    self.runner.run([tool, "-w", "-t", table, "-F", chain])
            for table, chain in chains:
                with contextlib.suppress(CommandError):
                    self.runner.run([tool, "-w", "-t", table, "-X", chain])
                    removed += 1
        return removed

    # -- mounts ------------------------------------------------------------------------------

    def mounts(self) -> list[MountEntry]:
        entries = []
        for line in (self.proc / "self/mountinfo").read_text().splitlines():
            left, _, right = line.partition(" - ")
            fields = left.split()
            fs_type, source, super_options, *_ = [*right.split(), "", "", ""]
            entries.append(MountEntry(_unescape(fields[4]), fs_type, source, super_options))
        return entries

    def mounts_under(self, *prefixes: Path) -> list[MountEntry]:
        return [
            m
            for m in self.mounts()
            if any(m.mount_point == str(p) or m.mount_point.startswith(f"{p}/") for p in prefixes)
        ]

    def unmount(self, path: str) -> None:
        self.runner.run(["umount", "--lazy", path])

    # -- cgroups -----------------------------------------------------------------------------

    def unmounted_cgroup_hierarchies(self) -> list[str]:
        """cgroup v1 hierarchies this machine has that no mount in this mount namespace shows.

        Another mount namespace made them: systemd in a container mounts every controller it
        knows. containerd resolves each hierarchy of a process's ``/proc/<pid>/cgroup`` through the
        mount table, so while one of these exists it cannot load a pod's cgroups. Each is given as
        its controllers, for example ``net_cls,net_prio``.
        """
        mounted = [set(m.super_options.split(",")) for m in self.mounts() if m.fs_type == "cgroup"]
        missing = []
        for line in (self.proc / "self/cgroup").read_text().splitlines():
            hierarchy, _, rest = line.partition(":")
            controllers = rest.partition(":")[0]
            if (
                hierarchy != "0"
                and controllers
                and not any(set(controllers.split(",")) <= m for m in mounted)
            ):
                missing.append(controllers)
        return missing

    def cgroup_dirs(self, name: str) -> list[Path]:
        """``/sys/fs/cgroup/<controller>/<name>`` in every v1 hierarchy where it exists."""
        if not _CGROUP_ROOT.is_dir():
            return []
        return [d / name for d in sorted(_CGROUP_ROOT.iterdir()) if (d / name).is_dir()]

    def remove_cgroup_tree(self, path: Path) -> int:
        """rmdir a cgroup and all below it, deepest first; returns how many could not go."""
        failed = 0
        for root, dirs, _files in os.walk(path, topdown=False):
            for d in dirs:
                try:
                    os.rmdir(Path(root) / d)
                except FileNotFoundError:
                    pass
                except OSError:
                    failed += 1
        try:
            os.rmdir(path)
        except FileNotFoundError:
            pass
        except OSError:
            failed += 1
        return failed

    def create_cgroup(self, name: str, controllers: Iterable[str]) -> None:
        for controller in controllers:
            directory = _CGROUP_ROOT / controller
            if directory.is_dir() and not directory.is_symlink():
                (directory / name).mkdir(exist_ok=True)


def _jumps_to(parts: list[str], prefix: str) -> bool:
    for flag in ("-j", "-g"):
        if flag in parts:
            index = parts.index(flag)
            if index + 1 < len(parts) and parts[index + 1].startswith(prefix):
                return True
    return False


def _unescape(path: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), path)
