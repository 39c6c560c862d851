"""Headless Chromium (Debian's `chromium`) cut off from every network but 127.0.0.1, driven over
the Chrome DevTools Protocol with the `websockets` client uvicorn already brings: tests that look
at a page as a person would, with no browser download and no driver package.

Every request the page makes is recorded with its fate, so a test can assert that the page
asked nothing of another host (or that its own Content-Security-Policy stopped it unsent).
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

CHROMIUM = shutil.which("chromium")
# the flags of a quiet, sandbox-free headless run as root, then the network cut-off: no name
# resolves but 127.0.0.1, and anything else goes to a proxy on the discard port (nothing there)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=127.0.0.1",
    "--window-size=1280,1600",
]

START = "about:blank"  # the first tab's page (without one, Chromium opens its new-tab page)


class Page:
    """One browser tab: navigate, evaluate JavaScript, type, wait, take screenshots."""

    def __init__(self, socket: ClientConnection) -> None:
        self._socket = socket
        self._ids = itertools.count(1)
        self.requests: list[str] = []  # every URL the page asked for, in order
        self.failed: list[str] = []  # "url: reason" of requests that got no answer
        self.blocked: list[str] = []  # URLs the page's own Content-Security-Policy stopped
        self.errors: list[str] = []  # uncaught JavaScript exceptions
        self.console: list[str] = []  # console errors: console.error, CSP reports, 4xx/5xx loads
        self._urls: dict[str, str] = {}
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.send(f"{domain}.enable")

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Call a DevTools method and return its result, recording events on the way."""
        call = next(self._ids)
        self._socket.send(json.dumps({"id": call, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv(timeout=60))
            if message.get("id") == call:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._record(message.get("method", ""), message.get("params", {}))

    def _record(self, event: str, params: dict[str, Any]) -> None:
        if event == "Network.requestWillBeSent":
            self._urls[params["requestId"]] = params["request"]["url"]
            self.requests.append(params["request"]["url"])
        elif event == "Network.loadingFailed":
            url = self._urls.get(params["requestId"], "?")
            if params.get("blockedReason") == "csp":
                self.blocked.append(url)
            else:
                self.failed.append(f"{url}: {params.get('errorText')}")
        elif event == "Runtime.consoleAPICalled" and params["type"] == "error":
            self.console.append(
                " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
            )
        elif event == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.console.append(f"{params['entry'].get('url', '')}: {params['entry']['text']}")
        elif event == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.errors.append(details.get("exception", {}).get("description") or details["text"])

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page (promises awaited)."""
        result = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30) -> Any:
        """Poll `expression` until it is truthy; fail naming it and the page's errors."""
        deadline = time.monotonic() + timeout
        while not (value := self.evaluate(expression)):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout} s waiting for {expression}; page errors: "
                    f"{self.errors}; console: {self.console}; failed requests: {self.failed}"
                )
            time.sleep(0.2)
        return value

    def goto(self, url: str) -> None:
        """Open `url` and wait until its document has loaded."""
        self.send("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'")

    def _on_element(self, selector: str, action: str) -> None:
        """Run the JavaScript statements `action` on `e`, the first match of `selector`."""
        found = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            f" if (!e) return false; {action} return true; }})()"
        )
        assert found, f"nothing matches {selector}"

    def click(self, selector: str) -> None:
        """Click the first element matching `selector` (scrolled into view first)."""
        self._on_element(selector, "e.scrollIntoView({block: 'center'}); e.click();")

    def type(self, selector: str, text: str) -> None:
        """Focus the input at `selector`, type `text` into it as keyboard input, leave it (a
        field that debounces its changes, as Swagger UI's do, reports them on blur)."""
        self._on_element(selector, "e.focus(); e.select();")
        self.send("Input.insertText", text=text)
        self.evaluate("document.activeElement.blur()")

    def screenshot(self, path: Path) -> Path:
        """Save the whole page as a PNG at `path`."""
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


def is_blank(png: Path) -> bool:
    """Whether a screenshot shows (next to) nothing: one colour over 99.5 % of its pixels."""
    from PIL import Image

    with Image.open(io.BytesIO(png.read_bytes())) as image:
        grey = image.convert("L")
        counts = sorted(grey.histogram(), reverse=True)
    return counts[0] >= 0.995 * sum(counts)


def _devtools_port(profile: Path, proc: subprocess.Popen, timeout: float = 30) -> int:
    """The port Chromium chose for DevTools (it writes it into the profile folder)."""
    deadline = time.monotonic() + timeout
    marker = profile / "DevToolsActivePort"
    while not (marker.is_file() and marker.read_text().strip()):
        assert proc.poll() is None, f"chromium exited with {proc.returncode} at start-up"
        assert time.monotonic() < deadline, f"chromium opened no DevTools port in {timeout} s"
        time.sleep(0.1)
    return int(marker.read_text().split()[0])


@contextmanager
def chromium(folder: Path) -> Iterator[Page]:
    """A headless Chromium with a new, empty profile under `folder`; yields its one tab."""
    assert CHROMIUM, "chromium is not installed"
    profile = folder / "chromium-profile"
    profile.mkdir(parents=True)
    proc = subprocess.Popen(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", START],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with connect(_tab_socket_url(profile, proc), max_size=None, proxy=None) as socket:
            yield Page(socket)
    finally:
        _stop(proc)


def _tab_socket_url(profile: Path, proc: subprocess.Popen) -> str:
    """The DevTools websocket address of Chromium's first tab."""
    port = _devtools_port(profile, proc)
    targets = httpx.get(f"http://127.0.0.1:{port}/json/list", trust_env=False).json()
    tab = next(target for target in targets if target["type"] == "page")
    return tab["webSocketDebuggerUrl"]


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
