"""The webhook port (``core.ports.webhooks``): which targets are refused when a webhook is saved,
and what the HTTP adapter does at delivery time against a real receiver on 127.0.0.1: the peer
check (DNS rebinding included), timeouts, TLS verification, no redirects."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from core.ports.webhooks import (
    HttpSender,
    TargetRefused,
    WebhookRequest,
    check_target,
)
from tests.webhooks.receiver import running

PUBLIC = "93.184.215.14"


def resolving_to(*addresses: str) -> Any:
    """A stand-in for ``socket.getaddrinfo`` that answers with ``addresses``."""

    def resolve(host: str, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, 443))
            for a in addresses
        ]

    return resolve


# --- saving: check_target ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://127.1.2.3:8080/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/hook",
        "http://172.16.3.4/hook",
        "http://192.168.1.10/hook",
        "http://100.64.0.1/hook",
        "http://[fd00::1]/hook",
        "http://[fe80::1]/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
    ],
)
def test_loopback_link_local_private_and_reserved_addresses_are_refused(
    url: str, settings: Any
) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = []

    with pytest.raises(TargetRefused, match="loopback, link-local or private"):
        check_target(url)


@pytest.mark.parametrize("host", ["0x7f000001", "2130706433", "017700000001", "127.1"])
def test_loopback_written_in_other_notations_is_refused(host: str, settings: Any) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = []

    with pytest.raises(TargetRefused, match=r"\(127\.0\.0\.1\)"):
        check_target(f"http://{host}/hook")


def test_a_name_that_resolves_to_loopback_is_refused(settings: Any) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = []

    with pytest.raises(TargetRefused, match=r"localhost .*\(127\.0\.0\.1\)|localhost .*::1"):
        check_target("http://localhost:8080/hook")


def test_a_name_is_refused_if_any_of_its_addresses_is_private(settings: Any) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = []

    with pytest.raises(TargetRefused, match=r"10\.1\.2\.3"):
        check_target("https://mixed.example/hook", resolve=resolving_to(PUBLIC, "10.1.2.3"))


def test_a_public_address_or_name_is_accepted(settings: Any) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = []

    check_target(f"https://{PUBLIC}/hook")
    check_target("https://hooks.example/bailo", resolve=resolving_to(PUBLIC))


@pytest.mark.parametrize(
    ("allowed", "url"),
    [
        (["127.0.0.1"], "http://127.0.0.1:9000/hook"),
        (["10.0.0.0/8"], "http://10.20.30.40/hook"),
        (["::1"], "http://[::1]:9000/hook"),
        (["Hooks.Internal"], "http://hooks.internal/hook"),
        (["localhost"], "http://localhost/hook"),
    ],
)
def test_the_allowed_hosts_setting_lets_an_administrator_allow_private_targets(
    allowed: list[str], url: str, settings: Any
) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = allowed

    # An allowed name is not even resolved: "hooks.internal" does not exist here.
    check_target(url, resolve=resolving_to("10.9.9.9"))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://hooks.example/x", "http:// or https://"),
        ("hooks.example/x", "http:// or https://"),
        ("https:///x", "must name a host"),
        ("https://user:pw@hooks.example/x", "user name or password"),
        ("https://hooks.example:99999/x", "port is not valid"),
        ("http://[::1/x", "not a valid URL"),
        ("http://[zz]/x", "not a valid URL"),
    ],
)
def test_urls_that_are_not_plain_http_targets_are_refused(url: str, message: str) -> None:
    with pytest.raises(TargetRefused, match=message):
        check_target(url, resolve=resolving_to(PUBLIC))


def test_a_name_that_does_not_resolve_is_refused() -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(TargetRefused, match="could not be resolved"):
        check_target("https://nowhere.invalid/x", resolve=fail)


# --- delivering: HttpSender --------------------------------------------------------------------


def post(url: str, *, verify: bool = True, timeout: float = 5.0) -> Any:
    return HttpSender().send(
        WebhookRequest(
            url=url,
            body=b'{"event":"test"}',
            headers={"Content-Type": "application/json"},
            verify_tls=verify,
            timeout=timeout,
        )
    )


def test_an_allowed_receiver_gets_the_body_and_its_answer_is_recorded(settings: Any) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    with running(200) as receiver:
        outcome = post(receiver.url)

    assert outcome.ok and outcome.status_code == 200 and outcome.error == ""
    assert '"received": true' in outcome.response_excerpt
    assert receiver.received[0].body == b'{"event":"test"}'


def test_a_receiver_on_loopback_is_refused_at_delivery_before_any_byte_is_sent(
    settings: Any,
) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = []
    with running(200) as receiver:
        outcome = post(receiver.url)

    assert outcome.refused and not outcome.ok and outcome.status_code is None
    assert outcome.error.startswith("Refused: 127.0.0.1 is on a loopback")
    assert receiver.count == 0


def test_a_name_rebound_to_loopback_after_it_was_checked_is_refused_at_delivery(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name resolved to a public address when the webhook was saved, and
    resolves to the receiver on 127.0.0.1 when the delivery connects."""
    settings.WEBHOOK_ALLOWED_HOSTS = []
    check_target("http://rebind.example/hook", resolve=resolving_to(PUBLIC))
    real = socket.getaddrinfo

    def rebound(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == "rebind.example" else host, *args, **kwargs)

    with running(200) as receiver:
        monkeypatch.setattr(socket, "getaddrinfo", rebound)
        port = receiver.url.split(":")[2].split("/")[0]
        outcome = post(f"http://rebind.example:{port}/hook")

    assert outcome.refused, outcome
    assert "rebind.example is on a loopback" in outcome.error
    assert receiver.count == 0


def test_a_receiver_that_hangs_times_out(settings: Any) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    with running(200, hang=True) as receiver:
        outcome = post(receiver.url, timeout=0.3)

    assert not outcome.ok and outcome.status_code is None
    assert outcome.error == "Timed out after 0.3 s"
    assert receiver.count == 1


def test_redirects_are_not_followed(settings: Any) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    with running(302) as receiver:
        outcome = post(receiver.url)

    assert not outcome.ok and outcome.status_code == 302
    assert outcome.error == "Redirects are not followed (to http://127.0.0.1:9/elsewhere)"
    assert receiver.count == 1


def test_an_error_status_is_a_failure_with_the_answer_kept(settings: Any) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    with running(503) as receiver:
        outcome = post(receiver.url)

    assert not outcome.ok and not outcome.refused
    assert outcome.status_code == 503 and outcome.error == "The receiver answered 503"
    assert '"status": 503' in outcome.response_excerpt


def test_nobody_listening_is_a_connection_failure(settings: Any) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused

        outcome = post(f"http://127.0.0.1:{port}/hook")

    assert outcome.error == "Could not connect: Connection refused"


def test_tls_is_verified_unless_insecure_ssl_is_asked_for(settings: Any) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    with running(200, tls=True) as receiver:
        verified = post(receiver.url)
        unverified = post(receiver.url, verify=False)

    assert not verified.ok and verified.error.startswith("TLS error")
    assert "certificate verify failed" in verified.error
    assert unverified.ok
    assert receiver.count == 1
