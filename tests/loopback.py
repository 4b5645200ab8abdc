"""A real OpenAI-compatible HTTP server on 127.0.0.1 that can misbehave on purpose.

Not a mock object: the harness reaches it through litellm over TCP like any provider. It
answers ``POST /v1/chat/completions`` and ``GET /v1/models`` with configurable latency and
injected faults (429 with Retry-After, 500, 503, hangs, malformed JSON), and records every
request so tests can count calls and inspect what was sent. Used by tests and benchmarks.
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Behaviour:
    latency: float = 0.0
    fault_rate: float = 0.0  # share of requests answered with a fault
    faults: tuple[int, ...] = (429, 500, 503)
    retry_after: str | None = "0.1"  # sent with 429/503
    always_fail: int | None = None  # answer every request with this status
    hang_rate: float = 0.0  # share of requests that never answer (until the client gives up)
    reply: Any = None  # callable(messages) -> str, or a fixed string
    echo_auth: bool = False  # put the Authorization header in error messages, as some APIs do
    echo_auth_reply: bool = False  # ... and in replies (a misbehaving proxy)
    host: str = "127.0.0.1"  # 127.0.0.2 stands in for "another host" (still loopback)
    seed: int = 1234
    # as real servers do: a reply longer than the request's max_tokens (counted in words here)
    # is cut there and finishes with "length"
    honour_max_tokens: bool = False
    # a provider that answers nothing until the test lets it (``hold.set()``): a run stays
    # in flight for as long as the test needs, however slow the machine
    hold: threading.Event | None = None
    # the first answers' statuses, in the order requests arrive (200: a normal answer); then
    # the behaviour above
    script: tuple[int, ...] = ()


@dataclass
class Recorded:
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    arrived: list[float] = field(default_factory=list)  # time.monotonic() of each request


def default_reply(messages: list[dict[str, str]]) -> str:
    last = messages[-1]["content"] if messages else ""
    return "Thank you for your message. " + " ".join(last.split()[-12:])


class _Server(ThreadingHTTPServer):
    # Set before bind/listen: the stock backlog of 5 makes a burst of 32 new connections
    # wait for SYN retransmits (1 s and more), which no real provider's front end does.
    request_queue_size = 512
    daemon_threads = True


class LoopbackServer:
    """Start with ``with LoopbackServer(Behaviour(...)) as srv: srv.base_url``."""

    def __init__(self, behaviour: Behaviour | None = None):
        self.behaviour = behaviour or Behaviour()
        self.recorded = Recorded()
        self._lock = threading.Lock()
        self._rng = random.Random(self.behaviour.seed)
        self._stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # TCP_NODELAY: headers and body go out in separate writes; with Nagle on, a
            # keep-alive client waits ~40 ms (delayed ACK) for the body of every answer.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _send(
                self, status: int, body: bytes, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)
                with server._lock:
                    server.recorded.statuses.append(status)

            def do_GET(self) -> None:
                self._send(
                    200,
                    json.dumps(
                        {"object": "list", "data": [{"id": "loopback", "object": "model"}]}
                    ).encode(),
                )

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    payload = json.loads(raw)
                except json.JSONDecodeError:
                    payload = {"_raw": raw.decode("utf-8", "replace")}
                b = server.behaviour
                with server._lock:
                    server.recorded.requests.append(payload)
                    server.recorded.arrived.append(time.monotonic())
                    server.recorded.headers.append(dict(self.headers.items()))
                    roll = server._rng.random()
                    hang = server._rng.random() < b.hang_rate
                    fault = server._rng.choice(b.faults) if b.faults else 500
                    n = len(server.recorded.requests) - 1
                    scripted = b.script[n] if n < len(b.script) else None
                if b.latency:
                    time.sleep(b.latency)
                if b.hold is not None:
                    while not b.hold.wait(0.05) and not server._stop.is_set():
                        pass
                if hang:
                    server._stop.wait(120)
                    return
                if scripted is not None and scripted != 200:
                    roll, fault = -1.0, scripted
                elif scripted == 200:
                    roll = 2.0
                if b.always_fail is not None or roll < b.fault_rate:
                    status = b.always_fail if b.always_fail is not None else fault
                    headers = (
                        {"Retry-After": b.retry_after}
                        if (b.retry_after is not None and status in (429, 503))
                        else {}
                    )
                    msg = f"injected fault {status}"
                    if b.echo_auth:
                        msg += f"; incorrect API key provided: {self.headers.get('Authorization')}"
                    body = json.dumps(
                        {"error": {"message": msg, "type": "server_error", "code": status}}
                    )
                    self._send(status, body.encode(), headers)
                    return
                msgs = payload.get("messages", [])
                reply = b.reply(msgs) if callable(b.reply) else (b.reply or default_reply(msgs))
                if b.echo_auth_reply:
                    reply = f"{reply} (you sent {self.headers.get('Authorization')})"
                finish = "stop"
                cap = payload.get("max_tokens")
                if b.honour_max_tokens and cap and len(str(reply).split()) > int(cap):
                    reply, finish = " ".join(str(reply).split()[: int(cap)]), "length"
                words = len(str(reply).split())
                body = {
                    "id": f"chatcmpl-{len(server.recorded.requests)}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": payload.get("model", "loopback"),
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": finish,
                            "message": {"role": "assistant", "content": reply},
                        }
                    ],
                    "usage": {
                        "prompt_tokens": sum(len(m.get("content", "").split()) for m in msgs),
                        "completion_tokens": words,
                        "total_tokens": words,
                    },
                }
                self._send(200, json.dumps(body).encode())

        self.httpd = _Server((self.behaviour.host, 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self.recorded.requests)

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
