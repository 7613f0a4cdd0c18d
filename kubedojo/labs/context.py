"""What checks see while grading: the lab, one cluster snapshot, the start, the submission and
the files on volumes. Lab authors' Python checks (``labs/<id>/checks.py``) are given the same context.

Runtime checks consider only objects created after the lab started, and only pods that their Job owns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ..jsonpath import select
from .checkbase import SimulatedRuns
from .definition import LabDefinition, Select
from .integrity import LabImages, RunProblem, image_digest, run_problem, workflow_problem
from .objects import created_at, pod_spec
from .program import Program, program_of
from .results import Outcome
from .snapshot import ClusterSnapshot, WouldWait
from .workloads import final_state, workflow_finished

__all__ = ["FileInfo", "FileReader", "GradingContext", "SimulatedRuns", "StoredFile"]


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class FileInfo:
    name: str
    """The path below the volume's directory (``model.joblib``, ``run1/model.joblib``)."""
    size: int
    mtime: float
    npz_arrays: int | None = None
    sha256: str | None = None
    """The file's SHA-256 (hex), when the reader could hash it."""


@dataclass(frozen=True)
class StoredFile:
    """A file of an object in the object store (the object itself, or a member of a ``.tgz``, the
    way Argo keeps an artifact)."""

    name: str
    size: int
    sha256: str
    npz_keys: tuple[str, ...] | None = None
    """The arrays' names, for an ``.npz`` file."""
    text: str | None = None
    """Its first 4 KB, when they are text."""


class FileReader(Protocol):
    def list_files(
        self, namespace: str, *, claim: str | None, host_path: str | None, node: str | None
    ) -> list[FileInfo]: ...

    def read_object(self, namespace: str, *, bucket: str, key: str) -> list[StoredFile] | None:
        """The files of the object ``bucket/key``, read with the namespace's own object-store
        account (its Secret ``kubedojo-s3``); None when there is no such object."""
        ...

    def examine(self, namespace: str, *, claim: str, script: str) -> Any:
        """What the Python ``script`` (a lab's grader: it runs on the lab base with the claim
        mounted read-only at ``/data``, no network, no credentials) prints as JSON on its last line."""
        ...


class GradingContext:
    """What checks see. Also what a lab's Python checks (``labs/<id>/checks.py``) are given."""

    def __init__(
        self,
        lab: LabDefinition,
        snapshot: ClusterSnapshot,
        started_at: datetime,
        submission: list[dict[str, Any]] | None = None,
        reader: FileReader | None = None,
        images: LabImages | None = None,
    ) -> None:
        self.lab = lab
        self.snapshot = snapshot
        self.started_at = started_at.replace(microsecond=0)
        self.submission = submission
        self.reader = reader
        self.images = images
        """The lab images' digests; with them, evidence counts only from a run of the lab's own code
        (:mod:`.integrity`). Without them (tests of check logic), any run counts."""
        self._reads: dict[tuple[Any, ...], Any] = {}
        self._run_problems: dict[str, RunProblem | None] = {}
        self._simulated: frozenset[str] | None = None
        self._known_nodes: frozenset[str] | None = None
        # Looked up once per object and grading, whichever checks ask: keyed by id(), the object
        # kept beside its answer (so an id a freed object left behind is never taken for it).
        self._lab_containers: dict[int, tuple[dict[str, Any], dict[str, Any] | None]] = {}
        self._created: dict[int, tuple[dict[str, Any], datetime | None]] = {}
        self._pods_by_owner: dict[str, list[dict[str, Any]]] | None = None

    def _read_once(self, key: tuple[Any, ...], what: str, read: Callable[[FileReader], Any]) -> Any:
        """The reader's answer (a pod of its own each time), asked once per grading; :class:`WouldWait`
        in a grading that may not wait."""
        if key not in self._reads:
            if not self.snapshot.waits:
                raise WouldWait(what)
            assert self.reader is not None
            self._reads[key] = read(self.reader)
        return self._reads[key]

    def files(self, claim: str | None, host_path: str | None, node: str | None) -> list[FileInfo]:
        """What a volume holds, read once per grading (None reader: nothing can be read)."""
        namespace = self.snapshot.namespace
        found: list[FileInfo] = self._read_once(
            ("files", claim, host_path, node),
            f"the files of {claim or host_path}",
            lambda reader: reader.list_files(namespace, claim=claim, host_path=host_path, node=node),
        )
        return found

    def stored_object(self, bucket: str, key: str) -> list[StoredFile] | None:
        """What the object store holds at ``bucket/key`` (:meth:`FileReader.read_object`), read
        once per grading."""
        namespace = self.snapshot.namespace
        found: list[StoredFile] | None = self._read_once(
            ("object", bucket, key),
            f"the object {bucket}/{key}",
            lambda reader: reader.read_object(namespace, bucket=bucket, key=key),
        )
        return found

    def examined(self, claim: str, script: str) -> Any:
        """What a lab's grading ``script`` finds on ``claim`` (:meth:`FileReader.examine`), run once
        per grading."""
        namespace = self.snapshot.namespace
        return self._read_once(
            ("examined", claim, script),
            f"the files of {claim}",
            lambda reader: reader.examine(namespace, claim=claim, script=script),
        )

    def runs_addon_image(self, pod: dict[str, Any], image: str) -> bool | None:
        """Whether every container of ``pod`` runs kubedojo's build of the add-on image ``image`` (a
        repository name of :attr:`LabImages.helpers`: the digests the kubelet reports are the
        registry's); None when the registry could not be read. Without digests (tests of check
        logic), True."""
        if self.images is None:
            return True
        if self.images.unknown:
            return None
        expected = self.images.helpers.get(image) or frozenset()
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        return bool(statuses) and all(image_digest(str(s.get("imageID") or "")) in expected for s in statuses)

    # -- objects -----------------------------------------------------------------------------

    def fresh(self, obj: dict[str, Any]) -> bool:
        known = self._created.get(id(obj))
        if known is None or known[0] is not obj:
            known = self._created[id(obj)] = (obj, created_at(obj))
        when = known[1]
        return when is not None and when >= self.started_at

    def submitted(self, sel: Select) -> list[dict[str, Any]]:
        """The objects static checks look at: the manifest's (lab.run) or the live ones created since
        the lab started (lab.check)."""
        if self.submission is not None:
            return [o for o in self.submission if sel.matches(o)]
        return [o for o in self.snapshot.of_kind(sel.kind) if sel.matches(o) and self.fresh(o)]

    def jobs(self, sel: Select) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(objects created since the lab started, older ones) that ``sel`` selects: Jobs, or the
        kind it names (Workflows)."""
        found = [j for j in self.snapshot.of_kind(sel.kind) if sel.matches(j)]
        return [j for j in found if self.fresh(j)], [j for j in found if not self.fresh(j)]

    def _fresh_or_verdict(self, sel: Select, what: str) -> list[dict[str, Any]] | Outcome:
        """The selected objects created since the start; else the verdict: failed when only older
        ones exist, pending when there are none yet."""
        fresh, stale = self.jobs(sel)
        if fresh:
            return fresh
        if stale:
            return Outcome.failed(
                what,
                f"{sel.describe()} was created before the lab started",
                "stale",
                "reset the lab ('invoke lab.reset') and submit again",
            )
        return Outcome.pending(what, f"no {sel.describe()} yet")

    def finished_workflows(self, sel: Select, what: str) -> list[dict[str, Any]] | Outcome:
        """The selected Workflows when all are final; otherwise the verdict to give (about
        ``what``), as :meth:`finished_jobs` gives for Jobs: pending while none exists or one still
        runs, failed when only older ones exist, and failed when a node's pod is not there to show
        that it ran (:func:`~.integrity.workflow_problem`): the status a Workflow shows is only
        believed with the pods that made it."""
        fresh = self._fresh_or_verdict(sel, what)
        if isinstance(fresh, Outcome):
            return fresh
        running = [
            f"{w['metadata']['name']} ({(w.get('status') or {}).get('phase') or 'Pending'})"
            for w in fresh
            if workflow_finished(w) is None
        ]
        if running:
            return Outcome.pending(what, f"still running: {', '.join(running)}")
        for workflow in fresh:
            key = f"{workflow['metadata'].get('uid')}/workflow"
            if key not in self._run_problems:
                self._run_problems[key] = workflow_problem(
                    workflow, self.pods_of(workflow), self._simulated_nodes()
                )
            problem = self._run_problems[key]
            if problem is not None:
                found = f"{workflow['metadata']['name']}: {problem.reason}"
                return Outcome.failed(what, found, problem.cause, problem.hint)
        return fresh

    # -- the lab's container ---------------------------------------------------------------

    def container(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        """The lab's container of a Pod or a Job's template (``lab.yaml``'s ``container``), or None."""
        known = self._lab_containers.get(id(obj))
        if known is None or known[0] is not obj:
            known = self._lab_containers[id(obj)] = (obj, self.lab.container.find(obj))
        return known[1]

    def program(self, obj: dict[str, Any]) -> Program | None:
        """What the lab's container runs (its effective command), or None without such a container."""
        container = self.container(obj)
        return None if container is None else program_of(container)

    def values(self, obj: dict[str, Any], path: str) -> list[Any] | None:
        """Every value at ``path``; a path ``container.…`` is read in the lab's container (None when
        there is none)."""
        if path == "container" or path.startswith("container."):
            container = self.container(obj)
            if container is None:
                return None
            return [container] if path == "container" else select(container, path.split(".", 1)[1])
        return select(obj, path)

    def no_container(self, obj: dict[str, Any], what: str) -> Outcome:
        """The verdict when ``obj`` has no lab container: a failure that says so, with its own hint."""
        names = [str(c.get("name")) for c in self.containers(obj)]
        label = (obj.get("metadata") or {}).get("name") or (obj.get("metadata") or {}).get("generateName")
        return Outcome.failed(
            what,
            f"{label}: no lab container among {', '.join(names) or 'none'}",
            "no-container",
            f"the lab's container is {self.lab.container.describe()}",
        )

    @staticmethod
    def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
        return list(pod_spec(obj).get("containers") or [])

    def pods_of(self, job: dict[str, Any]) -> list[dict[str, Any]]:
        """The pods the Job controls, oldest first."""
        if self._pods_by_owner is None:
            owners: dict[str, list[dict[str, Any]]] = {}
            for pod in self.snapshot.of_kind("Pod"):
                for ref in (pod.get("metadata") or {}).get("ownerReferences") or []:
                    if ref.get("controller") and ref.get("uid"):
                        owners.setdefault(str(ref["uid"]), []).append(pod)
            for pods in owners.values():
                pods.sort(key=lambda p: (p.get("metadata") or {}).get("creationTimestamp") or "")
            self._pods_by_owner = owners
        uid = (job.get("metadata") or {}).get("uid")
        return list(self._pods_by_owner.get(str(uid), [])) if uid else []

    def log_of(self, job: dict[str, Any], container: str | None = None) -> str:
        """The logs of the Job's pods, oldest first, control characters removed."""
        parts = []
        for pod in self.pods_of(job):
            text = self.output_of(pod, container or self._log_container(pod))
            if text:
                parts.append(text)
        return _CONTROL.sub("", "\n".join(parts).replace("\r", "\n"))

    def output_of(self, pod: dict[str, Any], container: str | None, previous: bool = False) -> str | None:
        """What a container of the pod printed (its ``previous`` instance's): for the lab's
        container, the output its run reported in the termination message (the lab scripts'
        ``report``), read with the pod at no cost; else, and when the report left it out, its log
        from the API server (one request)."""
        if container is not None and container == (self.container(pod) or {}).get("name"):
            for status in (pod.get("status") or {}).get("containerStatuses") or []:
                if status.get("name") == container:
                    state = status.get("lastState" if previous else "state") or {}
                    reported = _reported_output(((state.get("terminated") or {}).get("message")) or "")
                    if reported is not None:
                        return reported
        if (pod.get("spec") or {}).get("nodeName") in self._simulated_nodes():
            return None  # no kubelet there keeps a log to read
        return self.snapshot.log(pod["metadata"]["name"], container, previous)

    def _simulated_nodes(self) -> frozenset[str]:
        if self._simulated is None:
            self._simulated = self.snapshot.simulated_nodes()
        return self._simulated

    def finished_jobs(
        self, sel: Select, what: str, real_run: bool = True, simulated: SimulatedRuns = "no-credit"
    ) -> list[dict[str, Any]] | Outcome:
        """The selected Jobs (or workloads of the kind ``sel`` names, such as PyTorchJobs) when all
        have finished; otherwise the verdict to give (about ``what``):
        pending while none exists or some still runs, failed when only older ones exist, failed when
        ``real_run`` and a Job's pods did not run the lab's own code (:meth:`run_problem`). Jobs that
        ran on simulated nodes are judged as ``simulated`` says (:data:`SimulatedRuns`).

        Use: ``jobs = ctx.finished_jobs(sel, what)``, then ``if isinstance(jobs, Outcome): return jobs``.
        """
        fresh = self._fresh_or_verdict(sel, what)
        if isinstance(fresh, Outcome):
            return fresh
        running = [j["metadata"]["name"] for j in fresh if final_state(j) is None]
        if running:
            return Outcome.pending(what, f"still running: {', '.join(running)}")
        if simulated != "no-credit":
            hidden = self.nodes_hidden(what)
            if hidden is not None:
                return hidden
            on_sim = [j for j in fresh if self.ran_simulated(j)]
            if simulated == "not-applicable" and on_sim:
                fresh = [j for j in fresh if j not in on_sim]
                if not fresh:
                    nodes = ", ".join(sorted({n for j in on_sim for n in self.nodes_of(j)}))
                    return Outcome.skipped(
                        what, f"ran on simulated node {nodes}, where no program runs: this needs a real node"
                    )
        if real_run:
            for job in fresh:
                problem = self.run_problem(job, simulated=simulated == "counts" and self.ran_simulated(job))
                if problem is not None:
                    found = f"{job['metadata']['name']}: {problem.reason}"
                    if problem.cause == "unverified":  # no credit, but no verdict either
                        return Outcome.pending(what, found)
                    return Outcome.failed(what, found, problem.cause, problem.hint)
        return fresh

    # -- was it the lab's code? ----------------------------------------------------------------

    def nodes_hidden(self, what: str) -> Outcome | None:
        """The verdict (pending) when this identity may not list Nodes, so that a check about nodes
        has none here and the instructor's grading decides; None when it may."""
        if "Node" in self.snapshot.hidden:
            return Outcome.pending(what, "this identity may not see nodes; the instructor's grading does")
        return None

    def nodes_of(self, job: dict[str, Any]) -> list[str]:
        """The nodes the Job's pods were scheduled to, in the pods' order (each once)."""
        nodes = (str((p.get("spec") or {}).get("nodeName") or "") for p in self.pods_of(job))
        return list(dict.fromkeys(n for n in nodes if n))

    def ran_simulated(self, job: dict[str, Any]) -> bool:
        """Whether the Job's pods were all scheduled to simulated nodes (kwok's: nothing runs there,
        what they report is kwok's), at least one. A node removed since (the autoscaler's) counts as
        simulated when no container of the pod reported an image digest: a kubelet always does."""
        pods = [p for p in self.pods_of(job) if (p.get("spec") or {}).get("nodeName")]
        return bool(pods) and all(self._on_simulated_node(p) for p in pods)

    def _on_simulated_node(self, pod: dict[str, Any]) -> bool:
        name = str(pod["spec"]["nodeName"])
        if name in self._simulated_nodes():
            return True
        if self._known_nodes is None:
            self._known_nodes = frozenset(n["metadata"]["name"] for n in self.snapshot.of_kind("Node"))
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        return (
            name not in self._known_nodes and bool(statuses) and not any(s.get("imageID") for s in statuses)
        )

    def run_problem(self, job: dict[str, Any], simulated: bool = False) -> RunProblem | None:
        """Why the Job's evidence is not the lab's own code at work, or None (see :mod:`.integrity`):
        every pod of the Job that ran must pass, and at least one must have run. ``simulated``: the
        Job ran on simulated nodes and what kwok made of it counts (the image judged by its name).
        Judged once per Job and grading, whichever checks ask."""
        if self.images is None:
            return None
        uid = str(job["metadata"].get("uid") or job["metadata"].get("name"))
        key = f"{uid}/simulated" if simulated else uid
        if key not in self._run_problems:
            self._run_problems[key] = self._judge_run(job, self.images, simulated)
        return self._run_problems[key]

    def _judge_run(self, job: dict[str, Any], images: LabImages, simulated: bool) -> RunProblem | None:
        ran = [p for p in self.pods_of(job) if _ran(p)]
        if not ran:
            if (final_state(job) or {}).get("type") == "Failed":
                return None  # nothing ran, so nothing can earn credit: the check says what it misses
            return RunProblem(
                "no pod of the Job is left to show what ran",
                "keep the Job's pods until it is graded: with restartPolicy OnFailure the pods of a failed "
                "Job are deleted (use Never), and ttlSecondsAfterFinished deletes them all",
                "pod-deleted",
            )
        maps = {m["metadata"]["name"]: m for m in self.snapshot.of_kind("ConfigMap")}
        for pod in ran:
            container = self.container(pod)
            if container is None:
                names = ", ".join(str(c.get("name")) for c in self.containers(pod))
                return RunProblem(
                    f"{pod['metadata']['name']} has no lab container (among {names})",
                    f"the lab's container is {self.lab.container.describe()}",
                )
            problem = run_problem(
                pod, container, self.lab.container.runs, images, maps, self.lab.code_dir, simulated
            )
            if problem is not None:
                return problem
        return None

    def reported_files(self, job: dict[str, Any]) -> set[str]:
        """The SHA-256 of every file the Job's lab containers reported writing (their termination
        message: ``{"files": [{"name": ..., "sha256": ...}]}``)."""
        return {d for term in self.lab_endings(job) for d in _file_digests(term.get("message") or "")}

    def lab_endings(self, job: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """How the lab's container ended in each of the Job's pods (this instance and the previous):
        the ``terminated`` states, a helper container's left out."""
        for pod in self.pods_of(job):
            lab = (self.container(pod) or {}).get("name")
            for status in (pod.get("status") or {}).get("containerStatuses") or []:
                if status.get("name") != lab:
                    continue
                for key in ("state", "lastState"):
                    term = (status.get(key) or {}).get("terminated")
                    if term:
                        yield term

    def _log_container(self, pod: dict[str, Any]) -> str | None:
        """The lab's container, else the first (the one ``kubectl logs`` shows)."""
        containers = self.containers(pod)
        chosen = self.container(pod) or (containers[0] if containers else None)
        return None if chosen is None else str(chosen.get("name"))


def _ran(pod: dict[str, Any]) -> bool:
    """Whether some container of the pod started (a pod that never ran shows nothing either way)."""
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        state = {**(status.get("lastState") or {}), **(status.get("state") or {})}
        if state.get("running") or state.get("terminated"):
            return True
    return False


def _report(message: str) -> dict[str, Any]:
    """A lab script's termination message (``{"log": ..., "files": [...]}``), or {}."""
    if not message.startswith("{"):
        return {}
    try:
        data = json.loads(message)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _reported_output(message: str) -> str | None:
    output = _report(message).get("log")
    return output if isinstance(output, str) else None


def _file_digests(message: str) -> list[str]:
    files = _report(message).get("files")
    if not isinstance(files, list):
        return []
    return [str(f["sha256"]) for f in files if isinstance(f, dict) and isinstance(f.get("sha256"), str)]
