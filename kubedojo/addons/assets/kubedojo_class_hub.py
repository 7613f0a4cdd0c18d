"""kubedojo's JupyterHub for a class, inside the hub (mounted next to the chart's configuration; it
imports JupyterHub and KubeSpawner, never kubedojo):

* :class:`ClassAuthenticator`: each participant logs in with their own name and the Jupyter password
  ``class.setup`` gave them; nobody else logs in.
* :class:`ClassSpawner`: a participant's notebook server runs in their own namespace, under its
  quota, limits and NetworkPolicies, never in the hub's.

The hub holds no password, only each participant's PBKDF2-SHA256 hash, in a JSON file that kubedojo
keeps in a Secret mounted into the hub (``{"ann": "pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>"}``).
The file is read at every login, so participants who join later can log in once the kubelet has
updated the mounted Secret (within a minute or so), and removed ones no longer can.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

from jupyterhub.auth import Authenticator
from kubernetes_asyncio.client.rest import ApiException
from kubespawner import KubeSpawner
from traitlets import Unicode, default

SCHEME = "pbkdf2_sha256"


def password_matches(record: str, password: str) -> bool:
    """Whether ``password`` is the one whose ``record`` (``pbkdf2_sha256$N$SALT$HASH``) kubedojo wrote;
    False for a record of any other form."""
    parts = record.split("$")
    if len(parts) != 4 or parts[0] != SCHEME or not parts[1].isdigit():
        return False
    try:
        salt, expected = bytes.fromhex(parts[2]), bytes.fromhex(parts[3])
    except ValueError:
        return False
    computed = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, int(parts[1]))
    return hmac.compare_digest(computed, expected)


def read_records(path: Path) -> dict[str, str]:
    """A JSON object of strings by participant (their password records, or their namespaces); empty
    when the file is missing or malformed (nobody logs in, no server starts)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, str)}


class ClassAuthenticator(Authenticator):
    """A participant's name and their own Jupyter password (class.setup's handout)."""

    users_file = Unicode(
        "/usr/local/etc/kubedojo/users.json",
        help="The JSON file of each participant's password hash (kubedojo's Secret, mounted).",
    ).tag(config=True)

    @default("allow_all")
    def _allow_all_default(self) -> bool:
        """Everyone who authenticates is allowed: only the file's names can."""
        return True

    async def authenticate(self, handler, data):
        name = str(data.get("username") or "")
        password = str(data.get("password") or "")
        record = read_records(Path(self.users_file)).get(name)
        if record is None or not password_matches(record, password):
            self.log.warning("kubedojo: failed login for %r", name[:64])
            return None
        return name


class ClassSpawner(KubeSpawner):
    """KubeSpawner that runs a participant's server in the namespace ``class.setup`` gave them (read
    from the file it keeps beside the password records), where ``class.setup`` also lets the hub's
    ServiceAccount make pods and claims. Pods are watched namespace by namespace, so the hub needs no
    cluster-wide rights; a participant whose namespace is unknown gets no server (never one in the
    hub's namespace)."""

    namespaces_file = Unicode(
        "/usr/local/etc/kubedojo/namespaces.json",
        help="The JSON file of each participant's namespace (kubedojo's Secret, mounted).",
    ).tag(config=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.class_namespace = ""
        self._take_class_namespace()

    def _take_class_namespace(self) -> None:
        namespace = read_records(Path(self.namespaces_file)).get(self.user.name, "")
        if not namespace:
            return
        self.class_namespace = self.namespace = namespace
        self.dns_name = self.dns_name_template.format(namespace=namespace, name=self.pod_name)

    def load_state(self, state):
        super().load_state(state)
        if self.class_namespace:  # the class's word over an earlier server's
            self.namespace = self.class_namespace

    async def _start(self):
        self._take_class_namespace()  # class.setup may have run since this spawner was made
        if not self.class_namespace:
            raise RuntimeError(
                f"{self.user.name} has no namespace in this class yet: ask the instructor to run class.setup"
            )
        try:
            return await super()._start()
        except ApiException as exc:
            if exc.status != 403:
                raise
            message = api_message(exc)
            if "exceeded quota" in message:
                raise RuntimeError(
                    f"no room in {self.namespace}'s quota for your server ({message}): delete finished "
                    "Jobs or pods there, or ask the instructor"
                ) from None
            raise RuntimeError(
                f"JupyterHub may not start servers in {self.namespace}: ask the instructor to run "
                "class.setup again with JupyterHub turned on (it grants the hub that right)"
            ) from None


def api_message(exc: Exception) -> str:
    """The API server's message in an ApiException's body (a Status), or the empty string."""
    try:
        status = json.loads(getattr(exc, "body", None) or "{}")
    except ValueError:
        return ""
    return str(status.get("message") or "") if isinstance(status, dict) else ""
