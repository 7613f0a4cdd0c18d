"""kubedojo's JupyterHub authenticator for a class: each participant logs in with their own name and
the Jupyter password ``class.setup`` gave them; nobody else logs in. Runs inside JupyterHub's hub
(mounted next to the chart's configuration), not in kubedojo: it imports JupyterHub, never kubedojo.

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
    """The participants' records, or none when the file is missing or malformed (nobody logs in)."""
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
