"""Reading what a Job left on a volume, with a short-lived reader pod (the one write grading makes).

The pod mounts the claim (or the node's directory, read-only) and prints the listing of the directory
and its subdirectories as JSON — path relative to the directory (``sub/model.joblib``), size,
modification time, SHA-256 and, for ``.npz`` files, how many arrays they hold — then it is deleted.
Only regular files count: a symbolic link is not followed (it could point anywhere on the node).
"""

from __future__ import annotations

import contextlib
import json
import posixpath
import secrets
from typing import Any

from ..client.kubeapi import KubeAPI
from ..errors import ApiError, ClusterError, WaitTimeout
from ..labels import MANAGED
from .grading import FileInfo

__all__ = ["READER_LABEL", "VolumeReader"]

READER_LABEL = "kubedojo.dev/role"
_SCRIPT = """
import hashlib, json, os, stat, sys, zipfile
root = sys.argv[1]
out = []
for top, dirs, files in os.walk(root):
    dirs.sort()
    for name in sorted(files):
        path = os.path.join(top, name)
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode) or len(out) >= 2000:
            continue
        arrays = digest = None
        if st.st_size <= 256 * 1024 * 1024:
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            digest = h.hexdigest()
        if name.endswith(".npz"):
            try:
                arrays = sum(1 for n in zipfile.ZipFile(path).namelist() if n.endswith(".npy"))
            except Exception:
                arrays = -1
        rel = os.path.relpath(path, root)
        out.append({"name": rel, "size": st.st_size, "mtime": st.st_mtime, "npz_arrays": arrays,
                    "sha256": digest})
print(json.dumps(out))
"""


class VolumeReader:
    def __init__(self, client: KubeAPI, image: str, timeout: float = 90.0) -> None:
        self.client = client
        self.image = image
        self.timeout = timeout

    def list_files(
        self, namespace: str, *, claim: str | None, host_path: str | None, node: str | None
    ) -> list[FileInfo]:
        return self._read(namespace, claim, host_path, node)

    def _pod(self, name: str, claim: str | None, host_path: str | None, node: str | None) -> dict[str, Any]:
        if claim is not None:
            volume: dict[str, Any] = {"persistentVolumeClaim": {"claimName": claim, "readOnly": True}}
            target = "/data"
        else:
            path = posixpath.normpath(str(host_path))
            volume = {"hostPath": {"path": posixpath.dirname(path) or "/", "type": "Directory"}}
            target = posixpath.join("/data", posixpath.basename(path))
        spec: dict[str, Any] = {
            "restartPolicy": "Never",
            "activeDeadlineSeconds": int(self.timeout),
            "terminationGracePeriodSeconds": 0,
            "automountServiceAccountToken": False,
            "containers": [
                {
                    "name": "reader",
                    "image": self.image,
                    "command": ["python3", "-c", _SCRIPT, target],
                    "resources": {
                        "requests": {"cpu": "10m", "memory": "32Mi"},
                        "limits": {"cpu": "200m", "memory": "64Mi"},
                    },
                    "volumeMounts": [{"name": "data", "mountPath": "/data", "readOnly": True}],
                }
            ],
            "volumes": [{"name": "data", **volume}],
        }
        if node is not None:
            spec["nodeName"] = node
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": {**MANAGED, READER_LABEL: "reader"}},
            "spec": spec,
        }

    def _read(
        self, namespace: str, claim: str | None, host_path: str | None, node: str | None
    ) -> list[FileInfo]:
        name = f"kubedojo-reader-{secrets.token_hex(4)}"
        self.client.create(self._pod(name, claim, host_path, node), namespace)
        try:
            pod = self.client.wait_for(
                f"reader pod {namespace}/{name}",
                "Pod",
                lambda p: _phase(p) in ("Succeeded", "Failed"),
                self.timeout,
                namespace,
                name=name,
            )
            log = self.client.pod_log(namespace, name, "reader") or ""
        except WaitTimeout as exc:
            raise ClusterError(f"could not read the volume: {exc}") from None
        finally:
            with contextlib.suppress(ApiError):
                self.client.delete("Pod", name, namespace, grace_seconds=0)
        if _phase(pod) != "Succeeded":
            raise ClusterError(f"the reader pod {namespace}/{name} failed: {log.strip()[-200:]}")
        try:
            entries = json.loads(log.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise ClusterError(f"the reader pod {namespace}/{name} printed no listing") from None
        return [
            FileInfo(e["name"], int(e["size"]), float(e["mtime"]), e.get("npz_arrays"), e.get("sha256"))
            for e in entries
        ]


def _phase(pod: dict[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "")
