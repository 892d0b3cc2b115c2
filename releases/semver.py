"""Semantic versions (semver 2.0.0) and npm-style version ranges, written for releases.

``parse_version`` accepts ``MAJOR.MINOR.PATCH[-prerelease][+build]`` with an optional leading
``v``; versions order by semver precedence (numbers numerically, a pre-release below its release,
build metadata ignored). ``parse_range`` accepts what npm's ``semver.satisfies`` does for the
queries people write: ``1.2.3``, ``=1.2.3``, ``>=2 <3``, ``^1.2``, ``~1.2.3``, ``1.x``, ``1.2.*``,
``*``, ``1.2.3 - 2.0.0`` and unions with ``||``. Like npm, a pre-release version only satisfies a
range when a comparator of the same set names a pre-release of the same ``MAJOR.MINOR.PATCH``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import total_ordering

# Version numbers are stored in PositiveIntegerField columns (32-bit signed in PostgreSQL).
MAX_NUMBER = 2_147_483_647
MAX_LENGTH = 100

_NUMBER = r"0|[1-9]\d*"
_PRE_ID = r"0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*"
_BUILD_ID = r"[0-9A-Za-z-]+"
_VERSION_RE = re.compile(
    rf"^(?P<major>{_NUMBER})\.(?P<minor>{_NUMBER})\.(?P<patch>{_NUMBER})"
    rf"(?:-(?P<pre>(?:{_PRE_ID})(?:\.(?:{_PRE_ID}))*))?"
    rf"(?:\+(?P<build>{_BUILD_ID}(?:\.{_BUILD_ID})*))?$"
)


class SemverError(ValueError):
    """A version or range that does not parse; the message says why, for users."""


PrereleaseId = int | str


def _pre_key(identifier: PrereleaseId) -> tuple[int, int, str]:
    # Numeric identifiers sort numerically and below alphanumeric ones (semver 2.0.0, rule 11).
    if isinstance(identifier, int):
        return (0, identifier, "")
    return (1, 0, identifier)


@total_ordering
@dataclass(frozen=True, eq=False)
class Version:
    """One semantic version. Equality and order follow precedence, so build metadata is
    ignored: ``1.0.0+a == 1.0.0+b``."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[PrereleaseId, ...] = ()
    build: tuple[str, ...] = field(default=())

    @property
    def key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        """A sort key: a release (no pre-release) sorts above all of its pre-releases."""
        return (
            self.major,
            self.minor,
            self.patch,
            0 if self.prerelease else 1,
            tuple(_pre_key(p) for p in self.prerelease),
        )

    @property
    def core(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def release(self) -> Version:
        """This version without pre-release and build parts."""
        return Version(self.major, self.minor, self.patch)

    @property
    def prerelease_text(self) -> str:
        return ".".join(str(p) for p in self.prerelease)

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + self.prerelease_text
        if self.build:
            text += "+" + ".".join(self.build)
        return text

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.key == other.key

    def __lt__(self, other: Version) -> bool:
        return self.key < other.key

    def __hash__(self) -> int:
        return hash(self.key)


def _number(text: str, label: str, raw: str) -> int:
    value = int(text)
    if value > MAX_NUMBER:
        raise SemverError(f"The {label} number of '{raw}' is larger than {MAX_NUMBER}")
    return value


def _prerelease(text: str | None) -> tuple[PrereleaseId, ...]:
    if not text:
        return ()
    return tuple(int(p) if p.isdigit() else p for p in text.split("."))


def parse_version(raw: object) -> Version:
    """Parse ``raw`` (surrounding spaces and one leading ``v`` allowed) or raise ``SemverError``."""
    if raw is None:
        raise SemverError("A version is required, such as 1.2.3")
    if not isinstance(raw, str):
        raise SemverError("A version must be a string such as 1.2.3")
    text = raw.strip()
    if text.startswith("v"):
        text = text[1:]
    if not text:
        raise SemverError("A version is required, such as 1.2.3")
    if len(text) > MAX_LENGTH:
        raise SemverError(f"A version must be at most {MAX_LENGTH} characters")
    match = _VERSION_RE.match(text)
    if match is None:
        raise SemverError(
            f"'{raw}' is not a valid semantic version: use MAJOR.MINOR.PATCH with optional "
            "-prerelease and +build parts (such as 1.2.3, 2.0.0-rc.1 or 1.0.0+build.5), "
            "numbers without leading zeros"
        )
    build = match["build"]
    return Version(
        major=_number(match["major"], "major", raw),
        minor=_number(match["minor"], "minor", raw),
        patch=_number(match["patch"], "patch", raw),
        prerelease=_prerelease(match["pre"]),
        build=tuple(build.split(".")) if build else (),
    )


def is_valid(raw: object) -> bool:
    try:
        parse_version(raw)
    except SemverError:
        return False
    return True


def sort_key(raw: str) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
    """The precedence key of a stored (already valid) version string."""
    return parse_version(raw).key


# --- ranges -----------------------------------------------------------------------------------

_OPERATORS = ("<=", ">=", "<", ">", "=")
_WILDCARDS = frozenset({"x", "X", "*"})
_PARTIAL_RE = re.compile(
    r"^v?(?P<major>0|[1-9]\d*|[xX*])"
    r"(?:\.(?P<minor>0|[1-9]\d*|[xX*])"
    r"(?:\.(?P<patch>0|[1-9]\d*|[xX*])"
    rf"(?:-(?P<pre>(?:{_PRE_ID})(?:\.(?:{_PRE_ID}))*))?"
    rf"(?:\+(?P<build>{_BUILD_ID}(?:\.{_BUILD_ID})*))?"
    r")?)?$"
)


@dataclass(frozen=True)
class Comparator:
    """``operator version``; operator is one of ``<``, ``<=``, ``>``, ``>=``, ``=``."""

    operator: str
    version: Version

    def test(self, version: Version) -> bool:
        if self.operator == "<":
            return version < self.version
        if self.operator == "<=":
            return version <= self.version
        if self.operator == ">":
            return version > self.version
        if self.operator == ">=":
            return version >= self.version
        return version == self.version

    def __str__(self) -> str:
        return f"{'' if self.operator == '=' else self.operator}{self.version}"


@dataclass(frozen=True)
class _Partial:
    """A version with trailing parts possibly missing (``None``) or wild."""

    major: int | None
    minor: int | None
    patch: int | None
    prerelease: tuple[PrereleaseId, ...] = ()

    def floor(self) -> Version:
        return Version(self.major or 0, self.minor or 0, self.patch or 0, self.prerelease)


def _v(major: int, minor: int, patch: int, pre: tuple[PrereleaseId, ...] = ()) -> Version:
    return Version(major, minor, patch, pre)


# The lowest version of a line: ``<2.0.0-0`` keeps 2.0.0's pre-releases out, as npm does.
_LOWEST: tuple[PrereleaseId, ...] = (0,)
# A set that nothing satisfies (npm's ``<0.0.0-0``).
_NOTHING = [Comparator("<", _v(0, 0, 0, _LOWEST))]


def _parse_partial(text: str, whole: str) -> _Partial:
    match = _PARTIAL_RE.match(text)
    if match is None:
        raise SemverError(f"'{text}' in the range '{whole}' is not a version or version pattern")

    def part(name: str) -> int | None:
        value = match[name]
        if value is None or value in _WILDCARDS:
            return None
        return _number(value, name, text)

    major, minor, patch = part("major"), part("minor"), part("patch")
    # Everything after the first wildcard is wild too: ``1.x.3`` means ``1.x``.
    if major is None:
        minor = patch = None
    if minor is None:
        patch = None
    pre = _prerelease(match["pre"]) if patch is not None else ()
    return _Partial(major, minor, patch, pre)


def _tilde(p: _Partial) -> list[Comparator]:
    if p.major is None:
        return []
    if p.minor is None:
        return [Comparator(">=", p.floor()), Comparator("<", _v(p.major + 1, 0, 0, _LOWEST))]
    return [Comparator(">=", p.floor()), Comparator("<", _v(p.major, p.minor + 1, 0, _LOWEST))]


def _caret(p: _Partial) -> list[Comparator]:
    if p.major is None:
        return []
    low = Comparator(">=", p.floor())
    if p.major > 0 or p.minor is None:
        return [low, Comparator("<", _v(p.major + 1, 0, 0, _LOWEST))]
    if p.minor > 0 or p.patch is None:
        return [low, Comparator("<", _v(0, p.minor + 1, 0, _LOWEST))]
    return [low, Comparator("<", _v(0, 0, p.patch + 1, _LOWEST))]


def _next_line(p: _Partial) -> Version:
    """The first version above the line a partial names (``1`` → 2.0.0-0, ``1.2`` → 1.3.0-0)."""
    assert p.major is not None
    if p.minor is None:
        return _v(p.major + 1, 0, 0, _LOWEST)
    return _v(p.major, p.minor + 1, 0, _LOWEST)


def _primitive(operator: str, p: _Partial) -> list[Comparator]:
    complete = p.patch is not None
    if complete:
        return [Comparator(operator, p.floor())]
    if p.major is None:  # ``*`` with an operator
        return _NOTHING if operator in ("<", ">") else []
    if operator == "=":
        return [Comparator(">=", p.floor()), Comparator("<", _next_line(p))]
    if operator == ">":
        return [Comparator(">=", _next_line(p).release())]
    if operator == ">=":
        return [Comparator(">=", p.floor())]
    if operator == "<":
        return [Comparator("<", _v(*p.floor().core, _LOWEST))]
    return [Comparator("<", _next_line(p))]  # "<="


def _simple(token: str, whole: str) -> list[Comparator]:
    if token.startswith("~>"):
        return _tilde(_parse_partial(token[2:], whole))
    if token.startswith("~"):
        return _tilde(_parse_partial(token[1:], whole))
    if token.startswith("^"):
        return _caret(_parse_partial(token[1:], whole))
    for operator in _OPERATORS:
        if token.startswith(operator):
            rest = token[len(operator) :]
            return _primitive(operator, _parse_partial(rest, whole))
    return _primitive("=", _parse_partial(token, whole))


def _hyphen(low_text: str, high_text: str, whole: str) -> list[Comparator]:
    low, high = _parse_partial(low_text, whole), _parse_partial(high_text, whole)
    result: list[Comparator] = []
    if low.major is not None:
        result.append(Comparator(">=", low.floor()))
    if high.major is None:
        return result
    if high.patch is not None:
        result.append(Comparator("<=", high.floor()))
    else:
        result.append(Comparator("<", _next_line(high)))
    return result


_HYPHEN_RE = re.compile(r"^(?P<low>\S+)\s+-\s+(?P<high>\S+)$")
# npm allows a space between an operator and its version: ``>= 1.2``.
_OPERATOR_SPACE_RE = re.compile(r"(<=|>=|<|>|=|~>|~|\^)\s+")


def _comparator_set(text: str, whole: str) -> list[Comparator]:
    text = text.strip()
    hyphen = _HYPHEN_RE.match(text)
    if hyphen:
        return _hyphen(hyphen["low"], hyphen["high"], whole)
    text = _OPERATOR_SPACE_RE.sub(r"\1", text)
    comparators: list[Comparator] = []
    for token in text.split():
        comparators.extend(_simple(token, whole))
    return comparators


@dataclass(frozen=True)
class Range:
    """A union (``||``) of comparator sets; an empty set matches every release."""

    sets: tuple[tuple[Comparator, ...], ...]
    text: str = ""

    def contains(self, version: Version) -> bool:
        return any(_test_set(s, version) for s in self.sets)

    def __contains__(self, version: Version) -> bool:
        return self.contains(version)

    def __str__(self) -> str:
        return " || ".join(" ".join(str(c) for c in s) or "*" for s in self.sets)


def _test_set(comparators: tuple[Comparator, ...], version: Version) -> bool:
    if not all(c.test(version) for c in comparators):
        return False
    if not version.prerelease:
        return True
    # A pre-release only matches when the range itself names a pre-release of the same version,
    # so ``^1.2.3`` never offers 1.3.0-beta by surprise.
    return any(c.version.prerelease and c.version.core == version.core for c in comparators)


MAX_RANGE_LENGTH = 256


def parse_range(raw: object) -> Range:
    """Parse an npm-style range or raise ``SemverError``."""
    if not isinstance(raw, str):
        raise SemverError("A version range must be a string such as ^1.2 or >=2 <3")
    if len(raw) > MAX_RANGE_LENGTH:
        raise SemverError(f"A version range must be at most {MAX_RANGE_LENGTH} characters")
    sets = tuple(tuple(_comparator_set(part, raw)) for part in raw.split("||"))
    return Range(sets=sets, text=raw)


def satisfies(version: str | Version, range_text: str | Range) -> bool:
    v = version if isinstance(version, Version) else parse_version(version)
    r = range_text if isinstance(range_text, Range) else parse_range(range_text)
    return r.contains(v)
