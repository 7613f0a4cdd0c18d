"""Credentials the add-ons need (MinIO's root user, the S3 keys Argo uses), made per install and kept
in Secrets: generated once, then reused, so a second install changes nothing; never printed and never
written anywhere but the cluster."""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable

from ..client.kubeapi import KubeAPI
from .releases import Credential, Release

__all__ = ["MANAGED_LABEL", "ensure_credentials", "random_value", "usable"]

MANAGED_LABEL = "kubedojo.dev/managed-by"
_ALPHABET = string.ascii_letters + string.digits


def random_value(length: int) -> str:
    """``length`` random letters and digits (about 5.95 bits each: 95 bits for the shortest, 16).
    Nothing else: a value that began with ``-`` (as one ``secrets.token_urlsafe`` in 64 does) would be
    read as an option by ``mc`` and other command lines that are given it."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def usable(value: str) -> bool:
    """Whether a stored generated value can be given to a command line (not read as an option)."""
    return bool(value) and not value.startswith("-")


def _secret(name: str, namespace: str, data: dict[str, str], release: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {MANAGED_LABEL: "kubedojo", "kubedojo.dev/release": release},
        },
        "type": "Opaque",
        "stringData": data,
    }


def ensure_credentials(
    client: KubeAPI, release: Release, token: Callable[[int], str] = random_value
) -> list[str]:
    """Make or refresh the release's Secrets; what was done, as ``namespace/name: created|kept|updated``.

    A generated value is kept across installs, unless it is not :func:`usable` (made by an earlier
    version with ``token_urlsafe``, it begins with ``-``): then it is generated anew."""
    done = []
    for credential in release.credentials:
        namespace = credential.namespace or release.namespace
        client.ensure_namespace(namespace)
        current = client.read_secret(namespace, credential.secret)
        wanted = _wanted(client, credential, current or {}, token)
        if current is not None and all(current.get(k) == v for k, v in wanted.items()):
            done.append(f"{namespace}/{credential.secret}: kept")
            continue
        client.apply([_secret(credential.secret, namespace, {**(current or {}), **wanted}, release.name)])
        done.append(f"{namespace}/{credential.secret}: {'updated' if current is not None else 'created'}")
    return done


def _wanted(
    client: KubeAPI, credential: Credential, current: dict[str, str], token: Callable[[int], str]
) -> dict[str, str]:
    if credential.copy_from:
        from ..errors import AddonError

        namespace, name = credential.copy_from.split("/")
        source = client.read_secret(namespace, name)
        if source is None:
            raise AddonError(
                f"credential {credential.secret}: its source Secret {credential.copy_from} does not exist"
            )
        missing = [k for k in credential.keys.values() if k not in source]
        if missing:
            raise AddonError(
                f"credential {credential.secret}: {credential.copy_from} has no key {missing[0]!r}"
            )
        return {new: source[old] for new, old in credential.keys.items()}
    wanted = {}
    for key, spec in credential.generate.items():
        if isinstance(spec, int):
            kept = current.get(key)
            wanted[key] = kept if kept and usable(kept) else token(spec)[:spec]
        else:
            wanted[key] = spec
    return wanted
