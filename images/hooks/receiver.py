"""kubedojo's webhook receiver: the workshop's stand-in for a chat channel's incoming webhook, and
the receiver of the object store's audit log. It runs in the cluster (namespace kubedojo-hooks) and
turns what it receives into Kubernetes Events in the namespace of whoever sent or acted, where the
grader reads them with the rest of a lab's objects (participants may read Events, never write them).

* ``POST /notify`` (any path but the ones below): a chat message. The sender is the pod whose address
  the connection came from (looked up through the API server): the Event ``WebhookReceived`` is about
  that pod, in its namespace, and holds the message. A connection from no pod is refused (403).
* ``POST /minio/audit``: MinIO's audit log (one entry or a list), accepted only from a pod of MinIO's
  namespace. Each successful GetObject or PutObject by a workshop account (whose access key is its
  namespace's name) becomes the Event ``ObjectRead`` or ``ObjectWritten`` in that namespace.
* ``GET /healthz``: ``ok``.

Python's standard library only: it runs on the workshop's base image.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
API = "https://{}:{}".format(
    os.environ.get("KUBERNETES_SERVICE_HOST", "kubernetes.default.svc"),
    os.environ.get("KUBERNETES_SERVICE_PORT", "443"),
)
COMPONENT = "kubedojo-hooks"
MINIO_NAMESPACE = os.environ.get("MINIO_NAMESPACE", "minio")
AUDITED = {
    "GetObject": "ObjectRead",
    "PutObject": "ObjectWritten",
    "CompleteMultipartUpload": "ObjectWritten",
}
LIMIT = 256 * 1024
TLS = ssl.create_default_context(cafile=f"{ACCOUNT}/ca.crt") if os.path.exists(f"{ACCOUNT}/ca.crt") else None


def api(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    with open(f"{ACCOUNT}/token") as handle:  # read each time: the kubelet rotates it
        token = handle.read().strip()
    request = urllib.request.Request(
        API + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10, context=TLS) as answer:
        return json.load(answer)


def pod_at(address: str, wait: float = 5.0) -> dict[str, Any] | None:
    """The pod with this address (not one on the node's network): the newest still running, else
    the newest (the address of a request logged earlier; its pod may have finished since). A pod
    that has just started may talk before the kubelet has reported its address: it is looked for
    again for up to ``wait`` seconds."""
    selector = urllib.parse.quote(f"status.podIP={address}")
    deadline = time.monotonic() + wait
    while True:
        pods = [
            pod
            for pod in api("GET", f"/api/v1/pods?fieldSelector={selector}").get("items") or []
            if not (pod.get("spec") or {}).get("hostNetwork")
        ]
        if pods or time.monotonic() >= deadline:
            break
        time.sleep(0.25)
    pods.sort(key=lambda p: p["metadata"].get("creationTimestamp") or "")
    running = [p for p in pods if (p.get("status") or {}).get("phase") in ("Pending", "Running")]
    return (running or pods or [None])[-1]


def record(namespace: str, about: dict[str, Any], reason: str, message: str, at: str = "") -> None:
    """An Event in ``namespace`` about ``about``; ``at``: when it happened (RFC 3339), else now."""
    now = at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    api(
        "POST",
        f"/api/v1/namespaces/{namespace}/events",
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{COMPONENT}-", "namespace": namespace},
            "involvedObject": about,
            "reason": reason,
            "message": message[:1024],
            "type": "Normal",
            "source": {"component": COMPONENT, "host": os.environ.get("HOSTNAME", COMPONENT)},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        },
    )


def audit(entries: list[dict[str, Any]]) -> int:
    kept = 0
    for entry in entries:
        call = entry.get("api") or {}
        reason = AUDITED.get(str(call.get("name")))
        claims = entry.get("requestClaims") or {}
        access = str(entry.get("accessKey") or claims.get("accessKey") or "")
        status = int(call.get("statusCode") or 0)
        if reason is None or not access or not 200 <= status < 300:
            continue
        try:
            api("GET", f"/api/v1/namespaces/{urllib.parse.quote(access)}")
        except urllib.error.HTTPError:
            continue  # not a workshop account (the root user, Argo's key)
        where = f"{call.get('bucket')}/{call.get('object')}"
        host = str(entry.get("remotehost") or "").rsplit(":", 1)[0].strip("[]")
        sender = pod_at(host, wait=0) if host else None
        by = (
            f" from pod {sender['metadata']['name']}"
            if sender and sender["metadata"]["namespace"] == access
            else ""
        )
        about = {"kind": "Namespace", "name": access, "namespace": access, "apiVersion": "v1"}
        when = _rfc3339(str(entry.get("time") or ""))
        record(access, about, reason, f"{call.get('name')} {where} by {access}: {status}{by}", when)
        kept += 1
    return kept


def _rfc3339(value: str) -> str:
    """MinIO's entry time (RFC 3339, maybe with nanoseconds) as the API's seconds, or "" (then: now)."""
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)$", value.strip())
    if match is None:
        return ""
    moment = datetime.fromisoformat(match.group(1) + match.group(2).replace("Z", "+00:00"))
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _entries(body: bytes) -> list[dict[str, Any]]:
    """The audit entries of a post: one JSON object, a JSON list, or one object a line (a batch)."""
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return []
    try:
        data = json.loads(text)
    except ValueError:
        data = [json.loads(line) for line in text.splitlines() if line.strip()]
    items = data if isinstance(data, list) else [data]
    return [item for item in items if isinstance(item, dict)]


class Handler(BaseHTTPRequestHandler):
    server_version = COMPONENT

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._answer(200, {"ok": True})
        else:
            self._answer(404, {"ok": False, "error": "POST a message to /notify"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > LIMIT:
            self._answer(413, {"ok": False, "error": f"at most {LIMIT} bytes"})
            return
        body = self.rfile.read(length)
        try:
            sender = pod_at(self.client_address[0])
            if self.path.startswith("/minio/audit"):
                if sender is None or sender["metadata"]["namespace"] != MINIO_NAMESPACE:
                    self._answer(403, {"ok": False, "error": "the audit log is MinIO's to send"})
                    return
                entries = _entries(body)
                kept = audit(entries)
                print(f"audit: {len(entries)} entries, {kept} recorded", flush=True)
                if os.environ.get("HOOKS_DEBUG"):
                    print(body[:2000].decode("utf-8", "replace"), flush=True)
                self._answer(200, {"ok": True, "kept": kept})
                return
            if sender is None:
                self._answer(403, {"ok": False, "error": "messages are taken from the cluster's pods only"})
                return
            meta = sender["metadata"]
            about = {
                "kind": "Pod",
                "apiVersion": "v1",
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta["uid"],
            }
            record(meta["namespace"], about, "WebhookReceived", body.decode("utf-8", "replace"))
            self._answer(200, {"ok": True})
        except (OSError, ValueError) as exc:
            detail = (
                exc.read(500).decode("utf-8", "replace") if isinstance(exc, urllib.error.HTTPError) else ""
            )
            print(f"{self.path}: {exc} {detail}", file=sys.stderr, flush=True)
            self._answer(502, {"ok": False, "error": str(exc)[:200]})

    def log_message(self, format: str, *args: Any) -> None:
        print(f"{self.client_address[0]} {format % args}", flush=True)


def main() -> None:
    port = int(os.environ.get("PORT", "8080"))
    print(f"{COMPONENT} listening on :{port}", flush=True)
    ThreadingHTTPServer(("", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
