"""A lab's definition, ``labs/<id>/lab.yaml``: what it teaches, what it needs, and its checks.

Checks are declarative, from a small vocabulary (the ``check`` key names one), with ``python`` as the
escape hatch for the few that need code (a function in ``labs/<id>/checks.py``). Unknown keys and
wrong types are refused on load with the file and key named, so a typo in a check never makes it
pass silently.

A check kind is one model here, in the :data:`Check` union, declaring its ``phase`` (``static``: on the
manifest or the live objects; ``runtime``: on what ran), plus one evaluator registered for the model
(:mod:`kubedojo.labs.evaluators`). :data:`CHECK_KINDS` is derived from the union.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from ..errors import ConfigError
from ..quantity import check_quantity
from ..validation import ClosedModel as _Strict
from ..validation import NamedItems, one_line
from ..yamlfiles import read_yaml
from .checkbase import _RUNTIME, _STATIC, Causes, _Check, _PathCheck, _RunCheck
from .integrity import CODE_DIR
from .results import Phase
from .selection import LabContainer, Select

__all__ = [
    "CHECK_KINDS",
    "CHECK_MODELS",
    "AnswerRef",
    "ArtifactCheck",
    "BusiestCheck",
    "Check",
    "ConcurrencyCheck",
    "CountCheck",
    "ExitHandlerCheck",
    "FieldCheck",
    "FileOnVolumeCheck",
    "ImageSpec",
    "JobConditionCheck",
    "LabContainer",
    "LabDefinition",
    "LimitsCheck",
    "LogContainsCheck",
    "LogMetricCheck",
    "MountCheck",
    "NodeHealthyCheck",
    "NodeOrderCheck",
    "NodeParameterCheck",
    "NodeSelectionCheck",
    "NodeVolume",
    "NodesOverlapCheck",
    "ObjectEventCheck",
    "ParameterSource",
    "PlacementCheck",
    "ProgramCheck",
    "PythonCheck",
    "QosClassCheck",
    "ScaledCheck",
    "Select",
    "StringsCheck",
    "TerminatedCheck",
    "TolerationCheck",
    "UnschedulableCheck",
    "WorkflowGraphCheck",
    "WorkflowNodeCheck",
    "WorkflowPhaseCheck",
    "WorkflowSelect",
    "check_kind",
    "check_selectors",
    "load_definition",
]

LAB_ID = re.compile(r"^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$")


# -- static: on the submitted manifest (lab.run) or on the live objects (lab.check) ----------


class FieldCheck(_PathCheck):
    """A field's value: ``equals``, ``one_of``, a ``quantity``, a ``min``/``max``, or ``present``."""

    check: Literal["field"]
    phase: ClassVar[Phase] = "static"
    causes: ClassVar[Causes] = _STATIC | {"not-set", "set", "value", "below", "above"}
    equals: Any = None
    one_of: list[Any] | None = None
    quantity: str | None = None
    min: float | str | None = None
    """At least this number or quantity (``100m``, ``500Mi``)."""
    max: float | str | None = None
    present: bool | None = None

    @field_validator("min", "max", "quantity")
    @classmethod
    def _quantity(cls, value: float | str | None) -> float | str | None:
        if isinstance(value, str):
            check_quantity(value)
        return value

    @model_validator(mode="after")
    def _one_test(self) -> FieldCheck:
        tests = [self.equals is not None, self.one_of is not None, self.quantity is not None]
        tests += [self.min is not None or self.max is not None, self.present is not None]
        if sum(tests) != 1:
            raise ValueError("a field check needs exactly one of equals, one_of, quantity, min/max, present")
        return self


class StringsCheck(_PathCheck):
    """Every element of the list at ``path`` is a string (and there are ``length`` of them)."""

    check: Literal["strings"]
    phase: ClassVar[Phase] = "static"
    causes: ClassVar[Causes] = _STATIC | {"not-a-list", "not-strings", "length"}
    length: int | None = None


class LimitsCheck(_Check):
    """The lab's container has limits for ``require``, and no container has a limit below its request."""

    check: Literal["limits_cover_requests"]
    phase: ClassVar[Phase] = "static"
    causes: ClassVar[Causes] = _STATIC | {"no-limit", "below-request", "not-a-quantity"}
    object: Select
    require: list[str] = Field(default_factory=list)


class MountCheck(_Check):
    """The lab's container sees a volume of the given source at ``mount_path`` (or at the directory
    its script's ``directory_option`` names)."""

    check: Literal["mount"]
    phase: ClassVar[Phase] = "static"
    causes: ClassVar[Causes] = _STATIC | {"no-volume", "not-mounted", "elsewhere", "sub-path"}
    object: Select
    mount_path: str
    directory_option: str | None = None
    """An option of the lab's script that names the directory instead (``--model-dir``)."""
    claim: str | None = None
    config_map: str | None = None
    host_path: str | None = None
    whole: bool = False
    """The claim itself at ``mount_path`` (no subPath); by default a claim may be mounted anywhere
    above it, or a subdirectory of it there (the file is still on the claim)."""

    @model_validator(mode="after")
    def _one_source(self) -> MountCheck:
        if sum(x is not None for x in (self.claim, self.config_map, self.host_path)) != 1:
            raise ValueError("a mount check needs exactly one of claim, config_map, host_path")
        return self


class ProgramCheck(_Check):
    """The lab's container runs ``script`` (interpreter flags and the command/args split aside), and
    passes it ``arguments`` arguments, every word of its command a string."""

    check: Literal["program"]
    phase: ClassVar[Phase] = "static"
    causes: ClassVar[Causes] = _STATIC | {"script", "not-strings", "arguments"}
    object: Select
    script: str | None = None
    arguments: int | None = Field(default=None, ge=0)


class TolerationCheck(_Check):
    """The pod template tolerates ``taint`` (``key=value:Effect``), as the scheduler matches them: the
    key (or an empty key with ``Exists``), ``Exists`` or ``Equal`` with the value, the effect (or
    none, meaning every effect)."""

    check: Literal["tolerates"]
    phase: ClassVar[Phase] = "static"
    causes: ClassVar[Causes] = _STATIC | {"no-toleration"}
    object: Select
    taint: str

    @field_validator("taint")
    @classmethod
    def _taint(cls, value: str) -> str:
        _, sep, effect = value.rpartition(":")
        if not sep or effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            raise ValueError(f"taint {value!r} must look like key=value:NoSchedule")
        return value


class NodeSelectionCheck(_Check):
    """The pod template may only land on nodes with one of ``labels`` (``key: value``): a
    ``nodeSelector`` entry, or a required node affinity whose every term asks for it (``In`` with
    that value only). A preferred affinity is a wish, not a requirement, and does not count."""

    check: Literal["node_selection"]
    phase: ClassVar[Phase] = "static"
    causes: ClassVar[Causes] = _STATIC | {"no-selector", "preferred-only", "other-nodes"}
    object: Select
    labels: dict[str, str] = Field(min_length=1)


class CountCheck(_Check):
    """How many objects match: ``equals`` or ``min``."""

    check: Literal["count"]
    phase: ClassVar[Phase] = "static"
    causes: ClassVar[Causes] = frozenset({"number"})
    object: Select
    equals: int | None = None
    min: int | None = None


# -- runtime: on the cluster ----------------------------------------------------------------


class JobConditionCheck(_RunCheck):
    """Every selected Job ends with a condition of ``type`` (and ``reason``) that is True."""

    check: Literal["job_condition"]
    phase: ClassVar[Phase] = "runtime"
    causes: ClassVar[Causes] = _RUNTIME | {"outcome"}
    job: Select
    type: Literal["Complete", "Failed"]
    reason: str | None = None


class TerminatedCheck(_RunCheck):
    """A container of the Job's pods was terminated with ``reason`` (and ``exit_code``)."""

    check: Literal["terminated"]
    phase: ClassVar[Phase] = "runtime"
    causes: ClassVar[Causes] = _RUNTIME | {
        "crashed",
        "completed",
        "exit-code",
        "no-termination",
        "pod-deleted",
    }
    job: Select
    reason: str
    exit_code: int | None = None
    container: str | None = None


class LogMetricCheck(_RunCheck):
    """A number from the log (the first group of ``pattern``, last match) within ``min``/``max``."""

    check: Literal["log_metric"]
    phase: ClassVar[Phase] = "runtime"
    causes: ClassVar[Causes] = _RUNTIME | {"no-line", "not-a-number", "out-of-range"}
    job: Select
    pattern: str
    min: float | None = None
    max: float | None = None
    container: str | None = None

    @field_validator("pattern")
    @classmethod
    def _group(cls, value: str) -> str:
        if re.compile(value).groups < 1:
            raise ValueError("the pattern needs a group around the number")
        return value


class LogContainsCheck(_RunCheck):
    """The log of every selected Job matches ``pattern`` (a regular expression)."""

    check: Literal["log_contains"]
    phase: ClassVar[Phase] = "runtime"
    causes: ClassVar[Causes] = _RUNTIME | {"no-match"}
    job: Select
    pattern: str
    container: str | None = None

    @field_validator("pattern")
    @classmethod
    def _regex(cls, value: str) -> str:
        re.compile(value)
        return value


class FileOnVolumeCheck(_RunCheck):
    """A file named like ``pattern`` (``count`` of them), written after the lab started by the
    selected Job or Workflow, on a claim or a node's host path."""

    check: Literal["file_on_volume"]
    phase: ClassVar[Phase] = "runtime"
    causes: ClassVar[Causes] = _RUNTIME | {
        "no-pod",
        "no-file",
        "old-file",
        "small",
        "arrays",
        "too-few",
        "pod-deleted",
        "simulated",
        "tampered",
    }
    job: Select
    pattern: str
    count: int = Field(default=1, ge=1)
    claim: str | None = None
    host_path: str | None = None
    min_size: int = 1
    npz_arrays: int | None = None
    on_node: bool = False
    """Read the claim on the node the Job's pod ran on (a node directory volume)."""
    subdirectories: bool = False
    """Files in subdirectories count too (the lab asks for a file on the claim, anywhere on it)."""

    @model_validator(mode="after")
    def _one_source(self) -> FileOnVolumeCheck:
        if (self.claim is None) == (self.host_path is None):
            raise ValueError("a file_on_volume check needs exactly one of claim, host_path")
        re.compile(self.pattern)
        return self


class ConcurrencyCheck(_RunCheck):
    """The most pods of the selected Jobs that ran at once: at least ``min``, at most ``max``,
    and (``below_total``) fewer than the number of Jobs, i.e. some had to wait."""

    check: Literal["concurrency"]
    phase: ClassVar[Phase] = "runtime"
    causes: ClassVar[Causes] = _RUNTIME | {"peak"}
    jobs: Select
    min: int = 1
    max: int | None = None
    below_total: bool = False


class UnschedulableCheck(_Check):
    """Some pod of the selected Jobs waited Pending because no node had room (FailedScheduling)."""

    check: Literal["unschedulable"]
    phase: ClassVar[Phase] = "runtime"
    causes: ClassVar[Causes] = _RUNTIME | {"all-scheduled"}
    jobs: Select


class QosClassCheck(_Check):
    check: Literal["qos_class"]
    phase: ClassVar[Phase] = "runtime"
    causes: ClassVar[Causes] = _RUNTIME | {"class", "no-pod"}
    job: Select
    equals: Literal["Guaranteed", "Burstable", "BestEffort"]


class NodeHealthyCheck(_Check):
    """The nodes the lab's pods ran on are Ready and not under memory pressure."""

    check: Literal["node_healthy"]
    phase: ClassVar[Phase] = "runtime"
    causes: ClassVar[Causes] = _RUNTIME | {"node"}
    jobs: Select


class PlacementCheck(_Check):
    """Every pod of the selected Jobs was scheduled to a node carrying ``node_labels`` (and
    ``resource`` among its allocatable resources): the scheduler's decision, real evidence on
    simulated nodes too. A node removed since counts when the autoscaler added it to one of
    ``groups`` for that pod (its ``TriggeredScaleUp`` event names the group, the node's name starts
    with it): the groups' nodes carry the labels."""

    check: Literal["placement"]
    phase: ClassVar[Phase] = "runtime"
    causes: ClassVar[Causes] = _RUNTIME | {"not-scheduled", "wrong-node", "node-gone"}
    jobs: Select
    node_labels: dict[str, str] = Field(default_factory=dict)
    resource: str | None = None
    groups: list[str] = Field(default_factory=list)


class ScaledCheck(_Check):
    """The cluster autoscaler added a node for a pod of the selected Jobs (its ``TriggeredScaleUp``
    event), the pod ran on that new node, and (``removed``) the node was taken away again once the
    Jobs were done. The found text gives the times: created → scale-up → scheduled → finished."""

    check: Literal["scaled"]
    phase: ClassVar[Phase] = "runtime"
    causes: ClassVar[Causes] = _RUNTIME | {"no-scale-up", "not-on-new-node"}
    jobs: Select
    removed: bool = False


class AnswerRef(_Strict):
    """Where a participant writes an answer: a key of a ConfigMap in their namespace."""

    config_map: str
    key: str


class BusiestCheck(_Check):
    """The participant's ``answer`` names the selected Job whose pods use the most ``resource`` now,
    as metrics-server reports it at grading time (``kubectl top pod``): the named Job's usage is at
    least ``1 - tolerance`` of the top one's. Graded while the Jobs run: metrics-server reports only
    running pods."""

    check: Literal["busiest"]
    phase: ClassVar[Phase] = "runtime"
    causes: ClassVar[Causes] = _RUNTIME | {"no-answer", "unknown-job", "not-busiest"}
    jobs: Select
    answer: AnswerRef
    resource: Literal["memory", "cpu"] = "memory"
    tolerance: float = Field(default=0.1, ge=0, lt=1)


# -- Argo Workflows ----------------------------------------------------------------------------


class WorkflowSelect(Select):
    """Which Workflows: as :class:`Select`, of kind ``Workflow`` unless said otherwise."""

    kind: str = "Workflow"


class WorkflowGraphCheck(_Check):
    """The Workflow's ``template`` (a DAG, or steps) has exactly these dependencies, each
    ``[before, after]``: a DAG task's ``dependencies`` or ``depends``; for steps, every step of a
    group depends on every step of the group before."""

    check: Literal["workflow_graph"]
    phase: ClassVar[Phase] = "static"
    causes: ClassVar[Causes] = _STATIC | {"no-template", "edges"}
    object: WorkflowSelect
    template: str
    edges: list[tuple[str, str]]


class WorkflowPhaseCheck(_Check):
    """Every selected Workflow ended in ``phase`` (Succeeded, Failed or Error)."""

    check: Literal["workflow_phase"]
    phase: ClassVar[Phase] = "runtime"
    causes: ClassVar[Causes] = _RUNTIME | {"outcome", "pod-deleted", "simulated", "tampered"}
    workflow: WorkflowSelect
    equals: Literal["Succeeded", "Failed", "Error"] = "Succeeded"


class WorkflowNodeCheck(_Check):
    """The step or DAG task ``node`` (its name in the Workflow; every item of a fan-out) ended in
    ``phase``; with ``count``, it ran exactly that many times (a fan-out's items)."""

    check: Literal["workflow_node"]
    phase: ClassVar[Phase] = "runtime"
    causes: ClassVar[Causes] = _RUNTIME | {
        "no-node",
        "node-phase",
        "items",
        "pod-deleted",
        "simulated",
        "tampered",
    }
    workflow: WorkflowSelect
    node: str
    equals: Literal["Succeeded", "Failed", "Error", "Skipped", "Omitted"] = "Succeeded"
    count: int | None = Field(default=None, ge=1)


class NodeOrderCheck(_Check):
    """Every node of ``then`` started after every node of ``first`` finished (by the controller's
    times)."""

    check: Literal["node_order"]
    phase: ClassVar[Phase] = "runtime"
    causes: ClassVar[Causes] = _RUNTIME | {"no-node", "order", "pod-deleted", "simulated", "tampered"}
    workflow: WorkflowSelect
    first: str
    then: str


class NodesOverlapCheck(_Check):
    """The nodes of ``nodes`` (two names or more, or one fan-out's items) ran at the same time: some
    moment lies within all of them (each from its start to its end, as the controller saw it)."""

    check: Literal["nodes_overlap"]
    phase: ClassVar[Phase] = "runtime"
    causes: ClassVar[Causes] = _RUNTIME | {"no-node", "sequential", "pod-deleted", "simulated", "tampered"}
    workflow: WorkflowSelect
    nodes: list[str] = Field(min_length=1)


class ParameterSource(_Strict):
    """An output parameter of another node."""

    node: str
    parameter: str


class NodeParameterCheck(_Check):
    """A parameter of the node ``node`` (its ``inputs``, or ``outputs``): ``equals`` a value, matches
    ``pattern``, or equals the output parameter of another node (``from``: passed from one step to
    the next)."""

    check: Literal["node_parameter"]
    phase: ClassVar[Phase] = "runtime"
    causes: ClassVar[Causes] = _RUNTIME | {
        "no-node",
        "no-parameter",
        "value",
        "pod-deleted",
        "simulated",
        "tampered",
    }
    workflow: WorkflowSelect
    node: str
    parameter: str
    side: Literal["inputs", "outputs"] = "inputs"
    equals: str | None = None
    pattern: str | None = None
    from_: ParameterSource | None = Field(default=None, alias="from")

    @model_validator(mode="after")
    def _one_test(self) -> NodeParameterCheck:
        if sum(x is not None for x in (self.equals, self.pattern, self.from_)) != 1:
            raise ValueError("a node_parameter check needs exactly one of equals, pattern, from")
        if self.pattern is not None:
            re.compile(self.pattern)
        return self


class ExitHandlerCheck(_Check):
    """The Workflow's exit handler (``spec.onExit``) ran to Succeeded and saw how the Workflow
    ended: its log (container ``main``), or a parameter it was given, names the Workflow's phase."""

    check: Literal["exit_handler"]
    phase: ClassVar[Phase] = "runtime"
    causes: ClassVar[Causes] = _RUNTIME | {
        "no-handler",
        "handler-failed",
        "not-seen",
        "pod-deleted",
        "simulated",
        "tampered",
    }
    workflow: WorkflowSelect


class ArtifactCheck(_Check):
    """The output artifact ``artifact`` of the node ``node`` is in the artifact repository (read back
    with the namespace's own object-store keys), at least ``min_size`` bytes, and holds what is
    expected: an ``.npz`` with the arrays ``npz_keys``, or text matching ``contains`` (a file of it,
    when Argo archived it as a ``.tgz``)."""

    check: Literal["artifact"]
    phase: ClassVar[Phase] = "runtime"
    causes: ClassVar[Causes] = _RUNTIME | {
        "no-node",
        "no-artifact",
        "not-stored",
        "content",
        "pod-deleted",
        "simulated",
        "tampered",
    }
    workflow: WorkflowSelect
    node: str
    artifact: str
    npz_keys: list[str] | None = None
    contains: str | None = None
    min_size: int = Field(default=1, ge=0)

    @field_validator("contains")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value


class ObjectEventCheck(_Check):
    """The workshop's object store recorded that this namespace's own account ``operation`` (read
    or write) an object of ``bucket`` whose name matches ``key`` since the lab started, from a pod of
    the selected Job or Workflow: the ``ObjectRead`` / ``ObjectWritten`` Events that kubedojo's
    webhook receiver writes from MinIO's audit log (participants cannot write Events)."""

    check: Literal["object_event"]
    phase: ClassVar[Phase] = "runtime"
    causes: ClassVar[Causes] = _RUNTIME | {"no-event", "other-pod", "pod-deleted", "simulated", "tampered"}
    job: Select
    operation: Literal["read", "write"]
    bucket: str
    key: str
    """A regular expression the object's name (below the bucket) must match."""

    @field_validator("key")
    @classmethod
    def _regex(cls, value: str) -> str:
        re.compile(value)
        return value


class PythonCheck(_Check):
    """``function`` in ``labs/<id>/checks.py``, called with a check context and ``params``."""

    check: Literal["python"]
    causes: ClassVar[Causes] = None
    function: str
    phase: Phase
    """Declared by the lab, unlike the other kinds' fixed phase."""
    params: dict[str, Any] = Field(default_factory=dict)
    object: Select | None = None
    """The object the check is about, when it names one: ``lab.reset`` deletes it."""


Check = Annotated[
    FieldCheck
    | StringsCheck
    | LimitsCheck
    | MountCheck
    | ProgramCheck
    | CountCheck
    | TolerationCheck
    | NodeSelectionCheck
    | JobConditionCheck
    | TerminatedCheck
    | LogMetricCheck
    | LogContainsCheck
    | FileOnVolumeCheck
    | ConcurrencyCheck
    | UnschedulableCheck
    | QosClassCheck
    | NodeHealthyCheck
    | PlacementCheck
    | ScaledCheck
    | BusiestCheck
    | WorkflowGraphCheck
    | WorkflowPhaseCheck
    | WorkflowNodeCheck
    | NodeOrderCheck
    | NodesOverlapCheck
    | NodeParameterCheck
    | ExitHandlerCheck
    | ArtifactCheck
    | ObjectEventCheck
    | PythonCheck,
    Field(discriminator="check"),
]

CHECK_MODELS: tuple[type[BaseModel], ...] = get_args(get_args(Check)[0])
"""The model of every check kind, in the order of the union."""


def check_kind(model: type[BaseModel]) -> str:
    """The ``check`` value that names a model's kind in ``lab.yaml``."""
    (kind,) = get_args(model.model_fields["check"].annotation)
    return str(kind)


CHECK_KINDS = tuple(check_kind(model) for model in CHECK_MODELS)


class ImageSpec(_Strict):
    """An image the lab needs, built from a directory with a Dockerfile (relative to the project)."""

    name: str
    context: str
    tag: str = "v1"
    base: Literal["base", "torch"] = "base"
    """The image its Dockerfile builds on (``BASE_IMAGE``): kubedojo's lab base, or that with PyTorch."""


def check_selectors(check: Check) -> list[Select]:
    """The objects a check is about (its ``job``, ``jobs``, ``workflow`` or ``object``); none for a
    Python check."""
    found = (getattr(check, a, None) for a in ("job", "jobs", "workflow", "object"))
    return [sel for sel in found if isinstance(sel, Select)]


class NodeVolume(_Strict):
    """A directory on the node, given to each participant as a claim they mount (see
    :mod:`.nodevolumes`): the node's ``path``/<namespace>, bound to the claim ``claim``."""

    claim: str
    path: str
    size: str = "64Mi"


class LabDefinition(_Strict):
    id: str
    title: str
    teaches: list[str]
    time_limit_minutes: int = Field(default=20, ge=1, le=600)
    addons: list[str] = Field(default_factory=list)
    uses: list[Literal["s3-account", "webhook", "datasets"]] = Field(default_factory=list)
    """kubedojo's services the lab needs (:mod:`.services`): the namespace's object-store account
    (its keys in the Secret ``kubedojo-s3``), the webhook receiver (``http://hooks.kubedojo-hooks.svc``),
    the training data in the object store's datasets bucket."""
    node_volumes: list[NodeVolume] = Field(default_factory=list)
    """Node directories the instructor's side provides to each participant, as bound claims."""
    images: list[ImageSpec] = Field(default_factory=list)
    kinds: list[str] = Field(default_factory=lambda: ["Job"])
    """The kinds a submission may contain."""
    reads: list[str] = Field(default_factory=list)
    """Further kinds its grading reads, which only a controller makes (Katib's Trials)."""
    waits_for: Literal["finished", "running"] = "finished"
    """What ``lab.run`` waits for before it grades: every Job finished, or every Job's pod running
    (a lab graded while its Jobs run, such as reading their live metrics; the participant answers,
    then grades with ``lab.check``)."""
    stays_pending: list[Select] = Field(default_factory=list)
    """Jobs the lab expects never to be scheduled (they ask for more than any node has): ``lab.run``
    does not wait for them to finish; the lab's checks read the scheduler's verdict on them."""
    container: LabContainer = Field(default_factory=LabContainer)
    """Which container of a pod is the lab's, for every check."""
    code_dir: str = CODE_DIR
    """Where the lab's images keep its code (their WORKDIR): nothing may be mounted over it."""
    works_in: Literal["cluster", "jupyterhub"] = "cluster"
    """Where the participant works: submitting manifests to the cluster (``lab.run`` submits the
    starter), or in a notebook on the class's JupyterHub (``lab.run`` starts the lab, says where to
    work and grades once the work is there; ``kinds`` is then empty)."""
    done_when: str | None = None
    """For a lab worked in JupyterHub: the check whose pass ends ``lab.run``'s wait for the work."""
    starter: str
    """The participant's starting file, relative to the project (``handson/<id>/...``)."""
    submit: str | None = None
    """The manifest ``lab.run`` submits by default, when it is not the starter (a rendered file)."""
    prepare: str | None = None
    """How to make ``submit`` from the starter (a command, shown to participants)."""
    solution: str = "solution.yaml"
    """The reference solution, relative to the lab's directory."""
    checks: list[Check]

    directory: Path = Path()
    project: Path = Path()

    @field_validator("id")
    @classmethod
    def _lab_id(cls, value: str) -> str:
        if not LAB_ID.match(value):
            raise ValueError("lab ids are lower-case words and digits joined by '-'")
        return value

    @model_validator(mode="after")
    def _unique(self) -> LabDefinition:
        seen: set[str] = set()
        for check in self.checks:
            if check.id in seen:
                raise ValueError(f"two checks have the id {check.id!r}")
            seen.add(check.id)
        if self.works_in == "jupyterhub":
            if self.done_when not in seen:
                raise ValueError("a lab worked in JupyterHub names one of its checks as done_when")
            if self.kinds:
                raise ValueError("a lab worked in JupyterHub submits nothing: kinds: []")
        elif self.done_when is not None:
            raise ValueError("done_when is for a lab worked in JupyterHub (works_in: jupyterhub)")
        return self

    @property
    def max_score(self) -> int:
        return sum(check.points for check in self.checks)

    @property
    def autoscaled(self) -> bool:
        """Whether the lab is about the cluster autoscaler adding nodes (it needs the add-on)."""
        return "cluster-autoscaler" in self.addons

    @property
    def awaits_node_removal(self) -> bool:
        """Whether a check asks that the autoscaler's new nodes be gone again after the Jobs."""
        return any(isinstance(c, ScaledCheck) and c.removed for c in self.checks)

    def selectors(self) -> list[Select]:
        """The objects the lab's checks are about."""
        return [sel for check in self.checks for sel in check_selectors(check)]

    @property
    def graded_kinds(self) -> list[str]:
        """What a grading reads of the namespace: the submission's kinds, then :attr:`reads`."""
        return list(dict.fromkeys([*self.kinds, *self.reads]))

    @property
    def static_checks(self) -> list[Check]:
        return [c for c in self.checks if c.phase == "static"]

    @property
    def runtime_checks(self) -> list[Check]:
        return [c for c in self.checks if c.phase == "runtime"]

    @property
    def starter_path(self) -> Path:
        return self.project / self.starter

    @property
    def submit_path(self) -> Path:
        return self.project / (self.submit or self.starter)

    @property
    def solution_path(self) -> Path:
        return self.directory / self.solution

    @property
    def handson_dir(self) -> Path:
        return self.project / "handson" / self.id


_CHECKS = NamedItems("checks", "check", name_field="id")


def load_definition(path: Path, project: Path) -> LabDefinition:
    """Read and validate ``labs/<id>/lab.yaml``; every problem is one line naming the file and key."""
    data = read_yaml(path, "no such file")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    for reserved in ("directory", "project"):
        if reserved in data:
            raise ConfigError(f"{path}: unknown key '{reserved}'")
    try:
        lab = LabDefinition.model_validate({**data, "directory": path.parent, "project": project})
    except ValidationError as exc:
        raise ConfigError(one_line(exc, data, path, _CHECKS)) from None
    if lab.id != path.parent.name:
        raise ConfigError(f"{path}: 'id' is {lab.id!r} but the directory is {path.parent.name!r}")
    return lab
