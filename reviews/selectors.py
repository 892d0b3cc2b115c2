"""Reads about reviews: the reviews a user owes or has answered, Bailo's JSON shapes, and what a
review panel shows.

A user "holds" a review's role when a collaborator row on the review's entry gives that role to
them or to one of their groups. Their **open** reviews are live reviews (on live entries and live
subjects) of a role they hold that they have not answered yet; their **archived** reviews are those
they answered at least once (a decision, an undo included).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, Min, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from core.entities import entity_filter
from core.errors import BadRequest, NotFound
from core.people import Person, people_named
from models_app.models import Collaborator, Model, ModelCardRevision
from models_app.policy import Action, Actor, Subject, allowed, visible_to
from models_app.roles import undefined_review_roles
from releases.models import Release
from reviews.models import (
    AccessRequestSubject,
    Decision,
    Response,
    Review,
    ReviewKind,
    ReviewRole,
)
from reviews.outcomes import latest_decisions, outcome

STATE_LABELS = {
    Decision.APPROVE.value: "Approved",
    Decision.REQUEST_CHANGES.value: "Changes requested",
    None: "Awaiting review",
}
DECISION_LABELS = {
    Decision.APPROVE.value: "Approved",
    Decision.REQUEST_CHANGES.value: "Requested changes",
    Decision.UNDO.value: "Undid their decision",
}
OUTCOME_LABELS = {
    "approved": "Approved",
    "changes_requested": "Changes requested",
    "pending": "Awaiting review",
}


# --- which reviews a user sees -------------------------------------------------------------------


def _live() -> Q:
    """Reviews whose entry and subject are both live (soft-deleted rows drop out)."""
    return Q(model__deleted_at__isnull=True) & (
        Q(kind=ReviewKind.RELEASE, release__deleted_at__isnull=True)
        | Q(kind=ReviewKind.ACCESS, access_request__deleted_at__isnull=True)
        | Q(kind=ReviewKind.LIFECYCLE)
    )


def _held_by(user: Any) -> Exists:
    return Exists(
        Collaborator.objects.filter(
            entity_filter(user), model_id=OuterRef("model_id"), role=OuterRef("role")
        )
    )


def _answered_by(user: Any) -> Exists:
    return Exists(
        Response.objects.filter(review_id=OuterRef("pk"), kind=Response.Kind.REVIEW, user=user)
    )


def _with_subjects(qs: QuerySet[Review]) -> QuerySet[Review]:
    responses = Response.objects.order_by("created_at", "id")
    return qs.select_related("model", "release", "access_request").prefetch_related(
        Prefetch("responses", queryset=responses)
    )


def reviews_for_user(
    *, actor: Actor, open: bool | None = None, mine: bool = True
) -> QuerySet[Review]:
    """Live reviews for ``actor``, on entries the policy lets it see (``visible_to``: a token's
    chosen models included).

    ``mine`` keeps reviews of roles the user holds (Bailo's default); without it, every review of
    those entries. ``open=True`` keeps the ones the user has not answered, ``open=False`` the
    ones they have (archived), ``None`` both.
    """
    user = actor.user
    if not user.is_authenticated:
        return Review.objects.none()
    qs = Review.objects.filter(_live())
    if mine:
        qs = qs.filter(_held_by(user))
    qs = visible_to(actor, Action.MODEL_VIEW, qs)
    # A lifecycle review is answered once for all its owners: it closes (``completed_at``).
    lifecycle_done = Q(kind=ReviewKind.LIFECYCLE, completed_at__isnull=False)
    if open is True:
        qs = qs.exclude(_answered_by(user)).exclude(lifecycle_done)
    elif open is False:
        qs = qs.filter(Q(_answered_by(user)) | lifecycle_done)
    return qs


# A lifecycle review counts in the navigation badge from this long before it is due (an owner
# always has one open, due months ahead, which is not yet waiting for them).
LIFECYCLE_BADGE_AHEAD = timedelta(days=14)


def open_review_count(user: Any) -> int:
    """How many reviews wait for this user (the navigation badge): open release and access
    reviews, and the open lifecycle reviews due within ``LIFECYCLE_BADGE_AHEAD`` or overdue."""
    return open_review_count_until(user)[0]


def open_review_count_until(user: Any) -> tuple[int, datetime | None]:
    """``open_review_count``, and the moment it next changes by the clock alone (the soonest of
    the user's open lifecycle reviews not counted yet comes within ``LIFECYCLE_BADGE_AHEAD`` of
    its due date), or None when nothing will. One query."""
    soon = timezone.now() + LIFECYCLE_BADGE_AHEAD
    later = Q(kind=ReviewKind.LIFECYCLE, due_date__gt=soon)
    figures = reviews_for_user(actor=Actor(user=user), open=True).aggregate(
        count=Count("pk", filter=~later), next_due=Min("due_date", filter=later)
    )
    next_due = figures["next_due"]
    return figures["count"], (next_due - LIFECYCLE_BADGE_AHEAD if next_due else None)


@dataclass
class ReviewGroups:
    """Reviews split by kind, for the reviews page."""

    releases: list[Review] = field(default_factory=list)
    access_requests: list[Review] = field(default_factory=list)
    # Lifecycle reviews of model cards, soonest due first.
    model_cards: list[Review] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.releases) + len(self.access_requests) + len(self.model_cards)


def reviews_page_groups(*, user: Any, open: bool) -> ReviewGroups:
    """The user's open (or archived) reviews, newest first, grouped as releases and access
    requests. Two queries whatever the number of reviews."""
    reviews = list(
        _with_subjects(reviews_for_user(actor=Actor(user=user), open=open)).order_by("-created_at")
    )
    decisions = latest_decisions(reviews)
    groups = ReviewGroups()
    for review in reviews:
        review.state = decisions[review.pk]  # type: ignore[attr-defined]
        review.state_label = STATE_LABELS[decisions[review.pk]]  # type: ignore[attr-defined]
        if review.kind == ReviewKind.RELEASE:
            groups.releases.append(review)
        elif review.kind == ReviewKind.LIFECYCLE:
            groups.model_cards.append(review)
        else:
            groups.access_requests.append(review)
    groups.model_cards.sort(key=lambda r: r.due_date or r.created_at)
    return groups


def review_get_visible(actor: Actor, review_id: str) -> Review:
    """A live review whose entry and subject (release or access request) the actor can see.

    An id that is not a number is refused (400, as Bailo refuses one that is not an object id);
    an unknown review and one the actor may not see are both 404.
    """
    # isdigit() alone also accepts digits int() refuses, such as '³'.
    if not (review_id.isascii() and review_id.isdigit()):
        raise BadRequest(f"Invalid review id: {review_id[:50]}", {"reviewId": review_id[:50]})
    missing = NotFound(f"Review {review_id} not found", {"reviewId": review_id})
    review = (
        Review.objects.filter(pk=int(review_id), model__deleted_at__isnull=True)
        .select_related("model", "release", "access_request")
        .first()
    )
    if review is None or not visible_to(actor).filter(pk=review.model_id).exists():
        raise missing
    if review.release is not None:
        if review.release.deleted_at is not None or (
            review.release.draft and not allowed(actor, Action.RELEASE_VIEW_DRAFT, review.model)
        ):
            raise missing
    elif review.kind == ReviewKind.LIFECYCLE:
        return review
    elif review.access_request is None or review.access_request.deleted_at is not None:
        raise missing
    return review


def response_latest(review: Review) -> Response:
    """The review's newest decision (404 when nobody has answered it yet)."""
    response = (
        Response.objects.filter(review=review, kind=Response.Kind.REVIEW)
        .order_by("-created_at", "-id")
        .first()
    )
    if response is None:
        raise NotFound(f"Review {review.pk} has no responses yet", {"reviewId": str(review.pk)})
    return response


# --- Bailo's JSON shapes --------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def response_json(response: Response) -> dict[str, Any]:
    """A response as Bailo's API gives it (``parentId`` is the review for decisions, the release
    or access request for comments)."""
    if response.kind == Response.Kind.REVIEW:
        parent_id: Any = str(response.review_id)
    elif response.release_id is not None:
        parent_id = f"release:{response.release_id}"
    else:
        parent_id = response.access_request_id
    body: dict[str, Any] = {
        "_id": str(response.pk),
        "id": str(response.pk),
        "entity": response.entity,
        "kind": response.kind,
        "parentId": parent_id,
        "comment": response.comment,
        "reactions": [
            {"kind": r["kind"], "users": list(r["users"])} for r in response.reactions or []
        ],
        "createdAt": _iso(response.created_at),
        "updatedAt": _iso(response.updated_at),
    }
    if response.kind == Response.Kind.REVIEW:
        body["role"] = response.role
        body["decision"] = response.decision
    if response.comment_edited_at is not None:
        body["commentEditedAt"] = _iso(response.comment_edited_at)
    return body


def review_json(review: Review, decision: str | None = None) -> dict[str, Any]:
    """A review as Bailo's API gives it, with its computed ``status`` (the latest decision, or
    null) and its ``responses``. Expects ``responses`` prefetched in creation order."""
    responses = [r for r in review.responses.all() if r.deleted_at is None]
    if decision is None:
        decision = latest_decisions([review])[review.pk]
    body: dict[str, Any] = {
        "_id": str(review.pk),
        "id": str(review.pk),
        "kind": review.kind,
        "modelId": review.model_id,
        "role": review.role,
        "status": decision,
        "responses": [response_json(r) for r in responses],
        "createdAt": _iso(review.created_at),
        "updatedAt": _iso(review.updated_at),
    }
    if review.kind == ReviewKind.RELEASE and review.release is not None:
        body["semver"] = review.release.semver
    if review.kind == ReviewKind.ACCESS:
        body["accessRequestId"] = review.access_request_id
    if review.kind == ReviewKind.LIFECYCLE:
        body["dueDate"] = _iso(review.due_date)
    return body


def reviews_json(reviews: Iterable[Review]) -> list[dict[str, Any]]:
    reviews = list(reviews)
    decisions = latest_decisions(reviews)
    return [review_json(r, decisions[r.pk]) for r in reviews]


def reviews_with_subjects(qs: QuerySet[Review]) -> QuerySet[Review]:
    """``qs`` with entries, subjects and responses loaded (for JSON and pages)."""
    return _with_subjects(qs)


# --- the review panel ---------------------------------------------------------------------------


@dataclass
class PanelRole:
    """One review in the panel: its role, its state and, for holders, their form."""

    review: Review
    role_name: str
    state: str | None
    state_label: str
    can_respond: bool
    error: str = ""
    comment: str = ""


@dataclass
class PanelEntry:
    """One line of the conversation: a decision or a comment, who and when."""

    response: Response
    who: Person
    when: datetime
    is_decision: bool
    label: str
    reactions: list[PanelReaction] = field(default_factory=list)


# Reaction kinds in the order the panel offers them, with what a screen shows and says.
REACTIONS = (
    ("like", "👍", "Like"),
    ("dislike", "👎", "Dislike"),
    ("celebrate", "🎉", "Celebrate"),
    ("heart", "❤️", "Heart"),
)


@dataclass(frozen=True)
class PanelReaction:
    """One reaction kind on one response: how many chose it, who, and whether the viewer did."""

    kind: str
    emoji: str
    label: str
    users: tuple[str, ...]
    mine: bool
    names: tuple[str, ...] = ()


def panel_reactions(
    response: Response, viewer: str, people: dict[str, Person] | None = None
) -> list[PanelReaction]:
    """Each reaction kind; ``people`` (by ``user:`` code) turns usernames into display names."""
    chosen = {r.get("kind"): tuple(r.get("users") or ()) for r in response.reactions or []}
    known = people or {}

    def name(username: str) -> str:
        found = known.get(f"user:{username}")
        return found.name if found is not None else username

    return [
        PanelReaction(
            kind,
            emoji,
            label,
            chosen.get(kind, ()),
            viewer in chosen.get(kind, ()),
            tuple(name(u) for u in chosen.get(kind, ())),
        )
        for kind, emoji, label in REACTIONS
    ]


def response_get_visible(actor: Actor, response_id: str) -> Response:
    """A live response whose entry, release or access request the actor can see (404 else)."""
    if not (response_id.isascii() and response_id.isdigit()):
        raise NotFound(f"Response {response_id} not found", {"responseId": response_id})
    response = (
        Response.objects.filter(pk=int(response_id))
        .select_related("review", "release", "access_request")
        .first()
    )
    model_id = None
    if response is not None:
        if response.review is not None and response.review.deleted_at is None:
            model_id = response.review.model_id
        elif response.release is not None and response.release.deleted_at is None:
            model_id = response.release.model_id
        elif response.access_request is not None and response.access_request.deleted_at is None:
            model_id = response.access_request.model_id
    if model_id is None or not visible_to(actor).filter(pk=model_id).exists():
        raise NotFound(f"Response {response_id} not found", {"responseId": response_id})
    assert response is not None
    if response.release is not None and response.release.draft:
        model = Model.objects.get(pk=model_id)
        if not allowed(actor, Action.RELEASE_VIEW_DRAFT, model):
            raise NotFound(f"Response {response_id} not found", {"responseId": response_id})
    return response


@dataclass
class ReviewPanel:
    """What ``templates/reviews/_review_panel.html`` renders (and ``_review_banner.html`` at the
    top of the page: the reviews waiting for this viewer, and for owners the roles nobody on the
    entry holds)."""

    model: Model
    roles: list[PanelRole]
    conversation: list[PanelEntry]
    outcome: str
    outcome_label: str
    comment_url: str
    return_url: str
    can_comment: bool
    # Owners and contributors may ask a role's holders again (Bailo's "Request re-review").
    can_notify: bool = False
    comment_error: str = ""
    comment: str = ""
    unheld: list[str] = field(default_factory=list)
    can_manage_roles: bool = False

    @property
    def needs_you(self) -> list[PanelRole]:
        """The reviews this viewer may answer that nobody has decided yet."""
        return [role for role in self.roles if role.can_respond and role.state is None]

    def show_error(self, *, review_pk: int | None, message: str, comment: str = "") -> None:
        """Put a refusal beside the form it is about (a review's form, else the comment form)."""
        for role in self.roles:
            if role.review.pk == review_pk:
                role.error, role.comment = message, comment
                return
        self.comment_error, self.comment = message, comment


def role_display_names() -> dict[str, str]:
    return dict(ReviewRole.objects.values_list("short_name", "name"))


def review_panel(
    *,
    actor: Actor,
    model: Model,
    release: Release | None = None,
    access_request: AccessRequestSubject | None = None,
    comment_url: str,
    return_url: str,
) -> ReviewPanel:
    """The panel of one release or access request: each role's state, the conversation in order
    (decisions and comments), and which forms this actor gets. Four queries: reviews,
    their responses, comments and the names of everyone shown."""
    subject: dict[str, Any] = (
        {"release": release} if release is not None else {"access_request": access_request}
    )
    reviews = list(
        Review.objects.filter(**subject)
        .prefetch_related(Prefetch("responses", queryset=Response.objects.select_related("user")))
        .order_by("role")
    )
    decisions = latest_decisions(reviews)
    names = role_display_names()
    roles = [
        PanelRole(
            review=review,
            role_name=names.get(review.role, review.role),
            state=decisions[review.pk],
            state_label=STATE_LABELS[decisions[review.pk]],
            can_respond=allowed(actor, Action.REVIEW_RESPOND, model, Subject(role=review.role)),
        )
        for review in reviews
    ]
    items: list[Response] = [r for review in reviews for r in review.responses.all()]
    items += list(Response.objects.filter(kind=Response.Kind.COMMENT, **subject))
    items.sort(key=lambda r: (r.created_at, r.pk))
    role_of = {review.pk: names.get(review.role, review.role) for review in reviews}
    viewer = actor.user.get_username() if actor.user.is_authenticated else ""
    # Everyone the conversation shows (authors and those who reacted), named in one query.
    people = people_named(
        [r.entity for r in items]
        + [f"user:{u}" for r in items for x in r.reactions or [] for u in x.get("users") or []]
    )
    conversation = [
        PanelEntry(
            response=r,
            who=people.get(r.entity) or Person(r.entity, "", r.entity, known=False),
            when=r.created_at,
            is_decision=r.kind == Response.Kind.REVIEW,
            label=(
                f"{DECISION_LABELS.get(r.decision, r.decision)}"
                f" as {role_of.get(r.review_id or 0, r.role)}"
                if r.kind == Response.Kind.REVIEW
                else "Commented"
            ),
            reactions=panel_reactions(r, viewer, people),
        )
        for r in items
    ]
    # An access request also waits for roles its schema names that nobody has defined yet.
    schema = getattr(access_request, "schema", None)
    owed = undefined_review_roles(schema.review_roles) if schema is not None else []
    result = outcome(reviews, owed=owed)
    owed_roles = [review.role for review in reviews] + owed
    return ReviewPanel(
        model=model,
        roles=roles,
        conversation=conversation,
        outcome=result,
        outcome_label=OUTCOME_LABELS[result],
        comment_url=comment_url,
        return_url=return_url,
        can_comment=allowed(actor, Action.COMMENT_ADD, model),
        can_notify=allowed(actor, Action.MODEL_EDIT_CARD, model),
        unheld=[names.get(r, r) for r in unheld_review_roles(model=model, roles=owed_roles)],
        can_manage_roles=allowed(actor, Action.MODEL_EDIT_SETTINGS, model),
    )


def unheld_review_roles(*, model: Model, roles: Iterable[str]) -> list[str]:
    """The roles among ``roles`` that no collaborator of ``model`` holds (short names, in the
    order given): a review owed to one of them can never be answered until an owner adds
    someone."""
    wanted = list(dict.fromkeys(roles))
    held = set(
        Collaborator.objects.filter(model=model, role__in=wanted).values_list("role", flat=True)
    )
    return [role for role in wanted if role not in held]


def unheld_roles_warning(*, model: Model, roles: Iterable[str]) -> str:
    """The warning an owner gets when a release or access request owes a review to roles that
    nobody on the entry holds ("" when every role has a holder)."""
    unheld = unheld_review_roles(model=model, roles=roles)
    if not unheld:
        return ""
    names = role_display_names()
    listed = ", ".join(f"{names.get(r, r)} ({r})" for r in unheld)
    return (
        f"Nobody on this model holds the review role {listed}, so its review cannot be "
        "answered: an owner can add someone with that role in the model's settings."
    )


def release_review_roles(release: Release) -> list[str]:
    """The review roles a release's card schema names (what a published, non-minor release
    owes)."""
    card = (
        ModelCardRevision.all_objects.filter(
            model_id=release.model_id, version=release.model_card_version, mirrored=False
        )
        .select_related("schema")
        .first()
    )
    return list(card.schema.review_roles) if card is not None else []


def release_unheld_roles_warnings(model: Model, release: Release) -> list[str]:
    """``releases.pages.RELEASE_CREATED_WARNINGS`` entry: the unheld-roles warning for the
    reviews a new release owes (drafts and minor releases owe none yet)."""
    if release.draft or release.is_minor:
        return []
    warning = unheld_roles_warning(model=model, roles=release_review_roles(release))
    return [warning] if warning else []


def reviewer_may_download(roles: frozenset[str], model: Model, subject: Subject) -> bool:
    """``models_app.policy.REVIEWER_DOWNLOAD_GRANTS`` entry: a holder of a role that a live
    release of ``model`` owes a review may download that release's files. Whether the review is
    answered does not matter: a reviewer may look again after deciding."""
    reviews = Review.objects.filter(
        model=model,
        kind=ReviewKind.RELEASE,
        role__in=roles,
        release__deleted_at__isnull=True,
        release__draft=False,
    )
    if subject.release is not None:
        reviews = reviews.filter(release_id=subject.release)
    if subject.file:
        reviews = reviews.filter(release__files__id=subject.file)
    return reviews.exists()


def release_review_states(releases: Iterable[Release]) -> dict[Any, tuple[str, str]]:
    """``releases.pages.RELEASE_LIST_STATES`` entry: each release's review outcome (state and
    label) for the releases that owe reviews. Two queries whatever the number of releases."""
    ids = [release.pk for release in releases]
    by_release: dict[Any, list[Review]] = {}
    for review in Review.objects.filter(release_id__in=ids).prefetch_related("responses"):
        by_release.setdefault(review.release_id, []).append(review)
    states: dict[Any, tuple[str, str]] = {}
    for release_id, reviews in by_release.items():
        result = outcome(reviews)
        states[release_id] = (result, OUTCOME_LABELS[result])
    return states
