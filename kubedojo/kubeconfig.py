"""The one kubeconfig renderer: a server, its CA and one user's credentials, as kubeconfig YAML.

Each credential is either a file the reader opens (a :class:`~pathlib.Path`, written as
``certificate-authority``, ``client-certificate``, ``client-key``) or its content already in base64
(a ``str``, written as the ``-data`` form). Pure: the caller reads the files it embeds and writes
the result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

__all__ = ["render_kubeconfig"]


def render_kubeconfig(
    server: str,
    ca: Path | str,
    user: str,
    *,
    cert: Path | str | None = None,
    key: Path | str | None = None,
    token: str | None = None,
    cluster: str = "kubedojo",
    context: str = "kubedojo",
    namespace: str | None = None,
) -> str:
    """A kubeconfig with one cluster, one user (client certificate and key, or a bearer token) and
    one context, which is the current one; ``namespace`` is that context's default namespace."""
    credentials: dict[str, str] = {}
    if cert is not None:
        credentials.update(_credential("client-certificate", cert))
    if key is not None:
        credentials.update(_credential("client-key", key))
    if token is not None:
        credentials["token"] = token
    context_fields = {"cluster": cluster, "user": user}
    if namespace is not None:
        context_fields["namespace"] = namespace
    config: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": cluster, "cluster": {"server": server, **_credential("certificate-authority", ca)}}
        ],
        "users": [{"name": user, "user": credentials}],
        "contexts": [{"name": context, "context": context_fields}],
        "current-context": context,
    }
    return yaml.safe_dump(config, sort_keys=False)


def _credential(field: str, value: Path | str) -> dict[str, str]:
    """``field: path`` for a file, ``field-data: base64`` for content."""
    return {field: str(value)} if isinstance(value, Path) else {f"{field}-data": value}
