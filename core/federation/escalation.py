"""The receiving side of Bailo's escalation: a peer's system account searching on behalf of one
of its users.

A Bailo peer with escalation on sends ``x-bailo-id: <its federation id>`` and ``x-user: <the
user searching there>``. On ``/api/v2/models*`` only (Bailo's scope), when this instance has
``BAILO_FEDERATION_ESCALATION`` on and federation is not disabled, and the caller (who signed in
with their own credentials, usually an access token) is listed in that peer's
``allowedSystemUserIds``, the request runs as the named user, who must exist and be active here.
The caller's token, if any, still limits what the request may do.

Refusals differ from Bailo on purpose. Bailo silently runs an unlisted caller's request as the
caller; here a caller that sends both headers while escalation is on and is not allowed for that
peer gets 403, and so does an ``x-user`` naming nobody: answering as the system account instead
would show the remote user whatever that account may see. With escalation off the headers are
ignored (as Bailo), so an instance that does not take part answers as the caller.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, User
from django.http import HttpRequest

from core.errors import Forbidden
from core.federation.config import FederationState

logger = logging.getLogger(__name__)

USER_HEADER = "x-user"
BAILO_ID_HEADER = "x-bailo-id"
ESCALATED_PATHS = "/api/v2/models"


def escalated_user(request: HttpRequest, caller: AbstractBaseUser) -> User | None:
    """The user this request runs as instead of ``caller``, or None to run as the caller;
    raises ``Forbidden`` for an escalation that is asked for and not allowed."""
    if not request.path.startswith(ESCALATED_PATHS):
        return None
    wanted = _utf8(request.headers.get(USER_HEADER, "")).strip()
    peer_id = request.headers.get(BAILO_ID_HEADER, "").strip()
    if not wanted or not peer_id:
        return None
    if not settings.BAILO_FEDERATION_ESCALATION or (
        FederationState(settings.BAILO_FEDERATION_STATE) == FederationState.DISABLED
    ):
        return None
    peer = settings.BAILO_FEDERATION_PEERS.get(peer_id)
    name = caller.get_username()
    if peer is None or name not in peer.allowed_system_user_ids:
        logger.warning("Escalation refused: %s may not act for users of %s", name, peer_id[:64])
        raise Forbidden(
            f"{name} may not act for users of instance '{peer_id[:64]}'",
            {"bailoId": peer_id[:64]},
        )
    user = User.objects.filter(username=wanted, is_active=True).first()
    if user is None:
        raise Forbidden(f"x-user names no active user here: '{wanted[:150]}'")
    logger.info("%s (for instance %s) acts as %s", name, peer_id, wanted)
    return user


def _utf8(header: str) -> str:
    """A header as its sender's UTF-8 text: the server hands headers over as Latin-1."""
    try:
        return header.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return header
