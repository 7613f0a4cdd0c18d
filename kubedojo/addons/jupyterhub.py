"""JupyterHub's values that kubedojo computes (``generate: jupyterhub-class-auth`` in releases.yaml):
kubedojo's class authenticator (``assets/kubedojo_class_auth.py``) mounted beside the chart's
configuration, where the hub imports it, and the Secret of the participants' password hashes that
``class.setup`` writes (:mod:`kubedojo.classroom.jupyter`) mounted for it to read."""

from __future__ import annotations

from importlib import resources
from typing import Any

__all__ = ["AUTHENTICATOR", "USERS_KEY", "USERS_SECRET", "class_auth_values"]

USERS_SECRET = "kubedojo-jupyter-users"
"""The Secret, in the hub's namespace, of the participants' password hashes (class.setup's)."""
USERS_KEY = "users.json"

_MODULE = "kubedojo_class_auth"
AUTHENTICATOR = f"{_MODULE}.ClassAuthenticator"
_CONFIG_DIR = "/usr/local/etc/jupyterhub"
"""Where the chart mounts the hub's configuration, which puts this directory on the hub's sys.path."""
_USERS_DIR = "/usr/local/etc/kubedojo"


def class_auth_values() -> dict[str, Any]:
    source = resources.files("kubedojo.addons").joinpath(f"assets/{_MODULE}.py").read_text()
    return {
        "hub": {
            "config": {
                "JupyterHub": {"authenticator_class": AUTHENTICATOR},
                "ClassAuthenticator": {"users_file": f"{_USERS_DIR}/{USERS_KEY}"},
            },
            "extraFiles": {
                "kubedojo-class-auth": {"mountPath": f"{_CONFIG_DIR}/{_MODULE}.py", "stringData": source}
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
