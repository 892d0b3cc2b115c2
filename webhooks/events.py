"""What happens on an entry, turned into webhook events with Bailo's bodies.

Each listener is registered in ``WebhooksConfig.ready()`` on a hook the lower feature fires after
its write has committed (``core.hooks.fire_after_commit``), and builds the body Bailo's
``services/webhook.ts`` sends: ``{event, description, <object>}``, the object nested under
``release``, ``review``, ``accessRequest`` or ``transfer`` in the shape the API gives it. The
object is only built when some webhook listens.

``importModel`` fires when a mirrored model's import completes: the mirroring feature, a floor
above, calls ``model_imported`` itself (``mirroring.notifications``).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch

from access.access_requests.selectors import access_request_json
from access.models import AccessRequest
from releases.models import Release
from releases.selectors import release_json
from reviews.models import Response, Review
from reviews.selectors import review_json
from webhooks.models import WebhookEvent
from webhooks.services import event_dispatch


def release_created(release: Release) -> None:
    """``releases.services.RELEASE_CREATED`` listener (drafts and minor releases too, as Bailo)."""
    event_dispatch(
        model_id=release.model_id,
        event=WebhookEvent.CREATE_RELEASE,
        description=f"Release {release.semver} has been created for model {release.model_id}",
        content=lambda: {"release": release_json(release)},
    )


def release_updated(release: Release) -> None:
    """``releases.services.RELEASE_UPDATED`` listener."""
    event_dispatch(
        model_id=release.model_id,
        event=WebhookEvent.UPDATE_RELEASE,
        description=f"Release {release.semver} has been updated for model {release.model_id}",
        content=lambda: {"release": release_json(release)},
    )


def review_response_created(response: Response) -> None:
    """``reviews.services.REVIEW_RESPONSE_CREATED`` listener: the body holds the review (with its
    responses, the new one included), as Bailo's does."""
    if response.review is None:
        return
    review_id, model_id = response.review.pk, response.review.model_id

    def content() -> dict[str, Any]:
        # Loaded afresh, so its responses include this one.
        ordered = Response.objects.order_by("created_at", "id")
        review = (
            Review.objects.select_related("release")
            .prefetch_related(Prefetch("responses", queryset=ordered))
            .get(pk=review_id)
        )
        return {"review": review_json(review)}

    event_dispatch(
        model_id=model_id,
        event=WebhookEvent.CREATE_REVIEW_RESPONSE,
        description=f"A new response has been added to a review requested for Model {model_id}",
        content=content,
    )


def access_request_created(access_request: AccessRequest) -> None:
    """``access.access_requests.services.ACCESS_REQUEST_CREATED`` listener."""
    event_dispatch(
        model_id=access_request.model_id,
        event=WebhookEvent.CREATE_ACCESS_REQUEST,
        description=(
            f"Access Request {access_request.pk} has been created for model "
            f"{access_request.model_id}"
        ),
        content=lambda: {"accessRequest": access_request_json(access_request)},
    )


def model_imported(model_id: str, transfer: dict[str, Any]) -> None:
    """A mirrored model's import has completed (called by ``mirroring.notifications``);
    ``transfer`` is the transfer record in its API shape."""
    event_dispatch(
        model_id=model_id,
        event=WebhookEvent.IMPORT_MODEL,
        description=f"Model {model_id} has been imported",
        content=lambda: {"transfer": transfer},
    )
