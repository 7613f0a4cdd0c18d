"""The evaluator of ``mount`` checks: does the lab's container see the volume where the lab's program
reads or writes?

What counts as the same mount:

* a claim (``claim``): mounted at the directory or at a directory above it, whole or through a
  ``subPath`` (files then land in a subdirectory of the claim, which is still the claim);
* a ConfigMap (``config_map``): a ``configMap`` volume or a ``projected`` one with the ConfigMap among
  its sources;
* a node directory (``host_path``): its path compared after normalising (``/a/b/`` = ``/a/b``);
* for a ConfigMap or a node directory, whose content the program reads or whose place on the node the
  lab names, a ``subPath`` mount counts where it shows the same thing: ``subPath: f`` mounted at
  ``DIR/f`` is the volume's ``f`` at its place in ``DIR``;
* the directory is ``mount_path``, or the value of the script's own ``directory_option``
  (``--model-dir /models``) when the lab's container passes it.
"""

from __future__ import annotations

import posixpath
from typing import Any

from ..context import GradingContext
from ..definition import MountCheck
from ..objects import pod_spec
from ..program import program_of
from ..results import Outcome
from .registry import evaluates
from .static import missing

__all__: list[str] = []  # the evaluator registers itself; nothing to import


def _norm(path: Any) -> str:
    return posixpath.normpath(str(path)) if path else ""


def _provides(volume: dict[str, Any], check: MountCheck) -> bool:
    if check.claim is not None:
        return (volume.get("persistentVolumeClaim") or {}).get("claimName") == check.claim
    if check.config_map is not None:
        sources = [volume.get("configMap") or {}]
        sources += [s.get("configMap") or {} for s in (volume.get("projected") or {}).get("sources") or []]
        return any(s.get("name") == check.config_map for s in sources)
    path = (volume.get("hostPath") or {}).get("path")
    return bool(path) and _norm(path) == _norm(check.host_path)


def _under(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _shows(mount: dict[str, Any], target: str, anywhere: bool) -> bool:
    at, sub = _norm(mount.get("mountPath")), _norm(mount.get("subPath"))
    if anywhere:
        return _under(target, at)
    return at == target if not sub else at == posixpath.join(target, sub)


@evaluates(MountCheck)
def _mount(ctx: GradingContext, check: MountCheck) -> Outcome:
    if check.claim is not None:
        source, wanted = "claim", check.claim
    elif check.config_map is not None:
        source, wanted = "ConfigMap", check.config_map
    else:
        source, wanted = "host path", str(check.host_path)
    what = f"{source} {wanted} mounted at {check.mount_path}"
    objs = ctx.submitted(check.object)
    if not objs:
        return missing(ctx, check.object, what)
    found = what
    for obj in objs:
        container = ctx.container(obj)
        if container is None:
            return ctx.no_container(obj, what)
        target = _norm(check.mount_path)
        if check.directory_option:
            target = _norm(program_of(container).option(check.directory_option) or target)
        volumes = [v.get("name") for v in pod_spec(obj).get("volumes") or [] if _provides(v, check)]
        if not volumes:
            shown = [
                f"{v.get('name')} ({', '.join(k for k in v if k != 'name')})"
                for v in pod_spec(obj).get("volumes") or []
            ]
            found = f"no volume from {source} {wanted}; volumes: {', '.join(shown) or 'none'}"
            return Outcome.failed(what, found, "no-volume")
        mounts = [m for m in container.get("volumeMounts") or [] if m.get("name") in volumes]
        name = container.get("name")
        if not mounts:
            return Outcome.failed(
                what, f"volume {volumes[0]} is not mounted in container {name}", "not-mounted"
            )
        if not any(_shows(m, target, check.claim is not None and not check.whole) for m in mounts):
            return _elsewhere(what, mounts, target)
        found = f"{source} {wanted} at {target} in container {name}"
    return Outcome.passed(what, found)


def _elsewhere(what: str, mounts: list[dict[str, Any]], target: str) -> Outcome:
    subs = [m for m in mounts if m.get("subPath") and _norm(m.get("mountPath")) == target]
    if subs:
        found = f"volume {subs[0].get('name')} is mounted at {target} with subPath {subs[0].get('subPath')}"
        return Outcome.failed(what, f"{found}: the container sees a subdirectory of it there", "sub-path")
    where = ", ".join(str(m.get("mountPath")) for m in mounts)
    return Outcome.failed(what, f"volume {mounts[0].get('name')} is mounted at: {where}", "elsewhere")
