"""Serving gridflow for benchmarks: gunicorn (the documented production start) on a database,
in a process of its own, and a small HTTP client with a kept-alive connection."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """gunicorn serving gridflow on a database, in its own process."""

    def __init__(self, url: str, workers: int, threads: int = 2):
        self.port = free_port()
        env = {
            **os.environ,
            "GRIDFLOW_DATABASE_URL": url,
            "GRIDFLOW_PROCESSES": str(ROOT / "processes"),
            "GRIDFLOW_SECRET_KEY": "bench",
        }
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--worker-class",
            "gthread",  # keeps connections alive between requests, unlike sync workers
            "--threads",
            str(threads),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--log-level",
            "warning",
            "gridflow.app:create_app()",
        ]
        self.process = subprocess.Popen(command, env=env, cwd=ROOT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("gunicorn did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


class Client:
    """A tiny HTTP client with a kept-alive connection and a cookie jar of one cookie."""

    def __init__(self, port: int):
        self.port = port
        self.cookie = ""
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(
        self,
        method: str,
        path: str,
        body: object = None,
        headers: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
    ) -> tuple[int, bytes, http.client.HTTPResponse]:
        all_headers = dict(headers or {})
        data: bytes | None = None
        if body is not None:
            data = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookie:
            all_headers["Cookie"] = self.cookie
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=data, headers=all_headers)
                response = self.connection.getresponse()
                payload = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # gunicorn's sync workers close the connection after each request.
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt == 2:
                    raise
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return response.status, payload, response

    def json(self, method: str, path: str, token: str, body: object = None) -> dict:  # type: ignore[type-arg]
        status, payload, _ = self.request(method, path, body, {"Authorization": f"Bearer {token}"})
        if status >= 300:
            raise SystemExit(f"{method} {path} -> {status}: {payload[:300]!r}")
        return json.loads(payload)  # type: ignore[no-any-return]
