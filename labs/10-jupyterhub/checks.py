"""Python checks of lab 10: the participant's notebook server on the class's JupyterHub, and what their
notebook left on its home claim.

The server is the pod the hub's spawner made in the participant's namespace (KubeSpawner's labels),
running kubedojo's build of the notebook server (the digest the kubelet reports is the registry's)
with its home on the participant's claim. The model is not taken on trust: a grader pod (the lab base,
the claim mounted read-only, no credentials) loads it without unpickling anything and scores it on
the digits the notebook held out; the notebook's own saved output must show the same score.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kubedojo.labs import GradingContext, Outcome

_SERVER = {"component": "singleuser-server", "app.kubernetes.io/managed-by": "kubespawner"}
_HOME_CLAIM = {"component": "singleuser-storage", "app.kubernetes.io/managed-by": "kubespawner"}
_HOME = "/home/jovyan"
_SERVER_IMAGE = "jupyterhub-singleuser"
"""kubedojo's build of JupyterHub's notebook server (its repository name)."""
_MIN_ACCURACY = 0.9

_GRADER = r"""
import json, os, stat, sys, zipfile
root = sys.argv[1]
MODEL, LIMIT, UNPACKED = "models/digits-model.npz", 2_000_000, 8_000_000
PREFIX = "held-out accuracy: "

def regular(path):
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st if stat.S_ISREG(st.st_mode) else None

def examine(path, st):
    if st.st_size > LIMIT:
        return {"error": "it is larger than 2 MB"}
    try:
        with zipfile.ZipFile(path) as archive:
            if sum(i.file_size for i in archive.infolist()) > UNPACKED:
                return {"error": "its arrays unpack to more than 8 MB"}
        import numpy as np
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as exc:
        return {"error": f"it does not load as an .npz of arrays ({type(exc).__name__}: {str(exc)[:120]})"}
    coef, intercept = arrays.get("coef"), arrays.get("intercept")
    if coef is None or intercept is None:
        names = ", ".join(sorted(arrays)) or "none"
        return {"error": f"its arrays are {names}, not coef and intercept"}
    if coef.shape != (10, 64) or intercept.shape != (10,):
        return {"error": f"coef is {coef.shape} and intercept {intercept.shape}, not (10, 64) and (10,)"}
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    digits = load_digits()
    _, x_test, _, y_test = train_test_split(
        digits.data / 16.0, digits.target, test_size=0.3, random_state=0, stratify=digits.target
    )
    try:
        scores = x_test @ coef.astype(float).T + intercept.astype(float)
    except (TypeError, ValueError) as exc:
        return {"error": f"its arrays are not numbers ({exc})"}
    return {"accuracy": float((np.argmax(scores, axis=1) == y_test).mean()), "tested": int(len(y_test))}

out = {"model": None, "notebooks": []}
path = os.path.join(root, MODEL)
st = regular(path)
if st is not None:
    out["model"] = {"mtime": st.st_mtime, **examine(path, st)}
for top, dirs, files in os.walk(root):
    dirs[:] = sorted(d for d in dirs if not d.startswith("."))
    for name in sorted(files):
        path = os.path.join(top, name)
        st = regular(path)
        if not name.endswith(".ipynb") or st is None or st.st_size > 5_000_000 or len(out["notebooks"]) >= 50:
            continue
        printed = []
        try:
            with open(path, encoding="utf-8") as handle:
                cells = json.load(handle).get("cells") or []
            for cell in cells:
                for output in (cell.get("outputs") or []) if cell.get("cell_type") == "code" else []:
                    text = output.get("text") or ""
                    text = "".join(text) if isinstance(text, list) else str(text)
                    printed += [l[len(PREFIX):].strip() for l in text.splitlines() if l.startswith(PREFIX)]
        except (ValueError, AttributeError, TypeError, UnicodeDecodeError):
            continue
        relative = os.path.relpath(path, root)
        out["notebooks"].append({"path": relative, "mtime": st.st_mtime, "printed": printed})
print(json.dumps(out))
"""
"""Run by the grader pod: the saved model's held-out accuracy (the notebook's split: 30% of the
digits, stratified, seed 0), and what each notebook in the home printed as its held-out accuracy."""

Obj = dict[str, Any]


def _server(ctx: GradingContext) -> list[Obj]:
    return [
        p
        for p in ctx.snapshot.of_kind("Pod")
        if _SERVER.items() <= ((p.get("metadata") or {}).get("labels") or {}).items()
        and not (p.get("metadata") or {}).get("deletionTimestamp")
    ]


def _ready(pod: Obj) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _home_claim(pod: Obj) -> str | None:
    """The claim the server's container has at its home."""
    spec = pod.get("spec") or {}
    claims = {
        v.get("name"): (v.get("persistentVolumeClaim") or {}).get("claimName")
        for v in spec.get("volumes") or []
        if v.get("persistentVolumeClaim")
    }
    for container in spec.get("containers") or []:
        for mount in container.get("volumeMounts") or []:
            if mount.get("mountPath") == _HOME and not mount.get("subPath") and mount.get("name") in claims:
                return str(claims[mount["name"]])
    return None


def server(ctx: GradingContext) -> Outcome:
    what = "your notebook server from JupyterHub runs in your namespace (kubedojo's notebook image)"
    pods = _server(ctx)
    if not pods:
        return Outcome.failed(what, "no notebook server in your namespace", "no-server")
    if len(pods) > 1:
        return Outcome.failed(what, f"{len(pods)} pods labelled as notebook servers", "many")
    (pod,) = pods
    name = pod["metadata"]["name"]
    if not _ready(pod):
        phase = (pod.get("status") or {}).get("phase") or "unknown"
        return Outcome.failed(what, f"{name} is not ready ({phase})", "not-ready")
    spec = pod.get("spec") or {}
    containers = spec.get("containers") or []
    if len(containers) != 1 or (containers[0].get("args") or containers[0].get("command") or [None])[0] != (
        "jupyterhub-singleuser"
    ):
        return Outcome.failed(what, f"{name} does not run jupyterhub-singleuser alone", "not-the-server")
    ours = ctx.runs_addon_image(pod, _SERVER_IMAGE)
    if ours is None:
        return Outcome.pending(what, "the registry could not be read; the instructor's grading can")
    if not ours:
        return Outcome.failed(what, f"{name} runs another image than kubedojo's notebook server", "image")
    return Outcome.passed(what, f"{name} is ready")


def home(ctx: GradingContext) -> Outcome:
    what = f"your server's home ({_HOME}) is your own claim, Bound"
    pods = _server(ctx)
    if len(pods) != 1:
        return Outcome.failed(what, "no single notebook server to look at", "no-server")
    claim = _home_claim(pods[0])
    if claim is None:
        return Outcome.failed(what, f"nothing of a claim is mounted at {_HOME}", "no-claim")
    bound = {
        c["metadata"]["name"]
        for c in ctx.snapshot.of_kind("PersistentVolumeClaim")
        if (c.get("status") or {}).get("phase") == "Bound"
    }
    if claim not in bound:
        return Outcome.failed(what, f"the claim {claim} is not Bound", "unbound")
    return Outcome.passed(what, f"{_HOME} is the claim {claim}")


def _examined(ctx: GradingContext) -> tuple[str, Obj] | Outcome:
    """The home claim (the hub made it; it outlives the server) and what the grader found on it."""
    claims = [
        c
        for c in ctx.snapshot.of_kind("PersistentVolumeClaim")
        if _HOME_CLAIM.items() <= ((c.get("metadata") or {}).get("labels") or {}).items()
    ]
    if len(claims) != 1:
        return Outcome.failed(
            "", f"{len(claims)} home claims made by JupyterHub in your namespace", "no-home"
        )
    name = claims[0]["metadata"]["name"]
    return name, dict(ctx.examined(name, _GRADER))


def _since_start(ctx: GradingContext, mtime: float) -> bool:
    return datetime.fromtimestamp(mtime, UTC) >= ctx.started_at


def model(ctx: GradingContext, min_accuracy: float = _MIN_ACCURACY) -> Outcome:
    what = (
        f"models/digits-model.npz on your home claim, saved since the lab started, scores >= {min_accuracy:g}"
    )
    found = _examined(ctx)
    if isinstance(found, Outcome):
        return Outcome.failed(what, found.found, found.cause)
    claim, examined = found
    saved = examined.get("model")
    if saved is None:
        return Outcome.failed(what, f"no models/digits-model.npz on the claim {claim}", "no-model")
    if not _since_start(ctx, float(saved["mtime"])):
        return Outcome.failed(what, "the model was saved before the lab started", "old")
    if "error" in saved:
        return Outcome.failed(what, f"the model cannot be scored: {saved['error']}", "unreadable")
    accuracy = float(saved["accuracy"])
    found_text = f"accuracy {accuracy:.4f} on {saved['tested']} held-out digits"
    if accuracy < min_accuracy:
        return Outcome.failed(what, found_text, "low")
    return Outcome.passed(what, found_text)


def notebook(ctx: GradingContext) -> Outcome:
    what = "a notebook on your claim, saved since the lab started, printed the model's held-out accuracy"
    found = _examined(ctx)
    if isinstance(found, Outcome):
        return Outcome.failed(what, found.found, found.cause)
    _, examined = found
    saved = examined.get("model") or {}
    if "accuracy" not in saved:
        return Outcome.failed(what, "no model to compare with", "no-model")
    measured = f"{float(saved['accuracy']):.4f}"
    books = [b for b in examined.get("notebooks") or [] if _since_start(ctx, float(b["mtime"]))]
    if not books:
        return Outcome.failed(what, "no notebook saved since the lab started", "no-notebook")
    for book in books:
        if measured in book.get("printed") or []:
            return Outcome.passed(what, f"{book['path']} printed held-out accuracy: {measured}")
    printed = ", ".join(sorted({p for b in books for p in b.get("printed") or []})) or "no held-out accuracy"
    return Outcome.failed(
        what, f"the saved notebooks printed {printed}; the model scores {measured}", "mismatch"
    )
