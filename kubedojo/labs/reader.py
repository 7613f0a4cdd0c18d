"""Reading what a run left on a volume or in the object store, with a short-lived reader pod (the one
write grading makes).

For a volume, the pod mounts the claim (or the node's directory, read-only) and prints the listing of
the directory and its subdirectories as JSON — path relative to the directory (``sub/model.joblib``),
size, modification time, SHA-256 and, for ``.npz`` files, how many arrays they hold — then it is
deleted. Only regular files count: a symbolic link is not followed (it could point anywhere on the
node). For an object, the pod takes the namespace's own object-store keys (the Secret
``kubedojo-s3``, as the participant's pods do: what they cannot read, it cannot either) and prints
the object's files: the object itself, or the members of a ``.tgz`` (how Argo keeps an artifact),
each with its size, SHA-256, an ``.npz`` file's array names, and the first 4 KB of text.
"""

from __future__ import annotations

import contextlib
import json
import posixpath
import secrets
from typing import Any

from ..addons.s3accounts import SECRET as _S3_SECRET
from ..client.kubeapi import KubeAPI
from ..errors import ApiError, ClusterError, WaitTimeout
from ..labels import MANAGED
from .grading import FileInfo, StoredFile

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


_OBJECT_SCRIPT = """
import hashlib, io, json, os, sys, tarfile, zipfile
import boto3
from botocore.exceptions import ClientError
bucket, key = sys.argv[1], sys.argv[2]
store = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1")
try:
    data = store.get_object(Bucket=bucket, Key=key)["Body"].read(64 * 1024 * 1024)
except ClientError as exc:
    if exc.response["Error"]["Code"] in ("NoSuchKey", "NoSuchBucket", "404"):
        print(json.dumps(None))
        sys.exit(0)
    raise
def describe(name, blob):
    keys = text = None
    if name.endswith(".npz"):
        try:
            keys = [n[:-4] for n in zipfile.ZipFile(io.BytesIO(blob)).namelist() if n.endswith(".npy")]
        except Exception:
            keys = []
    try:
        text = blob[:4096].decode("utf-8")
    except UnicodeDecodeError:
        pass
    digest = hashlib.sha256(blob).hexdigest()
    return {"name": name, "size": len(blob), "sha256": digest, "npz_keys": keys, "text": text}
files = []
if key.endswith((".tgz", ".tar.gz")):
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive.getmembers()[:200]:
            if member.isfile():
                files.append(describe(member.name, archive.extractfile(member).read()))
else:
    files.append(describe(os.path.basename(key), data))
print(json.dumps(files))
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

    def read_object(self, namespace: str, *, bucket: str, key: str) -> list[StoredFile] | None:
        def env(name: str, item: str) -> dict[str, Any]:
            return {"name": name, "valueFrom": {"secretKeyRef": {"name": _S3_SECRET, "key": item}}}

        container = {
            "name": "reader",
            "image": self.image,
            "command": ["python3", "-c", _OBJECT_SCRIPT, bucket, key],
            "env": [
                env("S3_ENDPOINT", "endpoint"),
                env("AWS_ACCESS_KEY_ID", "accessKey"),
                env("AWS_SECRET_ACCESS_KEY", "secretKey"),
            ],
            "resources": {
                "requests": {"cpu": "10m", "memory": "64Mi"},
                "limits": {"cpu": "500m", "memory": "256Mi"},
            },
        }
        found = self._run(namespace, self._spec([container], []), "the object store")
        return (
            None
            if found is None
            else [
                StoredFile(
                    f["name"],
                    int(f["size"]),
                    str(f["sha256"]),
                    None if f.get("npz_keys") is None else tuple(f["npz_keys"]),
                    f.get("text"),
                )
                for f in found
            ]
        )

    def examine(self, namespace: str, *, claim: str, script: str) -> Any:
        container = {
            "name": "reader",
            "image": self.image,
            "command": ["python3", "-c", script, "/data"],
            "resources": {
                "requests": {"cpu": "100m", "memory": "128Mi"},
                "limits": {"cpu": "1", "memory": "384Mi"},
            },
            "volumeMounts": [{"name": "data", "mountPath": "/data", "readOnly": True}],
        }
        volume = {"name": "data", "persistentVolumeClaim": {"claimName": claim, "readOnly": True}}
        return self._run(namespace, self._spec([container], [volume]), f"the claim {claim}")

    def _spec(self, containers: list[dict[str, Any]], volumes: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "restartPolicy": "Never",
            "activeDeadlineSeconds": int(self.timeout),
            "terminationGracePeriodSeconds": 0,
            "automountServiceAccountToken": False,
            "containers": containers,
            "volumes": volumes,
        }

    def _volume_spec(self, claim: str | None, host_path: str | None, node: str | None) -> dict[str, Any]:
        if claim is not None:
            volume: dict[str, Any] = {"persistentVolumeClaim": {"claimName": claim, "readOnly": True}}
            target = "/data"
        else:
            path = posixpath.normpath(str(host_path))
            volume = {"hostPath": {"path": posixpath.dirname(path) or "/", "type": "Directory"}}
            target = posixpath.join("/data", posixpath.basename(path))
        container = {
            "name": "reader",
            "image": self.image,
            "command": ["python3", "-c", _SCRIPT, target],
            "resources": {
                "requests": {"cpu": "10m", "memory": "32Mi"},
                "limits": {"cpu": "200m", "memory": "64Mi"},
            },
            "volumeMounts": [{"name": "data", "mountPath": "/data", "readOnly": True}],
        }
        spec = self._spec([container], [{"name": "data", **volume}])
        if node is not None:
            spec["nodeName"] = node
        return spec

    def _read(
        self, namespace: str, claim: str | None, host_path: str | None, node: str | None
    ) -> list[FileInfo]:
        entries = self._run(namespace, self._volume_spec(claim, host_path, node), "the volume") or []
        return [
            FileInfo(e["name"], int(e["size"]), float(e["mtime"]), e.get("npz_arrays"), e.get("sha256"))
            for e in entries
        ]

    def _run(self, namespace: str, spec: dict[str, Any], what: str) -> Any:
        """Run a reader pod of ``spec`` in ``namespace`` to its end; the JSON of its last line."""
        name = f"kubedojo-reader-{secrets.token_hex(4)}"
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": {**MANAGED, READER_LABEL: "reader"}},
            "spec": spec,
        }
        try:
            self.client.create(pod, namespace)
        except ApiError as exc:  # the namespace's quota is full, say: that grading waits
            raise ClusterError(f"cannot start a reader pod in {namespace}: {exc.server_message}") from None
        try:
            ended = self.client.wait_for(
                f"reader pod {namespace}/{name}",
                "Pod",
                lambda p: _phase(p) in ("Succeeded", "Failed"),
                self.timeout,
                namespace,
                name=name,
            )
            log = self.client.pod_log(namespace, name, "reader") or ""
        except WaitTimeout as exc:
            raise ClusterError(f"could not read {what}: {exc}") from None
        finally:
            with contextlib.suppress(ApiError):
                self.client.delete("Pod", name, namespace, grace_seconds=0)
        if _phase(ended) != "Succeeded":
            raise ClusterError(f"the reader pod {namespace}/{name} failed: {log.strip()[-200:]}")
        try:
            return json.loads(log.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise ClusterError(f"the reader pod {namespace}/{name} printed nothing readable") from None


def _phase(pod: dict[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "")
