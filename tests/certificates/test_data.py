"""The signed form of certificate data: deterministic and read back exactly."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from elearn.certificates.data import CertificateData, canonical_bytes, from_canonical

from .conftest import make_data


def test_canonical_bytes_are_compact_sorted_utf8_json_with_a_format(data: CertificateData) -> None:
    raw = canonical_bytes(data)
    document = json.loads(raw)
    assert document["format"] == 1
    compact = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert raw == compact.encode("utf-8")
    assert "Siobhán O’Connor-Whitfield".encode() in raw
    assert document["completed_on"] == "2026-11-24"
    assert document["issued_at"] == "2026-11-24T16:05:12.345678+00:00"


def test_round_trip_is_exact(data: CertificateData) -> None:
    assert from_canonical(canonical_bytes(data)) == data


def test_optional_fields_round_trip() -> None:
    data = make_data(nes_level=None, supersedes="AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG", modules=())
    assert from_canonical(canonical_bytes(data)) == data


@given(
    name=st.text(min_size=1, max_size=80),
    minutes=st.integers(min_value=0, max_value=100_000),
    day=st.dates(),
    moment=st.datetimes(timezones=st.just(dt.UTC)),
)
def test_round_trip_holds_for_any_text_and_dates(
    name: str, minutes: int, day: dt.date, moment: dt.datetime
) -> None:
    data = make_data(holder_name=name, cpd_minutes=minutes, completed_on=day, issued_at=moment)
    raw = canonical_bytes(data)
    assert from_canonical(raw) == data
    assert canonical_bytes(from_canonical(raw)) == raw


def test_a_time_without_a_timezone_is_refused() -> None:
    with pytest.raises(ValueError, match="UTC"):
        make_data(issued_at=dt.datetime(2026, 11, 24, 16, 5))


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"format": 2}',
        b'{"format": 1}',
        b"\xff\xfe",
    ],
)
def test_anything_else_is_refused_with_a_value_error(raw: bytes) -> None:
    with pytest.raises(ValueError):
        from_canonical(raw)


def test_a_field_of_the_wrong_type_is_refused(data: CertificateData) -> None:
    document = json.loads(canonical_bytes(data))
    document["cpd_minutes"] = "330"
    with pytest.raises(ValueError, match="cpd_minutes"):
        from_canonical(json.dumps(document).encode())
