"""The Kubernetes API, through the official client. Only this module imports ``kubernetes``."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import ClusterError, WaitTimeout

__all__ = ["KubeClient", "api_exception"]

FIELD_MANAGER = "kubedojo"


def api_exception() -> type[Exception]:
    from kubernetes.client.exceptions import ApiException

    return ApiException  # type: ignore[no-any-return,unused-ignore]


class KubeClient:
    """A connection to one API server as one identity."""

    def __init__(self, api_client: Any) -> None:
        self.api_client = api_client
        self._dynamic: Any = None

    @classmethod
    def from_kubeconfig(cls, path: Path) -> KubeClient:
        from kubernetes import client, config

        if not path.exists():
            raise ClusterError(f"{path}: no kubeconfig; run 'invoke cluster.up' first")
        configuration = client.Configuration()
        config.load_kube_config(config_file=str(path), client_configuration=configuration)
        return cls(client.ApiClient(configuration))

    @classmethod
    def from_token(cls, host: str, ca_file: Path, token: str) -> KubeClient:
        from kubernetes import client

        configuration = client.Configuration()
        configuration.host = host
        configuration.ssl_ca_cert = str(ca_file)
        configuration.api_key = {"authorization": f"Bearer {token}"}
        return cls(client.ApiClient(configuration))

    def close(self) -> None:
        self.api_client.close()

    # -- typed APIs --------------------------------------------------------------------------

    @property
    def core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.api_client)

    @property
    def batch(self) -> Any:
        from kubernetes import client

        return client.BatchV1Api(self.api_client)

    @property
    def apps(self) -> Any:
        from kubernetes import client

        return client.AppsV1Api(self.api_client)

    @property
    def rbac(self) -> Any:
        from kubernetes import client

        return client.RbacAuthorizationV1Api(self.api_client)

    @property
    def dynamic(self) -> Any:
        if self._dynamic is None:
            from kubernetes.dynamic import DynamicClient

            self._dynamic = DynamicClient(self.api_client)
        return self._dynamic

    # -- apply and delete --------------------------------------------------------------------

    def apply(self, objects: Iterable[Mapping[str, Any]]) -> list[str]:
        """Server-side apply; returns ``kind/name`` of the objects that changed."""
        changed = []
        for obj in objects:
            resource = self.dynamic.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
            meta = obj["metadata"]
            before = self._resource_version(resource, meta)
            result = resource.server_side_apply(
                body=dict(obj),
                name=meta["name"],
                namespace=meta.get("namespace"),
                field_manager=FIELD_MANAGER,
                force_conflicts=True,
            )
            if result.metadata.resourceVersion != before:
                changed.append(f"{obj['kind']}/{meta['name']}")
        return changed

    def _resource_version(self, resource: Any, meta: Mapping[str, Any]) -> str | None:
        try:
            current = resource.get(name=meta["name"], namespace=meta.get("namespace"))
        except api_exception() as exc:
            if getattr(exc, "status", None) == 404:
                return None
            raise
        return str(current.metadata.resourceVersion)

    def delete_node(self, name: str) -> None:
        with contextlib.suppress(api_exception()):
            self.core.delete_node(name)

    # -- watching ----------------------------------------------------------------------------

    def watch(self, list_call: Callable[..., Any], timeout: float, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Events from a watch that ends after ``timeout`` seconds at the latest."""
        from kubernetes import watch

        watcher = watch.Watch()
        try:
            yield from watcher.stream(
                list_call,
                timeout_seconds=max(1, int(timeout)),
                _request_timeout=timeout + 5,
                **kwargs,
            )
        finally:
            watcher.stop()

    def wait_for(
        self,
        what: str,
        list_call: Callable[..., Any],
        done: Callable[[Any], bool],
        timeout: float,
        recheck: float | None = None,
        **kwargs: Any,
    ) -> Any:
        """Watch until an object satisfies ``done``; :class:`WaitTimeout` after ``timeout``.

        ``recheck`` bounds each watch window, for predicates that also look outside the API
        (a readiness endpoint) and so must be re-evaluated even when no event arrives.
        """
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            listing = list_call(**kwargs)
            for item in listing.items:
                if done(item):
                    return item
            window = min(left, recheck) if recheck else left
            try:
                for event in self.watch(
                    list_call, window, resource_version=listing.metadata.resource_version, **kwargs
                ):
                    if event["type"] in ("ADDED", "MODIFIED") and done(event["object"]):
                        return event["object"]
                    if time.monotonic() >= deadline:
                        break
            except api_exception() as exc:
                if getattr(exc, "status", None) != 410:  # 410 Gone: list again
                    raise
        raise WaitTimeout(what, timeout)
