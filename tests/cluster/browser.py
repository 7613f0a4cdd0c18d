"""A real headless browser for tests: Debian's chromium, driven over the Chrome DevTools Protocol
(websocket-client, which the official Kubernetes client already brings; no WebDriver). Clicks and keys
are the browser's own input events, so web apps (JupyterLab's Lumino menus) see what a person's
mouse and keyboard would do. It reaches only the addresses the test gives it: background networking,
component updates and sync are off."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import websocket

from ..chromium import QUIET_HEADLESS, chromium


class BrowserError(AssertionError):
    pass


class Browser:
    def __init__(self, profile: Path, timeout: float = 30.0) -> None:
        profile.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [
                chromium(),
                *QUIET_HEADLESS,
                "--window-size=1400,1000",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.is_file() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self._process.poll() is not None:
                self.close()
                raise BrowserError(f"chromium did not open its DevTools port within {timeout:g} s")
            time.sleep(0.1)
        port = int(port_file.read_text().splitlines()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=10) as answer:
            targets = json.loads(answer.read())
        page = next(t for t in targets if t.get("type") == "page")
        self._ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
        self._id = 0
        self.send("Page.enable")
        self.send("Runtime.enable")

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        self._ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv())
            if message.get("id") == self._id:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return dict(message.get("result") or {})

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page (promises awaited)."""
        result = self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise BrowserError(
                f"{expression[:80]}: {details.get('exception', {}).get('description') or details}"
            )
        return (result.get("result") or {}).get("value")

    def wait_for(self, expression: str, what: str, timeout: float = 60.0) -> Any:
        """The first truthy value of ``expression``, looked at twice a second."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.evaluate(expression)
            except BrowserError:
                value = None  # the page is between documents
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"{what}: not within {timeout:g} s (at {self.location()})")
            time.sleep(0.5)

    def location(self) -> str:
        try:
            return str(self.evaluate("location.href"))
        except BrowserError:
            return "?"

    def open(self, url: str, timeout: float = 60.0) -> None:
        self.send("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete'", f"loading {url}", timeout)

    def click(self, selector: str, text: str | None = None, timeout: float = 60.0) -> None:
        """Press and release the mouse on the middle of the first visible element matching
        ``selector`` (and whose text is ``text``)."""
        find = (
            f"[...document.querySelectorAll({json.dumps(selector)})].filter(e => e.offsetParent !== null"
            + (f" && e.textContent.trim() === {json.dumps(text)}" if text is not None else "")
            + ").map(e => { const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })[0]"
        )
        x, y = self.wait_for(find, f"an element {selector} {text or ''}".strip(), timeout)
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def press(self, key: str, code: str, key_code: int, modifiers: int = 0) -> None:
        """Press and release a key (``modifiers``: 2 Ctrl, 8 Shift), as the keyboard would."""
        for kind in ("rawKeyDown", "keyUp"):
            self.send(
                "Input.dispatchKeyEvent",
                type=kind,
                key=key,
                code=code,
                windowsVirtualKeyCode=key_code,
                nativeVirtualKeyCode=key_code,
                modifiers=modifiers,
            )

    def close(self) -> None:
        ws = getattr(self, "_ws", None)
        if ws is not None:
            ws.close()
        self._process.terminate()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
