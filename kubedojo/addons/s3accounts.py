"""Each namespace's own account on the workshop's object store (the minio add-on): a MinIO user whose
policy reaches only that participant's prefix, its keys in the namespace, and Argo's artifact
repository for the namespace pointed at that prefix with those keys.

* The user's access key is the namespace's name (public: the object store's audit log names it, and
  the grader maps it back to the namespace); its secret key is generated once and kept in the
  namespace's Secret :data:`SECRET` (``accessKey``, ``secretKey``, ``endpoint``, ``bucket``,
  ``prefix``), which participants' pods mount and participants themselves cannot read.
* Its policy (:func:`account_policy`): read, write and list ``<bucket>/<participant>/`` in the
  workshop's bucket and in Argo's artifact bucket; read the datasets bucket. Nothing else: one
  participant's keys cannot read another's prefix.
* Argo's artifact repository for the namespace (:func:`artifact_repository`): the ConfigMap
  ``artifact-repositories`` Argo looks for in a Workflow's namespace, keys under
  ``argo-artifacts/<participant>/``.

The users and policies are made by one Job in MinIO's namespace (:func:`account_job`), which runs the
add-on's own ``mc`` with MinIO's root keys (its Secret ``minio-root``, never read by kubedojo): the
admin API encrypts a new user's secret with the root secret, which ``mc`` does and this module need
not. The keys reach the Job in a Secret of MinIO's namespace, removed with the Job; both are named
per call, so that two at once do not meet.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..client.kubeapi import KubeAPI
from ..errors import ConfigError, NotFound, WaitTimeout
from ..labels import MANAGED
from .credentials import random_value, usable

__all__ = [
    "ARTIFACT_BUCKET",
    "DATASETS_BUCKET",
    "ENDPOINT",
    "MINIO_NAMESPACE",
    "SECRET",
    "WORKSHOP_BUCKET",
    "Account",
    "account_job",
    "account_objects",
    "account_policy",
    "artifact_repository",
    "ensure_accounts",
    "object_store_installed",
    "root_credentials_env",
    "run_job",
]

MINIO_NAMESPACE = "minio"
"""The minio release's namespace (charts/releases.yaml)."""
ENDPOINT = "minio.minio.svc:9000"
"""Where pods reach MinIO (its Service), without a scheme."""
WORKSHOP_BUCKET = "workshop"
"""Participants' models, each under ``<participant>/`` (charts/values/minio.yaml makes it)."""
DATASETS_BUCKET = "datasets"
"""Training data every participant may read (charts/values/minio.yaml makes it)."""
ARTIFACT_BUCKET = "argo-artifacts"
SECRET = "kubedojo-s3"
_JOB = "kubedojo-s3-accounts"
_ROOT_SECRET = "minio-root"
_ACCOUNT_LABEL = "kubedojo.dev/s3-account"


@dataclass(frozen=True)
class Account:
    namespace: str
    """Also the access key."""
    participant: str
    """The prefix ``<participant>/`` in each bucket."""
    secret_key: str


def account_policy(participant: str) -> dict[str, Any]:
    """The MinIO (S3 IAM) policy of one participant's user."""
    own = [WORKSHOP_BUCKET, ARTIFACT_BUCKET]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": [f"arn:aws:s3:::{b}/{participant}/*" for b in own],
            },
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{b}" for b in own],
                "Condition": {"StringLike": {"s3:prefix": [f"{participant}/*", participant]}},
            },
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{DATASETS_BUCKET}", f"arn:aws:s3:::{DATASETS_BUCKET}/*"],
            },
        ],
    }


def artifact_repository(namespace: str, participant: str) -> dict[str, Any]:
    """Argo's artifact repository for Workflows in ``namespace``: its keys, under its prefix."""
    repository = {
        "s3": {
            "bucket": ARTIFACT_BUCKET,
            "endpoint": ENDPOINT,
            "insecure": True,
            "keyFormat": f"{participant}/{{{{workflow.name}}}}/{{{{pod.name}}}}",
            "accessKeySecret": {"name": SECRET, "key": "accessKey"},
            "secretKeySecret": {"name": SECRET, "key": "secretKey"},
        }
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "artifact-repositories",
            "namespace": namespace,
            "labels": dict(MANAGED),
            "annotations": {"workflows.argoproj.io/default-artifact-repository": "default"},
        },
        "data": {"default": json.dumps(repository)},
    }


def account_objects(account: Account) -> list[dict[str, Any]]:
    """What the account puts in its namespace: the keys' Secret and Argo's artifact repository."""
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": SECRET, "namespace": account.namespace, "labels": dict(MANAGED)},
        "type": "Opaque",
        "stringData": {
            "accessKey": account.namespace,
            "secretKey": account.secret_key,
            "endpoint": f"http://{ENDPOINT}",
            "bucket": WORKSHOP_BUCKET,
            "prefix": f"{account.participant}/",
        },
    }
    return [secret, artifact_repository(account.namespace, account.participant)]


_SCRIPT = """set -eu
mc alias set store "http://$MINIO_ENDPOINT" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
mc mb --ignore-existing "store/$WORKSHOP_BUCKET" "store/$ARTIFACT_BUCKET" >/dev/null
for dir in /accounts/*/; do
  [ -d "$dir" ] || continue
  user=$(cat "$dir/user"); secret=$(cat "$dir/secret")
  mc admin policy create store "kubedojo-$user" "$dir/policy" >/dev/null
  mc admin user add store "$user" "$secret" >/dev/null
  mc admin policy attach store "kubedojo-$user" --user "$user" >/dev/null 2>&1 || true
  echo "account $user: ready"
done
"""
"""The buckets the accounts write to (the chart makes them; made again if they are gone), then each
account: its policy (replaced if it was there), its user (its secret key set again), the policy
attached (``attach`` refuses a policy already attached, which is the state wanted)."""


def account_job(accounts: list[Account], mc_image: str, suffix: str = "") -> list[dict[str, Any]]:
    """The Secret with every account's keys and policy, and the Job that makes them in MinIO (both
    named with ``suffix``: calls at the same time, from two ``lab.run``s, do not meet)."""
    name = f"{_JOB}-{suffix}" if suffix else _JOB
    files: dict[str, str] = {}
    items = []
    for index, account in enumerate(accounts):
        files[f"a{index}-user"] = account.namespace
        files[f"a{index}-secret"] = account.secret_key
        files[f"a{index}-policy"] = json.dumps(account_policy(account.participant))
        items += [
            {"key": f"a{index}-{part}", "path": f"a{index}/{part}"} for part in ("user", "secret", "policy")
        ]
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": MINIO_NAMESPACE, "labels": dict(MANAGED)},
        "type": "Opaque",
        "stringData": files,
    }

    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": MINIO_NAMESPACE, "labels": dict(MANAGED)},
        "spec": {
            "backoffLimit": 2,
            "template": {
                "metadata": {"labels": {_ACCOUNT_LABEL: name}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "mc",
                            "image": mc_image,
                            "command": ["/bin/sh", "-c", _SCRIPT],
                            "env": [
                                {"name": "MINIO_ENDPOINT", "value": ENDPOINT},
                                {"name": "WORKSHOP_BUCKET", "value": WORKSHOP_BUCKET},
                                {"name": "ARTIFACT_BUCKET", "value": ARTIFACT_BUCKET},
                                *root_credentials_env(),
                            ],
                            "volumeMounts": [
                                {"name": "accounts", "mountPath": "/accounts", "readOnly": True}
                            ],
                            "resources": {
                                "requests": {"cpu": "50m", "memory": "64Mi"},
                                "limits": {"memory": "256Mi"},
                            },
                        }
                    ],
                    "volumes": [{"name": "accounts", "secret": {"secretName": name, "items": items}}],
                },
            },
        },
    }
    return [secret, job]


def root_credentials_env() -> list[dict[str, Any]]:
    """MINIO_ROOT_USER and MINIO_ROOT_PASSWORD from MinIO's root Secret, for ``mc`` in a Job in
    MinIO's namespace (the participant never sees them)."""
    return [
        {"name": f"MINIO_ROOT_{name}", "valueFrom": {"secretKeyRef": {"name": _ROOT_SECRET, "key": key}}}
        for name, key in (("USER", "rootUser"), ("PASSWORD", "rootPassword"))
    ]


def run_job(client: KubeAPI, job: dict[str, Any], purpose: str, timeout: float) -> bool:
    """Create ``job`` in MinIO's namespace and wait (at most ``timeout``: :class:`WaitTimeout`)
    until it has ended; whether it completed."""
    name = job["metadata"]["name"]
    client.create(job, MINIO_NAMESPACE)
    done = client.wait_for(
        f"Job {MINIO_NAMESPACE}/{name} {purpose}",
        "Job",
        lambda j: any(
            c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
            for c in (j.get("status") or {}).get("conditions") or []
        ),
        timeout,
        MINIO_NAMESPACE,
        name=name,
    )
    return any(
        c.get("type") == "Complete" and c.get("status") == "True"
        for c in done["status"].get("conditions") or []
    )


def object_store_installed(client: KubeAPI) -> bool:
    """Whether the minio add-on is installed (its root Secret is there). :class:`Forbidden` when this
    identity may not tell (a participant's): the caller leaves the accounts to the instructor."""
    return client.find("Secret", _ROOT_SECRET, MINIO_NAMESPACE) is not None


def ensure_accounts(
    client: KubeAPI,
    participants: Mapping[str, str],
    mc_image: str,
    timeout: float = 180.0,
    token: Callable[[int], str] = random_value,
) -> list[str]:
    """Make or refresh the accounts of ``participants`` (namespace → participant); their namespaces
    exist. A namespace's secret key is kept once made. Returns the namespaces done. Raises
    :class:`ConfigError` (one line) when MinIO is not installed or the Job fails, naming why."""
    if not participants:
        return []
    if not object_store_installed(client):
        raise ConfigError(
            f"the object store is not installed (no Secret {MINIO_NAMESPACE}/{_ROOT_SECRET}):"
            " run 'invoke charts.install -n minio' first"
        )
    accounts = []
    for namespace, participant in sorted(participants.items()):
        current = client.read_secret(namespace, SECRET) or {}
        key = current.get("secretKey", "")
        accounts.append(Account(namespace, participant, key if usable(key) and len(key) >= 8 else token(40)))
    suffix = secrets.token_hex(3)
    secret, job = account_job(accounts, mc_image, suffix)
    name = job["metadata"]["name"]
    client.apply([secret])
    try:
        if not run_job(client, job, "to make the object store's accounts", timeout):
            raise ConfigError(f"the object store's accounts were not made: {_log_tail(client, name)}")
    except WaitTimeout as exc:
        raise ConfigError(f"{exc} ({_log_tail(client, name)})") from None
    finally:
        client.delete("Job", name, MINIO_NAMESPACE)  # its pods with it (the keys are in the Secret)
        client.delete("Secret", name, MINIO_NAMESPACE)
    for account in accounts:
        client.apply(account_objects(account))
    return [a.namespace for a in accounts]


def _log_tail(client: KubeAPI, job: str) -> str:
    """The last line the Job's mc printed, for the error."""
    for pod in reversed(client.pods(MINIO_NAMESPACE, label_selector=f"{_ACCOUNT_LABEL}={job}")):
        try:
            log = client.pod_log(MINIO_NAMESPACE, pod["metadata"]["name"], "mc") or ""
        except NotFound:
            continue
        lines = [line for line in log.splitlines() if line.strip()]
        if lines:
            return f"mc said: {lines[-1][:300]}"
    return f"no log: 'kubectl -n minio describe job {job}'"
