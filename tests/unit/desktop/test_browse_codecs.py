"""Pure message logic: partitioners, byte renderings, search predicates, templates, export."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest

from desktop.domain.codec import ViewMode, confluent_schema_id, hex_dump, preview, render
from desktop.domain.messages import Record, SearchError, SearchField, SearchSpec
from desktop.services.export import Encoding, export_records, read_jsonl, record_to_json
from desktop.services.produce import murmur2, predict_partition
from desktop.services.templates import Renderer, Template, bulk_requests, check_template


def _rec(value: bytes | None = b"v", key: bytes | None = b"k", **kw: object) -> Record:
    fields: dict[str, object] = {
        "topic": "t",
        "partition": 0,
        "offset": 0,
        "timestamp": 1000,
        "timestamp_type": 1,
        "key": key,
        "value": value,
        "headers": (),
    }
    fields.update(kw)
    return Record(**fields)  # type: ignore[arg-type]


# Values from the Java client's Utils.murmur2 (kafka clients' own unit test vectors).
@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"21", -973932308),
        (b"foobar", -790332482),
        (b"a-little-bit-long-string", -985981536),
        (b"a-little-bit-longer-string", -1486304829),
        (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
        (b"abc", 479470107),
    ],
)
def test_murmur2_matches_java(data: bytes, expected: int) -> None:
    assert murmur2(data) == expected & 0xFFFFFFFF


def test_predict_partition() -> None:
    assert predict_partition(b"hello", 7, "consistent_random") == zlib.crc32(b"hello") % 7
    assert predict_partition(None, 7, "consistent_random") is None
    assert predict_partition(b"", 7, "consistent_random") is None
    assert predict_partition(b"", 7, "murmur2_random") == (murmur2(b"") & 0x7FFFFFFF) % 7
    assert predict_partition(None, 7, "murmur2_random") is None
    with pytest.raises(ValueError, match="Unknown partitioner"):
        predict_partition(b"k", 3, "fnv1a")


def test_renderings() -> None:
    assert render(b"\x00\x00\x00\x2a", ViewMode.INT) == ("42", "")
    assert render((2**40).to_bytes(8, "big"), ViewMode.LONG) == (str(2**40), "")
    assert render(b"\x3f\xf8\x00\x00\x00\x00\x00\x00", ViewMode.DOUBLE) == ("1.5", "")
    assert render(b"abc", ViewMode.INT)[1].startswith("Int (32-bit BE) needs exactly 4")
    assert render(b'{"a":1}', ViewMode.AUTO)[0] == '{\n  "a": 1\n}'
    assert render(b"plain", ViewMode.AUTO) == ("plain", "")
    assert render(b"\xff", ViewMode.AUTO)[0].startswith("00000000  ff")
    assert render(b"{", ViewMode.JSON)[1] == "Not valid JSON."
    assert render(None, ViewMode.HEX) == ("null", "")
    assert render(b"hi", ViewMode.BASE64) == ("aGk=", "")
    assert hex_dump(b"A" * 17).splitlines()[1].startswith("00000010  41")
    assert confluent_schema_id(b"\x00\x00\x00\x00\x07payload") == 7
    assert confluent_schema_id(b"\x01\x00\x00\x00\x07") is None
    assert preview(None, 10) == "null"
    assert preview(b"line1\nline2", 50) == "line1 line2"
    assert preview(b"x" * 30, 10) == "x" * 10 + "…"
    assert preview(b"\x00\x01", 30) == "00 01"


def test_search_predicates() -> None:
    hdr = _rec(headers=(("trace", b"abc-123"), ("empty", None)))
    assert SearchSpec(text="abc", field=SearchField.HEADER, header="trace").compile()(hdr)
    assert not SearchSpec(text="abc", field=SearchField.HEADER, header="empty").compile()(hdr)
    assert SearchSpec(text=r"^k$", regex=True, field=SearchField.KEY).compile()(_rec())
    assert not SearchSpec(text="zzz").compile()(_rec(value=None))
    doc = _rec(value=json.dumps({"customer": {"id": 42, "tags": ["a", "b"]}}).encode())
    assert SearchSpec(json_path="customer.id", json_value="42").compile()(doc)
    assert SearchSpec(json_path="customer.tags.1", json_value="b").compile()(doc)
    assert not SearchSpec(json_path="customer.id", json_value="43").compile()(doc)
    assert not SearchSpec(json_path="customer.nope", json_value="42").compile()(doc)
    ranged = SearchSpec(time_from=500, time_to=1001).compile()
    assert ranged(_rec()) and not ranged(_rec(timestamp=1001))
    with pytest.raises(SearchError, match="regular expression"):
        SearchSpec(text="(", regex=True).compile()


def test_templates() -> None:
    r = Renderer(seed=1)
    out = r.render("{{i}}-{{ random_int 5 5 }}-{{uuid}}", 9)
    assert out.startswith("9-5-") and len(out.split("-", 2)[2]) == 36
    assert "@" in r.render("{{email}}", 0)
    assert check_template("{{bogus}}").startswith("Unknown placeholder {{bogus}}")
    assert check_template("{{random_int 9 1}}").startswith("random_int 9 1")
    reqs = list(bulk_requests(Template("t", key="k{{i}}", value="v{{i}}"), "topic", 3))
    assert [(q.key, q.value) for q in reqs] == [(b"k0", b"v0"), (b"k1", b"v1"), (b"k2", b"v2")]
    nulls = list(bulk_requests(Template("t", value="x", null_key=True), "topic", 1))
    assert nulls[0].key is None


def test_export_round_trip_keeps_bytes(tmp_path: Path) -> None:
    records = [
        _rec(value=b"\xff\x00", key=None, headers=(("h", None), ("b", b"\x80"))),
        _rec(value=None, key="ключ".encode(), offset=1, timestamp_type=2),
        _rec(value=b"", key=b"", offset=2, timestamp=-1, timestamp_type=0),
    ]
    for enc in Encoding:
        path = tmp_path / f"x-{enc.value}.jsonl"
        assert export_records(records, path, "jsonl", enc) == 3
        assert list(read_jsonl(path)) == records
    doc = record_to_json(records[1])
    assert (
        doc["key"] == "ключ" and doc["value"] is None and doc["timestamp_type"] == "LogAppendTime"
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"key": null, "value": "a"}\nnot json\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"Line 2 of bad\.jsonl"):
        list(read_jsonl(bad))
