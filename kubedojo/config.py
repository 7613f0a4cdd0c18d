"""The workshop configuration (``workshop.yaml``), validated on load.

An unknown key or a value of the wrong type is a :class:`~kubedojo.errors.ConfigError` whose one-line
message names the file and the dotted key. Later sections (classes, charts, labs) join this model.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from .errors import ConfigError
from .validation import StrictModel, one_line

__all__ = [
    "DEFAULT_SIM_POOLS",
    "ChartsSettings",
    "ClassNetworkSettings",
    "ClassSettings",
    "LabSettings",
    "LocalSettings",
    "NetworkSettings",
    "OnpremSettings",
    "SimPool",
    "WorkshopConfig",
    "load_config",
    "parse_config",
]


_TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


class SimPool(StrictModel):
    """A pool of simulated nodes (kwok): what each node advertises, its labels and taints."""

    capacity: dict[str, str] = Field(default_factory=lambda: {"cpu": "8", "memory": "32Gi"})
    labels: dict[str, str] = Field(default_factory=dict)
    taints: list[str] = Field(default_factory=list)
    """Taints as ``key=value:Effect`` (or ``key:Effect``)."""
    autoscale_max: int = Field(default=4, ge=0, le=200)
    """How many nodes cluster-autoscaler (kwok provider, local cluster) may add to the pool, from 0;
    0: it adds none."""

    @field_validator("taints")
    @classmethod
    def _taints_well_formed(cls, taints: list[str]) -> list[str]:
        for taint in taints:
            _, sep, effect = taint.rpartition(":")
            if not sep or effect not in _TAINT_EFFECTS:
                raise ValueError(f"taint {taint!r} must look like key=value:{'|'.join(_TAINT_EFFECTS)}")
        return taints


DEFAULT_SIM_POOLS: dict[str, SimPool] = {
    "gpu": SimPool(
        capacity={"cpu": "8", "memory": "61Gi", "nvidia.com/gpu": "1", "pods": "110"},
        labels={"role": "train-gpu", "nvidia.com/gpu.present": "true"},
        taints=["nvidia.com/gpu=present:NoSchedule"],
    ),
    "train-cpu": SimPool(
        capacity={"cpu": "4", "memory": "8Gi", "pods": "110"},
        labels={"role": "train-cpu"},
        taints=["kubedojo.dev/simulated=true:NoSchedule"],
    ),
    "train-mem": SimPool(
        capacity={"cpu": "4", "memory": "32Gi", "pods": "110"},
        labels={"role": "train-mem"},
        taints=["kubedojo.dev/simulated=true:NoSchedule"],
    ),
}


class NetworkSettings(StrictModel):
    """Addresses of the local cluster. Everything stays on this machine."""

    bridge: str = "kdojo0"
    pod_cidr: str = "10.244.0.0/16"
    """Pods of the real node take the first /24 of it, simulated pods the upper half."""
    service_cidr: str = "10.96.0.0/16"

    @field_validator("bridge")
    @classmethod
    def _bridge_name(cls, name: str) -> str:
        if not (0 < len(name) <= 15) or not name.replace("-", "").isalnum():
            raise ValueError("must be an interface name of 1 to 15 letters, digits or '-'")
        return name

    @field_validator("pod_cidr", "service_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            net = ipaddress.IPv4Network(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not an IPv4 network ({exc})") from None
        if net.prefixlen > 20:
            raise ValueError(f"{value!r} is too small: use a /20 or larger")
        return value

    @model_validator(mode="after")
    def _no_overlap(self) -> NetworkSettings:
        if self.pods.overlaps(self.services):
            raise ValueError(f"pod_cidr {self.pod_cidr} overlaps service_cidr {self.service_cidr}")
        return self

    @property
    def pods(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.pod_cidr)

    @property
    def services(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.service_cidr)

    @property
    def node_subnet(self) -> ipaddress.IPv4Network:
        """The real node's pod subnet: the first /24 of ``pod_cidr``."""
        return next(self.pods.subnets(new_prefix=24))

    @property
    def sim_subnet(self) -> ipaddress.IPv4Network:
        """Where simulated pods get their (never reachable) addresses: the upper half of ``pod_cidr``."""
        return list(self.pods.subnets(prefixlen_diff=1))[1]

    @property
    def node_ip(self) -> str:
        """The bridge's address: the node's IP, the pods' gateway and the API server's address."""
        return str(self.node_subnet.network_address + 1)

    @property
    def api_service_ip(self) -> str:
        return str(self.services.network_address + 1)

    @property
    def dns_service_ip(self) -> str:
        return str(self.services.network_address + 10)


class LocalSettings(StrictModel):
    """The embedded single-node cluster (``invoke cluster.up`` without an inventory)."""

    state_dir: str = "/var/lib/kubedojo/local"
    node_name: str = "kubedojo"
    node_labels: dict[str, str] = Field(default_factory=lambda: {"role": "default"})
    binaries: Literal["build", "download"] = "build"
    """Build the Kubernetes binaries from Go modules, or download the official release binaries."""
    download_url: str = "https://dl.k8s.io/release"
    registry_port: int = Field(default=5000, ge=1024, le=65535)
    api_port: int = Field(default=6443, ge=1024, le=65535)
    etcd_port: int = Field(default=2379, ge=1024, le=65534)
    start_timeout: float = Field(default=120.0, gt=0)
    """Seconds each start-up step may take before ``cluster.up`` gives up."""
    network: NetworkSettings = Field(default_factory=NetworkSettings)
    sim_pools: dict[str, SimPool] = Field(default_factory=lambda: dict(DEFAULT_SIM_POOLS))
    sim_job_seconds: int = Field(default=20, ge=1, le=86400)
    """How long a Job's pod "runs" on a simulated node before kwok ends it as completed (nothing
    executes there: the scheduling, the queueing and the autoscaler's work are what is real)."""

    @field_validator("node_name")
    @classmethod
    def _dns_label(cls, name: str) -> str:
        if not name or name != name.lower() or not name.replace("-", "").isalnum():
            raise ValueError("must be a lower-case DNS label (letters, digits, '-')")
        return name


class WorkshopSection(StrictModel):
    name: str = "kubedojo workshop"


class LabSettings(StrictModel):
    """How labs are run and where their results go."""

    results_dir: str = "results"
    """Result records and evidence, relative to the project directory unless absolute."""
    namespace_prefix: str = "dojo-"
    """A participant's namespace is this prefix and their name."""
    participant: str = ""
    """Who runs labs from this checkout when ``--participant`` is not given; empty: the login name."""

    @field_validator("namespace_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if value and not re.match(r"^[a-z0-9][a-z0-9-]*$", value):
            raise ValueError("must be lower-case letters, digits and '-'")
        return value


class QuotaSettings(StrictModel):
    """What each participant's namespace may use (a ResourceQuota). Finished Jobs and their pods
    count against ``jobs`` and ``pods`` until deleted, so leave room for every lab's Jobs."""

    cpu: str = "4"
    memory: str = "8Gi"
    gpus: int = Field(default=0, ge=0)
    pods: int = Field(default=40, ge=1)
    jobs: int = Field(default=40, ge=1)
    claims: int = Field(default=4, ge=0)
    storage: str = "10Gi"
    configmaps: int = Field(default=20, ge=1)


class ContainerLimits(StrictModel):
    """Defaults and bounds for one container (a LimitRange), so a pod without resources still fits."""

    default_cpu: str = "500m"
    default_memory: str = "512Mi"
    default_request_cpu: str = "100m"
    default_request_memory: str = "128Mi"
    max_cpu: str = "2"
    max_memory: str = "4Gi"


class ClassNetworkSettings(StrictModel):
    """Where participants' pods may connect, beyond what every class allows (their own namespace, the
    cluster DNS, the API server, namespaces labelled shared services): the default NetworkPolicies of
    their namespaces (docs/classroom.md, "Network")."""

    internet: bool = True
    """To public IPv4 addresses: every address but the private (10/8, 172.16/12, 192.168/16), shared
    (100.64/10) and link-local (169.254/16) ranges, where clusters put pods, Services and nodes (pip,
    datasets; where the cluster has a route out: the local cluster has none)."""
    egress_cidrs: list[str] = Field(default_factory=list)
    """Further networks they may connect to, such as a site's package mirror or proxy on a private
    address."""

    @field_validator("egress_cidrs")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                ipaddress.ip_network(value)
            except ValueError as exc:
                raise ValueError(f"{value!r} is not an IP network ({exc})") from None
        return values


class ClassSettings(StrictModel):
    """A class of participants on one cluster (``invoke class.*``)."""

    output_dir: str = "class"
    """Participants' kubeconfigs, the handout and scoreboards, relative to the project unless absolute."""
    token_hours: int = Field(default=24, ge=1, le=24 * 30)
    """How long each participant's credentials are valid."""
    quota: QuotaSettings = Field(default_factory=QuotaSettings)
    limits: ContainerLimits = Field(default_factory=ContainerLimits)
    server: str = ""
    """The API server address written into participants' kubeconfigs; empty: the admin kubeconfig's."""
    network: ClassNetworkSettings = Field(default_factory=ClassNetworkSettings)

    @model_validator(mode="after")
    def _quantities(self) -> ClassSettings:
        from .quantity import check_quantity

        for section, model in (("quota", self.quota), ("limits", self.limits)):
            for key, value in model.model_dump().items():
                if isinstance(value, str):
                    try:
                        check_quantity(value)
                    except ValueError as exc:
                        raise ValueError(f"class.{section}.{key}: {exc}") from None
        return self


class OnpremSettings(StrictModel):
    """On-prem sites (``invoke cluster.up -i inventory/<site>``): where kubespray comes from."""

    kubespray_checkout: str = ""
    """An existing kubespray checkout to use instead of the pinned release (relative to the project)."""
    kubespray_url: str = "https://github.com/kubernetes-sigs/kubespray/archive/refs/tags"
    """Where the pinned release archive is fetched from (``<url>/<version>.tar.gz``); a mirror works."""
    kubespray_sha256: str = ""
    """The archive's sha256, for a mirror that serves fixed bytes; the content is checked either way."""
    forks: int = Field(default=10, ge=1, le=200)
    """Hosts Ansible works on at once."""

    @field_validator("kubespray_sha256")
    @classmethod
    def _sha256(cls, value: str) -> str:
        if value and not re.fullmatch(r"[0-9a-fA-F]{64}", value):
            raise ValueError("must be 64 hexadecimal digits")
        return value.lower()


class NfsSettings(StrictModel):
    server: str = ""
    """The NFS server behind the ``nfs-storage`` class on an on-prem site; empty: none (the local
    cluster has its own ``nfs-storage`` class)."""
    path: str = "/srv/nfs/kubedojo"


class ChartsSettings(StrictModel):
    """The add-ons (``invoke charts.*``)."""

    releases: str = "charts/releases.yaml"
    bundle: str = ""
    """Install from this bundle directory (made by ``charts.pull``) instead of the repositories."""
    helm: str = ""
    """A helm binary to use; empty: kubedojo's pinned build, else helm on PATH."""
    nfs: NfsSettings = Field(default_factory=NfsSettings)
    optional: list[str] = Field(default_factory=list)
    """Optional releases this workshop installs (``optional: true`` in releases.yaml): the Kubeflow
    training operator for the PyTorchJob lab (``training-operator``), Katib (``katib``), JupyterHub
    (``jupyterhub``: then ``class.setup`` gives each participant a Jupyter password)."""
    autoscaler: Literal["auto", "none", "kwok", "clusterapi", "externalgrpc"] = "auto"
    """cluster-autoscaler's provider: auto (kwok on the local cluster, none on kubespray machines,
    which no provider drives), kwok, clusterapi, or none. ``externalgrpc`` is refused: the provider
    needs a cloud-config (its gRPC server's address and certificates) that nothing renders yet, and
    without one the autoscaler crashed at start."""

    @field_validator("autoscaler")
    @classmethod
    def _provider_we_can_run(cls, value: str) -> str:
        if value == "externalgrpc":
            raise ValueError(
                "externalgrpc is not supported yet: its provider needs a cloud-config naming the gRPC "
                "server and its certificates, which kubedojo does not render (the autoscaler would crash "
                "at start); use clusterapi, kwok or none"
            )
        return value


class WorkshopConfig(StrictModel):
    """The whole workshop.yaml."""

    workshop: WorkshopSection = Field(default_factory=WorkshopSection)
    local: LocalSettings = Field(default_factory=LocalSettings)
    labs: LabSettings = Field(default_factory=LabSettings)
    classroom: ClassSettings = Field(default_factory=ClassSettings, alias="class")
    onprem: OnpremSettings = Field(default_factory=OnpremSettings)
    charts: ChartsSettings = Field(default_factory=ChartsSettings)
    cache_dir: str = ""
    """Where built binaries and images are kept; empty means $KUBEDOJO_CACHE or ~/.cache/kubedojo."""
    sources_dir: str = ""
    """Where the upstream source archives of the add-on programs that the Go module proxy does not
    serve are (cluster-autoscaler, Argo Workflows: docs/addons.md); empty means $KUBEDOJO_SOURCES or
    ``sources`` in the cache directory."""

    @property
    def cache_root(self) -> Path:
        raw = self.cache_dir or os.environ.get("KUBEDOJO_CACHE") or "~/.cache/kubedojo"
        return Path(raw).expanduser()

    @property
    def sources_root(self) -> Path:
        raw = self.sources_dir or os.environ.get("KUBEDOJO_SOURCES")
        return Path(raw).expanduser() if raw else self.cache_root / "sources"

    def under(self, project: Path) -> WorkshopConfig:
        """The same configuration with every path that is relative to the project directory (results,
        class output, releases file, bundle, kubespray checkout) made absolute under ``project``.
        Done once, where the configuration is loaded; the rest of kubedojo takes paths as they are."""

        def absolute(raw: str) -> str:
            path = Path(raw).expanduser()
            return str(path if not raw or path.is_absolute() else project / path) if raw else raw

        return self.model_copy(
            update={
                "labs": self.labs.model_copy(update={"results_dir": absolute(self.labs.results_dir)}),
                "classroom": self.classroom.model_copy(
                    update={"output_dir": absolute(self.classroom.output_dir)}
                ),
                "charts": self.charts.model_copy(
                    update={
                        "releases": absolute(self.charts.releases),
                        "bundle": absolute(self.charts.bundle),
                    }
                ),
                "onprem": self.onprem.model_copy(
                    update={"kubespray_checkout": absolute(self.onprem.kubespray_checkout)}
                ),
                "sources_dir": absolute(self.sources_dir),
            }
        )


def _drop_empty(data: dict[str, Any]) -> dict[str, Any]:
    """A key left empty (``local:`` with every line under it commented out) means its default."""
    return {k: _drop_empty(v) if isinstance(v, dict) else v for k, v in data.items() if v is not None}


def parse_config(
    data: Mapping[str, Any] | None, source: str = "workshop.yaml", project: Path | None = None
) -> WorkshopConfig:
    """Validate an already-loaded mapping (for example Invoke's ``c.config.kubedojo``); with
    ``project``, its project-relative paths are made absolute (:meth:`WorkshopConfig.under`)."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: the top level must be a mapping of sections")
    given = _drop_empty(dict(data))
    try:
        config = WorkshopConfig.model_validate(given)
    except ValidationError as exc:
        raise ConfigError(one_line(exc, given, source)) from None
    return config if project is None else config.under(project)


def read_config_file(path: Path) -> dict[str, Any]:
    """Read workshop.yaml as plain data (validation is :func:`parse_config`'s job)."""
    from .yamlfiles import read_yaml

    try:
        data = read_yaml(path)
    except FileNotFoundError:
        return {}
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    return data


def load_config(path: Path) -> WorkshopConfig:
    """Read and validate a workshop.yaml; a missing file means all defaults."""
    return parse_config(read_config_file(path), source=str(path))
