"""Talking to the test cluster's JupyterHub as a participant's browser does: its login form (with the
``_xsrf`` token and cookie), its REST API with the session's cookies (and the ``X-XSRFToken`` header
JupyterHub asks of cookie-authenticated requests), the participant's own server behind the proxy; and lab
10's work as a participant does it in a browser."""

from __future__ import annotations

import http.cookiejar
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .browser import Browser

REPO = Path(__file__).resolve().parents[2]
HUB_URL = "http://10.244.0.1:32080"
"""The proxy's NodePort on the node's address (kube-proxy's nodePortAddresses)."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def hub_get(path: str) -> tuple[int, str]:
    """GET without a session: the status and body."""
    try:
        with urllib.request.urlopen(HUB_URL + path, timeout=20) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


@dataclass
class Session:
    """A logged-in participant's cookies."""

    name: str
    jar: http.cookiejar.CookieJar

    def _opener(self, follow: bool) -> urllib.request.OpenerDirector:
        handlers: list[Any] = [urllib.request.HTTPCookieProcessor(self.jar)]
        if not follow:
            handlers.append(_NoRedirect())
        return urllib.request.build_opener(*handlers)

    def _xsrf(self, path: str) -> str:
        """The ``_xsrf`` cookie a browser would send with ``path`` (the hub's, or the server's)."""
        cookies = [c for c in self.jar if c.name == "_xsrf" and path.startswith(c.path or "/")]
        return max(cookies, key=lambda c: len(c.path or "")).value or "" if cookies else ""

    def request(
        self,
        method: str,
        path: str,
        follow: bool = False,
        timeout: float = 30,
        body: dict[str, Any] | None = None,
    ) -> tuple[int, str]:
        """The status and body of ``method path`` with this session (a JSON ``body``; redirects
        followed if asked)."""
        headers = {"X-XSRFToken": self._xsrf(path), "Content-Type": "application/json"}
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(HUB_URL + path, data=data, method=method, headers=headers)
        try:
            with self._opener(follow).open(request, timeout=timeout) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")

    def me(self) -> dict[str, Any]:
        status, body = self.request("GET", "/hub/api/user")
        assert status == 200, (status, body)
        return dict(json.loads(body))


def hub_login(name: str, password: str) -> tuple[int, str, Session]:
    """JupyterHub's login form, as a browser fills it in: the answer's status, where it sends the
    browser, and the session."""
    jar = http.cookiejar.CookieJar()
    session = Session(name, jar)
    opener = session._opener(follow=False)
    with opener.open(HUB_URL + "/hub/login", timeout=20) as page:
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.read().decode())
    assert xsrf is not None, "no _xsrf field in the login form"
    form = urllib.parse.urlencode({"username": name, "password": password, "_xsrf": xsrf.group(1)}).encode()
    try:
        with opener.open(HUB_URL + "/hub/login", form, timeout=60) as answer:
            return answer.status, answer.headers.get("Location") or "", session
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location") or "", session


def start_server(session: Session, timeout: float = 240) -> dict[str, Any]:
    """Start the participant's server through the hub's API and wait until the hub calls it ready:
    the hub's record of it (or fail with the hub's last word)."""
    status, body = session.request("POST", f"/hub/api/users/{session.name}/server")
    assert status in (201, 202), (status, body)
    deadline = time.monotonic() + timeout
    while True:
        server = session.me().get("servers", {}).get("")
        if server and server.get("ready"):
            return dict(server)
        if time.monotonic() > deadline:
            raise AssertionError(f"{session.name}'s server not ready after {timeout:g} s: {server}")
        time.sleep(2)


def stop_server(session: Session, timeout: float = 120) -> None:
    status, body = session.request("DELETE", f"/hub/api/users/{session.name}/server")
    assert status in (202, 204), (status, body)
    deadline = time.monotonic() + timeout
    while session.me().get("servers"):
        assert time.monotonic() < deadline, f"{session.name}'s server still there after {timeout:g} s"
        time.sleep(2)


def lab_notebook(fit: str | None = None) -> dict[str, Any]:
    """Lab 10's reference notebook, its training line replaced by ``fit``."""
    notebook = json.loads((REPO / "labs" / "10-jupyterhub" / "solution.ipynb").read_text())
    if fit is not None:
        for cell in notebook["cells"]:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"] = source.replace("model.fit(X_train, y_train)", fit)
    return dict(notebook)


def work_in_jupyterhub(browser: Browser, name: str, password: str, notebook: dict[str, Any]) -> None:
    """What the lab's README asks of a participant, in the browser."""
    browser.open(f"{HUB_URL}/hub/login")
    browser.wait_for("!!document.querySelector('input[name=password]')", "the login form")
    browser.evaluate(
        "(() => { const f = document.querySelector('form');"
        f" f.querySelector('input[name=username]').value = {json.dumps(name)};"
        f" f.querySelector('input[name=password]').value = {json.dumps(password)};"
        " f.requestSubmit(); return true; })()"
    )
    # logged in: the hub sends the browser on, to its pages or (a server running) to the server
    browser.wait_for("!location.pathname.endsWith('/hub/login')", "login")
    browser.open(f"{HUB_URL}/hub/home")
    browser.click("#start")  # Start My Server
    browser.wait_for(
        f"location.pathname.startsWith('/user/{name}/lab') && !!document.querySelector('.jp-LabShell')",
        "JupyterLab after the server started",
        timeout=300,
    )
    put = (
        f"fetch('/user/{name}/api/contents/train.ipynb', {{method: 'PUT', headers: {{'Content-Type':"
        " 'application/json', 'X-XSRFToken': document.cookie.match(/_xsrf=([^;]+)/)[1]},"
        f" body: JSON.stringify({{type: 'notebook', format: 'json', content: {json.dumps(notebook)}}})}})"
        ".then(r => r.status)"
    )
    assert browser.evaluate(put) == 201
    browser.open(f"{HUB_URL}/user/{name}/lab/tree/train.ipynb")
    browser.wait_for("document.querySelectorAll('.jp-Notebook .jp-Cell').length >= 8", "the notebook's cells")
    # Run every cell with Shift+Enter, from the first (a click selects it), then save with Ctrl+S.
    browser.click(".jp-Notebook .jp-Cell")
    cells = browser.evaluate("document.querySelectorAll('.jp-Notebook .jp-Cell').length")
    for _ in range(cells):
        browser.press("Enter", "Enter", 13, modifiers=8)
        time.sleep(0.3)
    browser.wait_for(
        "[...document.querySelectorAll('.jp-OutputArea-output')]"
        ".some(o => o.textContent.includes('saved /home/jovyan/models/digits-model.npz'))",
        "the last cell's output",
        timeout=240,
    )
    browser.press("s", "KeyS", 83, modifiers=2)
    saved = (
        f"fetch('/user/{name}/api/contents/train.ipynb').then(r => r.json()).then(m => m.content.cells"
        ".some(c => (c.outputs || []).some(o => String(o.text || '').includes('held-out accuracy'))))"
    )
    browser.wait_for(saved, "the notebook saved with its outputs")
