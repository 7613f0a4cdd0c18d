"""Whether a pod the scheduler cannot place now would fit some node once that node has room: its
requests within the node's allocatable, the node's NoSchedule and NoExecute taints tolerated, its
node selection matched, the node not cordoned.

The scheduler's "Insufficient cpu" does not tell a pod too large for every node (it will never run:
the lab is stuck) from one that waits for pods elsewhere to end (other participants' Jobs, the last
lab's pods still stopping: it will run). Pure functions of plain objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from ..quantity import parse_quantity
from .evaluators.scheduling import tolerates

__all__ = ["fits_some_node", "pod_requests"]

Obj = Mapping[str, Any]


def _container_requests(container: Obj) -> dict[str, Decimal]:
    """A container's requests; a resource with a limit only is requested at its limit, as the API
    server defaults it."""
    resources = container.get("resources") or {}
    wanted = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
    found: dict[str, Decimal] = {}
    for name, value in wanted.items():
        try:
            found[str(name)] = parse_quantity(value)
        except ValueError:
            continue
    return found


def pod_requests(pod: Obj) -> dict[str, Decimal]:
    """What the scheduler reserves for ``pod``: the sum of its containers' requests, or an init
    container's when that is larger (they run one at a time, before the others)."""
    spec = pod.get("spec") or {}
    total: dict[str, Decimal] = {}
    for container in spec.get("containers") or []:
        for name, value in _container_requests(container).items():
            total[name] = total.get(name, Decimal(0)) + value
    for container in spec.get("initContainers") or []:
        for name, value in _container_requests(container).items():
            total[name] = max(total.get(name, Decimal(0)), value)
    for name, value in (spec.get("overhead") or {}).items():
        try:
            total[str(name)] = total.get(str(name), Decimal(0)) + parse_quantity(value)
        except ValueError:
            continue
    return total


def _matches(expression: Obj, labels: Mapping[str, str]) -> bool:
    key, operator = str(expression.get("key")), expression.get("operator")
    values = [str(v) for v in expression.get("values") or []]
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    return True  # Gt, Lt: not worth telling apart here; the scheduler's message is kept


def _selects(spec: Obj, labels: Mapping[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    terms = required.get("nodeSelectorTerms") or []
    return not terms or any(
        all(_matches(e, labels) for e in term.get("matchExpressions") or []) for term in terms
    )


def _tolerated(spec: Obj, node: Obj) -> bool:
    tolerations = list(spec.get("tolerations") or [])
    for taint in (node.get("spec") or {}).get("taints") or []:
        effect = taint.get("effect")
        if effect not in ("NoSchedule", "NoExecute"):
            continue
        text = f"{taint.get('key')}={taint.get('value') or ''}:{effect}"
        if not tolerates(tolerations, text):
            return False
    return True


def fits_some_node(pod: Obj, nodes: Iterable[Obj]) -> bool:
    """Whether some node of ``nodes`` could run ``pod`` once the pods on it have made room."""
    spec = pod.get("spec") or {}
    requests = pod_requests(pod)
    for node in nodes:
        if (node.get("spec") or {}).get("unschedulable"):
            continue
        labels = {str(k): str(v) for k, v in ((node.get("metadata") or {}).get("labels") or {}).items()}
        if not _selects(spec, labels) or not _tolerated(spec, node):
            continue
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        try:
            room = {str(k): parse_quantity(v) for k, v in allocatable.items()}
        except ValueError:
            continue
        if all(value <= room.get(name, Decimal(0)) for name, value in requests.items() if value > 0):
            return True
    return False
