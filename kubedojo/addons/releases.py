"""``charts/releases.yaml``: the add-on releases, in the spirit of helmfile — each pinned chart with its
repository, namespace, values files, ``needs`` (ordering) and ``when`` (where it applies), plus
credentials generated per install and kept in Secrets.

Reading the file checks it whole: unknown keys, unpinned versions, missing values files, unknown or
circular ``needs`` are each one :class:`~kubedojo.errors.ConfigError` line naming the release.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import Field, ValidationError, field_validator, model_validator

from ..errors import ConfigError
from ..jsonpath import parse_path
from ..validation import NamedItems, StrictModel, one_line
from ..yamlfiles import read_yaml

__all__ = [
    "ChartImage",
    "Credential",
    "ManifestSource",
    "ParticipantAccess",
    "PodPort",
    "Release",
    "ReleasesFile",
    "When",
    "levels",
    "load_releases",
    "parse_releases",
    "with_needs",
]

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_PINNED = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


class When(StrictModel):
    """Where a release applies; every condition given must hold."""

    gpu_nodes: bool | None = None
    """True: only where nodes are labelled ``nvidia.com/gpu.present=true``."""
    nfs_server: bool | None = None
    """True: only where an NFS server is configured (``charts.nfs.server``)."""
    cluster: list[Literal["local", "kubespray"]] | None = None
    """Only on these kinds of cluster."""
    autoscaler: list[str] | None = None
    """Only where the site's autoscaler provider is one of these."""
    storage_class_free: str | None = None
    """Only where the cluster has no StorageClass of this name of its own (one helm did not make):
    the local cluster's ``nfs-storage`` stays, and the chart that would make one is left out."""


GeneratedValues = Literal["kwok-node-groups", "jupyterhub-class", "jupyterhub-local-home"]
GENERATED_VALUES: tuple[str, ...] = get_args(GeneratedValues)
"""Values kubedojo computes (``generate:`` in a release's ``values``): ``kwok-node-groups``,
cluster-autoscaler's node groups from the workshop's simulated pools; ``jupyterhub-class``,
kubedojo's class authenticator and spawner in JupyterHub's hub; ``jupyterhub-local-home``, the
notebook servers' home claims handed to their user on the local cluster
(:mod:`kubedojo.addons.jupyterhub`)."""


class ValuesFile(StrictModel):
    """A values file (``file``, relative to releases.yaml) or values kubedojo computes
    (``generate``: one of :data:`GENERATED_VALUES`), used where ``when`` holds."""

    file: str = ""
    generate: GeneratedValues | None = None
    when: When = Field(default_factory=When)

    @model_validator(mode="after")
    def _one_source(self) -> ValuesFile:
        if bool(self.file) == (self.generate is not None):
            raise ValueError("give either file or generate")
        return self


class Credential(StrictModel):
    """A Secret the release needs, made before it installs and kept between installs.

    ``generate``: key -> a fixed string, or a number (that many random letters and digits, made
    once, on the first install). ``copy_from`` (``namespace/name``) with ``keys`` (new key -> source
    key): the same values, in another namespace."""

    secret: str
    namespace: str = ""
    """Default: the release's namespace."""
    generate: dict[str, str | int] = Field(default_factory=dict)
    copy_from: str = ""
    keys: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_source(self) -> Credential:
        if bool(self.generate) == bool(self.copy_from):
            raise ValueError(f"credential {self.secret!r}: give either 'generate' or 'copy_from' with 'keys'")
        if self.copy_from and (not self.keys or self.copy_from.count("/") != 1):
            raise ValueError(f"credential {self.secret!r}: copy_from is namespace/name and needs 'keys'")
        for key, value in self.generate.items():
            if isinstance(value, int) and not 16 <= value <= 128:
                raise ValueError(f"credential {self.secret!r}: {key}: a random value is 16 to 128 characters")
        return self


class ChartImage(StrictModel):
    """An image the chart runs, at ``at``: the dotted path of the chart's image mapping (``image``,
    ``controller.image``). ``build`` names kubedojo's build of it (:data:`kubedojo.local.images.
    ADDON_IMAGES`); ``upstream`` an image kubedojo does not build, which a bundle mirrors.

    Where the cluster's registry has these images (the local cluster has kubedojo's builds; a site's
    registry is filled from a bundle: ``charts.push-images``), the values point ``at`` there:
    ``{repository: <registry>/<path>, tag: <tag>}``, or with ``style: split`` (charts that join
    ``registry`` and ``repository``, like argo-workflows) ``{registry: <registry>, repository:
    <path>, tag: <tag>}``, or with ``style: name`` (Zero-to-JupyterHub's) ``{name:
    <registry>/<path>, tag: <tag>}``; elsewhere the chart's own image stays.

    A release of upstream manifests (:class:`ManifestSource`) names the image it ``replaces`` instead
    (``ghcr.io/kubeflow/training-v1/training-operator:v1-93c5489``): kubedojo's wrapper chart writes
    the reference in its place wherever the manifests name it."""

    at: str = ""
    replaces: str = ""
    build: str = ""
    upstream: str = ""
    style: Literal["repository", "split", "name"] = "repository"

    @field_validator("at")
    @classmethod
    def _path(cls, value: str) -> str:
        if value and not re.fullmatch(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*", value):
            raise ValueError(f"{value!r} is not a dotted path of value keys (such as controller.image)")
        return value

    @field_validator("upstream")
    @classmethod
    def _reference(cls, value: str) -> str:
        if value and not re.fullmatch(r"[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+:[A-Za-z0-9._-]+", value):
            raise ValueError(f"{value!r} is not an image reference with a registry and a tag")
        return value

    @field_validator("replaces")
    @classmethod
    def _replaced(cls, value: str) -> str:
        """As the manifests write it: with a tag, the registry may be Docker Hub's implicit one."""
        if value and not re.fullmatch(r"([a-z0-9.-]+(:[0-9]+)?/)?[a-z0-9._/-]+:[A-Za-z0-9._-]+", value):
            raise ValueError(f"{value!r} is not an image reference with a tag")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> ChartImage:
        where = self.at or self.replaces
        if bool(self.at) == bool(self.replaces):
            raise ValueError(f"image {where or '?'}: give either at (a values path) or replaces (an image)")
        if bool(self.build) == bool(self.upstream):
            raise ValueError(f"image {where}: give either build (kubedojo's) or upstream (mirrored)")
        return self

    @property
    def key(self) -> str:
        """How :attr:`ClusterFacts.images` names it: the build's name, or the upstream reference."""
        return self.build or self.upstream


class ManifestSource(StrictModel):
    """Upstream manifests rendered into one YAML file (Kubeflow publishes its operators as kustomize
    trees, without a chart), which kubedojo installs as a release of a chart it writes around them
    (:mod:`kubedojo.addons.wrapped`)."""

    file: str
    """The rendered file: a path, or a name in the sources directory (``sources_dir`` in
    workshop.yaml, or ``$KUBEDOJO_SOURCES``)."""
    sha256: str
    """Its sha256, checked before anything is installed or bundled."""
    render: str
    """How to make it from upstream's tag (the command, for the error when it is missing)."""
    drop: list[str] = Field(default_factory=list)
    """Objects left out, as ``Kind/name`` (kubedojo makes namespaces itself)."""
    args: dict[str, list[str]] = Field(default_factory=dict)
    """Arguments added to a container: ``Kind/name/container`` -> arguments."""
    set: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Values set in an object: ``Kind/name`` -> {path: value}, the path in the labs' path language
    (``webhooks[name=mutator.pod.katib.kubeflow.org].failurePolicy``): what ``patches`` values cannot
    reach, an element of a list."""

    @field_validator("sha256")
    @classmethod
    def _sha256(cls, value: str) -> str:
        if not re.fullmatch(r"[0-9a-f]{64}", value):
            raise ValueError("must be 64 lower-case hexadecimal digits")
        return value

    @field_validator("drop")
    @classmethod
    def _objects(cls, value: list[str]) -> list[str]:
        for entry in value:
            if entry.count("/") != 1:
                raise ValueError(f"{entry!r} is not Kind/name")
        return value

    @field_validator("set")
    @classmethod
    def _paths(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for entry, settings in value.items():
            if entry.count("/") != 1:
                raise ValueError(f"{entry!r} is not Kind/name")
            for path in settings:
                try:
                    if parse_path(path)[-1].startswith("["):
                        raise ValueError("it must end with a key")
                except ValueError as exc:
                    raise ValueError(f"{entry}: path {path!r}: {exc}") from None
        return value

    @field_validator("args")
    @classmethod
    def _containers(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for entry in value:
            if entry.count("/") != 2:
                raise ValueError(f"{entry!r} is not Kind/name/container")
        return value


class PodPort(StrictModel):
    """Some of a release's pods (``pods``: their labels) and one TCP port of theirs."""

    pods: dict[str, str] = Field(min_length=1)
    port: int = Field(ge=1, le=65535)


class PolicyRule(StrictModel):
    """One rule of a Role (RBAC's ``rules``)."""

    apiGroups: list[str]
    resources: list[str] = Field(min_length=1)
    verbs: list[str] = Field(min_length=1)


class ParticipantGrant(StrictModel):
    """Rights of one of a release's ServiceAccounts in each participant's namespace: ``class.setup``
    makes a Role of the ``rules`` there and binds it to the account (JupyterHub's hub making the
    participant's notebook server)."""

    service_account: str
    rules: list[PolicyRule] = Field(min_length=1)


class ParticipantAccess(StrictModel):
    """What of a release participants' pods may connect to (``reach``) and which of its pods may
    connect to participants' pods (``reached_by``, on their port): each participant namespace's
    NetworkPolicies allow exactly these, by the release's namespace name (which participants cannot
    take), whether or not the release is installed yet (docs/classroom.md, "Network")."""

    reach: list[PodPort] = Field(default_factory=list)
    reached_by: list[PodPort] = Field(default_factory=list)
    grant: ParticipantGrant | None = None


class Release(StrictModel):
    name: str
    chart: str
    """The chart's name in ``repo``; without ``repo``, a chart directory relative to releases.yaml;
    with ``manifests``, the name of the chart kubedojo writes around them."""
    repo: str = ""
    version: str
    digest: str = ""
    """``sha256:…`` of the chart archive, checked when it is pulled into a bundle."""
    namespace: str
    values: list[ValuesFile] = Field(default_factory=list)
    """Values files (a string is ``{file: ...}``) and generated values, merged in order."""
    needs: list[str] = Field(default_factory=list)
    when: When = Field(default_factory=When)
    credentials: list[Credential] = Field(default_factory=list)
    extra_images: list[str] = Field(default_factory=list)
    """Images the chart uses outside ``image:`` fields (an argument naming an image), for bundles."""
    images: list[ChartImage] = Field(default_factory=list)
    """The chart's images that kubedojo builds (:class:`ChartImage`)."""
    manifests: ManifestSource | None = None
    """Upstream manifests instead of a chart (:class:`ManifestSource`)."""
    optional: bool = False
    """Installed only where the workshop turns it on (``charts.optional`` in workshop.yaml)."""
    timeout: float | None = Field(default=None, gt=0)
    server_side_apply: bool = True
    """False: helm applies the release client-side. Server-side apply refuses a list with the same
    key twice, such as a container's environment where a value overrides a variable the chart sets
    (the kubelet takes the last)."""
    description: str = ""
    shared_service: bool = False
    """Participants' pods may connect to its pods: its namespace is labelled
    ``kubedojo.dev/shared-services: "true"``, which their namespaces' default NetworkPolicies allow."""
    participants: ParticipantAccess = Field(default_factory=ParticipantAccess)
    """Narrower than ``shared_service``: some of its pods, on one port each (:class:`ParticipantAccess`)."""

    @field_validator("values", mode="before")
    @classmethod
    def _values_entries(cls, value: Any) -> Any:
        """A plain string is the file of a :class:`ValuesFile`."""
        if not isinstance(value, list):
            return value
        return [{"file": entry} if isinstance(entry, str) else entry for entry in value]

    @field_validator("name", "namespace")
    @classmethod
    def _dns_label(cls, value: str) -> str:
        if not _NAME.match(value) or len(value) > 53:
            raise ValueError(f"{value!r} must be a DNS label: lower-case letters, digits and '-', at most 53")
        return value

    @field_validator("version")
    @classmethod
    def _pinned(cls, value: str) -> str:
        if not _PINNED.match(value):
            raise ValueError(f"{value!r} is not a pinned version (x.y.z, no ranges)")
        return value

    @field_validator("digest")
    @classmethod
    def _digest(cls, value: str) -> str:
        if value and not re.fullmatch(r"sha256:[0-9a-f]{64}", value):
            raise ValueError("must be sha256: and 64 lower-case hexadecimal digits")
        return value

    @field_validator("repo")
    @classmethod
    def _repo(cls, value: str) -> str:
        if value and not re.match(r"^(https?|oci)://", value):
            raise ValueError(f"{value!r} must be an http(s):// or oci:// repository URL")
        return value

    @model_validator(mode="after")
    def _chart_or_manifests(self) -> Release:
        if self.manifests is not None and self.repo:
            raise ValueError("give either a chart repo or manifests, not both")
        for image in self.images:
            if (self.manifests is None) != bool(image.at):
                how = "replaces (the image the manifests name)" if self.manifests else "at (a values path)"
                raise ValueError(f"image {image.at or image.replaces}: this release's images give {how}")
        return self

    @property
    def from_repository(self) -> bool:
        return bool(self.repo)

    @property
    def archive_name(self) -> str:
        return f"{Path(self.chart).name if not self.repo else self.chart}-{self.version}.tgz"


class Defaults(StrictModel):
    timeout: float = Field(default=600.0, gt=0)
    """Seconds each release may take to install and become ready before it is rolled back."""


class ReleasesFile(StrictModel):
    defaults: Defaults = Field(default_factory=Defaults)
    releases: list[Release]
    path: Path = Path("charts/releases.yaml")

    @property
    def directory(self) -> Path:
        return self.path.parent

    def get(self, name: str) -> Release:
        for release in self.releases:
            if release.name == name:
                return release
        known = ", ".join(r.name for r in self.releases)
        raise ConfigError(f"{self.path}: no release {name!r} (releases: {known})")

    def timeout(self, release: Release) -> float:
        return release.timeout or self.defaults.timeout


_RELEASES = NamedItems("releases", "release")


def parse_releases(data: Any, path: Path) -> ReleasesFile:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: the top level must be a mapping with 'releases'")
    try:
        parsed = ReleasesFile.model_validate({**data, "path": path})
    except ValidationError as exc:
        raise ConfigError(one_line(exc, data, path, _RELEASES)) from None
    problem = _problem(parsed)
    if problem:
        raise ConfigError(f"{path}: {problem}")
    return parsed


def load_releases(path: Path) -> ReleasesFile:
    data = read_yaml(path, "no releases file (charts.releases in workshop.yaml names it)")
    return parse_releases(data, path)


def _problem(parsed: ReleasesFile) -> str | None:
    names = [r.name for r in parsed.releases]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return f"two releases are named {name!r}"
        seen.add(name)
    for release in parsed.releases:
        for need in release.needs:
            if need not in seen:
                return f"release {release.name!r}: needs {need!r}, which is not a release here"
            if need == release.name:
                return f"release {release.name!r}: needs itself"
        for values in release.values:
            if values.file and not (parsed.directory / values.file).is_file():
                return (
                    f"release {release.name!r}: values file {parsed.directory / values.file} does not exist"
                )
        if release.manifests is None and not release.repo and not (parsed.directory / release.chart).exists():
            chart = parsed.directory / release.chart
            return f"release {release.name!r}: chart {chart} does not exist (and it names no repo)"
    try:
        levels(parsed.releases)
    except ConfigError as exc:
        return str(exc)
    return None


def levels(releases: Sequence[Release]) -> list[list[Release]]:
    """Releases in install order: each level needs only earlier levels; a level's releases are
    independent of each other. ``needs`` outside ``releases`` are taken as met."""
    by_name = {r.name: r for r in releases}
    sorter = TopologicalSorter({r.name: [n for n in r.needs if n in by_name] for r in releases})
    try:
        sorter.prepare()
    except CycleError as exc:
        raise ConfigError(f"the releases' needs form a cycle: {' -> '.join(_needs_cycle(exc))}") from None
    result: list[list[Release]] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        result.append([by_name[name] for name in ready])
        sorter.done(*ready)
    return result


def _needs_cycle(error: CycleError) -> list[str]:
    """The cycle graphlib found, each release followed by one it needs, from the first name on."""
    found: list[str] = error.args[1]
    needing = list(reversed(found[:-1]))
    start = needing.index(min(needing))
    rotated = needing[start:] + needing[:start]
    return [*rotated, rotated[0]]


def with_needs(parsed: ReleasesFile, names: Iterable[str]) -> list[Release]:
    """The named releases and, transitively, what they need (in file order)."""
    wanted: set[str] = set()
    stack = list(names)
    while stack:
        release = parsed.get(stack.pop())
        if release.name not in wanted:
            wanted.add(release.name)
            stack.extend(release.needs)
    return [r for r in parsed.releases if r.name in wanted]
