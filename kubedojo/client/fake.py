"""An in-memory API server behind the :class:`KubeAPI` boundary, for fast tests of orchestration.

It stores plain objects, stamps resourceVersions, answers lists (label selectors of the
``a=b,c`` form, ``metadata.name`` field selectors), streams watch events, and refuses with the same
error classes as the real client. It runs no controllers: a test that needs a Job to finish
registers a *reaction* (``fake.react("Job", ...)``) that changes the cluster the way the test means
it to, or changes objects itself with :meth:`FakeKube.put`.

It is a stand-in for orchestration tests only (does the runner wait, reset, record, report?). What
a cluster *does* is tested against the real local cluster, never against this.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..errors import Conflict, Gone, NotFound, Unreachable
from .kinds import BUILTIN_KINDS, KindInfo, builtin_kind
from .kubeapi import KubeAPI, Listing

__all__ = ["FakeKube", "Reaction"]

Obj = dict[str, Any]
Reaction = Callable[["FakeKube", str, Obj], None]
"""Called as ``reaction(fake, event_type, obj)`` after an object of its kind is stored or deleted."""
_Key = tuple[str, str | None, str]


def _labels_match(selector: str | None, labels: Mapping[str, str]) -> bool:
    for term in filter(None, (selector or "").split(",")):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.split("=", 1)
            if labels.get(key.rstrip("=")) != value:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def _fields_match(selector: str | None, obj: Obj) -> bool:
    meta = obj.get("metadata") or {}
    for term in filter(None, (selector or "").split(",")):
        key, _, value = term.partition("=")
        field = {"metadata.name": meta.get("name"), "metadata.namespace": meta.get("namespace")}.get(key)
        if field != value:
            return False
    return True


class FakeKube(KubeAPI):
    """See the module's docstring. ``history`` keeps ``(verb, Kind/name)`` of every write."""

    def __init__(self) -> None:
        self.requests = 0
        self.objects: dict[_Key, Obj] = {}
        self.logs: dict[tuple[str, str, str | None], str] = {}
        self.history: list[tuple[str, str]] = []
        self.reactions: dict[str, list[Reaction]] = {}
        self.refuse: Callable[[str, Obj], None] | None = None
        """Called as ``refuse(verb, obj)`` before a create, an apply or a token request (verb
        ``token``, obj a TokenRequest naming the ServiceAccount); raise to refuse it."""
        self.reachable = True
        self._kinds = dict(BUILTIN_KINDS)
        self._events: list[tuple[int, str, Obj]] = []
        self._version = itertools.count(1)
        self._oldest = 0
        self._changed = threading.Condition()

    # -- setting the scene ----------------------------------------------------------------------------

    def add_kind(self, info: KindInfo) -> None:
        self._kinds[info.kind] = info

    def react(self, kind: str, reaction: Reaction) -> None:
        self.reactions.setdefault(kind, []).append(reaction)

    def put(self, obj: Mapping[str, Any], event: str | None = None) -> Obj:
        """Store an object as the cluster would (no admission); returns the stored copy."""
        stored = copy.deepcopy(dict(obj))
        meta = stored.setdefault("metadata", {})
        key = self._key(stored["kind"], meta.get("namespace"), meta["name"])
        known = key in self.objects
        meta.setdefault("uid", f"uid-{meta['name']}-{next(self._version)}")
        meta.setdefault("creationTimestamp", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        self._store(key, stored, event or ("MODIFIED" if known else "ADDED"))
        return copy.deepcopy(stored)

    def compact(self) -> None:
        """Forget past events: a watch from an older resourceVersion now gets 410 Gone."""
        with self._changed:
            self._oldest = next(self._version)
            self._events.clear()

    # -- primitives --------------------------------------------------------------------------------

    def kind(self, kind: str, api_version: str | None = None) -> KindInfo:
        info = builtin_kind(kind, api_version) or self._kinds.get(kind)
        if info is None or (api_version is not None and info.api_version != api_version):
            raise NotFound(f"kind {kind}: the API server serves no {kind} in {api_version}")
        return info

    def list_page(
        self,
        info: KindInfo,
        namespace: str | None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        from_cache: bool = False,
    ) -> Listing:
        self._request()
        with self._changed:
            items = [
                copy.deepcopy(obj)
                for (kind, ns, _), obj in sorted(self.objects.items(), key=lambda item: str(item[0]))
                if kind == info.kind
                and (namespace is None or not info.namespaced or ns == namespace)
                and _labels_match(label_selector, obj["metadata"].get("labels") or {})
                and _fields_match(field_selector, obj)
            ]
            return Listing(items, str(self._current()))

    def watch_once(
        self,
        info: KindInfo,
        namespace: str | None,
        resource_version: str,
        seconds: float,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Iterator[tuple[str, Obj]]:
        self._request()
        since = int(resource_version or 0)
        if since < self._oldest:
            raise Gone(f"watch {info.kind}: too old resource version: {since}")
        deadline = time.monotonic() + seconds
        while True:
            with self._changed:
                fresh = [e for e in self._events if e[0] > since]
                if not fresh:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return
                    self._changed.wait(min(left, 0.5))
                    continue
            for version, event, obj in fresh:
                since = version
                meta = obj["metadata"]
                if (
                    obj["kind"] == info.kind
                    and (namespace is None or not info.namespaced or meta.get("namespace") == namespace)
                    and _labels_match(label_selector, meta.get("labels") or {})
                    and _fields_match(field_selector, obj)
                ):
                    yield event, copy.deepcopy(obj)

    def get(
        self, kind: str, name: str, namespace: str | None = None, *, api_version: str | None = None
    ) -> Obj:
        self._request()
        info = self.kind(kind, api_version)
        found = self.objects.get(self._key(kind, namespace if info.namespaced else None, name))
        if found is None:
            raise NotFound(
                f'get {kind} {namespace}/{name}: {kind.lower()}s "{name}" not found', reason="NotFound"
            )
        return copy.deepcopy(found)

    def apply_one(
        self, obj: Mapping[str, Any], namespace: str | None = None, *, dry_run: bool = False
    ) -> Obj:
        self._request()
        body = self._placed(obj, namespace)
        if self.refuse is not None:
            self.refuse("apply", body)
        key = self._key(body["kind"], body["metadata"].get("namespace"), body["metadata"]["name"])
        current = self.objects.get(key)
        if dry_run:
            return body
        if current is not None:
            merged = {**current, **{k: v for k, v in body.items() if k != "metadata"}}
            merged["metadata"] = {**current["metadata"], **body["metadata"]}
            if _same(merged, current):
                return copy.deepcopy(current)
            body = merged
        self.history.append(("apply", f"{body['kind']}/{body['metadata']['name']}"))
        return self.put(body)

    def create(self, obj: Mapping[str, Any], namespace: str | None = None, *, dry_run: bool = False) -> Obj:
        self._request()
        body = self._placed(obj, namespace)
        meta = body["metadata"]
        if not meta.get("name"):
            meta["name"] = f"{meta.get('generateName', 'object-')}{next(self._version):05d}"
        if self.refuse is not None:
            self.refuse("create", body)
        if self._key(body["kind"], meta.get("namespace"), meta["name"]) in self.objects:
            raise Conflict(f"create {body['kind']} {meta['name']}: already exists", reason="AlreadyExists")
        if dry_run:
            return body
        self.history.append(("create", f"{body['kind']}/{meta['name']}"))
        return self.put(body, "ADDED")

    def delete(
        self,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        api_version: str | None = None,
        foreground: bool = False,
        grace_seconds: int | None = None,
    ) -> bool:
        self._request()
        info = self.kind(kind, api_version)
        key = self._key(kind, namespace if info.namespaced else None, name)
        if key not in self.objects:
            return False
        self.history.append(("delete", f"{kind}/{name}"))
        obj = self.objects[key]
        uid = obj["metadata"].get("uid")
        for other_key, other in list(self.objects.items()):  # dependents (owner references) go too
            owners = other["metadata"].get("ownerReferences") or []
            if uid and any(o.get("uid") == uid for o in owners):
                self._remove(other_key)
        if kind == "Namespace":
            for other_key in [k for k in self.objects if k[1] == name]:
                self._remove(other_key)
        self._remove(key)
        return True

    def pod_log(
        self, namespace: str, pod: str, container: str | None = None, previous: bool = False
    ) -> str | None:
        self._request()
        if previous:
            return None
        if (namespace, pod, container) in self.logs:
            return self.logs[(namespace, pod, container)]
        return next((log for (ns, p, _), log in self.logs.items() if (ns, p) == (namespace, pod)), None)

    def follow_log(
        self, namespace: str, pod: str, container: str | None = None, timeout: float = 3600.0
    ) -> Iterator[str]:
        yield from (self.pod_log(namespace, pod, container) or "").splitlines()

    def request_token(self, namespace: str, service_account: str, seconds: int) -> str:
        self.get("ServiceAccount", service_account, namespace)
        if self.refuse is not None:
            self.refuse(
                "token",
                {"kind": "TokenRequest", "metadata": {"name": service_account, "namespace": namespace}},
            )
        return f"token-{namespace}-{service_account}-{seconds}"

    def readyz(self, timeout: float = 5.0) -> str:
        self._request()
        return "ok"

    # -- inside ----------------------------------------------------------------------------------

    def _request(self) -> None:
        if not self.reachable:
            raise Unreachable(
                "fake API server: [Errno 111] Connection refused", reason="[Errno 111] Connection refused"
            )
        self.requests += 1

    def _key(self, kind: str, namespace: str | None, name: str) -> _Key:
        info = self.kind(kind)
        return (kind, namespace if info.namespaced else None, name)

    def _placed(self, obj: Mapping[str, Any], namespace: str | None) -> Obj:
        body = copy.deepcopy(dict(obj))
        info = self.kind(body["kind"], body.get("apiVersion"))
        meta = body.setdefault("metadata", {})
        if info.namespaced:
            meta["namespace"] = namespace or meta.get("namespace")
            if not meta["namespace"]:
                raise NotFound(f"{body['kind']}/{meta.get('name')}: a namespace is required")
            if self._key("Namespace", None, meta["namespace"]) not in self.objects:
                raise NotFound(f'namespaces "{meta["namespace"]}" not found', reason="NotFound")
        return body

    def _current(self) -> int:
        return self._events[-1][0] if self._events else self._oldest

    def _store(self, key: _Key, obj: Obj, event: str) -> None:
        with self._changed:
            version = next(self._version)
            obj["metadata"]["resourceVersion"] = str(version)
            self.objects[key] = obj
            self._events.append((version, event, copy.deepcopy(obj)))
            self._changed.notify_all()
        for reaction in self.reactions.get(key[0], []):
            reaction(self, event, copy.deepcopy(obj))

    def _remove(self, key: _Key) -> None:
        with self._changed:
            obj = self.objects.pop(key, None)
            if obj is None:
                return
            version = next(self._version)
            self._events.append(
                (
                    version,
                    "DELETED",
                    {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(version)}},
                )
            )
            self._changed.notify_all()
        for reaction in self.reactions.get(key[0], []):
            reaction(self, "DELETED", copy.deepcopy(obj))


def _same(a: Obj, b: Obj) -> bool:
    """Equal but for the resourceVersion."""

    def strip(obj: Obj) -> Obj:
        return {**obj, "metadata": {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}}

    return strip(a) == strip(b)
