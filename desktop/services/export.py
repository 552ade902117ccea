"""Records to JSON Lines and CSV, and JSON Lines back to messages to produce."""

from __future__ import annotations

import base64
import csv
import json
from collections.abc import Iterable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from desktop.domain.messages import ProduceRequest, Record


class Encoding(StrEnum):
    TEXT = "text"  # UTF-8 where the bytes are UTF-8, base64 (marked) where they are not
    BASE64 = "base64"


class ImportFileError(ValueError):
    """A line of the file cannot be turned into a message; the text names the line."""


def _encode(data: bytes | None, encoding: Encoding) -> tuple[str | None, str]:
    if data is None:
        return None, encoding.value
    if encoding is Encoding.TEXT:
        try:
            return data.decode("utf-8"), "text"
        except UnicodeDecodeError:
            pass
    return base64.b64encode(data).decode("ascii"), "base64"


def _decode(text: str | None, encoding: str) -> bytes | None:
    if text is None:
        return None
    if encoding == "base64":
        return base64.b64decode(text, validate=True)
    if encoding == "text":
        return text.encode("utf-8")
    raise ValueError(f"unknown encoding {encoding!r}")


def record_to_json(rec: Record, encoding: Encoding = Encoding.TEXT) -> dict[str, Any]:
    key, key_enc = _encode(rec.key, encoding)
    value, value_enc = _encode(rec.value, encoding)
    headers = []
    for name, raw in rec.headers:
        text, enc = _encode(raw, encoding)
        headers.append({"key": name, "value": text, "encoding": enc})
    return {
        "topic": rec.topic,
        "partition": rec.partition,
        "offset": rec.offset,
        "timestamp": rec.timestamp,
        "timestamp_type": rec.timestamp_type_name or "NotAvailable",
        "key": key,
        "key_encoding": key_enc,
        "value": value,
        "value_encoding": value_enc,
        "headers": headers,
    }


_TS_TYPES = {"NotAvailable": 0, "": 0, "CreateTime": 1, "LogAppendTime": 2}


def record_from_json(doc: dict[str, Any]) -> Record:
    headers = tuple(
        (str(h["key"]), _decode(h.get("value"), str(h.get("encoding", "text"))))
        for h in doc.get("headers") or ()
    )
    return Record(
        topic=str(doc.get("topic", "")),
        partition=int(doc.get("partition", -1)),
        offset=int(doc.get("offset", -1)),
        timestamp=int(doc.get("timestamp", -1)),
        timestamp_type=_TS_TYPES.get(str(doc.get("timestamp_type", "")), 0),
        key=_decode(doc.get("key"), str(doc.get("key_encoding", "text"))),
        value=_decode(doc.get("value"), str(doc.get("value_encoding", "text"))),
        headers=headers,
    )


class JsonLinesWriter:
    """Appends records to an open file, one JSON object per line."""

    def __init__(self, out: IO[str], encoding: Encoding = Encoding.TEXT) -> None:
        self._out = out
        self._encoding = encoding
        self.count = 0

    def write(self, records: Iterable[Record]) -> None:
        dumps = json.dumps
        enc = self._encoding
        lines = [dumps(record_to_json(r, enc), ensure_ascii=False) + "\n" for r in records]
        self._out.writelines(lines)
        self.count += len(lines)


CSV_COLUMNS = (
    "partition",
    "offset",
    "timestamp",
    "timestamp_type",
    "key",
    "key_encoding",
    "value",
    "value_encoding",
    "headers",
)


class CsvWriter:
    """CSV with one row per record; headers as a JSON array in one cell; null as empty."""

    def __init__(self, out: IO[str], encoding: Encoding = Encoding.TEXT) -> None:
        self._csv = csv.writer(out)
        self._csv.writerow(CSV_COLUMNS)
        self._encoding = encoding
        self.count = 0

    def write(self, records: Iterable[Record]) -> None:
        for rec in records:
            doc = record_to_json(rec, self._encoding)
            self._csv.writerow(
                [
                    doc["partition"],
                    doc["offset"],
                    doc["timestamp"],
                    doc["timestamp_type"],
                    doc["key"] if doc["key"] is not None else "",
                    doc["key_encoding"] if doc["key"] is not None else "null",
                    doc["value"] if doc["value"] is not None else "",
                    doc["value_encoding"] if doc["value"] is not None else "null",
                    json.dumps(doc["headers"], ensure_ascii=False),
                ]
            )
            self.count += 1


def export_records(
    records: Iterable[Record], path: Path, fmt: str = "jsonl", encoding: Encoding = Encoding.TEXT
) -> int:
    """Write `records` to `path` as "jsonl" or "csv"; returns how many were written."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer: JsonLinesWriter | CsvWriter = (
            CsvWriter(out, encoding) if fmt == "csv" else JsonLinesWriter(out, encoding)
        )
        writer.write(records)
        return writer.count


def read_jsonl(path: Path) -> Iterator[Record]:
    """Records from a JSON Lines export; raises ImportFileError naming the bad line."""
    with path.open(encoding="utf-8") as src:
        for number, line in enumerate(src, 1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
                if not isinstance(doc, dict):
                    raise ValueError("not a JSON object")
                yield record_from_json(doc)
            except (ValueError, KeyError, TypeError) as exc:
                raise ImportFileError(
                    f"Line {number} of {path.name} is not a message: {exc}"
                ) from exc


def to_requests(
    records: Iterable[Record],
    topic: str,
    keep_partition: bool = False,
    keep_timestamp: bool = False,
) -> Iterator[ProduceRequest]:
    """Messages to send to `topic` with the same keys, values and headers."""
    for rec in records:
        yield ProduceRequest(
            topic,
            rec.key,
            rec.value,
            rec.headers,
            partition=rec.partition if keep_partition and rec.partition >= 0 else None,
            timestamp=rec.timestamp if keep_timestamp and rec.timestamp >= 0 else None,
        )
