"""The region code scheme: materialized paths of 6, 9, 12 and 15 digits."""

import pytest

from gridgov.regions import codes
from gridgov.regions.choices import RegionKind, RegionLevel

COUNTY, TOWN, VILLAGE, GRID = "420881", "420881100", "420881100201", "420881100201001"


@pytest.mark.parametrize(("code", "level"), [
    (COUNTY, RegionLevel.COUNTY), (TOWN, RegionLevel.TOWN), (VILLAGE, RegionLevel.VILLAGE), (GRID, RegionLevel.GRID),
])
def test_level_of(code, level):
    assert codes.level_of(code) == level
    assert isinstance(codes.level_of(code), int)


@pytest.mark.parametrize("code", [
    "", "4208", "42088", "4208811", "42088110", "4208811002", "42088110020", "4208811002010",
    "42088110020100", "4208811002010011", "42088a", "420881 ", " 420881", "４２０８８１", "-42088",
    None, 420881, ["420881"],
])
def test_level_of_rejects_malformed_codes(code):
    with pytest.raises(codes.CodeError, match="应为 6、9、12 或 15 位数字"):
        codes.level_of(code)


def test_code_error_is_a_value_error():
    assert issubclass(codes.CodeError, ValueError)


def test_parent_code():
    assert codes.parent_code(COUNTY) is None
    assert codes.parent_code(TOWN) == COUNTY
    assert codes.parent_code(VILLAGE) == TOWN
    assert codes.parent_code(GRID) == VILLAGE
    with pytest.raises(codes.CodeError):
        codes.parent_code("4208811")


def test_ancestor_codes_run_from_the_county_down_to_the_node():
    assert codes.ancestor_codes(COUNTY) == [COUNTY]
    assert codes.ancestor_codes(TOWN) == [COUNTY, TOWN]
    assert codes.ancestor_codes(GRID) == [COUNTY, TOWN, VILLAGE, GRID]
    # Each is a prefix of the next: a subtree is a prefix match.
    chain = codes.ancestor_codes(GRID)
    assert all(child.startswith(parent) for parent, child in zip(chain, chain[1:], strict=False))
    with pytest.raises(codes.CodeError):
        codes.ancestor_codes("x")


@pytest.mark.parametrize(("code", "kind"), [
    ("420881", RegionKind.COUNTY),
    ("420881001", RegionKind.STREET), ("420881099", RegionKind.STREET),
    ("420881100", RegionKind.TOWN), ("420881199", RegionKind.TOWN),
    ("420881200", RegionKind.TOWNSHIP), ("420881399", RegionKind.TOWNSHIP),
    ("420881100001", RegionKind.COMMUNITY), ("420881100199", RegionKind.COMMUNITY),
    ("420881100200", RegionKind.VILLAGE), ("420881100399", RegionKind.VILLAGE),
    ("420881100201001", RegionKind.GRID), ("420881100201999", RegionKind.GRID),
    ("420881001001500", RegionKind.GRID),
])
def test_kind_of_ranges(code, kind):
    assert codes.kind_of(code) == kind


@pytest.mark.parametrize(("code", "message"), [
    ("420800", "不是县级代码"),
    ("420000", "不是县级代码"),
    ("420881000", "乡镇街道代码“420881000”的后三位应在 001-399 之间"),
    ("420881400", "乡镇街道代码“420881400”的后三位应在 001-399 之间"),
    ("420881999", "乡镇街道代码“420881999”的后三位应在 001-399 之间"),
    ("420881100000", "村社区代码“420881100000”的后三位应在 001-399 之间"),
    ("420881100400", "村社区代码“420881100400”的后三位应在 001-399 之间"),
    ("420881100201000", "网格代码“420881100201000”的后三位应在 001-999 之间"),
    ("4208811", "应为 6、9、12 或 15 位数字"),
])
def test_kind_of_refuses_segments_outside_the_scheme(code, message):
    with pytest.raises(codes.CodeError, match=message):
        codes.kind_of(code)


@pytest.mark.parametrize(("code", "urban"), [
    (COUNTY, False), (TOWN, False), ("420881001", False),  # towns and streets are neither
    ("420881001001", True), ("420881100199", True),  # communities
    ("420881100200", False), ("420881100399", False),  # villages
    ("420881001001007", True), ("420881100201007", False),  # their grids
])
def test_is_urban(code, urban):
    assert codes.is_urban(code) is urban


def test_code_lengths_cover_every_level():
    assert codes.CODE_LENGTHS == {1: 6, 2: 9, 3: 12, 4: 15}
    assert codes.LEVEL_BY_LENGTH == {6: 1, 9: 2, 12: 3, 15: 4}


def test_trailing_newline_is_not_a_digit():
    with pytest.raises(codes.CodeError):
        codes.level_of("42088\n")
