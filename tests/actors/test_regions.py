"""The packaged GB/T 2260 regions and the in-memory region tree."""

from __future__ import annotations

import pytest

from carbonhub.actors import RegionTree, packaged_regions, sync_regions
from carbonhub.db import read_session, write_session
from carbonhub.errors import NotFound
from carbonhub.hub import Hub

PROVINCES = {"110000": "Beijing", "120000": "Tianjin", "310000": "Shanghai"}
REGIONS = packaged_regions()
DISTRICTS = [r for r in REGIONS if r.level == "district"]


@pytest.fixture(scope="module")
def tree() -> RegionTree:
    return RegionTree(REGIONS)


def test_the_packaged_regions_are_three_provinces() -> None:
    provinces = {r.code: r.name_en for r in REGIONS if r.level == "province"}

    assert provinces == PROVINCES
    assert all(r.parent is None for r in REGIONS if r.level == "province")


@pytest.mark.parametrize("province", sorted(PROVINCES))
def test_every_province_has_sixteen_districts(province: str) -> None:
    assert sum(1 for r in DISTRICTS if r.parent == province) == 16


def test_every_district_lies_in_the_province_named_by_its_first_two_digits() -> None:
    assert {r.level for r in REGIONS} == {"province", "district"}
    for district in DISTRICTS:
        assert district.parent == district.code[:2] + "0000", district


def test_codes_are_six_digits_and_unique() -> None:
    codes = [r.code for r in REGIONS]

    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(set(codes)) == len(codes) == 51


def test_every_region_has_a_chinese_and_an_english_name() -> None:
    for region in REGIONS:
        assert region.name_zh.strip(), region
        assert region.name_en.strip(), region
        assert not region.name_zh.isascii(), region


def test_parents_come_before_children() -> None:
    seen: set[str] = set()
    for region in REGIONS:
        assert region.parent is None or region.parent in seen
        seen.add(region.code)


def test_given_a_province_then_its_children_and_leaves_are_its_districts(tree: RegionTree) -> None:
    children = tree.children("110000")

    assert len(children) == 16
    assert "110108" in children
    assert tree.leaves_under("110000") == children


def test_given_a_district_then_it_is_its_own_only_leaf_and_has_no_children(
    tree: RegionTree,
) -> None:
    assert tree.leaves_under("110108") == ("110108",)
    assert tree.children("110108") == ()
    assert tree.parent("110108") == "110000"


def test_the_roots_are_the_provinces(tree: RegionTree) -> None:
    assert tree.roots() == tuple(sorted(PROVINCES))


@pytest.mark.parametrize(
    ("code", "ancestor", "expected"),
    [
        pytest.param("110108", "110000", True, id="Haidian in Beijing"),
        pytest.param("110108", "110108", True, id="a region is within itself"),
        pytest.param("110108", "120000", False, id="Haidian not in Tianjin"),
        pytest.param("110000", "110108", False, id="a province is not within its district"),
        pytest.param("999999", "110000", False, id="an unknown code is within nothing"),
    ],
)
def test_is_within(tree: RegionTree, code: str, ancestor: str, expected: bool) -> None:
    assert tree.is_within(code, ancestor) is expected


def test_given_a_known_code_then_require_returns_it(tree: RegionTree) -> None:
    assert tree.require("310115") == "310115"
    assert "310115" in tree
    assert tree.name("310115") == ("浦东新区", "Pudong New Area")


@pytest.mark.parametrize("lookup", ["require", "children", "leaves_under", "parent", "name"])
def test_given_an_unknown_code_then_lookups_raise_not_found_naming_it(
    tree: RegionTree, lookup: str
) -> None:
    with pytest.raises(NotFound, match="unknown region code '110199'"):
        getattr(tree, lookup)("110199")


def test_given_a_database_then_the_tree_loaded_from_it_matches_the_packaged_data(hub: Hub) -> None:
    with read_session(hub.engine) as session:
        loaded = RegionTree.load(session)

    assert loaded.roots() == tuple(sorted(PROVINCES))
    for province in PROVINCES:
        assert loaded.children(province) == RegionTree(REGIONS).children(province)


def test_given_synced_regions_when_synced_again_then_nothing_changes(hub: Hub) -> None:
    with write_session(hub.engine) as session:
        assert sync_regions(session) == 0
