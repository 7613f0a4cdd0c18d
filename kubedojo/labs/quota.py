"""Before a submission is applied: does the namespace's quota leave room for the extended resources
(GPUs) it asks for? A Job whose pod the quota refuses only shows a ``FailedCreate`` event; a lab that
needs GPUs says plainly, before anything is applied, how many it needs and how many the quota grants.

Extended resources (a name with a domain, ``nvidia.com/gpu``) are asked for in limits, with requests
equal to them; a ResourceQuota counts them as ``requests.<name>``. Each Job counts for its
``parallelism`` pods at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from ..client.kubeapi import KubeAPI
from ..errors import ConfigError, Forbidden
from ..quantity import parse_quantity
from .objects import pod_spec

__all__ = ["check_extended_quota", "extended_needs"]

_GPU = "nvidia.com/gpu"


def _extended(name: str) -> bool:
    return "/" in name and not name.startswith(("kubernetes.io/", "requests.", "limits."))


def extended_needs(objects: Iterable[dict[str, Any]]) -> dict[str, dict[str, Decimal]]:
    """What each Job of a submission asks for of extended resources at once: resource → Job → amount."""
    needs: dict[str, dict[str, Decimal]] = {}
    for obj in objects:
        if obj.get("kind") != "Job":
            continue
        spec = pod_spec(obj)
        pods = Decimal(int((obj.get("spec") or {}).get("parallelism") or 1))
        name = str((obj.get("metadata") or {}).get("name") or (obj.get("metadata") or {}).get("generateName"))
        for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
            resources = container.get("resources") or {}
            asked = {**(resources.get("requests") or {}), **(resources.get("limits") or {})}
            for resource, amount in asked.items():
                if not _extended(str(resource)):
                    continue
                try:
                    value = parse_quantity(amount) * pods
                except ValueError:
                    continue  # the API server's dry run names it
                per_job = needs.setdefault(str(resource), {})
                per_job[name] = per_job.get(name, Decimal(0)) + value
    return needs


def check_extended_quota(client: KubeAPI, namespace: str, objects: list[dict[str, Any]], lab: str) -> None:
    """Raise a one-line :class:`ConfigError` when a ResourceQuota of ``namespace`` leaves less of an
    extended resource than the submission's Jobs ask for (nothing is applied then). An identity that
    may not read quotas is not stopped here: the Job's events will say it."""
    needs = extended_needs(objects)
    if not needs:
        return
    try:
        quotas = client.list("ResourceQuota", namespace)
    except Forbidden:
        return
    for quota in quotas:
        hard = (quota.get("status") or {}).get("hard") or (quota.get("spec") or {}).get("hard") or {}
        used = (quota.get("status") or {}).get("used") or {}
        for resource, per_job in sorted(needs.items()):
            key = f"requests.{resource}"
            if key not in hard:
                continue
            left = parse_quantity(hard[key]) - parse_quantity(used.get(key, "0"))
            total = sum(per_job.values(), Decimal(0))
            if total > left:
                asked = ", ".join(f"{job}: {amount:f}" for job, amount in per_job.items())
                setting = (
                    " (workshop.yaml class.quota.gpus, then 'invoke class.setup')" if resource == _GPU else ""
                )
                raise ConfigError(
                    f"lab {lab} needs {total:f} {resource} in namespace {namespace} ({asked}), but its quota "
                    f"{quota['metadata']['name']} leaves {left:f} ({key}); ask the instructor to grant at "
                    f"least {total:f}{setting}"
                )
