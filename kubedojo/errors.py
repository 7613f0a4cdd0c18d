"""kubedojo's exceptions.

Every error kubedojo raises on purpose is a :class:`KubedojoError`; its ``str()`` is one line that names
what went wrong (a file, a field, a component, a host) and what to do about it. The task layer prints
that line and exits non-zero, never a traceback.

    KubedojoError
    ├── ConfigError        bad input: workshop.yaml, a manifest, an inventory, a command-line value
    ├── ToolMissingError   a program kubedojo needs is not installed
    ├── CommandError       an external command exited non-zero
    ├── BuildError         building binaries or images failed
    ├── DownloadError      a download failed or its checksum did not match
    ├── WaitTimeout        a bounded wait ran out (the message carries the timeout)
    ├── ProvisionError     a playbook failed: the message names the host, the task and why
    ├── Cancelled          the user stopped a long run (Ctrl-C); its record is kept
    ├── AddonError         a chart release failed (or helm could not read it): names the release
    ├── ApiError           the API server refused a request, or could not be reached (client layer)
    │   ├── NotFound           404: no such object
    │   ├── Conflict           409: it exists already, or changed meanwhile
    │   ├── Forbidden          403: this identity may not do that
    │   ├── Gone               410: a watch's resourceVersion is too old (list again)
    │   ├── Invalid            422: the object is invalid; ``causes`` holds the server's field causes
    │   └── Unreachable        no answer from the API server (connection refused, TLS, timeout)
    ├── RegistryError      an image registry could not be read
    └── ClusterError       the cluster is not in the state the command needs
        ├── NotRunningError    no cluster is running here
        ├── ClusterBusyError   another kubedojo cluster owns this machine
        └── ComponentError     one component failed to start or to become healthy
"""

from __future__ import annotations

__all__ = [
    "AddonError",
    "ApiError",
    "BuildError",
    "Cancelled",
    "ClusterBusyError",
    "ClusterError",
    "CommandError",
    "ComponentError",
    "ConfigError",
    "Conflict",
    "DownloadError",
    "Forbidden",
    "Gone",
    "Invalid",
    "KubedojoError",
    "NotFound",
    "NotRunningError",
    "ProvisionError",
    "RegistryError",
    "ToolMissingError",
    "Unreachable",
    "WaitTimeout",
]


class KubedojoError(Exception):
    """Base of every error kubedojo raises on purpose; its message is one line."""


class ConfigError(KubedojoError):
    """Bad input: the message names the file and the key or field."""


class ToolMissingError(KubedojoError):
    """A program is missing; the message says how to install it."""

    def __init__(self, tool: str, hint: str) -> None:
        super().__init__(f"'{tool}' is not installed: {hint}")
        self.tool = tool


class CommandError(KubedojoError):
    """An external command failed."""

    def __init__(self, argv: list[str], returncode: int, output: str) -> None:
        last = next((ln.strip() for ln in reversed(output.splitlines()) if ln.strip()), "")
        detail = f": {last}" if last else ""
        super().__init__(f"'{' '.join(argv[:3])}' exited with {returncode}{detail}")
        self.argv = argv
        self.returncode = returncode
        self.output = output


class BuildError(KubedojoError):
    """Building a binary or an image failed."""


class DownloadError(KubedojoError):
    """A download failed or did not match its checksum."""


class WaitTimeout(KubedojoError):
    """A bounded wait ran out."""

    def __init__(self, what: str, timeout: float) -> None:
        super().__init__(f"timed out after {timeout:g} s waiting for {what}")
        self.what = what
        self.timeout = timeout


class ProvisionError(KubedojoError):
    """A playbook run failed. ``failures`` holds every host that failed, with its task and message."""

    def __init__(self, message: str, failures: tuple[object, ...] = (), artifact_dir: str = "") -> None:
        super().__init__(message)
        self.failures = failures
        self.artifact_dir = artifact_dir


class Cancelled(KubedojoError):
    """The user cancelled a long run; the task layer exits with 130, as for any Ctrl-C."""


class AddonError(KubedojoError):
    """A chart release could not be rendered, installed, upgraded or removed; helm's reason is in the
    message, and a failed install or upgrade has been rolled back."""


class ApiError(KubedojoError):
    """The API server refused a request (``status`` is its HTTP status) or could not be reached
    (``status`` 0). The message is the server's own one-line explanation, after what was asked.

    Only the client layer raises these (``kubedojo.client.kube`` maps the official client's
    exceptions in one place); the core catches the subclass it expects instead of testing codes."""

    status: int = 0

    def __init__(
        self, message: str, *, status: int | None = None, reason: str = "", server_message: str = ""
    ) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        self.reason = reason
        """The server's machine-readable reason (``NotFound``, ``AlreadyExists``, ...); for
        :class:`Unreachable`, the connection's failure (``[Errno 111] Connection refused``)."""
        self.server_message = server_message or message
        """The server's own words, without what was asked."""


class NotFound(ApiError):
    """404: the object (or its kind) does not exist."""

    status = 404


class Conflict(ApiError):
    """409: the object already exists, or it changed since it was read."""

    status = 409


class Forbidden(ApiError):
    """403: this identity may not do that (RBAC), or an admission policy refused it."""

    status = 403


class Gone(ApiError):
    """410: a watch's resourceVersion is too old; list again."""

    status = 410


class Invalid(ApiError):
    """422: the object is invalid. ``causes`` holds the server's ``(field, message)`` pairs."""

    status = 422

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        reason: str = "",
        server_message: str = "",
        causes: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(message, status=status, reason=reason, server_message=server_message)
        self.causes = causes


class Unreachable(ApiError):
    """The API server did not answer: connection refused, TLS failure or timeout."""

    status = 0


class RegistryError(KubedojoError):
    """An image registry could not be read (unreachable, or an answer that is not a manifest)."""


class ClusterError(KubedojoError):
    """The cluster is not in the state the command needs."""


class NotRunningError(ClusterError):
    """No cluster is running here."""


class ClusterBusyError(ClusterError):
    """Another kubedojo cluster (another state directory) owns this machine's runtime paths."""


class ComponentError(ClusterError):
    """A component failed to start or to become healthy; the message names its log file."""

    def __init__(self, component: str, reason: str, log: str | None = None) -> None:
        where = f" (log: {log})" if log else ""
        super().__init__(f"{component}: {reason}{where}")
        self.component = component
        self.log = log
