"""kubedojo: provision a Kubernetes cluster for an ML workshop, install its add-ons, run graded
hands-on labs and grade a whole class.

The public API is what ``__all__`` lists; the Invoke tasks (``tasks.py``) are its command line.
"""

from __future__ import annotations

from .config import WorkshopConfig, load_config, parse_config
from .errors import (
    AddonError,
    BuildError,
    Cancelled,
    ClusterBusyError,
    ClusterError,
    CommandError,
    ComponentError,
    ConfigError,
    DownloadError,
    KubedojoError,
    NotRunningError,
    ProvisionError,
    ToolMissingError,
    WaitTimeout,
)
from .progress import NullReporter, Reporter
from .versions import KUBERNETES_VERSION

__version__ = "0.1.0"

__all__ = [
    "KUBERNETES_VERSION",
    "AddonError",
    "BuildError",
    "Cancelled",
    "ClusterBusyError",
    "ClusterError",
    "CommandError",
    "ComponentError",
    "ConfigError",
    "DownloadError",
    "KubedojoError",
    "NotRunningError",
    "NullReporter",
    "ProvisionError",
    "Reporter",
    "ToolMissingError",
    "WaitTimeout",
    "WorkshopConfig",
    "__version__",
    "load_config",
    "parse_config",
]
