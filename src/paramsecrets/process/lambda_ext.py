"""The Lambda Extensions API: register, the event loop, init/exit errors.

Everything before `register` adds to every cold start of the function, so this module uses only
`_socket` (the C module; `socket` costs ~9 ms of CPU to import) and speaks the few HTTP/1.1
exchanges it needs by hand: one request per connection, `Connection: close`.
"""

from __future__ import annotations

import _socket
import os
import sys

# The interpreter has _collections_abc loaded at start-up; `collections.abc` would first run the
# whole `collections` package (~1.5 ms of CPU before `register`, where every ms is a cold start's).
from _collections_abc import Callable

API = "/2020-01-01/extension"
EVENTS_BODY = b'{"events":["INVOKE","SHUTDOWN"]}'


class ExtensionsApiError(Exception):
    """The Extensions API refused a call or could not be reached."""


def _read_answer(sock: _socket.socket) -> tuple[int, dict[str, str], bytes]:
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split(" ", 2)[1])
    except (IndexError, ValueError):
        raise ExtensionsApiError("malformed answer from the Extensions API") from None
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    elif "content-length" in headers:
        body = body[: int(headers["content-length"])]
    return status, headers, body


def _dechunk(data: bytes) -> bytes:
    out = []
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out.append(data[:size])
        data = data[size + 2:]
    return b"".join(out)


class ExtensionsApi:
    """A client for `http://$AWS_LAMBDA_RUNTIME_API/2020-01-01/extension/...`."""

    def __init__(self, runtime_api: str, name: str) -> None:
        host, _, port = runtime_api.rpartition(":")
        self.host = host.strip("[]") or "127.0.0.1"
        self.port = int(port)
        self.runtime_api = runtime_api
        self.name = name
        self.identifier = ""

    def _call(self, method: str, path: str, headers: dict[str, str], body: bytes = b"", timeout: float | None = 5.0,
              sent: Callable[[], object] | None = None) -> tuple[int, dict[str, str], bytes]:
        lines = [f"{method} {API}{path} HTTP/1.1", f"Host: {self.runtime_api}", "Connection: close",
                 f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        family = _socket.AF_INET6 if ":" in self.host else _socket.AF_INET
        sock = _socket.socket(family, _socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect((self.host, self.port))
            sock.sendall(request)
            if sent is not None:
                sent()
            return _read_answer(sock)
        except OSError as error:
            raise ExtensionsApiError(f"Extensions API at {self.runtime_api} unreachable: {error}") from None
        finally:
            sock.close()

    def register(self) -> str:
        status, headers, body = self._call("POST", "/register", {"Lambda-Extension-Name": self.name}, EVENTS_BODY)
        if status != 200:
            raise ExtensionsApiError(f"register refused with HTTP {status}: {body[:200].decode('utf-8', 'replace')}")
        self.identifier = headers.get("lambda-extension-identifier", "")
        return self.identifier

    def next_event(self, sent: Callable[[], object] | None = None) -> bytes:
        """Block until the next event; its raw JSON. `sent` is called once the request is out."""
        status, _, body = self._call("GET", "/event/next", {"Lambda-Extension-Identifier": self.identifier},
                                     timeout=None, sent=sent)
        if status != 200:
            raise ExtensionsApiError(f"event/next answered HTTP {status}")
        return body

    def report_error(self, phase: str, error_type: str, message: str) -> None:
        """POST /init/error or /exit/error; the function's INIT then fails with this reason."""
        import json

        body = json.dumps({"errorMessage": message, "errorType": error_type}).encode()
        headers = {"Lambda-Extension-Identifier": self.identifier,
                   "Lambda-Extension-Function-Error-Type": error_type, "Content-Type": "application/json"}
        self._call("POST", f"/{phase}/error", headers, body)


class Lifecycle:
    """Carries SHUTDOWN from the event thread to whoever runs the server, even if it is not up yet."""

    def __init__(self, started: float = 0.0) -> None:
        import _thread  # not threading: ~1.4 ms of CPU to import, spent during INIT

        self._lock = _thread.allocate_lock()
        self._handler: Callable[[str], None] | None = None
        self._invoke_handler: Callable[[], None] | None = None
        self._invoked_early = False  # an INVOKE came before the server was up to be told
        self.shutdown_reason: str | None = None
        self.started = started
        """When the process started (time.monotonic()): INIT began then (init_window.py)."""
        self.init_over = False
        """True from the first event Lambda sends: INIT is over then."""

    def on_invoke(self, handler: Callable[[], None]) -> None:
        """Call `handler` (from the event thread: it must only hand over, e.g. call_soon_threadsafe)
        at each INVOKE event: the EMF metrics are written then. The first INVOKE often arrives
        while the server is still importing; it is passed on here, once."""
        with self._lock:
            self._invoke_handler = handler
            early, self._invoked_early = self._invoked_early, False
        if early:
            handler()

    def invoked(self) -> None:
        with self._lock:
            handler = self._invoke_handler
            if handler is None:
                self._invoked_early = True
        if handler is not None:
            handler()

    def on_shutdown(self, handler: Callable[[str], None]) -> None:
        with self._lock:
            self._handler = handler
            reason = self.shutdown_reason
        if reason is not None:
            handler(reason)

    def shutdown(self, reason: str) -> None:
        with self._lock:
            self.shutdown_reason = reason
            handler = self._handler
        if handler is not None:
            handler(reason)


def run_events(api: ExtensionsApi, lifecycle: Lifecycle, log_error: Callable[[str], None],
               first_sent: Callable[[], object] | None = None) -> None:
    """Loop on event/next until SHUTDOWN (or until the API goes away, which also means stop).

    The first `next` ends our part of INIT, so nothing (not even `import json`) comes before it;
    `first_sent` is called once that request is out. Only SHUTDOWN is parsed.
    """
    while True:
        try:
            raw = api.next_event(first_sent)
            first_sent = None
            lifecycle.init_over = True
            if b'"SHUTDOWN"' not in raw:
                # An INVOKE: nothing to do but ask again, at once (Lambda's invoke waits for it). No
                # JSON: right after INIT the import thread holds the GIL and the locks of json's imports.
                lifecycle.invoked()
                continue
            import json

            event = json.loads(raw)
        except (ExtensionsApiError, ValueError) as error:
            log_error(f"leaving the Lambda event loop: {error}")
            lifecycle.shutdown("ExtensionsApiError")
            return
        if event.get("eventType") == "SHUTDOWN":
            lifecycle.shutdown(str(event.get("shutdownReason") or "shutdown"))
            return


def start_event_thread(api: ExtensionsApi, lifecycle: Lifecycle,
                       log_error: Callable[[str], None]) -> Callable[[float], bool]:
    """Start the event loop; returns wait(timeout), true once the first `next` is sent (our part
    of INIT is then over), so the caller can hold heavy work until then: a thread importing
    modules holds the GIL, and every socket step of that request would wait for it."""
    import _thread  # not threading: ~1.4 ms of CPU to import, spent during INIT

    first_sent = _thread.allocate_lock()
    first_sent.acquire()
    # A _thread thread ends with the interpreter, like a daemon thread.
    _thread.start_new_thread(run_events, (api, lifecycle, log_error, first_sent.release))

    def wait(timeout: float) -> bool:
        return first_sent.acquire(timeout=timeout)

    return wait


def extension_name(argv0: str | None = None) -> str:
    """Lambda refuses a registration whose name differs from the executable's file name."""
    return os.path.basename(argv0 or sys.argv[0]) or "paramsecrets"
