"""Closing the connection after a refusal sent before the request body was read.

When the app answers (413, or an early 403/404 on an upload) without reading the body, the rest
of that body is still on the connection. If the connection is kept alive, the client's next request
follows bytes the server never read: depending on the server it is parsed as garbage or the server
drops the connection after promising keep-alive, and the client's next call fails. So such a
response says ``Connection: close`` and the server closes the connection after it.

``Connection`` is a hop-by-hop header, which WSGI applications may not send (wsgiref, under
runserver, asserts on it; gunicorn silently drops it). So the decision is taken in Django
(``core.middleware.EarlyRefusalMiddleware`` marks the response) and carried out by
``close_aware``, which wraps the WSGI application and asks the server itself to close.

``close_aware`` also closes the connection when a response fails after its headers were sent
(storage died in the middle of a download), so the client sees a short read instead of waiting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.http import HttpRequest

# Set by ``close_aware`` in the WSGI environ: the server can be asked to close the connection.
ENVIRON_FLAG = "bailo.close_aware"


def body_left_unread(request: HttpRequest) -> bool:
    """Whether the request declared a body and some of it may still be unread."""
    meta = request.META
    chunked = "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if not chunked and length <= 0:
        return False
    if hasattr(request, "_body") or hasattr(request, "_files"):
        return False  # read whole: request.body, or parsed as a form
    stream = getattr(request, "_stream", None)
    position, limit = getattr(stream, "_pos", None), getattr(stream, "limit", None)
    if not chunked and isinstance(position, int) and isinstance(limit, int):
        return position < limit
    return True


def can_send_connection_header(request: HttpRequest) -> bool:
    """Whether marking the response will not upset the server: behind ``close_aware``, or not a
    wsgiref server (Django's test client; the test suite's live server is wsgiref unwrapped)."""
    if request.META.get(ENVIRON_FLAG):
        return True
    return not str(request.META.get("SERVER_SOFTWARE", "")).startswith("WSGIServer/")


StartResponse = Callable[..., Any]


def _ask_server_to_close(start_response: StartResponse) -> None:
    server_side = getattr(start_response, "__self__", None)
    if callable(getattr(server_side, "force_close", None)):
        # gunicorn's Response: it then sends "Connection: close" and closes.
        server_side.force_close()  # type: ignore[union-attr]
    elif hasattr(server_side, "request_handler") and hasattr(server_side, "headers"):
        # wsgiref's ServerHandler as Django's runserver extends it: it closes the connection
        # when its own headers say so (read when they are sent) or, once they are sent, when
        # its request handler is told so.
        server_side.headers["Connection"] = "close"  # type: ignore[union-attr]
        server_side.request_handler.close_connection = True  # type: ignore[union-attr]


class _ClosingOnFailure:
    """The response body, passed through; if producing it fails after the headers were sent (a
    download whose storage died mid-stream), the server is asked to close the connection.

    Otherwise a keep-alive server (runserver) would wait for the client's next request while the
    client waits for the rest of the promised ``Content-Length``: both hang. Closing makes the
    client see a short read at once. gunicorn closes after such a failure by itself.
    """

    def __init__(self, result: Iterable[bytes], start_response: StartResponse) -> None:
        self._result = result
        self._start_response = start_response

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._result
        except Exception:
            _ask_server_to_close(self._start_response)
            raise

    def close(self) -> None:
        close = getattr(self._result, "close", None)
        if callable(close):
            close()


def close_aware(application: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """Wrap a WSGI application so that a response marked ``Connection: close`` makes the server
    close the connection, without handing the server a hop-by-hop header."""

    def wrapped(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        environ[ENVIRON_FLAG] = True

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            close = any(
                n.lower() == "connection" and v.strip().lower() == "close" for n, v in headers
            )
            kept = [(n, v) for n, v in headers if n.lower() != "connection"]
            write = start_response(status, kept, exc_info)
            if close:
                _ask_server_to_close(start_response)
            return write

        result = application(environ, start)
        file_wrapper = environ.get("wsgi.file_wrapper")
        if isinstance(file_wrapper, type) and isinstance(result, file_wrapper):
            return result  # left as it is, so the server can still send the file directly
        return _ClosingOnFailure(result, start_response)

    return wrapped
