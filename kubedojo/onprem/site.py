"""An on-prem site: the one small file (``inventory/<site>/site.yaml``) that describes the machines.

Reading it checks everything that can be checked without touching a machine, mirroring the
assertions kubespray makes much later (a control plane, an odd number of etcd members, lower-case
host names, networks that do not overlap, real booleans), so a mistake costs a second, not a
half-provisioned cluster. Each problem is one :class:`~kubedojo.errors.ConfigError` line naming the
file, the host or the key, and what to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import ConfigError
from ..validation import NamedItems, one_line
from ..yamlfiles import read_yaml
from .sitechecks import is_ip, site_problem, ssh_key_path
from .sitemodel import (
    GPU_LABEL,
    GPU_TAINT,
    NETWORK_PLUGINS,
    PREFLIGHT_CHECKS,
    PROXY_MODES,
    SITE_FILE,
    NetworkPlugin,
    Node,
    PreflightCheck,
    ProxyMode,
    Site,
)

__all__ = [
    "GPU_LABEL",
    "GPU_TAINT",
    "NETWORK_PLUGINS",
    "PREFLIGHT_CHECKS",
    "PROXY_MODES",
    "SITE_FILE",
    "NetworkPlugin",
    "Node",
    "PreflightCheck",
    "ProxyMode",
    "Site",
    "is_ip",
    "load_site",
    "parse_site",
    "ssh_key_path",
]


# -- reading ---------------------------------------------------------------------------------

_HOSTS = NamedItems("nodes", "host")


def parse_site(data: Any, source: str, base_dir: Path | None = None) -> Site:
    """Validate a loaded site.yaml; ``source`` names it in errors."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: the top level must be a mapping (cluster_name, ssh, nodes, …)")
    try:
        site = Site.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(one_line(exc, data, source, _HOSTS)) from None
    problem = site_problem(site, base_dir)
    if problem:
        raise ConfigError(f"{source}: {problem}")
    return site


def load_site(directory: Path) -> Site:
    """Read and check ``<directory>/site.yaml``."""
    path = directory / SITE_FILE
    if not directory.is_dir():
        raise ConfigError(f"{directory}: no such site directory (a site is inventory/<name>/{SITE_FILE})")
    data = read_yaml(path, f"missing; copy inventory/sample/{SITE_FILE} and describe your machines")
    return parse_site(data, str(path), directory)
