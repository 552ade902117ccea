"""Message templates with placeholders, and templates saved per cluster in a JSON file."""

from __future__ import annotations

import json
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import platformdirs

from desktop.domain.messages import ProduceRequest

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)((?:\s+-?\d+)*)\s*\}\}")
PLACEHOLDERS = (
    "{{i}}",
    "{{uuid}}",
    "{{now}}",
    "{{now_iso}}",
    "{{random_int 1 100}}",
    "{{name}}",
    "{{email}}",
    "{{city}}",
    "{{word}}",
)


class TemplateError(ValueError):
    """A template uses a placeholder that does not exist or has bad arguments."""


@dataclass(frozen=True)
class Template:
    name: str
    key: str = ""
    value: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    null_key: bool = False

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["headers"] = [list(h) for h in self.headers]
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Template:
        return cls(
            name=str(doc["name"]),
            key=str(doc.get("key", "")),
            value=str(doc.get("value", "")),
            headers=tuple((str(k), str(v)) for k, v in doc.get("headers") or ()),
            null_key=bool(doc.get("null_key", False)),
        )


class Renderer:
    """Fills placeholders; one instance per bulk run (Faker is created once, lazily)."""

    def __init__(self, seed: int | None = None) -> None:
        self._random = random.Random(seed)
        self._faker: Any = None
        self._seed = seed

    def _fake(self) -> Any:
        if self._faker is None:
            from faker import Faker

            self._faker = Faker()
            if self._seed is not None:
                self._faker.seed_instance(self._seed)
        return self._faker

    def _value(self, name: str, args: list[int], i: int) -> str:
        if name == "i":
            return str(i)
        if name == "uuid":
            return str(uuid.UUID(int=self._random.getrandbits(128), version=4))
        if name == "now":
            return str(int(time.time() * 1000))
        if name == "now_iso":
            return time.strftime("%Y-%m-%dT%H:%M:%S%z")
        if name == "random_int":
            lo, hi = (args[0], args[1]) if len(args) >= 2 else (0, args[0] if args else 100)
            if lo > hi:
                raise TemplateError(f"random_int {lo} {hi}: the first number must not be larger")
            return str(self._random.randint(lo, hi))
        fakes: dict[str, Callable[[], str]] = {
            "name": lambda: str(self._fake().name()),
            "email": lambda: str(self._fake().email()),
            "city": lambda: str(self._fake().city()),
            "word": lambda: str(self._fake().word()),
        }
        if name in fakes:
            return fakes[name]()
        raise TemplateError(f"Unknown placeholder {{{{{name}}}}}; known: {', '.join(PLACEHOLDERS)}")

    def render(self, text: str, i: int) -> str:
        def sub(m: re.Match[str]) -> str:
            args = [int(a) for a in m.group(2).split()]
            return self._value(m.group(1), args, i)

        return PLACEHOLDER.sub(sub, text)


def check_template(text: str) -> str:
    """An error message for the first bad placeholder in `text`, or ""."""
    try:
        Renderer(0).render(text, 0)
    except TemplateError as exc:
        return str(exc)
    return ""


def bulk_requests(
    template: Template,
    topic: str,
    count: int,
    partition: int | None = None,
    seed: int | None = None,
) -> Iterator[ProduceRequest]:
    """`count` messages from `template`, with i = 0 … count-1."""
    r = Renderer(seed)
    for i in range(count):
        key = None if template.null_key else r.render(template.key, i).encode()
        value = r.render(template.value, i).encode()
        headers = tuple((k, r.render(v, i).encode()) for k, v in template.headers)
        yield ProduceRequest(topic, key, value, headers, partition=partition)


def default_dir() -> Path:
    return Path(platformdirs.user_config_dir("topicscope")) / "templates"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name) or "cluster"


class TemplateStore:
    """Templates for one cluster in `<dir>/<cluster>.json`."""

    def __init__(self, cluster: str, directory: Path | None = None) -> None:
        self.path = (directory or default_dir()) / f"{_safe(cluster)}.json"

    def load(self) -> list[Template]:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError):
            return []
        return [Template.from_json(t) for t in doc.get("templates", [])]

    def save(self, template: Template) -> list[Template]:
        """Add or replace (by name); returns the templates now saved."""
        templates = [t for t in self.load() if t.name != template.name] + [template]
        templates.sort(key=lambda t: t.name.lower())
        self._write(templates)
        return templates

    def delete(self, name: str) -> list[Template]:
        templates = [t for t in self.load() if t.name != name]
        self._write(templates)
        return templates

    def _write(self, templates: list[Template]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        doc = {"templates": [t.to_json() for t in templates]}
        tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
        tmp.replace(self.path)
