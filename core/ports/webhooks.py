"""The webhook port: POST a signed JSON body to a URL someone else chose, safely.

A webhook's target is typed in by an entry's owner, so the server must not become a way to reach
what only it can reach (SSRF): its own loopback, the link-local cloud metadata address, the private
networks it sits in. Two checks keep it out:

- ``check_target(url)``, when a webhook is saved: the host is resolved and every address must be
  public (globally routable), or allowed by ``WEBHOOK_ALLOWED_HOSTS``.
- ``HttpSender``, at delivery time: the address the TCP connection actually reached is checked
  again before a byte is sent. A name that resolved to a public address when it was saved and to
  127.0.0.1 now (DNS rebinding) is refused here, whatever the resolver answered earlier. Redirects
  are never followed and proxies from the environment are not used, so the connection checked is
  the one that carries the request.

``WEBHOOK_ALLOWED_HOSTS`` lists host names (matched exactly, any case), IP addresses and networks
(``10.0.0.0/8``) that may be targets although they are not public. A listed name may resolve to
any address.

Nothing else imports ``requests`` to deliver webhooks: callers build a ``WebhookRequest`` and get
an ``Outcome`` back, never an exception.
"""

from __future__ import annotations

import ipaddress
import socket
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import InsecureRequestWarning

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[..., list[tuple[Any, ...]]]

SCHEMES = frozenset({"http", "https"})
# How much of a receiver's answer is kept in the delivery record.
EXCERPT_BYTES = 1024
MAX_ERROR_LENGTH = 500


class TargetRefused(Exception):
    """The target is not a place webhooks may go; ``str()`` says why, fit for users."""


# --- which targets are allowed --------------------------------------------------------------------


@dataclass(frozen=True)
class AllowList:
    """``WEBHOOK_ALLOWED_HOSTS``, parsed: host names (lower case) and networks."""

    names: frozenset[str]
    networks: tuple[IPNetwork, ...]

    @classmethod
    def parse(cls, entries: list[str]) -> AllowList:
        names: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in entries:
            entry = entry.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                names.add(entry.lower().rstrip("."))
        return cls(frozenset(names), tuple(networks))

    def allows_name(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.names

    def allows_address(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


def allow_list() -> AllowList:
    """The allow list as the settings say now (read at every call: tests and admins change it)."""
    return AllowList.parse(list(getattr(settings, "WEBHOOK_ALLOWED_HOSTS", [])))


def _address(text: str) -> IPAddress:
    address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone (fe80::1%eth0)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return address


def is_public(address: IPAddress) -> bool:
    """Globally routable: not loopback, link-local, private, shared, reserved or multicast."""
    return address.is_global and not address.is_multicast


def check_address(host: str, address: IPAddress, allowed: AllowList | None = None) -> None:
    """Raise ``TargetRefused`` unless ``address`` (which ``host`` led to) may be a target."""
    allowed = allowed or allow_list()
    if is_public(address) or allowed.allows_name(host) or allowed.allows_address(address):
        return
    raise TargetRefused(
        f"{host} is on a loopback, link-local or private network ({address}); webhooks may only "
        "call public addresses unless an administrator allows the host in WEBHOOK_ALLOWED_HOSTS"
    )


def check_target(url: str, *, resolve: Resolver = socket.getaddrinfo) -> None:
    """Raise ``TargetRefused`` unless ``url`` is an http(s) URL whose host is allowed now: every
    address it resolves to is public, or the host or those addresses are allowed."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError as exc:  # e.g. an unclosed or invalid [IPv6] host
        raise TargetRefused(f"The URI is not a valid URL: {exc}") from exc
    if parts.scheme.lower() not in SCHEMES:
        raise TargetRefused("The URI must start with http:// or https://")
    if not host:
        raise TargetRefused("The URI must name a host, as in https://hooks.example.com/bailo")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused(
            "The URI must not contain a user name or password; use the webhook's token instead"
        )
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError as exc:
        raise TargetRefused(f"The URI's port is not valid: {exc}") from exc
    allowed = allow_list()
    if allowed.allows_name(host):
        return
    try:
        literal: IPAddress | None = _address(host)
    except ValueError:
        literal = None
    if literal is not None:
        check_address(host, literal, allowed)
        return
    try:
        found = resolve(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(f"The host {host} could not be resolved") from exc
    addresses = {_address(str(info[4][0])) for info in found}
    if not addresses:
        raise TargetRefused(f"The host {host} could not be resolved")
    for address in sorted(addresses, key=str):
        check_address(host, address, allowed)


# --- the HTTP adapter -----------------------------------------------------------------------------


class _CheckedPeer:
    """Mixed into urllib3's connections: once the TCP connection is up, the address it reached
    must be allowed, or the socket is closed before anything (TLS handshake included) is sent."""

    host: str

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        try:
            check_address(self.host, _address(str(sock.getpeername()[0])))
        except BaseException:
            sock.close()
            raise
        return sock


class _CheckedHTTPConnection(_CheckedPeer, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_CheckedPeer, HTTPSConnection):
    pass


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class _CheckedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {  # type: ignore[attr-defined]
            "http": _CheckedHTTPPool,
            "https": _CheckedHTTPSPool,
        }


@dataclass(frozen=True)
class WebhookRequest:
    """One POST: the exact body bytes (what was signed), its headers, whether to verify the
    target's TLS certificate, and the timeout in seconds (to connect, and between bytes read)."""

    url: str
    body: bytes
    headers: Mapping[str, str]
    verify_tls: bool = True
    timeout: float = 10.0


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: the status (None if no answer came), how long it took, why it failed
    if it did, and the start of the answer's body."""

    status_code: int | None
    duration_ms: int
    error: str = ""
    response_excerpt: str = ""
    # The target's address is not allowed (no request was sent): retrying will not help.
    refused: bool = False

    @property
    def ok(self) -> bool:
        return not self.error and self.status_code is not None and 200 <= self.status_code < 300


class WebhookSender(Protocol):
    def send(self, request: WebhookRequest) -> Outcome:
        """POST ``request`` once; never raises for anything the network or the target does."""
        ...


def _reason(exc: BaseException) -> str:
    """The innermost OS-level reason behind a requests error (e.g. "Connection refused")."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return str(current.strerror)
        nested = getattr(current, "reason", None)
        if isinstance(nested, BaseException):
            current = nested
        elif current.args and isinstance(current.args[0], BaseException):
            current = current.args[0]
        else:
            current = current.__cause__ or current.__context__
    return str(exc)


def _refusal(exc: BaseException) -> TargetRefused | None:
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, TargetRefused):
            return current
        current = current.__cause__ or current.__context__
    return None


def _excerpt(response: requests.Response) -> str:
    try:
        data = response.raw.read(EXCERPT_BYTES, decode_content=True)
    except (Urllib3Error, OSError):  # a receiver that stalls or drops after its status line
        return ""
    return bytes(data or b"").decode("utf-8", errors="replace")


class HttpSender:
    """The adapter: ``requests`` with the peer check, no redirects, no environment proxies."""

    def send(self, request: WebhookRequest) -> Outcome:
        started = time.monotonic()

        def outcome(
            status: int | None, error: str = "", excerpt: str = "", *, refused: bool = False
        ) -> Outcome:
            elapsed = int((time.monotonic() - started) * 1000)
            return Outcome(status, elapsed, error[:MAX_ERROR_LENGTH], excerpt, refused)

        session = requests.Session()
        session.trust_env = False  # HTTP(S)_PROXY would make the checked peer the proxy
        adapter = _CheckedAdapter(max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        try:
            with warnings.catch_warnings():
                # The webhook's owners chose insecureSSL; urllib3's warning would only fill logs.
                warnings.simplefilter("ignore", InsecureRequestWarning)
                with session.post(
                    request.url,
                    data=request.body,
                    headers=dict(request.headers),
                    timeout=(request.timeout, request.timeout),
                    verify=request.verify_tls,
                    allow_redirects=False,
                    stream=True,
                ) as response:
                    status = response.status_code
                    excerpt = _excerpt(response)
        except TargetRefused as exc:
            return outcome(None, f"Refused: {exc}", refused=True)
        except requests.exceptions.SSLError as exc:
            return outcome(None, f"TLS error: {_reason(exc)}")
        except requests.exceptions.Timeout:
            return outcome(None, f"Timed out after {request.timeout:g} s")
        except requests.exceptions.ConnectionError as exc:
            refused = _refusal(exc)
            if refused is not None:
                return outcome(None, f"Refused: {refused}", refused=True)
            return outcome(None, f"Could not connect: {_reason(exc)}")
        except requests.exceptions.RequestException as exc:
            return outcome(None, f"Request failed: {_reason(exc)}")
        finally:
            session.close()
        if 300 <= status < 400:
            location = response.headers.get("Location", "")
            error = f"Redirects are not followed (to {location or 'nowhere'})"
            return outcome(status, error, excerpt)
        if not 200 <= status < 300:
            return outcome(status, f"The receiver answered {status}", excerpt)
        return outcome(status, "", excerpt)


def webhook_sender() -> WebhookSender:
    """The sender deliveries use (one adapter: HTTP)."""
    return HttpSender()
