"""Running a lab for a participant: start, submit, follow, grade, record; and reset.

``run``: read the manifest (a malformed one is refused before anything is applied) → build and push
the lab's images → remove the previous attempt's objects → record the start → ask the API server to
validate every object (dry run; if it refuses one, nothing is applied) → apply → follow pods and logs
through watches until every submitted Job and Workflow has finished (bounded by the lab's time limit)
→ grade from one snapshot → save evidence if something failed → write the result record.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ..client.kubeapi import KubeAPI, object_ref
from ..errors import ApiError, ConfigError, Forbidden, NotFound, WaitTimeout
from ..labels import CLASS_LABEL
from .definition import LabDefinition, ObjectEventCheck, Select
from .evaluators.objectstore import REASONS, recorded
from .evaluators.scheduling import on_added_node, triggered_scale_ups
from .follow import Ref, follow
from .grading import FileReader, GradingContext, grade
from .integrity import LabImages
from .nodevolumes import provide_node_volumes
from .quota import check_extended_quota
from .reader import READER_LABEL
from .recording import GradingMeter, grade_and_record
from .records import ResultStore
from .results import LabResult
from .services import LabServices
from .session import ensure_namespace, read_start, record_start, session_name
from .snapshot import ClusterSnapshot, take_snapshot
from .stuck import Stuck
from .submission import Submission, read_submission
from .workflowaccess import workflow_access_objects
from .workloads import WORKLOADS, final_state

__all__ = ["LabReporter", "LabRunner", "NullLabReporter"]

_DELETE_TIMEOUT = 120.0
_RECORD_WAIT = 45.0
"""Seconds to wait for the object store's audit records after a run that succeeded. They come within
seconds; after the receiver was first started, behind what MinIO queued while it was not there."""
_SERVED_BY = {
    "Workflow": ("Argo Workflows", "install the add-on first ('invoke charts.install -n argo-workflows')"),
    "PyTorchJob": (
        "PyTorchJobs",
        "turn the training operator on (charts.optional: [training-operator] in workshop.yaml), then "
        "'invoke charts.install -n training-operator'",
    ),
    "Experiment": (
        "Katib Experiments",
        "turn Katib on (charts.optional: [katib] in workshop.yaml), then 'invoke charts.install -n katib'",
    ),
}
"""The add-ons' kinds a lab may run: what they are, and how to get them served."""
_RESET_KINDS = frozenset(
    {"Job", "Workflow", "PyTorchJob", "Experiment", "Pod", "ConfigMap", "PersistentVolumeClaim", "Secret"}
)


class LabReporter(Protocol):
    def step(self, title: str) -> contextlib.AbstractContextManager[None]: ...
    def note(self, message: str) -> None: ...
    def watching(self, title: str) -> contextlib.AbstractContextManager[None]:
        """The phase in which :meth:`pod` and :meth:`log` report (a live view of the pods)."""
        ...

    def pod(self, name: str, phase: str, detail: str) -> None:
        """A pod of the submission changed phase (detail: the reason, e.g. OOMKilled)."""
        ...

    def log(self, pod: str, line: str) -> None:
        """A line a pod of the submission printed."""
        ...


class NullLabReporter:
    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[None]:
        yield

    @contextlib.contextmanager
    def watching(self, title: str) -> Iterator[None]:
        yield

    def note(self, message: str) -> None:
        return None

    def pod(self, name: str, phase: str, detail: str) -> None:
        return None

    def log(self, pod: str, line: str) -> None:
        return None


@dataclass
class LabRunner:
    """Runs, checks and resets labs against one cluster as one identity (injected)."""

    client: KubeAPI
    store: ResultStore
    reader: FileReader | None = None
    reporter: LabReporter = field(default_factory=NullLabReporter)
    images: Callable[[LabDefinition], None] | None = None
    """Makes the lab's images available to the cluster (build and push); None: assume they are."""
    services: LabServices | None = None
    """kubedojo's services a lab ``uses`` (:mod:`.services`), made for ``lab.run``'s namespace; None:
    they are in place (a participant's, made by ``class.setup``)."""
    digests: Callable[[LabDefinition], LabImages] | None = None
    """The lab images' digests in the registry (:class:`~.images.RegistryDigests`): with them, only a
    run of the lab's own code earns credit (:mod:`.integrity`). None only in tests of check logic."""
    pause: Callable[[float], None] = time.sleep
    """How :meth:`run_in_hub` waits between looks at the participant's work."""

    def _lab_images(self, lab: LabDefinition) -> LabImages | None:
        return None if self.digests is None else self.digests(lab)

    # -- start and reset ---------------------------------------------------------------------

    def start(self, lab: LabDefinition, namespace: str, participant: str) -> datetime:
        ensure_namespace(self.client, namespace, participant)
        return record_start(self.client, namespace, lab.id)

    def _provide_node_volumes(self, lab: LabDefinition, namespace: str) -> None:
        """The lab's node directories for this namespace (:mod:`.nodevolumes`), where this identity
        may make them; a participant's were made by ``class.setup``."""
        if not lab.node_volumes:
            return
        with contextlib.suppress(Forbidden):
            made = provide_node_volumes(self.client, lab, namespace)
            if made:
                self.reporter.note(f"provided {', '.join(made)}")

    def _provide_services(self, lab: LabDefinition, namespace: str, participant: str) -> None:
        """The services the lab uses, for this namespace, where this identity may make them."""
        if self.services is None:
            return
        with contextlib.suppress(Forbidden):
            if "s3-account" in lab.uses:
                self.services.accounts({namespace: participant})
            if "webhook" in lab.uses and self.services.webhook(lab.project):
                self.reporter.note("started the webhook receiver (kubedojo-hooks)")
            if "datasets" in lab.uses and self.services.datasets():
                self.reporter.note("put the datasets into the object store")

    def _require_served(self, lab: LabDefinition) -> None:
        """The add-on kinds the lab's submissions run must be served (:data:`_SERVED_BY`)."""
        for kind, (what, how) in _SERVED_BY.items():
            if kind not in lab.kinds:
                continue
            try:
                self.client.kind(kind)
            except NotFound:
                raise ConfigError(f"lab {lab.id} runs {what}, and this cluster serves none: {how}") from None

    def _provide_workflow_access(self, lab: LabDefinition, namespace: str) -> None:
        """What Argo needs to run Workflows' pods in this namespace (:mod:`.workflowaccess`), where
        this identity may make it; a participant's was made by ``class.setup``."""
        if "Workflow" not in lab.kinds:
            return
        with contextlib.suppress(Forbidden):
            self.client.apply(workflow_access_objects(namespace, {}))

    def _lab_selectors(self, lab: LabDefinition, submission: Submission | None) -> list[Select]:
        selectors = lab.selectors()
        for obj in submission.objects if submission else []:
            name = obj["metadata"].get("name")
            if name:
                selectors.append(Select(kind=obj["kind"], name=name))
        return selectors

    def reset(
        self,
        lab: LabDefinition,
        namespace: str,
        submission: Submission | None = None,
        forget_start: bool = True,
    ) -> list[str]:
        """Delete this lab's objects in ``namespace`` (only those: what its checks select, what the
        submission names, kubedojo's reader pods), waiting until they are gone."""
        selectors = self._lab_selectors(lab, submission)
        kinds = sorted({s.kind for s in selectors} & _RESET_KINDS)
        provided = {("PersistentVolumeClaim", v.claim) for v in lab.node_volumes}  # the instructor's
        doomed: list[tuple[str, str]] = []
        for kind in sorted({*kinds, "Job"}):
            try:
                found = self.client.list(kind, namespace)
            except NotFound:
                continue  # an add-on's kind the cluster does not serve (any more): nothing of it is left
            for obj in found:
                if any(s.matches(obj) for s in selectors):
                    doomed.append((kind, obj["metadata"]["name"]))
                    # What the lab's Jobs use was made for the lab too (04's ConfigMaps, 02's claim).
                    doomed += sorted(_used_by(obj) - set(doomed) - provided) if kind == "Job" else []
        doomed = list(dict.fromkeys(doomed))
        for pod in self.client.pods(namespace, label_selector=f"{READER_LABEL}=reader"):
            doomed.append(("Pod", pod["metadata"]["name"]))
        if forget_start:
            doomed.append(("ConfigMap", session_name(lab.id)))
        # Workloads first, so that claims are no longer in use when they go.
        order = {
            "Job": 0,
            "Workflow": 0,
            "PyTorchJob": 0,
            "Experiment": 0,
            "Pod": 1,
            "ConfigMap": 2,
            "Secret": 2,
            "PersistentVolumeClaim": 3,
        }
        doomed.sort(key=lambda item: order.get(item[0], 9))
        deleted = []
        for kind, name in doomed:
            # Workloads in the foreground: they are gone only once their pods are.
            if self.client.delete(kind, name, namespace, foreground=kind in WORKLOADS):
                deleted.append(f"{kind}/{name}")
        for kind, name in doomed:
            self.client.wait_deleted(kind, name, namespace, _DELETE_TIMEOUT)
        return deleted

    # -- grading -----------------------------------------------------------------------------

    def _finish(
        self,
        ctx: GradingContext,
        participant: str,
        refused: str | None,
        began: float,
        requests: int,
        stuck: Stuck | None = None,
    ) -> LabResult:
        meter = GradingMeter(self.client, requests, began)
        return grade_and_record(ctx, participant, self.store, refused, meter, stuck=stuck)

    def check(self, lab: LabDefinition, namespace: str, participant: str) -> LabResult:
        """Grade what is on the cluster now (work submitted with kubectl, or a finished run)."""
        began, requests = time.monotonic(), self.client.requests
        started = read_start(self.client, namespace, lab.id)
        if started is None:
            raise ConfigError(
                f"lab {lab.id} was not started in namespace {namespace}: run 'invoke lab.start {lab.id}' "
                f"before submitting with kubectl (or submit with 'invoke lab.run {lab.id}')"
            )
        snapshot = take_snapshot(self.client, namespace, lab.graded_kinds)
        ctx = GradingContext(lab, snapshot, started, reader=self.reader, images=self._lab_images(lab))
        return self._finish(ctx, participant, None, began, requests)

    # -- run ---------------------------------------------------------------------------------

    def run(
        self,
        lab: LabDefinition,
        manifest: Path,
        namespace: str,
        participant: str,
        timeout: float | None = None,
    ) -> LabResult:
        submission = read_submission(manifest, lab.kinds, namespace)
        if self.images is not None:
            with self.reporter.step(f"Images for {lab.id}"):
                self.images(lab)
        with self.reporter.step(f"Fresh start in namespace {namespace}"):
            ensure_namespace(self.client, namespace, participant)
            self._provide_node_volumes(lab, namespace)
            self._require_served(lab)
            self._provide_workflow_access(lab, namespace)
            self._provide_services(lab, namespace, participant)
            removed = self.reset(lab, namespace, submission, forget_start=False)
            if removed:
                self.reporter.note(f"removed the previous attempt's {', '.join(removed)}")
            check_extended_quota(self.client, namespace, submission.objects, lab.id)
            started = record_start(self.client, namespace, lab.id)
        began, requests = time.monotonic(), self.client.requests
        refused, admitted = self._dry_run(submission, namespace)
        if refused is not None:
            empty = ClusterSnapshot(namespace, datetime.now(UTC), {})
            ctx = GradingContext(lab, empty, started, submission=admitted)
            return self._finish(ctx, participant, refused, began, requests)
        with self.reporter.step(f"Submitting {manifest.name}"):
            workloads = self._apply(submission, namespace)
        limit = timeout if timeout is not None else lab.time_limit_minutes * 60.0
        deadline = time.monotonic() + limit
        waited = [w for w in workloads if not _expected_pending(lab, w, submission)]
        with self.reporter.watching(f"Running {_count(waited)}"):
            followed = follow(
                self.client,
                namespace,
                waited,
                limit,
                self.reporter,
                _container_name(lab),
                autoscaled=lab.autoscaled,
                until_running=lab.waits_for == "running",
            )
        if followed.stuck is not None:
            self.reporter.note(f"stopped: {followed.stuck.subject}: {followed.stuck.cause}")
        elif not followed.finished:
            self.reporter.note(f"stopped waiting after {limit:g} s; unfinished checks are pending")
        elif lab.awaits_node_removal:
            jobs = [name for kind, name in waited if kind == "Job"]
            self._await_node_removal(namespace, jobs, deadline - time.monotonic())
        elif any(isinstance(c, ObjectEventCheck) for c in lab.checks) and self._succeeded(namespace, waited):
            self._await_object_records(lab, namespace, started)
        elif lab.waits_for == "running":
            self.reporter.note(
                f"the Jobs run: do what the lab asks while they do, then 'invoke lab.check {lab.id}'"
            )
        began, requests = time.monotonic(), self.client.requests
        snapshot = take_snapshot(self.client, namespace, lab.graded_kinds)
        ctx = GradingContext(
            lab, snapshot, started, submission=admitted, reader=self.reader, images=self._lab_images(lab)
        )
        return self._finish(ctx, participant, None, began, requests, followed.stuck)

    def run_in_hub(
        self,
        lab: LabDefinition,
        namespace: str,
        participant: str,
        timeout: float | None = None,
        interval: float = 15.0,
    ) -> LabResult:
        """``lab.run`` of a lab worked in a notebook on the class's JupyterHub (``works_in``): start
        it (only work from now on counts), then look at the work every ``interval`` seconds until the
        lab's ``done_when`` check passes or the time is up, and grade. The work is files on the
        participant's claim, which no watch reports: each look is a grading, not kept."""
        assert lab.done_when is not None
        self._require_class_namespace(lab, namespace)
        with self.reporter.step(f"Fresh start in namespace {namespace}"):
            ensure_namespace(self.client, namespace, participant)
            started = record_start(self.client, namespace, lab.id)
        self.reporter.note(
            f"work in JupyterHub: log in as {participant} with your Jupyter password, start your server, "
            f"upload {Path(lab.starter).name} and run it (handson/{lab.id}/README.md); this run grades "
            f"when it sees the work, or grade later with 'invoke lab.check {lab.id}'"
        )
        limit = timeout if timeout is not None else lab.time_limit_minutes * 60.0
        waiting, paused = time.monotonic(), 0.0
        images = self._lab_images(lab)
        done = next(c for c in lab.checks if c.id == lab.done_when)
        with self.reporter.watching(f"Waiting until {done.title}"):
            while True:
                began, requests = time.monotonic(), self.client.requests
                snapshot = take_snapshot(self.client, namespace, lab.graded_kinds)
                ctx = GradingContext(lab, snapshot, started, reader=self.reader, images=images)
                looked = {c.id: c for c in grade(ctx, participant).checks}[lab.done_when]
                if looked.status == "passed":
                    break
                # Bounded by the clock and by the pauses taken (a pause may return early).
                if max(time.monotonic() - waiting, paused) + interval > limit:
                    self.reporter.note(f"stopped waiting after {limit:g} s: {looked.found}")
                    break
                self.pause(interval)
                paused += interval
        return self._finish(ctx, participant, None, began, requests)

    def _require_class_namespace(self, lab: LabDefinition, namespace: str) -> None:
        """A lab worked in JupyterHub needs a class participant's namespace: the hub knows only
        them (their Jupyter password, their namespace). A participant may not read namespaces, and
        theirs is one."""
        try:
            found = self.client.find("Namespace", namespace)
        except Forbidden:
            return
        if found is None or CLASS_LABEL not in (found["metadata"].get("labels") or {}):
            raise ConfigError(
                f"lab {lab.id} is worked on the class's JupyterHub, and {namespace} is no class "
                "participant's namespace: turn JupyterHub on (charts.optional in workshop.yaml, "
                "charts.install) and set up the class (class.setup), then run it as a participant"
            )

    def _succeeded(self, namespace: str, workloads: list[Ref]) -> bool:
        """Whether every one of the workloads ended as asked (a Job Complete, a Workflow Succeeded)."""
        for kind in {k for k, _ in workloads}:
            ended = {o["metadata"]["name"]: final_state(o) or {} for o in self.client.list(kind, namespace)}
            if any(
                ended.get(name, {}).get("type") != WORKLOADS[kind].succeeded
                for k, name in workloads
                if k == kind
            ):
                return False
        return True

    def _await_object_records(self, lab: LabDefinition, namespace: str, started: datetime) -> None:
        """Wait (bounded) for the object store's records the lab's checks read, after a run that
        succeeded (one that failed most likely wrote nothing, and is not kept waiting): MinIO sends
        its audit log a moment after the request, so the run may end before it arrives."""
        since = started.replace(microsecond=0)
        for check in lab.checks:
            if not isinstance(check, ObjectEventCheck):
                continue

            def arrived(event: dict[str, Any], check: ObjectEventCheck = check) -> bool:
                found = recorded(event, check.operation, since)
                return found is not None and found["bucket"] == check.bucket and found["by"] == namespace

            try:
                self.client.wait_for(
                    "the object store's record",
                    "Event",
                    arrived,
                    _RECORD_WAIT,
                    namespace,
                    field_selector=f"reason={REASONS[check.operation]}",
                )
            except WaitTimeout:
                self.reporter.note(
                    f"no record of the object store's in {_RECORD_WAIT:g} s: {check.id} grades without it"
                )

    def _await_node_removal(self, namespace: str, jobs: list[str], seconds: float) -> None:
        """Wait (at most ``seconds``) until the nodes the autoscaler added for the Jobs' pods are
        removed again, so that grading sees the whole cycle; say how long each took."""
        try:
            added = _autoscaler_nodes(self.client, namespace, jobs)
        except Forbidden:
            return  # this identity may not see nodes: the instructor's grading sees the removal
        if not added:
            return
        idle = time.monotonic()
        for node in added:
            self.reporter.note(
                f"waiting for the autoscaler to remove {node}, now idle (at most {seconds:.0f} s)"
            )
            try:
                self.client.wait_deleted("Node", node, None, max(1.0, seconds - (time.monotonic() - idle)))
            except WaitTimeout:
                self.reporter.note(f"{node} is still there after {seconds:.0f} s; that check stays pending")
                return
            except Forbidden:
                return  # this identity may not watch nodes: the instructor's grading sees the removal
            self.reporter.note(f"{node} removed {time.monotonic() - idle:.0f} s after the Jobs were done")

    def _dry_run(self, submission: Submission, namespace: str) -> tuple[str | None, list[dict[str, Any]]]:
        """Ask the API server to admit every object without storing it: (why it refused one, or
        None; the objects as it would store them, defaulted and mutated by admission). Static
        checks grade those, so a submission is graded alike by ``lab.run`` and by the routes that
        read the live objects (``lab.check``, ``class.grade``); an object refused is graded as
        written, and the ones after it too."""
        admitted: list[dict[str, Any]] = []
        for index, obj in enumerate(submission.objects):
            try:
                if obj["metadata"].get("name"):
                    admitted.append(self.client.apply_one(obj, namespace, dry_run=True))
                else:
                    admitted.append(self.client.create(obj, namespace, dry_run=True))
            except ApiError as exc:
                return f"{object_ref(obj)}: {exc.server_message}", admitted + submission.objects[index:]
        return None, admitted

    def _apply(self, submission: Submission, namespace: str) -> list[Ref]:
        """Apply every object; the workloads among them (:data:`~.workloads.WORKLOADS`), to follow."""
        workloads: list[Ref] = []
        for obj in submission.objects:
            if obj["metadata"].get("name"):
                result = self.client.apply_one(obj, namespace)
            else:
                result = self.client.create(obj, namespace)
            name = result["metadata"]["name"]
            self.reporter.note(f"{obj['kind']}/{name} submitted")
            if obj["kind"] in WORKLOADS:
                workloads.append((obj["kind"], name))
        return workloads


def _count(workloads: list[Ref]) -> str:
    """``2 Jobs``, ``1 Workflow``, ``1 Job and 1 Workflow``."""
    kinds = dict.fromkeys(kind for kind, _ in workloads) or {"Job": None}
    parts = []
    for kind in kinds:
        n = sum(1 for k, _ in workloads if k == kind)
        parts.append(f"{n} {kind}{'s' if n != 1 else ''}")
    return " and ".join(parts)


def _expected_pending(lab: LabDefinition, workload: Ref, submission: Submission) -> bool:
    """Whether the submitted workload is one the lab expects never to be scheduled."""
    kind, name = workload
    objs = [o for o in submission.objects if o["kind"] == kind and o["metadata"].get("name") == name]
    return any(sel.matches(obj) for sel in lab.stays_pending for obj in objs)


def _autoscaler_nodes(client: KubeAPI, namespace: str, jobs: list[str]) -> list[str]:
    """The nodes the cluster autoscaler added for the pods of ``jobs`` and that still exist: a pod
    with a ``TriggeredScaleUp`` event naming group G, scheduled to a node named ``G-…``."""
    pods = [
        p
        for p in client.pods(namespace)
        if (p["metadata"].get("labels") or {}).get("batch.kubernetes.io/job-name") in set(jobs)
    ]
    triggered = triggered_scale_ups(pods, client.list("Event", namespace))
    added = [str(pod["spec"]["nodeName"]) for pod, event in triggered if on_added_node(pod, event)]
    present = {n["metadata"]["name"] for n in client.list("Node")} if added else set()
    return [n for n in dict.fromkeys(added) if n in present]


def _container_name(lab: LabDefinition) -> Callable[[dict[str, Any]], str | None]:
    """The name of the lab's container in a pod (whose log the live view follows)."""

    def name(pod: dict[str, Any]) -> str | None:
        found = lab.container.find(pod)
        return None if found is None else str(found["name"])

    return name


def _used_by(job: dict[str, Any]) -> set[tuple[str, str]]:
    """The ConfigMaps and claims a Job's pods mount or read (volumes, projections, env)."""
    spec = ((job.get("spec") or {}).get("template") or {}).get("spec") or {}
    used: set[tuple[str, str]] = set()
    for volume in spec.get("volumes") or []:
        if (volume.get("configMap") or {}).get("name"):
            used.add(("ConfigMap", volume["configMap"]["name"]))
        if (volume.get("persistentVolumeClaim") or {}).get("claimName"):
            used.add(("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]))
        for source in (volume.get("projected") or {}).get("sources") or []:
            if (source.get("configMap") or {}).get("name"):
                used.add(("ConfigMap", source["configMap"]["name"]))
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        for source in container.get("envFrom") or []:
            if (source.get("configMapRef") or {}).get("name"):
                used.add(("ConfigMap", source["configMapRef"]["name"]))
        for env in container.get("env") or []:
            ref = (env.get("valueFrom") or {}).get("configMapKeyRef") or {}
            if ref.get("name"):
                used.add(("ConfigMap", ref["name"]))
    return used
