"""The training data the labs read from the object store: made once per install of MinIO by a Job in
its namespace, and put into the datasets bucket (which every participant's account may read,
:mod:`.s3accounts`).

* ``digits.npz``: scikit-learn's handwritten digits (1,797 8x8 images, bundled with scikit-learn:
  nothing is downloaded), split 75/25 with a fixed seed, as the arrays ``x_train``, ``y_train``,
  ``x_test``, ``y_test``. The pipeline lab's ``fetch`` step downloads it.

The Job makes the file with the lab base image's Python and uploads it with the add-on's ``mc`` and
MinIO's root keys (never read by kubedojo). A ConfigMap in MinIO's namespace records the version put
there, so that a second call does nothing.
"""

from __future__ import annotations

import secrets
from typing import Any

from ..client.kubeapi import KubeAPI
from ..errors import ConfigError, WaitTimeout
from ..labels import MANAGED
from .s3accounts import (
    DATASETS_BUCKET,
    ENDPOINT,
    MINIO_NAMESPACE,
    object_store_installed,
    root_credentials_env,
    run_job,
)

__all__ = ["DATASETS", "DATASETS_VERSION", "dataset_job", "ensure_datasets"]

DATASETS = {"digits.npz": "scikit-learn's digits, split 75/25 (x_train, y_train, x_test, y_test)"}
DATASETS_VERSION = "1"
"""Raised when a dataset's content changes, so that the next call puts it there again."""
_RECORD = "kubedojo-datasets"
_JOB = "kubedojo-datasets"
_MAKE = """
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

x, y = load_digits(return_X_y=True)
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0)
np.savez("/out/digits.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
print("digits.npz:", x_train.shape, x_test.shape)
"""
_UPLOAD = f"""set -eu
mc alias set store "http://{ENDPOINT}" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
mc mb --ignore-existing store/{DATASETS_BUCKET} >/dev/null
for file in /out/*; do mc cp --quiet "$file" "store/{DATASETS_BUCKET}/$(basename "$file")"; done
"""


def dataset_job(base_image: str, mc_image: str, name: str = _JOB) -> dict[str, Any]:
    small = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "512Mi"}}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": MINIO_NAMESPACE, "labels": dict(MANAGED)},
        "spec": {
            "backoffLimit": 2,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "initContainers": [
                        {
                            "name": "make",
                            "image": base_image,
                            "command": ["python3", "-c", _MAKE],
                            "volumeMounts": [{"name": "out", "mountPath": "/out"}],
                            "resources": small,
                        }
                    ],
                    "containers": [
                        {
                            "name": "upload",
                            "image": mc_image,
                            "command": ["/bin/sh", "-c", _UPLOAD],
                            "env": root_credentials_env(),
                            "volumeMounts": [{"name": "out", "mountPath": "/out", "readOnly": True}],
                            "resources": small,
                        }
                    ],
                    "volumes": [{"name": "out", "emptyDir": {}}],
                }
            },
        },
    }


def ensure_datasets(client: KubeAPI, base_image: str, mc_image: str, timeout: float = 240.0) -> bool:
    """Put the datasets into the object store unless this version is there; whether it did.
    :class:`ConfigError` (one line) without MinIO or when the Job fails."""
    if not object_store_installed(client):
        raise ConfigError("the object store is not installed: run 'invoke charts.install -n minio' first")
    record = client.find("ConfigMap", _RECORD, MINIO_NAMESPACE)
    minio = client.find("Deployment", "minio", MINIO_NAMESPACE)
    installed = str(((minio or {}).get("metadata") or {}).get("uid"))
    if record is not None and (record.get("data") or {}) == {"version": DATASETS_VERSION, "minio": installed}:
        return False
    name = f"{_JOB}-{secrets.token_hex(3)}"  # calls at the same time do not meet (same content)
    try:
        completed = run_job(
            client,
            dataset_job(base_image, mc_image, name),
            "to put the datasets into the object store",
            timeout,
        )
    except WaitTimeout as exc:
        raise ConfigError(str(exc)) from None
    if not completed:  # kept for its log, which the error points to
        raise ConfigError(
            f"the datasets were not put into the object store: 'kubectl -n {MINIO_NAMESPACE} logs job/{name}'"
        )
    client.delete("Job", name, MINIO_NAMESPACE)
    client.apply(
        [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": _RECORD, "namespace": MINIO_NAMESPACE, "labels": dict(MANAGED)},
                "data": {"version": DATASETS_VERSION, "minio": installed},
            }
        ]
    )
    return True
