"""Installing, comparing, listing and removing the add-on releases.

``install`` walks the releases level by level (``needs`` first); the releases of one level install
concurrently. Each install waits for readiness within its timeout and, if it fails, helm rolls it back
(a first install is removed) before the failure is reported; releases that needed it are not
attempted. A release whose deployed chart version and values already match is left alone and reported
``unchanged``. ``uninstall`` goes in the reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from ..client.helm import ChartRef, HelmClient
from ..client.kubeapi import KubeAPI, condition_true
from ..errors import AddonError, ConfigError, NotRunningError
from ..labels import RELEASE_LABEL, SHARED_SERVICES
from .bundle import Bundle, BundledChart, images_in, sha256_of
from .context import ClusterFacts, release_applies, render_values
from .credentials import MANAGED_LABEL, ensure_credentials
from .display import flatten, manifest_diff
from .releases import Release, ReleasesFile, levels, with_needs
from .wrapped import CRD_KIND, WrappedManifests, manifests_path, read_manifests, wrap

__all__ = [
    "Addons",
    "InstallFailed",
    "NullObserver",
    "ReleaseDiff",
    "ReleaseObserver",
    "ReleaseResult",
    "ReleaseState",
]


@dataclass(frozen=True)
class ReleaseResult:
    name: str
    namespace: str
    chart: str
    version: str
    action: str
    """installed, upgraded, unchanged, skipped, failed, not attempted, uninstalled, absent."""
    detail: str = ""
    revision: int | None = None
    started: float = 0.0
    finished: float = 0.0

    @property
    def seconds(self) -> float:
        return max(0.0, self.finished - self.started)


@dataclass(frozen=True)
class ReleaseDiff:
    name: str
    namespace: str
    action: str
    """install, upgrade, unchanged, skip."""
    changes: tuple[str, ...] = ()
    manifest_diff: str = ""


@dataclass(frozen=True)
class ReleaseState:
    name: str
    namespace: str
    wanted: str
    deployed: str
    status: str
    revision: int | None
    updated: str
    applies: str = ""
    """Empty when the release applies to this cluster, else why not."""


class InstallFailed(AddonError):
    """A release failed (and was rolled back); ``results`` has every release's outcome."""

    def __init__(self, message: str, results: Sequence[ReleaseResult]) -> None:
        super().__init__(message)
        self.results = list(results)


class ReleaseObserver(Protocol):
    def started(self, release: str, doing: str) -> None: ...

    def finished(self, result: ReleaseResult) -> None: ...


class NullObserver:
    def started(self, release: str, doing: str) -> None:
        return None

    def finished(self, result: ReleaseResult) -> None:
        return None


@dataclass
class _Plan:
    release: Release
    reason: str | None
    values: dict[str, Any] = field(default_factory=dict)


class Addons:
    """The releases of one releases.yaml on one cluster."""

    def __init__(
        self,
        releases: ReleasesFile,
        helm: HelmClient,
        kube: KubeAPI | None,
        facts: ClusterFacts,
        *,
        bundle: Bundle | None = None,
        images_from_bundle: bool = False,
        observer: ReleaseObserver | None = None,
        sources: Path | None = None,
    ) -> None:
        self.releases = releases
        self.helm = helm
        self.kube = kube
        self.facts = facts
        self.bundle = bundle
        self.images_from_bundle = images_from_bundle
        """The charts' images are the bundle's, in the registry ``facts.images`` names (not
        kubedojo's builds that the local cluster's registry is given)."""
        self.observer: ReleaseObserver = observer or NullObserver()
        self.sources = sources
        """Where releases of upstream manifests find their file (``sources_dir``)."""
        self._wrapped: dict[str, WrappedManifests] = {}

    @property
    def cluster(self) -> KubeAPI:
        """The cluster's API (None for add-ons opened without a cluster, to make a bundle)."""
        if self.kube is None:
            raise NotRunningError("the add-ons were opened without a cluster (to make a bundle)")
        return self.kube

    # -- planning --------------------------------------------------------------------------------

    def selected(self, names: Sequence[str] = ()) -> list[Release]:
        """The releases ``names`` and what they need (all, without names)."""
        return with_needs(self.releases, names) if names else list(self.releases.releases)

    def built_images(self, names: Sequence[str] = ()) -> list[str]:
        """kubedojo's builds the releases (all, or ``names`` and what they need) run where they apply
        (what the local cluster's registry needs before they install)."""
        return sorted(
            {
                image.build
                for release in self.selected(names)
                if release_applies(release, self.facts) is None
                for image in release.images
                if image.build
            }
        )

    def _plan(self, release: Release) -> _Plan:
        reason = release_applies(release, self.facts)
        if reason is not None:
            return _Plan(release, reason)
        values = render_values(release, self.releases.directory, self.facts)
        if release.manifests is not None:
            # What the wrapper chart holds is part of the release's values, so a change to the
            # upstream file or to kubedojo's changes upgrades it.
            values["kubedojo"] = {"manifests": self.wrapped(release).digest}
        return _Plan(release, None, values)

    def wrapped(self, release: Release) -> WrappedManifests:
        """The chart kubedojo writes around a release's upstream manifests (from the bundle, when
        installing from one), and their CRDs."""
        if release.name not in self._wrapped:
            assert release.manifests is not None
            path = (
                self.bundle.chart_path(release)
                if self.bundle is not None
                else manifests_path(release.manifests, self.sources)
            )
            self._wrap_file(release, path)
        return self._wrapped[release.name]

    def _wrap_file(self, release: Release, path: Path) -> WrappedManifests:
        """Read the release's manifests from ``path`` (checked against their sha256) and wrap them."""
        assert release.manifests is not None
        objects = read_manifests(release.manifests, path)
        self._wrapped[release.name] = wrap(release, objects, self.helm.home / "wrapped")
        return self._wrapped[release.name]

    def _apply_crds(self, release: Release, timeout: float) -> None:
        """Apply the release's CRDs server-side and wait until the API server serves each."""
        crds = self.wrapped(release).crds
        for crd in crds:
            meta = crd["metadata"]
            labels = {**(meta.get("labels") or {}), RELEASE_LABEL: release.name}
            self.cluster.apply_one({**crd, "metadata": {**meta, "labels": labels}})
        deadline = time.monotonic() + timeout
        for crd in crds:
            name = crd["metadata"]["name"]
            self.cluster.wait_for(
                f"CustomResourceDefinition {name} to be established",
                CRD_KIND,
                lambda obj: condition_true(obj, "Established"),
                max(1.0, deadline - time.monotonic()),
                name=name,
            )

    def _delete_custom_objects(self, release: Release, timeout: float) -> str:
        """Delete the objects of the release's custom kinds in every namespace while its controller
        still runs, and wait until they are gone: their finalizers (Katib's Experiments, Trials,
        Suggestions) are the controller's to remove, and without it they, and the participants'
        namespaces that hold them, could never be deleted. The CRDs stay. The kinds are those of the
        CRDs installed for the release (:data:`~kubedojo.labels.RELEASE_LABEL`), so the upstream file
        is not needed. What was deleted, as ``"3 Experiment, 3 Trial"`` ("" for nothing)."""
        deadline = time.monotonic() + timeout
        doomed: list[tuple[str, str, str | None, str]] = []
        for crd in self.cluster.list(CRD_KIND, label_selector=f"{RELEASE_LABEL}={release.name}"):
            spec = crd["spec"]
            version = next(
                (v["name"] for v in spec.get("versions") or [] if v.get("storage")), spec.get("version")
            )
            api_version, kind = f"{spec['group']}/{version}", spec["names"]["kind"]
            for obj in self.cluster.list(kind, None, api_version=api_version):
                meta = obj["metadata"]
                doomed.append((kind, meta["name"], meta.get("namespace"), api_version))
        for kind, name, namespace, api_version in doomed:
            self.cluster.delete(kind, name, namespace, api_version=api_version)
        for kind, name, namespace, api_version in doomed:
            left = max(1.0, deadline - time.monotonic())
            self.cluster.wait_deleted(kind, name, namespace, left, api_version=api_version)
        counts = Counter(kind for kind, *_ in doomed)
        return ", ".join(f"{n} {kind}" for kind, n in counts.items())

    def chart_ref(self, release: Release) -> ChartRef:
        if release.manifests is not None:
            return ChartRef(release.chart, release.version, path=str(self.wrapped(release).chart))
        if self.bundle is not None:
            return ChartRef(release.chart, release.version, path=str(self.bundle.chart_path(release)))
        if release.repo:
            return ChartRef(release.chart, release.version, repo=release.repo)
        return ChartRef(
            Path(release.chart).name, release.version, path=str(self.releases.directory / release.chart)
        )

    async def _chart(self, release: Release) -> Any:
        chart = await self.helm.chart(self.chart_ref(release))
        if (
            chart.metadata.version != release.version.lstrip("v")
            and chart.metadata.version != release.version
        ):
            raise ConfigError(
                f"release {release.name}: the chart is version {chart.metadata.version}, "
                f"releases.yaml pins {release.version}"
            )
        return chart

    # -- install ---------------------------------------------------------------------------------

    def install(self, names: Sequence[str] = ()) -> list[ReleaseResult]:
        """Install or upgrade the releases (all, or the named ones and what they need)."""
        return asyncio.run(self._install(names))

    async def _install(self, names: Sequence[str]) -> list[ReleaseResult]:
        selected = self.selected(names)
        plans = {r.name: self._plan(r) for r in selected}  # values errors before anything changes
        results: list[ReleaseResult] = []
        failed: list[ReleaseResult] = []
        for level in levels(selected):
            if failed:
                for release in level:
                    result = ReleaseResult(
                        release.name,
                        release.namespace,
                        release.chart,
                        release.version,
                        "not attempted",
                        f"stopped after {', '.join(f.name for f in failed)} failed",
                    )
                    self.observer.finished(result)
                    results.append(result)
                continue
            outcomes = await asyncio.gather(*(self._install_one(plans[r.name]) for r in level))
            results.extend(outcomes)
            failed.extend(o for o in outcomes if o.action == "failed")
        if failed:
            first = failed[0]
            more = f" (and {', '.join(f.name for f in failed[1:])})" if len(failed) > 1 else ""
            raise InstallFailed(f"release {first.name} in {first.namespace}: {first.detail}{more}", results)
        return results

    async def _install_one(self, plan: _Plan) -> ReleaseResult:
        release = plan.release
        started = time.monotonic()
        base = ReleaseResult(
            release.name, release.namespace, release.chart, release.version, "", started=started
        )
        if plan.reason is not None:
            result = replace(
                base, action="skipped", detail=f"does not apply: {plan.reason}", finished=started
            )
            self.observer.finished(result)
            return result
        self.observer.started(release.name, "checking")
        try:
            chart = await self._chart(release)
            await asyncio.to_thread(
                self.cluster.ensure_namespace, release.namespace, {MANAGED_LABEL: "kubedojo"}
            )
            if release.shared_service:
                # The label alone, by server-side apply: the namespace's other labels stay.
                await asyncio.to_thread(
                    self.cluster.apply_one,
                    {
                        "apiVersion": "v1",
                        "kind": "Namespace",
                        "metadata": {"name": release.namespace, "labels": dict(SHARED_SERVICES)},
                    },
                )
            await asyncio.to_thread(ensure_credentials, self.cluster, release)
            if release.manifests is not None:
                self.observer.started(release.name, "applying CRDs")
                await asyncio.to_thread(self._apply_crds, release, self.releases.timeout(release))
            current = await self.helm.deployed(release.name, release.namespace)
            if (
                current is not None
                and current.status == "deployed"
                and current.chart == chart.metadata.name
                and current.chart_version == chart.metadata.version
                and dict(current.values) == plan.values
            ):
                result = replace(
                    base, action="unchanged", revision=current.revision, finished=time.monotonic()
                )
                self.observer.finished(result)
                return result
            self.observer.started(release.name, "upgrading" if current else "installing")
            revision = await self.helm.install(
                release.name,
                chart,
                plan.values,
                release.namespace,
                self.releases.timeout(release),
                server_side=release.server_side_apply,
            )
        except (AddonError, NotRunningError) as exc:
            detail = await self._after_failure(release, str(exc))
            result = replace(base, action="failed", detail=detail, finished=time.monotonic())
            self.observer.finished(result)
            return result
        action = "upgraded" if current is not None else "installed"
        result = replace(base, action=action, revision=revision, finished=time.monotonic())
        self.observer.finished(result)
        return result

    async def _after_failure(self, release: Release, message: str) -> str:
        try:
            now = await self.helm.deployed(release.name, release.namespace)
        except AddonError:
            return message
        if now is None:
            return f"{message}; the failed install was removed"
        return f"{message}; rolled back to revision {now.revision} ({now.status})"

    # -- diff, status ----------------------------------------------------------------------------

    def diff(self, names: Sequence[str] = (), manifests: bool = False) -> list[ReleaseDiff]:
        """What ``install`` would change, release by release (values by key, never by value)."""
        return asyncio.run(self._diff(names, manifests))

    async def _diff(self, names: Sequence[str], manifests: bool) -> list[ReleaseDiff]:
        selected = self.selected(names)
        return list(await asyncio.gather(*(self._diff_one(self._plan(r), manifests) for r in selected)))

    async def _diff_one(self, plan: _Plan, manifests: bool) -> ReleaseDiff:
        release = plan.release
        if plan.reason is not None:
            return ReleaseDiff(release.name, release.namespace, "skip", (f"does not apply: {plan.reason}",))
        chart = await self._chart(release)
        current = await self.helm.deployed(release.name, release.namespace)
        changes: list[str] = []
        if current is None:
            action = "install"
            changes.append(f"chart {chart.metadata.name} {chart.metadata.version}")
        else:
            if current.status != "deployed":
                changes.append(f"status is {current.status}")
            if (current.chart, current.chart_version) != (chart.metadata.name, chart.metadata.version):
                changes.append(f"chart {current.chart} {current.chart_version} -> {chart.metadata.version}")
            old, new = flatten(dict(current.values)), flatten(plan.values)
            keys = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
            if keys:
                changes.append("values: " + ", ".join(keys))
            action = "upgrade" if changes else "unchanged"
        text = ""
        if manifests and action != "unchanged":
            wanted = await self.helm.template(chart, release.name, plan.values, release.namespace)
            deployed = await self.helm.manifest(release.name, release.namespace) if current else []
            text = manifest_diff(deployed, [o for o in wanted if not _is_hook(o)])
        return ReleaseDiff(release.name, release.namespace, action, tuple(changes), text)

    def status(self) -> list[ReleaseState]:
        return asyncio.run(self._status())

    async def _status(self) -> list[ReleaseState]:
        listed = {(r.get("name"), r.get("namespace")): r for r in await self.helm.releases()}
        states = []
        for release in self.releases.releases:
            reason = release_applies(release, self.facts) or ""
            found = listed.get((release.name, release.namespace))
            if found is None:
                states.append(
                    ReleaseState(
                        release.name,
                        release.namespace,
                        release.version,
                        "-",
                        "not installed",
                        None,
                        "-",
                        reason,
                    )
                )
                continue
            chart = str(found.get("chart", ""))
            states.append(
                ReleaseState(
                    release.name,
                    release.namespace,
                    release.version,
                    chart.rsplit("-", 1)[-1] if "-" in chart else chart,
                    str(found.get("status", "")),
                    int(found["revision"]) if str(found.get("revision", "")).isdigit() else None,
                    str(found.get("updated", ""))[:19],
                    reason,
                )
            )
        return states

    # -- uninstall -------------------------------------------------------------------------------

    def uninstall(self, names: Sequence[str] = ()) -> list[ReleaseResult]:
        """Remove releases in reverse ``needs`` order (each waits for its objects to go). Their
        namespaces and credential Secrets stay, so a reinstall keeps the same credentials. A
        release of upstream manifests first has the objects of its custom kinds deleted, everywhere
        (:meth:`_delete_custom_objects`); its CRDs stay."""
        return asyncio.run(self._uninstall(names))

    async def _uninstall(self, names: Sequence[str]) -> list[ReleaseResult]:
        chosen = [self.releases.get(n) for n in names] if names else list(self.releases.releases)
        chosen_names = {r.name for r in chosen}
        installed = {(r.get("name"), r.get("namespace")) for r in await self.helm.releases()}
        for other in self.releases.releases:
            if other.name in chosen_names or (other.name, other.namespace) not in installed:
                continue
            blocking = sorted(set(other.needs) & chosen_names)
            if blocking:
                raise ConfigError(
                    f"{other.name} needs {', '.join(blocking)} and stays installed: uninstall it too, "
                    f"or uninstall without names"
                )
        results = []
        for level in reversed(levels(chosen)):
            results.extend(await asyncio.gather(*(self._uninstall_one(r, installed) for r in level)))
        return results

    async def _uninstall_one(self, release: Release, installed: set[tuple[Any, Any]]) -> ReleaseResult:
        started = time.monotonic()
        base = ReleaseResult(
            release.name, release.namespace, release.chart, release.version, "", started=started
        )
        if (release.name, release.namespace) not in installed:
            result = replace(base, action="absent", finished=started)
        else:
            self.observer.started(release.name, "uninstalling")
            timeout = self.releases.timeout(release)
            removed = ""
            if release.manifests is not None:
                removed = await asyncio.to_thread(self._delete_custom_objects, release, timeout)
            await self.helm.uninstall(release.name, release.namespace, timeout)
            result = replace(base, action="uninstalled", detail=removed, finished=time.monotonic())
        self.observer.finished(result)
        return result

    # -- bundles ---------------------------------------------------------------------------------

    def pull(self, bundle: Bundle, names: Sequence[str] = ()) -> list[BundledChart]:
        """Download every pinned chart (checked against its pinned digest) into ``bundle`` and list
        the images each runs, whatever the site (every conditional values file is rendered)."""
        return asyncio.run(self._pull(bundle, names))

    async def _pull(self, bundle: Bundle, names: Sequence[str]) -> list[BundledChart]:
        # Optional releases go in when named, or when the workshop turns them on.
        selected = [
            r
            for r in self.selected(names)
            if not r.optional or r.name in names or r.name in self.facts.optional
        ]
        entries = []
        for release in selected:
            self.observer.started(release.name, "pulling")
            started = time.monotonic()
            chart_path: Path | None = None
            if release.manifests is not None:  # the upstream file, checked and wrapped, as it is
                source = manifests_path(release.manifests, self.sources)
                chart_path = self._wrap_file(release, source).chart
                path = bundle.directory / "manifests" / source.name
                path.parent.mkdir(parents=True, exist_ok=True)
                await asyncio.to_thread(shutil.copyfile, source, path)
            elif release.repo:
                path = await asyncio.to_thread(
                    self.helm.pull,
                    ChartRef(release.chart, release.version, repo=release.repo),
                    bundle.charts_dir,
                )
            elif (self.releases.directory / release.chart).is_file():  # a chart archive: as it is
                source = self.releases.directory / release.chart
                bundle.charts_dir.mkdir(parents=True, exist_ok=True)
                path = bundle.charts_dir / source.name
                await asyncio.to_thread(shutil.copyfile, source, path)
            else:
                path = await asyncio.to_thread(
                    self.helm.package, self.releases.directory / release.chart, bundle.charts_dir
                )
            digest = sha256_of(path)
            if release.manifests is None and release.digest and release.digest != f"sha256:{digest}":
                path.unlink()
                raise AddonError(
                    f"release {release.name}: {release.chart} {release.version} has sha256 {digest}, "
                    f"not the pinned {release.digest.removeprefix('sha256:')}; nothing was kept"
                )
            chart = await self.helm.chart(
                ChartRef(release.chart, release.version, path=str(chart_path or path))
            )
            images = set(release.extra_images)
            for facts in _every_site(release, self.facts):
                values = render_values(release, self.releases.directory, facts)
                images |= images_in(await self.helm.template(chart, release.name, values, release.namespace))
            entry = BundledChart(
                release.name,
                release.chart,
                release.version,
                str(path.relative_to(bundle.directory)),
                digest,
                tuple(sorted(images)),
            )
            entries.append(entry)
            self.observer.finished(
                ReleaseResult(
                    release.name,
                    release.namespace,
                    release.chart,
                    release.version,
                    "pulled",
                    f"{len(entry.images)} images",
                    started=started,
                    finished=time.monotonic(),
                )
            )
        previous = {}
        with contextlib.suppress(ConfigError):  # no bundle yet
            previous = bundle.load()
        bundle.write({**previous, **{e.release: e for e in entries}}.values())
        return entries


def _is_hook(obj: Mapping[str, Any]) -> bool:
    return "helm.sh/hook" in ((obj.get("metadata") or {}).get("annotations") or {})


def _every_site(release: Release, facts: ClusterFacts) -> list[ClusterFacts]:
    """Facts under which each of the release's values files applies (for a bundle's image list)."""
    providers = release.when.autoscaler or [facts.autoscaler or "kwok"]
    return [
        replace(
            facts,
            kind=kind,
            gpu_nodes=1,
            nfs_server=facts.nfs_server or "nfs.invalid",
            autoscaler=providers[0],
        )
        for kind in ("local", "kubespray")
    ]
