"""Extension points: how a lower layer lets the layers above plug into it.

The house stands in floors and imports only run downwards. When a lower layer must reach
something above it (the files feature asking the scanners to look at a new upload, the entry page
showing a tab that the releases feature provides), the lower layer declares a ``Hook`` or a
``Slots`` and the layer above registers into it, always from its ``AppConfig.ready()``. So every
plug-in of an app is listed in one place, its ``apps.py``, and runs in every process (web,
worker, beat) whatever URLs happen to load.

Registering twice is harmless: the hook keeps one of each, so a ``ready()`` that runs again (tests
re-creating the app registry) changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any, Generic, Protocol, TypeVar

from django.db import transaction

log = logging.getLogger(__name__)

F = TypeVar("F")


class Hook(Generic[F]):
    """An ordered set of callables (or of small objects with methods) that a lower layer calls
    at one moment.

    ``name`` says when it is called (for logs and errors); the layer that declares the hook
    decides what a failing callable means (most treat it as logged and not fatal).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._callables: list[F] = []

    def register(self, function: F) -> F:
        """Add ``function`` once; returns it, so it may be used as a decorator."""
        if function not in self._callables:
            self._callables.append(function)
        return function

    def unregister(self, function: F) -> None:
        """Take ``function`` out again (tests that plug in a probe for a while)."""
        if function in self._callables:
            self._callables.remove(function)

    def __iter__(self) -> Iterator[F]:
        # A copy: a callable may register another without upsetting this iteration.
        return iter(list(self._callables))

    def __len__(self) -> int:
        return len(self._callables)

    def __repr__(self) -> str:
        return f"Hook({self.name!r}, {len(self._callables)} registered)"


def fire_after_commit(hook: Hook[Callable[..., Any]], *args: Any) -> None:
    """Call every listener of ``hook`` with ``args`` once the current transaction has committed
    (at once when there is none), for events that follow a write: what listeners do must never
    see a write that is rolled back, and must never undo one that is committed. So a listener that
    fails is logged and the next one still runs."""

    def run() -> None:
        for listener in hook:
            try:
                listener(*args)
            except Exception:
                log.exception("%s listener %r failed", hook.name, listener)

    transaction.on_commit(run)


class Slotted(Protocol):
    @property
    def key(self) -> str: ...

    @property
    def order(self) -> int: ...


S = TypeVar("S", bound=Slotted)


class Slots(Generic[S]):
    """Items that a page lays out in order (tabs, settings sections), one per ``key``.

    Adding an item with a key already present replaces it, so a feature can restyle a slot it
    owns; items are kept sorted by ``order``.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._items: list[S] = []

    def add(self, item: S) -> S:
        kept = [i for i in self._items if i.key != item.key]
        self._items = sorted([*kept, item], key=lambda i: i.order)
        return item

    def __iter__(self) -> Iterator[S]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list[str]:
        return [i.key for i in self._items]

    def __repr__(self) -> str:
        return f"Slots({self.name!r}, {self.keys()})"
