"""A worker killed while it answers sends nothing of the answer (app/wire.py), so a load
balancer may retry the request elsewhere; uvicorn's own protocol sends the headers first."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time

import pytest

from tests.serve import REPO, free_port

# an ASGI app that starts its answer, then dies by SIGKILL before the body
DYING_SERVER = textwrap.dedent(
    """
    import os, signal, sys
    import uvicorn
    from app.wire import OneSendHttpProtocol

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        os.kill(os.getpid(), signal.SIGKILL)

    protocol = OneSendHttpProtocol if sys.argv[2] == "one-send" else "httptools"
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), http=protocol, log_level="error")
    """
)


def _bytes_before_death(protocol: str) -> bytes:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", DYING_SERVER, str(port), protocol], cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = socket.create_connection(("127.0.0.1", port), timeout=10)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        with connection:
            connection.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            received = b""
            while chunk := connection.recv(65536):
                received += chunk
        return received
    finally:
        server.kill()
        server.wait(timeout=10)


@pytest.mark.parametrize(("protocol", "sends_headers"), [("one-send", False), ("httptools", True)])
def test_a_worker_killed_mid_answer_sends_nothing_of_it(protocol: str, sends_headers: bool):
    received = _bytes_before_death(protocol)
    assert received.startswith(b"HTTP/1.1 200") is sends_headers
    if not sends_headers:
        assert received == b""
