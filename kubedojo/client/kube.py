"""The Kubernetes API through the official client. Only this module imports ``kubernetes``.

Every request goes through :meth:`KubeClient._request`: it sends the REST call with the official
client's configuration (TLS, tokens, client certificates, proxies) and maps every refusal to the
project's :class:`~kubedojo.errors.ApiError` tree in one place, the way httpx maps its transport's
errors. Answers are parsed straight from JSON into plain dicts: no model classes reach the core,
and large lists are read without building them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import (
    ApiError,
    ClusterError,
    ConfigError,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    Unreachable,
)
from .kinds import KindInfo, builtin_kind
from .kubeapi import FIELD_MANAGER, KubeAPI, Listing

__all__ = ["KubeClient", "api_error", "quota_conflict"]

Obj = dict[str, Any]
_ERRORS: dict[int, type[ApiError]] = {403: Forbidden, 404: NotFound, 409: Conflict, 410: Gone, 422: Invalid}


QUOTA_RETRIES = 4
"""Times a write refused by a quota conflict is sent again (after 0.05, 0.1, 0.2, 0.4 s)."""


def quota_conflict(error: ApiError) -> bool:
    """Whether a refusal is the API server's quota admission losing a race to update a
    ResourceQuota's usage (409 ``Operation cannot be fulfilled on resourcequotas``): nothing was
    stored, and the same write sent again is admitted once the quota's usage is re-read."""
    return isinstance(error, Conflict) and "on resourcequotas" in (error.server_message or "")


def api_error(what: str, status: int, body: bytes | str | None) -> ApiError:
    """The project's error for an API server's refusal of ``what`` (status and Status body)."""
    try:
        status_obj = json.loads(body) if body else {}
    except ValueError:
        status_obj = {}
    if not isinstance(status_obj, dict):
        status_obj = {}
    message = str(
        status_obj.get("message")
        or (body.decode(errors="replace") if isinstance(body, bytes) else body)
        or ""
    )
    message = (message.strip().splitlines() or [f"HTTP {status}"])[0]
    reason = str(status_obj.get("reason") or "")
    cls = _ERRORS.get(status, ApiError)
    text = f"{what}: {message}" if what else message
    if cls is Invalid:
        causes = tuple(
            (str(c.get("field", "")), str(c.get("message", "")))
            for c in (status_obj.get("details") or {}).get("causes") or []
        )
        return Invalid(text, status=status, reason=reason, server_message=message, causes=causes)
    return cls(text, status=status, reason=reason, server_message=message)


class KubeClient(KubeAPI):
    """A connection to one API server as one identity, through the official client."""

    def __init__(self, api_client: Any) -> None:
        self.api_client = api_client
        self.requests = 0
        self._kinds: dict[tuple[str, str | None], KindInfo] = {}

    @classmethod
    def from_kubeconfig(cls, path: Path) -> KubeClient:
        from kubernetes import client, config

        if not path.exists():
            raise ClusterError(f"{path}: no kubeconfig; run 'invoke cluster.up' first")
        configuration = client.Configuration()
        try:
            config.load_kube_config(config_file=str(path), client_configuration=configuration)
        except Exception as exc:  # the loader raises YAML's, its own ConfigException and OSErrors
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ConfigError(f"{path}: not a usable kubeconfig: {reason}") from None
        return cls(client.ApiClient(configuration))

    @classmethod
    def from_token(cls, host: str, ca_file: Path, token: str) -> KubeClient:
        from kubernetes import client

        configuration = client.Configuration()
        configuration.host = host
        configuration.ssl_ca_cert = str(ca_file)
        configuration.api_key = {"authorization": f"Bearer {token}"}
        return cls(client.ApiClient(configuration))

    @property
    def server(self) -> str:
        """The API server's URL."""
        return str(self.api_client.configuration.host)

    def close(self) -> None:
        self.api_client.close()

    # -- the one request path ---------------------------------------------------------------------

    def _request(
        self,
        what: str,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str | None = None,
        timeout: float | tuple[float, float] | None = 60.0,
    ) -> Any:
        """Send one request; the raw response (its ``data`` read unless it is a watch or a
        followed log). Refusals raise :class:`ApiError` subclasses; no answer, :class:`Unreachable`.
        A write refused by a quota conflict (:func:`quota_conflict`) is sent again, a few times."""
        attempt = 0
        while True:
            try:
                return self._send(
                    what, method, path, query=query, body=body, content_type=content_type, timeout=timeout
                )
            except Conflict as exc:
                if method == "GET" or not quota_conflict(exc) or attempt == QUOTA_RETRIES:
                    raise
            time.sleep(0.05 * 2**attempt)
            attempt += 1

    def _send(
        self,
        what: str,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None,
        body: Any,
        content_type: str | None,
        timeout: float | tuple[float, float] | None,
    ) -> Any:
        from kubernetes.client.exceptions import ApiException

        self.requests += 1
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
        params = [(k, v) for k, v in (query or {}).items() if v is not None]
        try:
            request = self.api_client.param_serialize(
                method,
                path,
                query_params=params,
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self.api_client.call_api(*request, _request_timeout=timeout)
        except ApiException as exc:
            if not exc.status:
                reason = _unreachable_reason(exc)
                raise Unreachable(f"{what}: {self.server}: {reason}", reason=reason) from None
            raise api_error(what, exc.status, exc.body) from None
        except Exception as exc:  # urllib3's and the socket's own kinds: no answer at all
            reason = _unreachable_reason(exc)
            raise Unreachable(f"{what}: {self.server}: {reason}", reason=reason) from None
        if not 200 <= response.status <= 299:
            response.read()
            raise api_error(what, response.status, response.data)
        return response

    def _json(self, what: str, method: str, path: str, **kwargs: Any) -> Obj:
        response = self._request(what, method, path, **kwargs)
        data: Obj = json.loads(response.read() or b"{}")
        return data

    # -- kinds ------------------------------------------------------------------------------------

    def kind(self, kind: str, api_version: str | None = None) -> KindInfo:
        info = builtin_kind(kind, api_version)
        if info is not None:
            return info
        key = (kind, api_version)
        if key not in self._kinds:
            versions = [api_version] if api_version else self._preferred_versions()
            for version in versions:
                found = self._served(kind, version)
                if found is not None:
                    self._kinds[key] = found
                    break
            else:
                where = f"in {api_version}" if api_version else "in any API group"
                raise NotFound(f"kind {kind}: the API server serves no {kind} {where}")
        return self._kinds[key]

    def _served(self, kind: str, api_version: str) -> KindInfo | None:
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        for resource in self._json(f"discover {api_version}", "GET", base).get("resources") or []:
            if resource.get("kind") == kind and "/" not in resource.get("name", ""):
                return KindInfo(kind, api_version, resource["name"], bool(resource.get("namespaced")))
        return None

    def _preferred_versions(self) -> list[str]:
        """Each API group's preferred version (for a kind named without its apiVersion)."""
        groups = self._json("discover API groups", "GET", "/apis").get("groups") or []
        return [str(g["preferredVersion"]["groupVersion"]) for g in groups if g.get("preferredVersion")]

    # -- primitives -------------------------------------------------------------------------------

    def list_page(
        self,
        info: KindInfo,
        namespace: str | None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        from_cache: bool = False,
    ) -> Listing:
        where = f" in {namespace}" if namespace and info.namespaced else ""
        data = self._json(
            f"list {info.kind}{where}",
            "GET",
            info.path(namespace),
            query={
                "labelSelector": label_selector,
                "fieldSelector": field_selector,
                "resourceVersion": "0" if from_cache else None,
            },
        )
        items: list[Obj] = data.get("items") or []
        for item in items:
            item.setdefault("kind", info.kind)
            item.setdefault("apiVersion", info.api_version)
        return Listing(items, str((data.get("metadata") or {}).get("resourceVersion") or ""))

    def watch_once(
        self,
        info: KindInfo,
        namespace: str | None,
        resource_version: str,
        seconds: float,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Iterator[tuple[str, Obj]]:
        window = max(1, int(seconds))
        response = self._request(
            f"watch {info.kind}",
            "GET",
            info.path(namespace),
            query={
                "watch": "true",
                "resourceVersion": resource_version or None,
                "allowWatchBookmarks": "true",
                "timeoutSeconds": window,
                "labelSelector": label_selector,
                "fieldSelector": field_selector,
            },
            timeout=(10.0, window + 10.0),
        )
        try:
            for line in _lines(response.response):
                event = json.loads(line)
                obj = event.get("object") or {}
                if event.get("type") == "ERROR":
                    error = api_error(f"watch {info.kind}", int(obj.get("code") or 500), json.dumps(obj))
                    raise error
                yield str(event.get("type")), obj
        finally:
            response.response.release_conn()

    def get(
        self, kind: str, name: str, namespace: str | None = None, *, api_version: str | None = None
    ) -> Obj:
        info = self.kind(kind, api_version)
        obj = self._json(f"get {_where(kind, name, namespace)}", "GET", info.path(namespace, name))
        obj.setdefault("kind", info.kind)
        return obj

    def apply_one(
        self, obj: Mapping[str, Any], namespace: str | None = None, *, dry_run: bool = False
    ) -> Obj:
        info = self.kind(obj["kind"], obj["apiVersion"])
        meta = obj["metadata"]
        namespace = (namespace or meta.get("namespace")) if info.namespaced else None
        body = {**obj, "metadata": {**meta, **({"namespace": namespace} if namespace else {})}}
        return self._json(
            f"apply {_where(obj['kind'], meta['name'], namespace)}",
            "PATCH",
            info.path(namespace, meta["name"]),
            query={"fieldManager": FIELD_MANAGER, "force": "true", "dryRun": "All" if dry_run else None},
            body=body,
            content_type="application/apply-patch+yaml",
        )

    def create(self, obj: Mapping[str, Any], namespace: str | None = None, *, dry_run: bool = False) -> Obj:
        info = self.kind(obj["kind"], obj["apiVersion"])
        meta = obj["metadata"]
        namespace = (namespace or meta.get("namespace")) if info.namespaced else None
        body = {**obj, "metadata": {**meta, **({"namespace": namespace} if namespace else {})}}
        name = meta.get("name") or meta.get("generateName")
        return self._json(
            f"create {_where(obj['kind'], name, namespace)}",
            "POST",
            info.path(namespace),
            query={"fieldManager": FIELD_MANAGER, "dryRun": "All" if dry_run else None},
            body=body,
        )

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
        info = self.kind(kind, api_version)
        body: Obj = {"propagationPolicy": "Foreground" if foreground else "Background"}
        if grace_seconds is not None:
            body["gracePeriodSeconds"] = grace_seconds
        try:
            self._request(
                f"delete {_where(kind, name, namespace)}", "DELETE", info.path(namespace, name), body=body
            )
        except NotFound:
            return False
        return True

    def pod_log(
        self, namespace: str, pod: str, container: str | None = None, previous: bool = False
    ) -> str | None:
        path = self.kind("Pod").path(namespace, pod, "log")
        try:
            response = self._request(
                f"log of {namespace}/{pod}",
                "GET",
                path,
                query={"container": container, "previous": "true" if previous else None},
            )
        except ApiError:
            return None
        return str(response.read().decode("utf-8", errors="replace"))

    def follow_log(
        self, namespace: str, pod: str, container: str | None = None, timeout: float = 3600.0
    ) -> Iterator[str]:
        path = self.kind("Pod").path(namespace, pod, "log")
        response = self._request(
            f"log of {namespace}/{pod}",
            "GET",
            path,
            query={"container": container, "follow": "true"},
            timeout=(10.0, timeout),
        )
        try:
            yield from _lines(response.response)
        finally:
            response.response.release_conn()

    def request_token(self, namespace: str, service_account: str, seconds: int) -> str:
        path = self.kind("ServiceAccount").path(namespace, service_account, "token")
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": seconds},
        }
        result = self._json(f"token for {namespace}/{service_account}", "POST", path, body=body)
        return str(result["status"]["token"])

    def readyz(self, timeout: float = 5.0) -> str:
        response = self._request("readyz", "GET", "/readyz", timeout=timeout)
        return str(response.read().decode("utf-8", "replace").strip())


def _where(kind: str, name: str | None, namespace: str | None) -> str:
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def _lines(raw: Any) -> Iterator[str]:
    """Lines of a streamed response body as they arrive (chunked: each chunk when it comes)."""
    pending = b""
    for chunk in raw.stream(amt=None, decode_content=True):
        pending += chunk
        *lines, pending = pending.replace(b"\r", b"\n").split(b"\n")
        for line in lines:
            if line.strip():
                yield line.decode("utf-8", errors="replace")
    if pending.strip():
        yield pending.decode("utf-8", errors="replace")


def _unreachable_reason(exc: BaseException) -> str:
    """Why the API server did not answer, in a few words ("[Errno 111] Connection refused")."""
    text = str(getattr(exc, "reason", None) or exc) or type(exc).__name__
    if "[Errno" in text:
        text = text[text.index("[Errno") :]
    return text.splitlines()[0][:200].rstrip("')\"")
