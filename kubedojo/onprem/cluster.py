"""An on-prem site and what can be done to it: preflight, ``up`` (kubespray's cluster.yml), ``scale``,
``remove_node``, ``reset``, ``upgrade`` and ``status``.

Every kubespray run is non-interactive (its confirmation variables are set), goes through
ansible-runner, and is preceded by the checks that can fail fast: the site file, kubespray's
presence, the Ansible version kubespray asserts, and preflight on the machines.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..addons.site_images import ImagePusher, load_site_images, push_site_images
from ..client.ansible import AnsibleRunner, ansible_core_version
from ..clusterstatus import ClusterStatus, ComponentStatus, node_status
from ..config import WorkshopConfig
from ..errors import (
    ApiError,
    ClusterError,
    ConfigError,
    NotRunningError,
    ProvisionError,
    Unreachable,
)
from ..files import write_atomic
from ..paths import CacheDirs
from ..progress import NullReporter, Reporter
from ..versions import KUBERNETES_VERSION
from .bundling import push_bundle_images
from .inventory import GeneratedInventory, write_inventory
from .kubespray import (
    KUBESPRAY,
    KubesprayFetcher,
    KubesprayRelease,
    KubesprayTree,
    check_ansible_version,
)
from .kubeversions import SiteState, install_version, upgrade_problem
from .preflight import (
    CLOCK_TASK,
    PLAYBOOK_TASKS,
    HostReport,
    PreflightReport,
    apply_ignores,
    judge_host,
    observations,
)
from .runs import PlaybookWatcher, RunReport, SiteRunner
from .site import SITE_FILE, Site, load_site
from .sitechecks import bundle_path, misspelt_variables
from .siteserve import ServeReport, SiteServer

__all__ = ["OnpremCluster", "PreflightFailed", "UpReport"]

PINNED_KUBERNETES = KUBERNETES_VERSION.removeprefix("v")
_KUBECONFIG_TASK = "Read the admin kubeconfig"


class PreflightFailed(ProvisionError):
    """Preflight found a machine that kubespray would fail on; ``report`` has every host and check."""

    def __init__(self, report: PreflightReport) -> None:
        super().__init__(f"preflight failed: {report.summary()}", artifact_dir=report.artifact_dir)
        self.report = report


@dataclass
class UpReport:
    preflight: PreflightReport | None = None
    runs: list[RunReport] = field(default_factory=list)
    kubeconfig: str = ""
    kubespray: str = ""
    kubernetes_version: str = ""


def _assets() -> Path:
    return Path(str(resources.files("kubedojo.onprem").joinpath("assets")))


@dataclass(frozen=True)
class Prepared:
    """What a run starts from: kubespray's tree and the Kubernetes version it installs."""

    tree: KubesprayTree
    kube_version: str


class OnpremCluster:
    """A site directory (``inventory/<name>/``) and the operations on its machines."""

    def __init__(
        self,
        site_dir: Path,
        config: WorkshopConfig,
        project_dir: Path,
        *,
        ansible: AnsibleRunner | None = None,
        watcher: PlaybookWatcher | None = None,
        reporter: Reporter | None = None,
        cancel: threading.Event | None = None,
        release: KubesprayRelease | None = None,
        ansible_version: Callable[[], str] = ansible_core_version,
    ) -> None:
        self.site_dir = site_dir.resolve()
        self.config = config
        self.project_dir = project_dir
        self.site: Site = load_site(self.site_dir)
        self.reporter: Reporter = reporter or NullReporter()
        self.ansible_version = ansible_version
        release = release or KubesprayRelease(
            KUBESPRAY.version, KUBESPRAY.tree, KUBESPRAY.commit, config.onprem.kubespray_sha256
        )
        self.fetcher = KubesprayFetcher(
            CacheDirs.under(config.cache_root), config.onprem.kubespray_url, release
        )
        self.inventory = GeneratedInventory.of(self.site_dir)
        self.state = SiteState.of(self.site_dir)
        self.runner = SiteRunner(
            self.name,
            self.inventory.hosts_file,
            self.site_dir / "runs",
            self.site_dir / "facts",
            ansible=ansible,
            watcher=watcher,
            cancel=cancel,
            connect_timeout=self.site.ssh.connect_timeout,
            forks=config.onprem.forks,
        )

    @property
    def name(self) -> str:
        return self.site_dir.name

    @property
    def kubeconfig_path(self) -> Path:
        return self.site_dir / "admin.kubeconfig"

    def _bundle_vars(self) -> dict[str, str]:
        """What preflight's bundle check reaches for, on an offline site."""
        if not self.site.offline.bundle:
            return {}
        return {
            "kubedojo_files_repo": self.site.offline.files_repo,
            "kubedojo_registry": self.site.registry.address,
        }

    @property
    def _kubespray_skips(self) -> tuple[str, ...]:
        """An offline site has no package mirror: kubespray's package installation (which refreshes
        apt's lists first, even with every package present) is skipped, and preflight's ``packages``
        check makes sure the machines have them."""
        return ("system-packages",) if self.site.offline.bundle else ()

    # -- what every operation needs first ---------------------------------------------------------

    def kubespray(self) -> KubesprayTree:
        """The configured checkout, or the pinned release from the cache (fetched if missing)."""
        checkout = self.config.onprem.kubespray_checkout
        if checkout:
            path = Path(checkout).expanduser()
            path = path if path.is_absolute() else (self.project_dir / path)
            tree = KubesprayTree(path.resolve(), f"checkout {path}")
        else:
            cached = self.fetcher.cached()
            if cached is None:
                with self.reporter.step(f"Fetching kubespray {self.fetcher.release.version}"):
                    cached, _ = self.fetcher.ensure()
            tree = cached
        tree.check_entry_points()
        check_ansible_version(tree, self.ansible_version())
        return tree

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One operation per site at a time (a second would fight over the machines and the fact
        cache); when it ends, its SSH connections to the machines are closed, leaving no process."""
        lock = self.site_dir / ".kubedojo.lock"
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
                raise ClusterError(
                    f"site '{self.name}' is busy: another kubedojo run (pid {holder}) is working on it"
                ) from None
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            try:
                yield
            finally:
                self.runner.close_connections()
        finally:
            os.close(fd)

    def _prepare(self, kube_version: str = "", tree: KubesprayTree | None = None) -> Prepared:
        """kubespray's tree (``tree``, found already), the Kubernetes version this run installs
        (``kube_version``, or the one the cluster runs, site.yaml's, the pinned one) and the inventory
        written for it. Variables of ``kubespray_vars`` that kubespray would ignore as unknown are
        reported."""
        tree = tree or self.kubespray()
        if not kube_version:
            kube_version = install_version(
                self.site.kubernetes_version,
                self.state.kubernetes_version,
                PINNED_KUBERNETES,
                tree.kubernetes_versions(),
                str(self.site_dir / SITE_FILE),
            )
        if self.site.kubespray_vars:
            for warning in misspelt_variables(self.site.kubespray_vars, tree.variable_names()):
                self.reporter.note(f"{self.site_dir / SITE_FILE}: {warning}")
        write_inventory(self.site, self.site_dir, kube_version)
        return Prepared(tree, kube_version)

    def _current_version(self) -> str:
        """The version the cluster runs as far as kubedojo knows, without checking anything."""
        return self.state.kubernetes_version or self.site.kubernetes_version or PINNED_KUBERNETES

    # -- preflight ---------------------------------------------------------------------------------

    def preflight(self, limit: Sequence[str] = ()) -> PreflightReport:
        """Run the read-only preflight playbook and judge every host (``limit``: only those)."""
        with self._locked():
            write_inventory(self.site, self.site_dir, self._current_version())
            return self._preflight(limit)

    def _preflight(self, limit: Sequence[str] = ()) -> PreflightReport:
        """Preflight with the inventory as written last (by :meth:`_prepare` for the run to follow)."""
        nodes = [n for n in self.site.nodes if not limit or n.name in limit]
        run, progress = self.runner.run(
            "preflight",
            _assets(),
            "preflight.yml",
            timeout=self.site.timeouts.preflight,
            limit=",".join(limit),
            become=False,
            keep_results_of=PLAYBOOK_TASKS,
            extravars=self._bundle_vars(),
            envvars={
                "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=60s "
                "-o UserKnownHostsFile=/dev/null -o ConnectionAttempts=1",
            },
            title=f"Preflight on {len(nodes)} hosts",
            check=False,  # an unreachable host is a finding, not the end of preflight
        )
        problems = {f.host: f for f in run.failures}
        hosts = []
        for node in nodes:
            kept = {task: progress.result(node.name, task) for task in PLAYBOOK_TASKS}
            seen = observations(kept)
            failure = problems.get(node.name)
            problem = None
            if failure is not None and (failure.unreachable or seen is None):
                problem = (
                    failure.message
                    if failure.unreachable
                    else f"stopped at '{failure.task}': {failure.message}"
                )
            results = judge_host(node, self.site, seen, problem, kept[CLOCK_TASK])
            hosts.append(
                HostReport(node.name, node.address, apply_ignores(results, self.site.preflight.ignore))
            )
        return PreflightReport(tuple(hosts), str(run.artifact_dir), run.seconds)

    # -- operations ------------------------------------------------------------------------------

    def up(self, dry_run: bool = False, skip_preflight: bool = False) -> UpReport:
        """Provision (or converge) the whole site with kubespray's cluster.yml."""
        with self._locked():
            prepared = self._prepare()
            tree = prepared.tree
            report = UpReport(kubespray=str(tree.path), kubernetes_version=prepared.kube_version)
            if not skip_preflight:
                report.preflight = self._checked_preflight()
            if dry_run:
                return report
            report.runs.extend(self._nfs_client())
            run, _ = self.runner.run(
                "up",
                tree.path,
                tree.playbook("cluster.yml"),
                timeout=self.site.timeouts.playbook,
                skip_tags=self._kubespray_skips,
                title=f"kubespray cluster.yml on {len(self.site.nodes)} hosts",
            )
            report.runs.append(run)
            self.state.remember(prepared.kube_version)
            report.kubeconfig = str(self.fetch_kubeconfig())
            return report

    def _checked_preflight(self, limit: Sequence[str] = ()) -> PreflightReport:
        report = self._preflight(limit)
        if not report.ok:
            raise PreflightFailed(report)
        return report

    def _nfs_client(self, limit: str = "") -> list[RunReport]:
        if not self.site.nfs_client:
            return []
        run, _ = self.runner.run(
            "nfs-client",
            _assets(),
            "nfs-client.yml",
            timeout=self.site.timeouts.playbook,
            limit=limit,
            title="NFS client on every node",
        )
        return [run]

    def scale(self, nodes: Sequence[str], skip_preflight: bool = False) -> UpReport:
        """Add workers with kubespray's scale.yml; with ``nodes``, only those machines are touched
        (after the fact cache is refreshed for all, which ``--limit`` needs)."""
        for name in nodes:
            node = self._node(name, "cluster.scale")
            if node.is_control_plane or "etcd" in node.roles:
                raise ConfigError(
                    f"{name}: kubespray's scale.yml adds workers only; a control-plane or etcd node joins "
                    "with 'invoke cluster.up -i …'"
                )
        with self._locked():
            prepared = self._prepare()
            tree = prepared.tree
            report = UpReport(kubespray=str(tree.path), kubernetes_version=prepared.kube_version)
            if not skip_preflight:
                report.preflight = self._checked_preflight(nodes)
            limit = ",".join(nodes)
            report.runs.extend(self._nfs_client(limit))
            if limit:
                run, _ = self.runner.run(
                    "facts",
                    tree.path,
                    tree.playbook("playbooks/facts.yml"),
                    timeout=self.site.timeouts.playbook,
                    skip_tags=self._kubespray_skips,
                    title="Refreshing the fact cache",
                )
                report.runs.append(run)
            run, _ = self.runner.run(
                "scale",
                tree.path,
                tree.playbook("scale.yml"),
                timeout=self.site.timeouts.playbook,
                skip_tags=self._kubespray_skips,
                limit=limit,
                title=f"kubespray scale.yml on {limit or 'every host'}",
            )
            report.runs.append(run)
            self.state.remember(prepared.kube_version)
            return report

    def remove_node(self, nodes: Sequence[str], dead: bool = False) -> RunReport:
        """Drain and remove nodes (kubespray's remove-node.yml); ``dead``: they no longer answer."""
        if not nodes:
            raise ConfigError("name the node(s) to remove with --node NAME[,NAME]")
        first_cp = self.site.control_plane[0].name
        first_etcd = self.site.etcd[0].name
        for name in nodes:
            self._node(name, "cluster.remove-node")
            if name in (first_cp, first_etcd):
                raise ConfigError(
                    f"{name}: kubespray cannot remove the first control-plane or etcd node; "
                    "reorder the nodes in site.yaml first (see kubespray's docs/operations/nodes.md)"
                )
        with self._locked():
            tree = self._prepare().tree
            run, _ = self.runner.run(
                "remove-node",
                tree.path,
                tree.playbook("remove-node.yml"),
                timeout=self.site.timeouts.playbook,
                skip_tags=self._kubespray_skips,
                extravars={
                    "node": ",".join(nodes),
                    "skip_confirmation": True,
                    "reset_nodes": not dead,
                    "allow_ungraceful_removal": dead,
                },
                title=f"kubespray remove-node.yml: {', '.join(nodes)}",
            )
            return run

    def reset(self) -> RunReport:
        """Tear Kubernetes off every machine (kubespray's reset.yml) and forget the kubeconfig."""
        with self._locked():
            tree = self._prepare().tree
            run, _ = self.runner.run(
                "reset",
                tree.path,
                tree.playbook("reset.yml"),
                timeout=self.site.timeouts.playbook,
                skip_tags=self._kubespray_skips,
                extravars={"reset_confirmation": True, "skip_confirmation": True},
                title=f"kubespray reset.yml on {len(self.site.nodes)} hosts",
            )
            self.kubeconfig_path.unlink(missing_ok=True)
            self.state.forget()
            return run

    def upgrade(self, version: str = "") -> RunReport:
        """Upgrade Kubernetes node by node (kubespray's upgrade-cluster.yml), to the pinned version
        unless another one kubespray supports is named: never down, one minor version at a time.
        The new version is remembered, so later runs keep it."""
        target = (version or PINNED_KUBERNETES).removeprefix("v")
        if not re.fullmatch(r"\d+\.\d+\.\d+", target):
            raise ConfigError(f"--version {version}: give a Kubernetes version like {PINNED_KUBERNETES}")
        with self._locked():
            tree = self.kubespray()
            supported = tree.kubernetes_versions()
            current = self.state.kubernetes_version or install_version(
                self.site.kubernetes_version, "", PINNED_KUBERNETES, supported, str(self.site_dir / SITE_FILE)
            )
            problem = upgrade_problem(current, target, supported)
            if problem:
                raise ConfigError(f"--version {version or target}: {problem}")
            self._prepare(target, tree)
            run, _ = self.runner.run(
                "upgrade",
                tree.path,
                tree.playbook("upgrade-cluster.yml"),
                timeout=self.site.timeouts.playbook,
                skip_tags=self._kubespray_skips,
                extravars={
                    "kube_version": target,
                    "upgrade_node_confirm": False,
                    "upgrade_node_post_upgrade_confirm": False,
                },
                title=f"kubespray upgrade-cluster.yml to {target}",
            )
            self.state.remember(target)
            return run

    def _node(self, name: str, command: str) -> Any:
        try:
            return self.site.node(name)
        except KeyError:
            known = ", ".join(n.name for n in self.site.nodes)
            raise ConfigError(
                f"{command}: no node {name!r} in {self.site_dir / 'site.yaml'} (it has {known})"
            ) from None

    # -- the admin kubeconfig ------------------------------------------------------------------------

    def fetch_kubeconfig(self) -> Path:
        """Read /etc/kubernetes/admin.conf from the first control-plane node and write it here with
        mode 0600, its server set to the address this machine reaches that node at."""
        first = self.site.control_plane[0]
        _, progress = self.runner.run(
            "kubeconfig",
            _assets(),
            "fetch-kubeconfig.yml",
            timeout=300,
            extravars={"kubedojo_first_control_plane": first.name},
            become=False,
            keep_results_of=(_KUBECONFIG_TASK,),
            private_tasks=(_KUBECONFIG_TASK,),
            title=f"Admin kubeconfig from {first.name}",
        )
        kept = progress.result(first.name, _KUBECONFIG_TASK) or {}
        content = (kept.get("res") or {}).get("content")
        try:
            config = yaml.safe_load(base64.b64decode(str(content)))
            clusters = config["clusters"]
        except (ValueError, TypeError, KeyError, yaml.YAMLError):
            raise ProvisionError(
                f"{first.name}:/etc/kubernetes/admin.conf is not a kubeconfig; kubespray did not finish there"
            ) from None
        for cluster in clusters:
            server = str(cluster.get("cluster", {}).get("server", ""))
            port = server.rsplit(":", 1)[-1] if server.count(":") >= 2 else "6443"
            cluster["cluster"]["server"] = f"https://{first.address}:{port}"
        write_atomic(self.kubeconfig_path, yaml.safe_dump(config, sort_keys=False), 0o600)
        return self.kubeconfig_path

    # -- serving an offline site's bundle ------------------------------------------------------------

    def server(self) -> SiteServer:
        """The files repository and registry of a site with ``offline.bundle`` (see siteserve)."""
        offline = self.site.offline
        if not offline.bundle:
            raise ConfigError(
                f"{self.site_dir / SITE_FILE}: no 'offline.bundle'; kubedojo serves only an offline site"
            )
        return SiteServer(
            bundle_path(self.site, self.site_dir),
            self.site_dir / "serve",
            offline.files_repo,
            self.site.registry.address,
        )

    def serve(self, pusher: ImagePusher) -> tuple[ServeReport, list[str]]:
        """Start serving the bundle (unless it is served) and put its images into the registry (the
        nodes' and labs' images, and the add-ons' when the bundle holds them); the paths pushed."""
        server = self.server()
        with self.reporter.step(f"Serving {server.bundle} at {server.files_repo} and {server.registry}"):
            report = server.start()
        pushed: list[str] = []
        with self.reporter.step(f"Putting the bundle's images into {server.registry}"):
            pushed += push_bundle_images(server.bundle, server.registry, pusher, self.reporter.note)
            if load_site_images(server.bundle):
                results = push_site_images(server.bundle, server.registry, pusher, False, self.reporter.note)
                pushed += [image.path for image, result in results if result == "pushed"]
        return report, pushed

    def status(self) -> ClusterStatus:
        """The API server's health and the nodes, through the fetched admin kubeconfig."""
        from ..client.kube import KubeClient

        if not self.kubeconfig_path.exists():
            raise NotRunningError(
                f"{self.kubeconfig_path}: no kubeconfig yet; run 'invoke cluster.up -i {self.site_dir}'"
            )
        client = KubeClient.from_kubeconfig(self.kubeconfig_path)
        server = client.server
        try:
            try:
                health = client.readyz()
                nodes = [node_status(n) for n in client.nodes()]
            except ApiError as exc:
                reason = exc.reason if isinstance(exc, Unreachable) else exc.server_message
                return ClusterStatus(
                    str(self.site_dir),
                    [ComponentStatus("kube-apiserver", None, False, f"{server}: {reason}")],
                    [],
                    server,
                    str(self.kubeconfig_path),
                )
        finally:
            client.close()
        return ClusterStatus(
            str(self.site_dir),
            [ComponentStatus("kube-apiserver", None, health == "ok", f"{server}/readyz: {health}")],
            nodes,
            server,
            str(self.kubeconfig_path),
        )
