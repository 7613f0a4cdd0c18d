"""The thin client layer: the only code that runs programs, manages processes, touches host settings,
downloads and talks to the Kubernetes API. The core composes these; tests of pure logic inject stand-ins.
"""

from __future__ import annotations

from .commands import Runner, require_tool
from .processes import Daemon, ProcessTable

__all__ = ["Daemon", "ProcessTable", "Runner", "require_tool"]
