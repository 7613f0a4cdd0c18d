"""On-prem sites: kubespray driven by ansible-runner (``invoke cluster.up -i inventory/<site>``).

``site`` reads and checks site.yaml; ``inventory`` writes kubespray's inventory from it;
``kubespray`` finds or fetches the pinned kubespray; ``preflight`` judges what the read-only
preflight playbook saw; ``events`` folds ansible-runner's events into progress and failures;
``runs`` runs one playbook for a site; ``cluster`` puts them together as operations.
"""

from __future__ import annotations

from .cluster import OnpremCluster, PreflightFailed, UpReport
from .events import HostTally, PlaybookProgress, ProgressSnapshot, TaskFailure
from .inventory import GeneratedInventory, write_inventory
from .kubespray import KUBESPRAY, KubesprayFetcher, KubesprayRelease, KubesprayTree, check_ansible_version
from .preflight import CheckResult, HostReport, PreflightReport, judge_host
from .runs import NullWatcher, PlaybookWatcher, RunReport, SiteRunner
from .site import Node, Site, load_site, parse_site

__all__ = [
    "KUBESPRAY",
    "CheckResult",
    "GeneratedInventory",
    "HostReport",
    "HostTally",
    "KubesprayFetcher",
    "KubesprayRelease",
    "KubesprayTree",
    "Node",
    "NullWatcher",
    "OnpremCluster",
    "PlaybookProgress",
    "PlaybookWatcher",
    "PreflightFailed",
    "PreflightReport",
    "ProgressSnapshot",
    "RunReport",
    "Site",
    "SiteRunner",
    "TaskFailure",
    "UpReport",
    "check_ansible_version",
    "judge_host",
    "load_site",
    "parse_site",
    "write_inventory",
]
