from __future__ import annotations

import pickle

import pytest

from flowengine.errors import OrgError
from flowengine.org.ids import checksum, looks_like_id, make_id, normalize_id


@pytest.mark.parametrize("id15, id18", [
    ("001D000000IqhSL", "001D000000IqhSLIAZ"),   # Salesforce's documented example
    ("0010000000000AA", "0010000000000AAAAY"),   # bits 3 and 4 of the last chunk: 24 → Y
    ("aaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaAAA"),
    ("AAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAA555"),
])
def test_checksum_of_known_ids(id15: str, id18: str) -> None:
    assert checksum(id15) == id18[15:]
    assert normalize_id(id15) == id18
    assert normalize_id(id18) == id18


def test_ids_differing_only_in_case_get_different_checksums() -> None:
    assert normalize_id("001D000000IqhSL") != normalize_id("001d000000iqhsl")


def test_expected_prefix_accepts_the_right_object() -> None:
    assert normalize_id("001D000000IqhSL", "001", "Account") == "001D000000IqhSLIAZ"


@pytest.mark.parametrize("text, message", [
    ("001D000000IqhSLIAA", "checksum 'IAA' does not match"),
    ("001D000000IqhSLiaz", "checksum 'iaz' does not match"),
    ("001D000000IqhS", "found 14 characters"),
    ("001D000000IqhSLIA", "found 17 characters"),
    ("001D00000-IqhSL", "characters other than letters and digits"),
    ("", "found 0 characters"),
])
def test_malformed_ids_are_invalid_id(text: str, message: str) -> None:
    with pytest.raises(OrgError, match=message) as caught:
        normalize_id(text)
    assert caught.value.error_code == "INVALID_ID"
    assert repr(text) in str(caught.value)


def test_non_text_id_is_invalid_id() -> None:
    with pytest.raises(OrgError, match="the number 12345 is not an Id.*quote") as caught:
        normalize_id(12345)
    assert caught.value.error_code == "INVALID_ID"


def test_id_of_another_object_names_what_was_expected() -> None:
    with pytest.raises(OrgError, match=r"not an OrderSummary Id \(key prefix 1Os\): its key "
                                       r"prefix is '001'") as caught:
        normalize_id("001D000000IqhSL", "1Os", "OrderSummary")
    assert caught.value.error_code == "INVALID_ID"


def test_make_id_matches_the_spec_example_and_counts() -> None:
    assert make_id("1Os", 1) == "1OsXX00000000010AA"   # order-management.md section 1
    assert make_id("10u", 2) == "10uXX0000000002YAA"
    assert looks_like_id(make_id("a01", 12345))


def test_make_id_refuses_a_bad_prefix() -> None:
    with pytest.raises(ValueError, match="3 letters or digits"):
        make_id("1O", 1)


@pytest.mark.parametrize("text, expected", [
    ("001D000000IqhSL", True),
    ("001D000000IqhSLIAZ", True),
    ("001D000000IqhSLIAA", False),
    ("001D000000IqhSL ", False),
    ("Hello", False),
    (None, False),
    (15, False),
])
def test_looks_like_id(text: object, expected: bool) -> None:
    assert looks_like_id(text) is expected


def test_org_error_keeps_its_code_across_pickling() -> None:
    error = pickle.loads(pickle.dumps(OrgError("bad", "INVALID_ID")))
    assert (str(error), error.error_code) == ("bad", "INVALID_ID")
    assert OrgError("plain").error_code == "ORG_ERROR"
