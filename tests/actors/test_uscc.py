"""Unified social credit codes (GB 32100-2015) and their two check characters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carbonhub.actors import complete_uscc, validate_uscc
from carbonhub.actors.uscc import ALPHABET, check_character
from carbonhub.errors import InvalidInput

REAL = "9144030071526726XG"  # a published code (Shenzhen); organisation code 71526726-X


def test_given_a_real_code_when_validated_then_it_is_accepted() -> None:
    assert validate_uscc(REAL) == REAL


def test_given_lower_case_and_spaces_when_validated_then_the_code_is_normalised() -> None:
    assert validate_uscc(f"  {REAL.lower()} ") == REAL


def test_given_a_changed_check_character_then_the_message_names_the_expected_one() -> None:
    with pytest.raises(InvalidInput, match="check character should be 'G'"):
        validate_uscc(REAL[:17] + "H")


@pytest.mark.parametrize("code", [REAL[:17], REAL + "0", ""], ids=["17 chars", "19 chars", "empty"])
def test_given_a_wrong_length_then_the_code_is_refused(code: str) -> None:
    with pytest.raises(InvalidInput, match="must have 18 characters"):
        validate_uscc(code)


@pytest.mark.parametrize("letter", ["I", "O", "S", "V", "Z"])
def test_given_a_letter_outside_gb_32100_then_the_code_is_refused(letter: str) -> None:
    code = REAL[:9] + letter + REAL[10:]

    with pytest.raises(InvalidInput, match="outside GB 32100"):
        validate_uscc(code)


def test_given_letters_in_the_region_part_then_the_code_is_refused() -> None:
    with pytest.raises(InvalidInput, match="characters 3-8 are a region code"):
        validate_uscc("91A4030071526726XG")


def test_given_a_bad_organisation_check_character_then_the_code_is_refused() -> None:
    # organisation code 71526726-X with its check character changed to 1; the overall check
    # character is recomputed so that only the GB 11714 check fails
    first17 = REAL[:16] + "1"

    with pytest.raises(InvalidInput, match="organisation code 715267261 fails its GB 11714"):
        validate_uscc(first17 + check_character(first17))


def test_given_the_real_prefix_and_organisation_when_completed_then_the_real_code_results() -> None:
    assert complete_uscc("91440300", "71526726") == REAL


prefixes = st.builds(
    lambda head, region: head + region,
    st.text(ALPHABET, min_size=2, max_size=2),
    st.text("0123456789", min_size=6, max_size=6),
)
organisations = st.text(ALPHABET, min_size=8, max_size=8)


@given(prefix=prefixes, organisation=organisations)
def test_property_a_completed_code_validates_to_itself(prefix: str, organisation: str) -> None:
    code = complete_uscc(prefix, organisation)

    assert validate_uscc(code) == code


@given(prefix=prefixes, organisation=organisations, other=st.sampled_from(ALPHABET))
def test_property_any_other_final_character_is_refused(
    prefix: str, organisation: str, other: str
) -> None:
    code = complete_uscc(prefix, organisation)
    if other == code[-1]:
        return

    with pytest.raises(InvalidInput, match=f"check character should be {code[-1]!r}"):
        validate_uscc(code[:-1] + other)
