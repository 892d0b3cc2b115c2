"""The marketplace's "External repositories": federated peers' results beside ours.

The filter shows only when federation is not disabled and peers are configured; a peer that did
not answer its last status check is marked unreachable (it can still be chosen). The choice is
kept in the URL (``peers``, repeatable), like every other filter, so the page works without
JavaScript. Peers' results come on the first page only, under our own, each marked with the peer's
label and linked to the peer in a new tab; a peer that fails is named with its error, and the rest
of the page is unaffected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.federation.service import (
    PendingSearch,
    PendingStatus,
    configured_peers,
    peer_link_for,
    peer_search_start,
    peer_status_start,
)
from core.ports.peers import PeerQuery
from models_app.policy import Actor

RemoteSearch = PendingSearch
EXCERPT_LENGTH = 200


@dataclass(frozen=True)
class RemoteRow:
    name: str
    url: str
    peer_label: str
    excerpt: str
    organisation: str
    state: str
    tags: list[str]


def statuses_start() -> PendingStatus | None:
    """The peers' statuses for the filter, or None when there is no filter to show."""
    if not configured_peers():
        return None
    return peer_status_start()


def search_start(
    actor: Actor, peer_ids: list[str], checked: dict[str, Any]
) -> PendingSearch | None:
    """Put the page's search to the chosen peers (first page only); ``BadRequest`` for an id
    that is not a peer."""
    if not peer_ids or checked["page"] != 1:
        return None
    query = PeerQuery(
        text=checked["text"],
        kinds=tuple(checked["kinds"]),
        organisations=tuple(checked["organisations"]),
        states=tuple(checked["states"]),
        libraries=tuple(checked["tags"]),
        filters=tuple(checked["roles"]),
    )
    return peer_search_start(user=actor.user.get_username(), query=query, peer_ids=peer_ids)


def _excerpt(text: str) -> str:
    plain = " ".join(text.split())
    if len(plain) <= EXCERPT_LENGTH:
        return plain
    return plain[:EXCERPT_LENGTH].rsplit(" ", 1)[0] + "…"


def results_context(remote: PendingSearch | None) -> dict[str, Any]:
    if remote is None:
        return {"remote_rows": [], "peer_errors": [], "peers_searched": False}
    found = remote.collect()
    peers = configured_peers()

    def label(peer_id: str) -> str:
        peer = peers.get(peer_id)
        return peer.label if peer else peer_id

    rows = [
        RemoteRow(
            name=row["name"],
            url=peer_link_for(row),
            peer_label=label(row["peerId"]),
            excerpt=_excerpt(row["description"]),
            organisation=row["organisation"],
            state=row["state"],
            tags=row["tags"][:10],
        )
        for row in found.rows
    ]
    errors = [
        {"label": label(peer_id), "message": error["message"]}
        for peer_id, error in found.errors.items()
    ]
    return {"remote_rows": rows, "peer_errors": errors, "peers_searched": True}


def filters_context(statuses: PendingStatus | None, chosen: list[str]) -> dict[str, Any]:
    if statuses is None:
        return {"peer_options": []}
    options = []
    for peer_id, found in statuses.collect().items():
        status = found["status"]
        options.append(
            {
                "value": peer_id,
                "label": found["config"]["label"],
                "checked": peer_id in chosen,
                "unreachable": status.get("ping") != "pong",
                "problem": status.get("error", {}).get("message", ""),
            }
        )
    return {"peer_options": options}
