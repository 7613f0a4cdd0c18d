"""The local provider: ``up``, ``down`` and ``status`` of the embedded single-node cluster."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..client.commands import Runner, require_tool
from ..client.host import Host
from ..client.kube import KubeClient
from ..client.processes import ProcessTable, any_alive, processes_in_cgroup, processes_with_cmdline, terminate
from ..clusterstatus import (
    ClusterStatus,
    ComponentStatus,
    NodeStatus,
    node_status,
)
from ..config import WorkshopConfig
from ..errors import (
    ClusterBusyError,
    ClusterError,
    CommandError,
    ComponentError,
    NotRunningError,
    WaitTimeout,
)
from ..files import write_atomic
from ..paths import RUNTIME_DIR, CacheDirs, StateDirs
from ..progress import NullReporter, Reporter
from .artifacts import Artifacts
from .components import components
from .dns_storage import HOSTPATH_PV_DIR, coredns_objects, storage_objects
from .hostsetup import HostSetup
from .images import ADDON_IMAGES, IMAGES, ContextImage, ImageRecipe
from .layout import CGROUP_ROOT, CONTAINERD_SOCKET, Component, Layout
from .netpolicy import NAME as ENFORCER
from .node import cni_conflist
from .readiness import (
    install_enforcer_rbac,
    install_sim_outcome_policy,
    reconcile_sim_nodes,
    wait_dns_ready,
    wait_node_ready,
)
from .supervisor import read_restarts, supervisor_daemon, write_supervised

__all__ = ["ClusterStatus", "ComponentStatus", "LocalCluster", "NodeStatus", "UpReport"]

_OWNER = RUNTIME_DIR / "owner"


@dataclass
class UpReport:
    """What ``up`` did; ``changed`` is False when the cluster was already as asked."""

    actions: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    """What works, but not as it should on this machine (see :meth:`LocalCluster.warnings`)."""

    def add(self, subject: str, action: str) -> None:
        self.actions.append((subject, action))

    @property
    def changed(self) -> bool:
        return any(action != "unchanged" for _, action in self.actions)


class LocalCluster:
    """The embedded cluster described by a :class:`~kubedojo.config.WorkshopConfig`."""

    def __init__(
        self,
        config: WorkshopConfig,
        *,
        runner: Runner | None = None,
        processes: ProcessTable | None = None,
        host: Host | None = None,
        reporter: Reporter | None = None,
    ) -> None:
        self.config = config
        self.settings = config.local
        self.runner = runner or Runner()
        self.processes = processes or ProcessTable()
        self.host = host or Host(self.runner)
        self.reporter: Reporter = reporter or NullReporter()
        self.state = StateDirs(Path(self.settings.state_dir))
        self.cache = CacheDirs.under(config.cache_root)
        self.artifacts = Artifacts(
            self.settings, self.cache, self.runner, self.reporter, sources=config.sources_root
        )
        self.layout = Layout(
            settings=self.settings,
            state=self.state,
            k8s_bin=self.artifacts.k8s_bin,
            kwok_bin=self.artifacts.kwok_bin,
            netpol_bin=self.artifacts.netpol_bin,
        )
        self.components = components(self.layout, self.cache.registry)
        self.supervisor = supervisor_daemon(self.state.pids, self.state.logs)
        """Restarts components that die (:mod:`.supervisor`); not a component itself."""
        self._kubelet_started: datetime | None = None
        self.host_setup = HostSetup(self.settings.network, self.state, self.host, self.runner)

    # -- helpers -----------------------------------------------------------------------------

    def component(self, name: str) -> Component:
        for comp in self.components:
            if comp.name == name:
                return comp
        raise ClusterError(f"no component named {name!r}")

    @property
    def kubeconfig_path(self) -> Path:
        return self.state.admin_kubeconfig

    def admin_client(self) -> KubeClient:
        return KubeClient.from_kubeconfig(self.kubeconfig_path)

    def image_ref(self, name: str) -> str:
        recipe = {r.name: r for r in IMAGES}[name]
        return recipe.ref(self.layout.registry)

    # -- up ----------------------------------------------------------------------------------

    def up(self, sim_nodes: Mapping[str, int] | None = None) -> UpReport:
        """Build what is missing, start what is not running, repair what died. Idempotent."""
        started = time.monotonic()
        report = UpReport()
        self._preflight()
        # Nothing restarts components behind up's back while it works on them (it starts the
        # supervisor again at the end).
        self.processes.stop(self.supervisor)
        report.actions += self.artifacts.prepare()
        report.actions += self.artifacts.certificates(self.layout)
        with self.reporter.step("Host network, cgroups and mount namespace"):
            _OWNER.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            _OWNER.write_text(str(self.state.root) + "\n")
            changed = self.host_setup.apply()
            write_atomic(self.state.cni / "net.d" / "10-kubedojo.conflist", cni_conflist(self.layout))
            report.add("host", f"set up {', '.join(changed)}" if changed else "unchanged")
        for stage in sorted({c.stage for c in self.components}):
            if stage == self.component(ENFORCER).stage:
                with self.reporter.step("Permissions of the NetworkPolicy enforcer"):
                    client = self.admin_client()
                    try:
                        report.actions += install_enforcer_rbac(client)
                    finally:
                        client.close()
            self._start_stage(stage, report)
            if stage == 0:
                report.actions += self.artifacts.push_images(self.layout.registry)
        client = self.admin_client()
        try:
            with self.reporter.step("Cluster DNS, storage class, admission policy and simulated nodes"):
                applied = client.apply(
                    coredns_objects(self.image_ref("coredns"), self.settings.network.dns_service_ip)
                )
                report.add("coredns", f"applied {', '.join(applied)}" if applied else "unchanged")
                applied = client.apply(storage_objects())
                report.add("storage class", f"applied {', '.join(applied)}" if applied else "unchanged")
                report.actions += install_sim_outcome_policy(client, self.settings)  # sim nodes or not
                if sim_nodes:
                    report.actions += reconcile_sim_nodes(client, self.settings, sim_nodes)
            with self.reporter.step("Node Ready"):
                wait_node_ready(client, self.settings, self._kubelet_started)
                wait_dns_ready(client, self.settings)
        finally:
            client.close()
        write_supervised(self.state.pids, [c.daemon for c in self.components])
        self.processes.start(self.supervisor)
        report.warnings = self.warnings()
        report.seconds = time.monotonic() - started
        return report

    def build(self) -> UpReport:
        """Build or download the binaries and build the images, without starting anything."""
        started = time.monotonic()
        report = UpReport(self.artifacts.prepare())
        report.seconds = time.monotonic() - started
        return report

    def _preflight(self) -> None:
        if os.geteuid() != 0:
            raise ClusterError(
                "the local cluster needs root (it runs containerd and the kubelet "
                "and sets up networking): run it as root or with sudo"
            )
        for tool in (
            "etcd",
            "containerd",
            "runc",
            "docker-registry",
            "buildah",
            "iptables",
            "ip6tables",
            "ip",
            "nft",
            "unshare",
            "nsenter",
            "umount",
        ):
            require_tool(tool)
        for plugin in ("bridge", "host-local", "loopback"):
            if not (Path("/usr/lib/cni") / plugin).exists():
                raise ClusterError(
                    f"/usr/lib/cni/{plugin} is missing: apt-get install "
                    "containernetworking-plugins (or run ./scripts/setup)"
                )
        if not Path("/sys/fs/cgroup/memory").is_dir():
            raise ClusterError(
                "no cgroup v1 memory controller at /sys/fs/cgroup/memory: the local "
                "cluster expects this machine's cgroup v1 (hybrid) layout"
            )
        with contextlib.suppress(OSError):
            owner = _OWNER.read_text().strip()
            if owner and owner != str(self.state.root) and any_alive(StateDirs(Path(owner)).pids):
                raise ClusterBusyError(
                    f"another kubedojo cluster (state directory {owner}) is running on this machine; "
                    "stop it first with 'invoke cluster.down' using that state directory"
                )

    def _start_stage(self, stage: int, report: UpReport) -> None:
        comps = [c for c in self.components if c.stage == stage]
        names = ", ".join(c.name for c in comps)
        with self.reporter.step(f"Starting {names}"):
            waiting: list[Component] = []
            for comp in comps:
                for path, content in comp.files.items():
                    write_atomic(path, content, mode=0o600 if path.suffix == ".kubeconfig" else 0o644)
                stamp = self.state.pids / f"{comp.name}.fingerprint"
                fingerprint = comp.fingerprint()
                running = self.processes.alive(comp.daemon)
                had_run = comp.daemon.pidfile.exists()
                same = stamp.exists() and stamp.read_text() == fingerprint
                if running and same:
                    if comp.probe():
                        report.add(comp.name, "unchanged")
                        continue
                    report.add(comp.name, "unchanged")
                    waiting.append(comp)
                    continue
                if running:
                    self.processes.stop(comp.daemon)
                    action = "restarted (configuration changed)"
                else:
                    action = "restarted" if had_run else "started"
                if comp.name == "kubelet":
                    self.state.kubelet.mkdir(parents=True, exist_ok=True)
                    self._kubelet_started = datetime.now(UTC) - timedelta(seconds=2)
                self.processes.start(comp.daemon)
                write_atomic(stamp, fingerprint)
                report.add(comp.name, action)
                waiting.append(comp)
            self._wait_healthy(waiting)

    def _wait_healthy(self, comps: list[Component]) -> None:
        timeout = self.settings.start_timeout
        deadline = time.monotonic() + timeout
        pending = list(comps)
        while pending:
            for comp in list(pending):
                if comp.probe(timeout=1.0):
                    pending.remove(comp)
                elif not self.processes.alive(comp.daemon):
                    raise ComponentError(
                        comp.name,
                        f"exited during start-up: {_last_line(comp.daemon.log)}",
                        str(comp.daemon.log),
                    )
            if pending and time.monotonic() > deadline:
                comp = pending[0]
                raise ComponentError(
                    comp.name,
                    f"not healthy after {timeout:g} s: {_last_line(comp.daemon.log)}",
                    str(comp.daemon.log),
                )
            if pending:
                time.sleep(0.1)  # a health endpoint offers nothing to watch

    # -- down --------------------------------------------------------------------------------

    def down(self, purge: bool = False) -> list[str]:
        """Stop everything and put the host back as it was. Idempotent; returns what was undone."""
        undone: list[str] = []
        if os.geteuid() != 0:
            raise ClusterError("cluster.down needs root: run it as root or with sudo")
        with contextlib.suppress(OSError):
            owner = _OWNER.read_text().strip()
            if owner and owner != str(self.state.root) and any_alive(StateDirs(Path(owner)).pids):
                raise ClusterBusyError(
                    f"the running cluster belongs to state directory {owner}, not {self.state.root}"
                )
        if self.processes.stop(self.supervisor):  # first: it would start the others again
            undone.append("supervisor")
        with self.reporter.step("Stopping the control plane's clients and the kubelet"):
            self._stop_parallel([c for c in self.components if c.stage == 2], undone)
        with self.reporter.step("Stopping pods and containerd"):
            killed = self._kill_pods()
            if killed:
                undone.append(f"{killed} pod processes")
            self._stop_parallel([self.component("containerd")], undone)
            self._cleanup_iptables(undone)
        with self.reporter.step("Stopping the API server, etcd and the registry"):
            self._stop_parallel([self.component("kube-apiserver")], undone)
            self._stop_parallel([c for c in self.components if c.stage == 0], undone)
        with self.reporter.step("Restoring host settings"):
            undone += self.host_setup.revert(self.state.pod_logs)
            for leftover in self.host.mounts_under(self.state.root, RUNTIME_DIR):
                with contextlib.suppress(CommandError):
                    self.host.unmount(leftover.mount_point)
            with contextlib.suppress(FileNotFoundError):
                shutil.rmtree(RUNTIME_DIR)
        if purge:
            with self.reporter.step(f"Removing {self.state.root}"):
                if self.state.root.exists():
                    shutil.rmtree(self.state.root, ignore_errors=True)
                    undone.append(f"state directory {self.state.root}")
                # The volumes of the purged cluster's claims (its etcd, and so its PVs, are gone).
                if Path(HOSTPATH_PV_DIR).is_dir():
                    shutil.rmtree(HOSTPATH_PV_DIR, ignore_errors=True)
                    undone.append(f"volumes {HOSTPATH_PV_DIR}")
        return undone

    def _stop_parallel(self, comps: Iterable[Component], undone: list[str]) -> None:
        comps = list(comps)
        with ThreadPoolExecutor(max_workers=max(1, len(comps))) as pool:
            results = list(pool.map(lambda c: (c.name, self.processes.stop(c.daemon)), comps))
        for comp in comps:
            with contextlib.suppress(FileNotFoundError):
                (self.state.pids / f"{comp.name}.fingerprint").unlink()
        undone.extend(name for name, was_running in results if was_running)

    def pod_processes(self) -> set[int]:
        """Every container process and every shim of this cluster's containerd (they outlive it)."""
        found: set[int] = set()
        for directory in self.host.cgroup_dirs(CGROUP_ROOT):
            found.update(processes_in_cgroup(directory))
        found.update(processes_with_cmdline(b"containerd-shim", str(CONTAINERD_SOCKET).encode()))
        found.discard(os.getpid())
        return found

    def _kill_pods(self, rounds: int = 10) -> int:
        """SIGKILL every container process and every shim of this cluster's containerd, again
        while new ones appear: a container that a shim was starting when the first round looked
        shows up only after it (at most ``rounds`` rounds)."""
        killed: set[int] = set()
        for _ in range(rounds):
            victims = self.pod_processes() - killed
            if not victims:
                break
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(lambda pid: terminate(pid, 0.0), victims))
            killed |= victims
        return len(killed)

    def _cleanup_iptables(self, undone: list[str]) -> None:
        proxy = self.layout.k8s_bin / "kube-proxy"
        if proxy.exists():
            with contextlib.suppress(CommandError, WaitTimeout):
                self.runner.run([str(proxy), "--cleanup", "--v=0"], timeout=30)
        removed = self.host.delete_iptables_chains("KUBE-")
        if removed:
            undone.append(f"{removed} iptables chains")

    # -- status ------------------------------------------------------------------------------

    def status(self) -> ClusterStatus:
        comps = [
            ComponentStatus(
                c.name,
                self.processes.pid(c.daemon),
                self.processes.alive(c.daemon) and c.probe(timeout=1.0),
                str(c.daemon.log),
                read_restarts(self.state.pids, c.name).count,
            )
            for c in self.components
        ]
        comps.append(
            ComponentStatus(
                self.supervisor.name,
                self.processes.pid(self.supervisor),
                self.processes.alive(self.supervisor),
                str(self.supervisor.log),
            )
        )
        nodes: list[NodeStatus] = []
        api = next(c for c in comps if c.name == "kube-apiserver")
        if api.healthy:
            client = self.admin_client()
            try:
                nodes = [node_status(node) for node in client.nodes()]
            finally:
                client.close()
        return ClusterStatus(
            str(self.state.root),
            comps,
            nodes,
            self.layout.api_url,
            str(self.kubeconfig_path),
            warnings=self.warnings(),
        )

    def warnings(self) -> list[str]:
        """What this machine does that makes the cluster misreport, each as one line with the way out."""
        missing = self.host.unmounted_cgroup_hierarchies()
        if not missing:
            return []
        return [
            f"cgroup hierarchies {' '.join(missing)} exist on this machine but are not mounted under "
            "/sys/fs/cgroup (a container running systemd mounts them in its own namespace): containerd "
            "cannot read pods' cgroups, so a pod killed for memory ends as Error, not OOMKilled, and "
            "the OOM labs grade it wrong; stop that container, or mount them on the host "
            "(docs/local-cluster.md, 'Unmounted cgroup hierarchies')"
        ]

    def require_running(self) -> None:
        api = self.component("kube-apiserver")
        if not (self.processes.alive(api.daemon) and api.probe()):
            raise NotRunningError(
                f"no local cluster is running (state directory {self.state.root}): run 'invoke cluster.up'"
            )

    # -- images -------------------------------------------------------------------------------

    def build_images(
        self, rebuild: bool = False, recipes: Iterable[ImageRecipe] = IMAGES
    ) -> list[tuple[str, str, str]]:
        """Build the cluster's images, or ``recipes`` (again, with ``rebuild``) and push them to the
        registry when it runs. Rows of (reference, "built"|"cached", "pushed"|"present"|"registry not
        running")."""
        return self.artifacts.build_images(self.layout.registry, self._registry_running(), rebuild, recipes)

    def ensure_context_images(
        self, images: Iterable[ContextImage], rebuild: bool = False, require_registry: bool = True
    ) -> list[tuple[str, str, str]]:
        """Build the given (lab) images when their directory changed (or ``rebuild``) and push them
        to the running registry. Rows of (reference, "built"|"cached", "pushed"|"present"|...)."""
        running = self._registry_running()
        if require_registry and not running:
            raise NotRunningError("the local registry is not running: run 'invoke cluster.up' first")
        return self.artifacts.ensure_context_images(images, self.layout.registry, running, rebuild)

    def ensure_addon_images(
        self, names: Iterable[str] | None = None, require_registry: bool = True
    ) -> list[tuple[str, str, str]]:
        """Build the add-ons' images (all, or those ``names`` gives) where missing, their programs from
        Go modules, and push them to the running registry. Rows of (reference, "built"|"cached",
        "pushed"|"present"|...)."""
        running = self._registry_running()
        if require_registry and not running:
            raise NotRunningError("the local registry is not running: run 'invoke cluster.up' first")
        wanted = None if names is None else set(names)
        recipes = [r for r in ADDON_IMAGES if wanted is None or r.name in wanted]
        return self.artifacts.build_images(self.layout.registry, running, recipes=recipes)

    def _registry_running(self) -> bool:
        registry = self.component("registry")
        return self.processes.alive(registry.daemon) and registry.probe()

    @property
    def registry(self) -> str:
        return self.layout.registry


def _last_line(log: Path) -> str:
    try:
        with log.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 4096))
            lines = [ln for ln in handle.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    except OSError:
        return "no log"
    return lines[-1][:300] if lines else "no output"
