"""Participants' JupyterHub credentials: a password of their own each, no shared one.

``class.setup`` gives each participant a random Jupyter password (in their folder of the class's
output, beside their kubeconfig, mode 0600; kept across setups, so a setup run again does not lock
anyone out) and writes only its PBKDF2-SHA256 hash into a Secret in the hub's namespace, with the
participant's namespace. kubedojo's authenticator in the hub (``kubedojo/addons/assets/
kubedojo_class_hub.py``, mounted there by the release's values) reads that Secret at every login,
its spawner when it starts a participant's server (in that namespace). Removing a participant removes
their record.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from ..addons.jupyterhub import NAMESPACES_KEY, USERS_KEY, USERS_SECRET

__all__ = [
    "ITERATIONS",
    "USERS_KEY",
    "USERS_SECRET",
    "merged_records",
    "new_password",
    "password_record",
    "records_of",
    "users_secret",
]

SCHEME = "pbkdf2_sha256"
ITERATIONS = 200_000
"""PBKDF2 rounds: about 0.1 s a login on a workshop machine's core, and as much for each guess at a
stolen record."""


def new_password() -> str:
    """20 characters from 15 random bytes (URL-safe base64): typed once, from the handout."""
    return secrets.token_urlsafe(15)


def password_record(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>``, as the hub's authenticator checks it."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"{SCHEME}${iterations}${salt.hex()}${digest.hex()}"


def records_of(data: Mapping[str, str] | None) -> dict[str, str]:
    """The records in a users Secret's data (decoded; None: no Secret): none if it is malformed."""
    text = (data or {}).get(USERS_KEY) or "{}"
    try:
        parsed = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    return {str(k): v for k, v in parsed.items() if isinstance(v, str)}


def merged_records(
    current: Mapping[str, str], add: Mapping[str, str], remove: Iterable[str] = ()
) -> dict[str, str]:
    """``current`` with ``add``'s records set and ``remove``'s names gone, sorted by name."""
    gone = set(remove)
    merged = {**{k: v for k, v in current.items() if k not in gone}, **add}
    return dict(sorted(merged.items()))


def users_secret(
    namespace: str,
    records: Mapping[str, str],
    labels: Mapping[str, str],
    namespaces: Mapping[str, str],
) -> dict[str, Any]:
    """The Secret the hub's authenticator (``records``) and spawner (``namespaces``: each
    participant's namespace) read."""

    def encoded(data: Mapping[str, str]) -> str:
        return base64.b64encode(json.dumps(dict(data), sort_keys=True).encode()).decode()

    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": USERS_SECRET, "namespace": namespace, "labels": dict(labels)},
        "type": "Opaque",
        "data": {USERS_KEY: encoded(records), NAMESPACES_KEY: encoded(namespaces)},
    }
