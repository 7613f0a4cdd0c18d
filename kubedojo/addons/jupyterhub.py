"""JupyterHub's values that kubedojo computes (releases.yaml): ``generate: jupyterhub-class``, the
class's hub — kubedojo's authenticator and spawner (``assets/kubedojo_class_hub.py``) mounted beside
the chart's configuration, where the hub imports them, and the Secret ``class.setup`` writes
(:mod:`kubedojo.classroom.jupyter`: the participants' password hashes and namespaces) mounted for
them to read; ``generate: jupyterhub-local-home``, on the local cluster, a root init container that
gives a new home claim to the notebook server's user (the local storage class makes root's
directories, mode 0750, and ignores fsGroup; a site's NFS provisioner makes open ones)."""

from __future__ import annotations

from importlib import resources
from typing import Any

__all__ = [
    "AUTHENTICATOR",
    "NAMESPACES_KEY",
    "NOTEBOOK_GID",
    "NOTEBOOK_UID",
    "SPAWNER",
    "USERS_KEY",
    "USERS_SECRET",
    "class_hub_values",
    "local_home_values",
]

USERS_SECRET = "kubedojo-jupyter-users"
"""The Secret, in the hub's namespace, of the participants' password hashes and namespaces."""
USERS_KEY = "users.json"
NAMESPACES_KEY = "namespaces.json"

_MODULE = "kubedojo_class_hub"
AUTHENTICATOR = f"{_MODULE}.ClassAuthenticator"
SPAWNER = f"{_MODULE}.ClassSpawner"
_CONFIG_DIR = "/usr/local/etc/jupyterhub"
"""Where the chart mounts the hub's configuration, which puts this directory on the hub's sys.path."""
_USERS_DIR = "/usr/local/etc/kubedojo"
_HUB_PORT = 8081
NOTEBOOK_UID = 1000
"""The notebook server's user (the chart's ``singleuser.uid``) and group (``singleuser.fsGid``)."""
NOTEBOOK_GID = 100
_HOME = "/home/jovyan"


def class_hub_values(hub_namespace: str) -> dict[str, Any]:
    """The hub's authenticator and spawner; the address its servers call it at, which must name its
    namespace (the chart's ``http://hub:8081`` resolves only in the hub's own)."""
    source = resources.files("kubedojo.addons").joinpath(f"assets/{_MODULE}.py").read_text()
    return {
        "hub": {
            "config": {
                "JupyterHub": {
                    "authenticator_class": AUTHENTICATOR,
                    "spawner_class": SPAWNER,
                    "hub_connect_url": f"http://hub.{hub_namespace}.svc:{_HUB_PORT}",
                },
                "ClassAuthenticator": {"users_file": f"{_USERS_DIR}/{USERS_KEY}"},
                "ClassSpawner": {"namespaces_file": f"{_USERS_DIR}/{NAMESPACES_KEY}"},
            },
            "extraFiles": {
                "kubedojo-class-hub": {"mountPath": f"{_CONFIG_DIR}/{_MODULE}.py", "stringData": source}
            },
            # Optional: the hub starts before any class is set up (then nobody can log in).
            "extraVolumes": [
                {"name": "kubedojo-class-users", "secret": {"secretName": USERS_SECRET, "optional": True}}
            ],
            "extraVolumeMounts": [
                {"name": "kubedojo-class-users", "mountPath": _USERS_DIR, "readOnly": True}
            ],
        }
    }


def local_home_values(image: str) -> dict[str, Any]:
    """An init container (``image``: the notebook server's) that hands the home claim to its user."""
    volume = "volume-{user_server}"  # the chart's singleuser.storage.dynamic.volumeNameTemplate
    return {
        "singleuser": {
            "initContainers": [
                {
                    "name": "home-owner",
                    "image": image,
                    "command": ["chown", f"{NOTEBOOK_UID}:{NOTEBOOK_GID}", _HOME],
                    "securityContext": {"runAsUser": 0, "runAsNonRoot": False},
                    "volumeMounts": [{"name": volume, "mountPath": _HOME}],
                }
            ]
        }
    }
