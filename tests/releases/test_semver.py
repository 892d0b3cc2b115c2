"""Semantic versions and npm-style ranges: examples from the specs, then properties checked on
many random versions against small reference definitions written here independently."""

from __future__ import annotations

import random
from functools import cmp_to_key

import pytest

from releases.semver import SemverError, Version, parse_range, parse_version, satisfies

RUNS = 2_000


def random_version(rng: random.Random, *, prerelease: bool = True) -> str:
    text = f"{rng.randint(0, 4)}.{rng.randint(0, 4)}.{rng.randint(0, 12)}"
    if prerelease and rng.random() < 0.35:
        ids = [
            rng.choice([str(rng.randint(0, 12)), "alpha", "beta", "rc", "x-1", "0a"])
            for _ in range(rng.randint(1, 3))
        ]
        text += "-" + ".".join(ids)
    if rng.random() < 0.15:
        text += "+build." + str(rng.randint(0, 99)).zfill(3)
    return text


def reference_compare(a: str, b: str) -> int:
    """Semver 2.0.0 precedence (rule 11), written from the spec with plain string handling."""

    def split(text: str) -> tuple[list[int], list[str]]:
        text = text.split("+", 1)[0]
        core, _, pre = text.partition("-")
        return [int(n) for n in core.split(".")], (pre.split(".") if pre else [])

    (core_a, pre_a), (core_b, pre_b) = split(a), split(b)
    if core_a != core_b:
        return -1 if core_a < core_b else 1
    if not pre_a or not pre_b:
        return (len(pre_b) > 0) - (len(pre_a) > 0)  # a release outranks its pre-releases
    for x, y in zip(pre_a, pre_b, strict=False):
        if x == y:
            continue
        if x.isdigit() and y.isdigit():
            return -1 if int(x) < int(y) else 1
        if x.isdigit() != y.isdigit():
            return -1 if x.isdigit() else 1  # numeric identifiers rank lower
        return -1 if x < y else 1
    return (len(pre_a) > len(pre_b)) - (len(pre_a) < len(pre_b))


def core(text: str) -> tuple[int, int, int]:
    v = parse_version(text)
    return (v.major, v.minor, v.patch)


# --- versions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.2.3", "1.2.3"),
        ("v1.2.3", "1.2.3"),
        ("  v0.0.0 ", "0.0.0"),
        ("10.20.30", "10.20.30"),
        ("1.0.0-alpha.1", "1.0.0-alpha.1"),
        ("1.0.0-0.3.7", "1.0.0-0.3.7"),
        ("1.0.0-x-y-z.--", "1.0.0-x-y-z.--"),
        ("1.0.0+20130313144700", "1.0.0+20130313144700"),
        ("v1.0.0-beta+exp.sha.5114f85", "1.0.0-beta+exp.sha.5114f85"),
        ("1.0.0+build.001", "1.0.0+build.001"),
    ],
)
def test_valid_versions_parse_and_print_without_the_leading_v(text: str, expected: str) -> None:
    assert str(parse_version(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "v",
        "1",
        "1.2",
        "1.2.3.4",
        "01.2.3",
        "1.02.3",
        "1.2.03",
        "1.2.3-",
        "1.2.3-01",
        "1.2.3-alpha..1",
        "1.2.3+",
        "1.2.3+build..1",
        "a.b.c",
        "-1.2.3",
        "1.2.3 4",
        "vv1.2.3",
        "1.2.3-beta!",
        "99999999999.0.0",
        "1.0.0-" + "a" * 100,
    ],
)
def test_invalid_versions_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(SemverError) as refused:
        parse_version(text)
    assert str(refused.value)


def test_non_strings_are_not_versions() -> None:
    for value in (None, 1, 1.2, ["1.2.3"]):
        with pytest.raises(SemverError):
            parse_version(value)


def test_the_specs_precedence_example_is_in_order() -> None:
    chain = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.9.0",
        "1.10.0",
        "2.0.0",
    ]
    shuffled = chain[::-1]
    random.Random(3).shuffle(shuffled)
    assert sorted(shuffled, key=lambda s: parse_version(s).key) == chain


def test_build_metadata_does_not_change_precedence() -> None:
    assert parse_version("1.0.0+a") == parse_version("1.0.0+b")
    assert hash(parse_version("1.0.0+a")) == hash(parse_version("v1.0.0"))
    assert parse_version("1.0.0-rc.1+a") < parse_version("1.0.0+b")


def test_printing_then_parsing_any_version_gives_it_back() -> None:
    rng = random.Random(11)
    for _ in range(RUNS):
        text = random_version(rng)
        version = parse_version(text)
        assert str(version) == text
        again = parse_version("v" + str(version))
        assert again == version
        assert again.build == version.build


def test_ordering_agrees_with_the_specs_rule_on_random_pairs() -> None:
    rng = random.Random(12)
    for _ in range(RUNS):
        a, b = random_version(rng), random_version(rng)
        expected = reference_compare(a, b)
        va, vb = parse_version(a), parse_version(b)
        assert (va < vb, va == vb, va > vb) == (expected < 0, expected == 0, expected > 0), (a, b)


def test_sorting_random_versions_matches_the_reference_sort() -> None:
    rng = random.Random(13)
    versions = [random_version(rng) for _ in range(300)]
    ours = [str(v) for v in sorted(parse_version(t) for t in versions)]
    reference = sorted(versions, key=cmp_to_key(reference_compare))
    assert [parse_version(t) for t in ours] == [parse_version(t) for t in reference]


def test_numbers_order_numerically_not_as_text() -> None:
    assert parse_version("1.10.0") > parse_version("1.9.0")
    assert parse_version("10.0.0") > parse_version("9.99.99")
    assert parse_version("1.0.0-rc.10") > parse_version("1.0.0-rc.9")


# --- ranges: npm's documented desugaring --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.2.3 - 2.3.4", ">=1.2.3 <=2.3.4"),
        ("1.2 - 2.3.4", ">=1.2.0 <=2.3.4"),
        ("1.2.3 - 2.3", ">=1.2.3 <2.4.0-0"),
        ("1.2.3 - 2", ">=1.2.3 <3.0.0-0"),
        ("*", "*"),
        ("", "*"),
        ("1.x", ">=1.0.0 <2.0.0-0"),
        ("1.2.x", ">=1.2.0 <1.3.0-0"),
        ("1", ">=1.0.0 <2.0.0-0"),
        ("1.2", ">=1.2.0 <1.3.0-0"),
        ("~1.2.3", ">=1.2.3 <1.3.0-0"),
        ("~1.2", ">=1.2.0 <1.3.0-0"),
        ("~1", ">=1.0.0 <2.0.0-0"),
        ("~0.2.3", ">=0.2.3 <0.3.0-0"),
        ("~0.2", ">=0.2.0 <0.3.0-0"),
        ("~0", ">=0.0.0 <1.0.0-0"),
        ("~1.2.3-beta.2", ">=1.2.3-beta.2 <1.3.0-0"),
        ("^1.2.3", ">=1.2.3 <2.0.0-0"),
        ("^0.2.3", ">=0.2.3 <0.3.0-0"),
        ("^0.0.3", ">=0.0.3 <0.0.4-0"),
        ("^1.2.3-beta.2", ">=1.2.3-beta.2 <2.0.0-0"),
        ("^0.0.3-beta", ">=0.0.3-beta <0.0.4-0"),
        ("^1.2.x", ">=1.2.0 <2.0.0-0"),
        ("^0.0.x", ">=0.0.0 <0.1.0-0"),
        ("^0.0", ">=0.0.0 <0.1.0-0"),
        ("^1.x", ">=1.0.0 <2.0.0-0"),
        ("^0.x", ">=0.0.0 <1.0.0-0"),
        ("^1.2", ">=1.2.0 <2.0.0-0"),
        (">=2 <3", ">=2.0.0 <3.0.0-0"),
        (">= 1.2 <  2", ">=1.2.0 <2.0.0-0"),
        (">1.2", ">=1.3.0"),
        (">1", ">=2.0.0"),
        ("<=1.2", "<1.3.0-0"),
        ("<1.2", "<1.2.0-0"),
        ("=v1.2.3", "1.2.3"),
        ("~>1.2", ">=1.2.0 <1.3.0-0"),
        ("^1.2 || >=3", ">=1.2.0 <2.0.0-0 || >=3.0.0"),
    ],
)
def test_ranges_mean_what_npm_documents(text: str, expected: str) -> None:
    assert str(parse_range(text)) == expected


@pytest.mark.parametrize(
    "text",
    ["^", "~", ">=", "1.2.3 garbage", ">>1", "1.2.3.4", "a || b", "~x.y", "^1.2.3-01", "1 - 2 - 3"],
)
def test_malformed_ranges_are_refused(text: str) -> None:
    with pytest.raises(SemverError):
        parse_range(text)


# --- ranges: properties on random versions ------------------------------------------------------


def releases(seed: int) -> list[str]:
    rng = random.Random(seed)
    return [random_version(rng, prerelease=False) for _ in range(RUNS)]


def test_caret_keeps_the_left_most_non_zero_number() -> None:
    rng = random.Random(21)
    for text in releases(22):
        base = (rng.randint(0, 2), rng.randint(0, 2), rng.randint(0, 6))
        if base[0] > 0:
            upper = (base[0] + 1, 0, 0)
        elif base[1] > 0:
            upper = (0, base[1] + 1, 0)
        else:
            upper = (0, 0, base[2] + 1)
        expected = base <= core(text) < upper
        assert satisfies(text, "^{}.{}.{}".format(*base)) == expected, (text, base)


def test_tilde_allows_patch_changes_only() -> None:
    rng = random.Random(23)
    for text in releases(24):
        base = (rng.randint(0, 4), rng.randint(0, 4), rng.randint(0, 12))
        expected = base <= core(text) < (base[0], base[1] + 1, 0)
        assert satisfies(text, "~{}.{}.{}".format(*base)) == expected, (text, base)


def test_x_ranges_fix_the_numbers_given() -> None:
    rng = random.Random(25)
    for text in releases(26):
        major, minor = rng.randint(0, 4), rng.randint(0, 4)
        v = core(text)
        assert satisfies(text, f"{major}.x") == (v[0] == major)
        assert satisfies(text, f"{major}.{minor}.*") == (v[:2] == (major, minor))
        assert satisfies(text, f"{major}") == (v[0] == major)
        assert satisfies(text, "*")


def test_comparator_sets_are_intersections_and_bars_are_unions() -> None:
    rng = random.Random(27)
    for text in releases(28):
        low = parse_version(random_version(rng, prerelease=False))
        high = parse_version(random_version(rng, prerelease=False))
        v = parse_version(text)
        assert satisfies(v, f">={low} <{high}") == (low <= v < high)
        assert satisfies(v, f">{low} <={high}") == (low < v <= high)
        assert satisfies(v, f"{low} - {high}") == (low <= v <= high)
        assert satisfies(v, f"<{low} || >{high}") == (v < low or v > high)
        assert satisfies(v, f"={low}") == (v == low)


def test_pre_releases_match_only_when_the_range_names_one_of_the_same_version() -> None:
    assert satisfies("1.2.3-beta.3", "^1.2.3-beta.2")
    assert not satisfies("1.2.3-beta.1", "^1.2.3-beta.2")
    assert not satisfies("1.2.4-beta.1", "^1.2.3-beta.2")
    assert satisfies("1.2.4", "^1.2.3-beta.2")
    assert not satisfies("2.0.0-rc.1", "^1.0.0")
    assert not satisfies("2.0.0-rc.1", "<2")
    assert not satisfies("1.0.0-rc.1", "*")
    assert satisfies("1.0.0-rc.1", ">=1.0.0-0")
    rng = random.Random(29)
    for _ in range(RUNS):
        text = random_version(rng)
        v = parse_version(text)
        if v.prerelease:
            assert not satisfies(v, ">=0.0.0"), text
            assert satisfies(v, f">={v.release()}-0 <={v.release()}"), text


def test_a_version_satisfies_its_own_caret_tilde_and_exact_ranges() -> None:
    rng = random.Random(31)
    for _ in range(RUNS):
        v = parse_version(random_version(rng))
        for text in (f"^{v}", f"~{v}", f"{v}", f"={v}", f"{v} - {v}", f">={v}", f"<={v}"):
            assert satisfies(v, text), (str(v), text)


def test_versions_parse_as_their_own_objects() -> None:
    assert isinstance(parse_version("1.0.0"), Version)
