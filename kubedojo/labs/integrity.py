"""Was it the lab's own code that ran? The rules a pod must meet before its lab container's log, exit,
completion or files count as evidence.

A participant controls their pods: the command, the image, the volumes, the environment. What they
cannot control is what the kubelet reports, and what the API server stored when the pod was created
(a pod's spec cannot be changed afterwards, and a participant may not exec into or attach to pods).
So a run counts only when, for the pod that produced the evidence:

* **the image is the lab's**: the ``imageID`` the kubelet reports for the lab's container is the
  digest that the registry holds for one of the lab's images (kubedojo built and pushed them; the
  registry listens on loopback, where participants' pods cannot reach it);
* **the program is the lab's**: the container runs a lab script by the image's python, as
  ``python [-u|-B] SCRIPT ARGS`` (or one plain ``sh -c`` line of that, with nothing else on it), the
  script taken from the image's code directory, or the image's own command;
* **nothing replaces the code**: no volume is mounted over the code directory, the interpreter's
  directories or a home directory, and nothing is mounted inside the code directory under a name
  Python could import; no environment variable changes what python loads (``PATH``, ``HOME``,
  ``PYTHON*`` except the harmless ones, ``LD_*``), also not through ``envFrom``;
* **no one else acts inside the container**: no shared process namespace, no ephemeral container,
  no exec hook or exec probe (each runs a command inside the lab's container), and the termination
  message is where the lab's code writes its result. One helper may share the process namespace:
  Katib's metrics collector, which its pod webhook adds to every trial's pod and which must see the
  training process end (:func:`_katib_collector`): the container Katib names, kubedojo's build of the
  collector (its digest, as for the lab's images), the image's own program with only the collector's
  own flags.

Results are then the lab code's own: its log lines, its exit, and the files it reports (with their
SHA-256) in its termination message, which the volume reader compares with what is on the volume.

An Argo Workflow's status is written by Argo's controller, but the custom resource has no status
subresource: whoever may update a Workflow may write its status too (a class's admission policy,
:mod:`kubedojo.classroom.workflowpolicy`, refuses participants that). So a Workflow's nodes count
only with the pods that made them (:func:`workflow_problem`): every node that ran a pod has that pod,
owned by the Workflow and naming the node, on a real node, its ``main`` container ended as the node
says.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .program import Program, image_name, program_of

__all__ = [
    "CODE_DIR",
    "JUPYTER_SERVER_IMAGE",
    "KATIB_COLLECTOR",
    "KATIB_COLLECTOR_IMAGE",
    "LabImages",
    "RunProblem",
    "image_digest",
    "run_problem",
    "workflow_problem",
]

CODE_DIR = "/workspace"
"""Where lab images keep their code (their Dockerfiles' WORKDIR)."""

_SYSTEM_DIRS = (
    "/usr",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/bin",
    "/sbin",
    "/etc",
    "/root",
    "/home",
    "/.local",
)
"""Mounting over, above or inside these could replace the interpreter, its modules (Debian's
sitecustomize lives in /etc) or a user site."""
_KERNEL_DIRS = ("/dev", "/proc", "/sys")
"""Mounting over (not inside: /dev/shm is common) these could hide the termination log."""

_INTERPRETER_DIRS = ("/usr/bin", "/usr/local/bin", "/bin")
_HARMLESS_PYTHON_ENV = frozenset({"PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PYTHONIOENCODING"})
_IMPORTABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.(py|pyc|pyw|pth)|(\.[^/]*)?\.so)?$")
"""A name under the code directory that ``import`` could pick up before the real module."""
_SHELL_SYNTAX = re.compile(r"[;&|<>`$(){}\n\\*?~]|^\s*\w+=")
_TERMINATION_LOG = "/dev/termination-log"
KATIB_COLLECTOR = "metrics-logger-and-collector"
"""The container Katib's pod webhook adds to a trial's pod."""
KATIB_COLLECTOR_IMAGE = "katib-file-metrics-collector"
"""The repository name of kubedojo's build of Katib's file and stdout metrics collector."""
JUPYTER_SERVER_IMAGE = "jupyterhub-singleuser"
"""The repository name of kubedojo's build of JupyterHub's notebook server."""
_KATIB_COLLECTOR_FLAGS = frozenset(
    {"t", "m", "o-type", "s-db", "s-earlystop", "path", "format", "f", "p", "timeout", "w", "stop-rule"}
)
"""Every flag of the collector (v0.19): each says what to read, where to report it, how long to wait."""


@dataclass(frozen=True)
class LabImages:
    """The digests (hex, without ``sha256:``) of the lab's images in the registry, by repository name
    (``lab-01-run-job``); ``unknown`` says why they could not be read."""

    digests: Mapping[str, frozenset[str]]
    unknown: str | None = None
    helpers: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """The digests of the helper images that may share a lab pod's process namespace, by repository
    name (Katib's metrics collector, for a lab of Katib)."""


@dataclass(frozen=True)
class RunProblem:
    """Why a pod's run is not the lab's code: ``reason`` (what was found) and ``hint`` (what to do)."""

    reason: str
    hint: str
    cause: str = "not-the-lab-code"


def image_digest(image_id: str) -> str | None:
    """The hex digest at the end of an ``imageID`` (``…@sha256:<hex>`` or ``sha256:<hex>``)."""
    match = re.search(r"sha256:([0-9a-f]{64})$", image_id or "")
    return match.group(1) if match else None


def run_problem(
    pod: dict[str, Any],
    container: dict[str, Any],
    scripts: Iterable[str],
    images: LabImages,
    config_maps: Mapping[str, dict[str, Any]] | None = None,
    code_dir: str = CODE_DIR,
    simulated: bool = False,
) -> RunProblem | None:
    """What keeps ``pod``'s lab ``container`` from being the lab's code at work, or None.

    ``config_maps`` are the namespace's ConfigMaps by name (for ``envFrom``), None when unknown.
    ``simulated``: the pod was on a simulated node, where nothing runs and no digest is reported; the
    image is then judged by its name (one of the lab's), everything else as for a real run."""
    name = str(container.get("name"))
    for problem in (
        _shared(pod, name, images, simulated),
        _program(container, tuple(scripts), code_dir),
        _mounts(container, code_dir),
        _environment(container, config_maps),
        _hooks(container),
        _image_named(container, images) if simulated else _image(pod, container, images),
    ):
        if problem is not None:
            return problem
    return None


def _shared(pod: dict[str, Any], name: str, images: LabImages, simulated: bool) -> RunProblem | None:
    spec = pod.get("spec") or {}
    sidecars = [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    others = [c for c in [*(spec.get("containers") or []), *sidecars] if c.get("name") != name]
    if spec.get("shareProcessNamespace") and not (
        others and all(_katib_collector(pod, c, images, simulated) for c in others)
    ):
        return RunProblem(
            "the pod shares one process namespace (shareProcessNamespace), so its other containers can "
            "reach into the lab's process",
            "remove spec.template.spec.shareProcessNamespace",
        )
    if spec.get("ephemeralContainers"):
        return RunProblem(
            "an ephemeral container was added to the pod", "run the lab's Job again, without debug containers"
        )
    return None


def _katib_collector(
    pod: dict[str, Any], container: dict[str, Any], images: LabImages, simulated: bool
) -> bool:
    """Whether ``container`` is Katib's metrics collector as its webhook adds it: kubedojo's build
    (the digest the kubelet reports is the registry's), running the image's program with the
    collector's own flags only."""
    if container.get("name") != KATIB_COLLECTOR or container.get("command"):
        return False
    if image_name(container.get("image")) != KATIB_COLLECTOR_IMAGE:
        return False
    for word in container.get("args") or []:
        if not isinstance(word, str):
            return False
        if word.startswith("-") and word.lstrip("-").split("=", 1)[0] not in _KATIB_COLLECTOR_FLAGS:
            return False
    if simulated:
        return True
    expected = images.helpers.get(KATIB_COLLECTOR_IMAGE) or frozenset()
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == KATIB_COLLECTOR:
            return image_digest(str(status.get("imageID") or "")) in expected
    return False


def _program(container: dict[str, Any], scripts: tuple[str, ...], code_dir: str) -> RunProblem | None:
    if not container.get("command") and not container.get("args"):
        return None  # the image's own command: the lab's (the image is checked below)
    program = program_of(container)
    wanted = " or ".join(scripts) or "the lab's script"
    first = scripts[0] if scripts else "train.py"
    hint = f'run the lab\'s script as it is in the image: command: ["python", "{first}"], arguments in args'
    if program.script is None or (scripts and program.script not in scripts):
        return RunProblem(f"the container runs {program.shown()[:120]}, not {wanted}", hint)
    if program.via_shell is not None and _SHELL_SYNTAX.search(program.via_shell):
        return RunProblem(
            f"the shell line {program.via_shell[:120]!r} does more than run {program.script}",
            hint,
        )
    interpreter = program.interpreter or ""
    if "/" in interpreter and posixpath.dirname(posixpath.normpath(interpreter)) not in _INTERPRETER_DIRS:
        return RunProblem(f"python is run from {program.interpreter}, not the image's", hint)
    if not _in_code_dir(program, container, code_dir):
        return RunProblem(
            f"{program.script_path} is not the image's {posixpath.join(code_dir, str(program.script))}",
            f"leave workingDir unset and run {program.script} from the image's {code_dir}",
        )
    return None


def _in_code_dir(program: Program, container: dict[str, Any], code_dir: str) -> bool:
    path = str(program.script_path or "")
    working = container.get("workingDir")
    base = posixpath.normpath(str(working)) if working else code_dir
    resolved = posixpath.normpath(posixpath.join(base, path))
    return posixpath.dirname(resolved) == code_dir


def _within(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _mounts(container: dict[str, Any], code_dir: str) -> RunProblem | None:
    hint = f"mount volumes outside {code_dir} and the system directories (for example at /model_storage)"
    for mount in container.get("volumeMounts") or []:
        path = posixpath.normpath(str(mount.get("mountPath") or "/"))
        if not path.startswith("/"):
            path = posixpath.normpath(posixpath.join(code_dir, path))
        for protected in (code_dir, *_SYSTEM_DIRS, *_KERNEL_DIRS):
            inside = protected in _SYSTEM_DIRS and _within(path, protected)
            if _within(protected, path) or inside:
                return RunProblem(f"volume {mount.get('name')} is mounted at {path}, over {protected}", hint)
        if _within(path, code_dir):
            first = path[len(code_dir) :].lstrip("/").split("/", 1)[0]
            if _IMPORTABLE.match(first) or first.startswith((".", "~")):
                return RunProblem(
                    f"volume {mount.get('name')} is mounted at {path}, where python could import it "
                    "instead of the lab's code",
                    hint + f"; inside {code_dir} only under a name like hp.yaml or model-storage",
                )
    return None


def _forbidden_env(name: str) -> bool:
    if name in _HARMLESS_PYTHON_ENV:
        return False
    return name in ("PATH", "HOME") or name.startswith(("PYTHON", "LD_"))


def _environment(
    container: dict[str, Any], config_maps: Mapping[str, dict[str, Any]] | None
) -> RunProblem | None:
    hint = "leave PATH, HOME, PYTHON* (other than PYTHONUNBUFFERED) and LD_* alone"
    for var in container.get("env") or []:
        if _forbidden_env(str(var.get("name"))):
            return RunProblem(f"the environment sets {var.get('name')}, which changes what python runs", hint)
    for source in container.get("envFrom") or []:
        prefix = str(source.get("prefix") or "")
        if prefix and not any(
            _forbidden_env(prefix) or w.startswith(prefix) for w in ("PATH", "HOME", "PYTHON", "LD_")
        ):
            continue  # no key can make a forbidden name behind this prefix
        ref = source.get("configMapRef") or {}
        data = (config_maps or {}).get(str(ref.get("name"))) if ref else None
        if data is None:
            what = f"ConfigMap {ref.get('name')}" if ref else "a Secret"
            return RunProblem(
                f"envFrom takes names from {what}, which kubedojo cannot check",
                "set the variables one by one under env, or give envFrom a prefix",
            )
        keys = [*(data.get("data") or {}), *(data.get("binaryData") or {})]
        bad = [k for k in keys if _forbidden_env(prefix + k)]
        if bad:
            return RunProblem(f"envFrom ConfigMap {ref.get('name')} sets {prefix + bad[0]}", hint)
    return None


def _hooks(container: dict[str, Any]) -> RunProblem | None:
    for event in ("postStart", "preStop"):
        if ((container.get("lifecycle") or {}).get(event) or {}).get("exec"):
            return RunProblem(
                f"a {event} hook runs a command inside the lab's container", f"remove lifecycle.{event}"
            )
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        if (container.get(probe) or {}).get("exec"):
            return RunProblem(
                f"the {probe} runs a command inside the lab's container",
                f"remove {probe} (or make it an httpGet or tcpSocket probe)",
            )
    path = container.get("terminationMessagePath")
    if path not in (None, _TERMINATION_LOG):
        return RunProblem(
            f"terminationMessagePath is {path}; the lab's code leaves its result in {_TERMINATION_LOG}",
            "remove terminationMessagePath",
        )
    return None


def _image_named(container: dict[str, Any], images: LabImages) -> RunProblem | None:
    if image_name(container.get("image")) in images.digests:
        return None
    return RunProblem(
        f"the image {container.get('image')} is not one of the lab's ({', '.join(sorted(images.digests))})",
        "use the lab's image, as in the starter manifest",
    )


def _image(pod: dict[str, Any], container: dict[str, Any], images: LabImages) -> RunProblem | None:
    name = image_name(container.get("image"))
    status: dict[str, Any] = next(
        (
            s
            for s in (pod.get("status") or {}).get("containerStatuses") or []
            if s.get("name") == container.get("name")
        ),
        {},
    )
    expected = images.digests.get(name)
    wanted = ", ".join(sorted(images.digests)) or "none"
    if expected is None:
        return RunProblem(
            f"the image {container.get('image')} is not one of the lab's ({wanted})",
            "use the lab's image, as in the starter manifest",
        )
    if images.unknown is not None:
        return RunProblem(
            f"the lab image's digest cannot be read here ({images.unknown})",
            "the instructor's grading checks the image; grade again where the registry can be read",
            "unverified",
        )
    digest = image_digest(str(status.get("imageID") or ""))
    if digest is None:
        return RunProblem(
            "the kubelet reported no image digest for the lab's container (it did not run on a real node)",
            "run the lab on a real node",
        )
    if digest not in expected:
        return RunProblem(
            f"the container ran an image with digest sha256:{digest[:12]}…, not the lab's {name}",
            "use the lab's image as kubedojo published it (imagePullPolicy Always or IfNotPresent)",
        )
    return None


_NODE_ID = "workflows.argoproj.io/node-id"
_RAN = ("Succeeded", "Failed")


def workflow_problem(
    workflow: Mapping[str, Any], pods: Iterable[Mapping[str, Any]], simulated_nodes: frozenset[str]
) -> RunProblem | None:
    """Why the Workflow's nodes are not what its pods did, or None. ``pods``: the pods the Workflow
    controls (its uid in their controller reference). Every ``Pod`` node that succeeded or failed
    must have its pod (annotation ``workflows.argoproj.io/node-id``) scheduled to a real node, its
    ``main`` container ended with exit code 0 exactly when the node succeeded."""
    by_node = {str(((p.get("metadata") or {}).get("annotations") or {}).get(_NODE_ID)): p for p in pods}
    name = (workflow.get("metadata") or {}).get("name")
    for node in ((workflow.get("status") or {}).get("nodes") or {}).values():
        if node.get("type") != "Pod" or node.get("phase") not in _RAN:
            continue
        shown = node.get("displayName") or node.get("id")
        pod = by_node.get(str(node.get("id")))
        if pod is None:
            return RunProblem(
                f"node {shown} has no pod left to show that it ran",
                f"keep Workflow {name}'s pods until it is graded: remove spec.podGC (and a podGC of the "
                "templates), which deletes them",
                "pod-deleted",
            )
        where = str((pod.get("spec") or {}).get("nodeName") or "")
        if where in simulated_nodes:
            return RunProblem(
                f"node {shown} ran on simulated node {where}, where nothing executes",
                "remove the nodeSelector or toleration that sends the step to a simulated node",
                "simulated",
            )
        ended = [
            (s.get("state") or {}).get("terminated") or {}
            for s in (pod.get("status") or {}).get("containerStatuses") or []
            if s.get("name") == "main"
        ]
        if ended and ended[0] and (ended[0].get("exitCode") == 0) != (node.get("phase") == "Succeeded"):
            return RunProblem(
                f"node {shown} is {node.get('phase')} but its pod's main container exited with code "
                f"{ended[0].get('exitCode')}",
                "submit the Workflow again and let Argo's controller alone write its status",
                "tampered",
            )
    return None
