"""ssl.principal.mapping.rules: a client certificate subject to a principal, as Kafka maps it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from embedded_broker.config import ConfigError

KEY = "ssl.principal.mapping.rules"


class NoMatchingRuleError(Exception):
    """No rule applies to a subject: Kafka refuses such a client."""


@dataclass(frozen=True, slots=True)
class Rule:
    """DEFAULT (pattern None: the whole subject) or RULE:pattern/replacement/[LU]."""

    pattern: re.Pattern[str] | None = None
    replacement: str = ""
    case: str = ""  # "L" lower-cases the result, "U" upper-cases it

    def apply(self, subject: str) -> str | None:
        if self.pattern is None:
            return subject
        if self.pattern.fullmatch(subject) is None:
            return None
        # Kafka replaces every match in the subject (Java's replaceAll), not just the first.
        result = self.pattern.sub(lambda m: _expand(self.replacement, m), subject)
        if self.case == "L":
            return result.lower()
        if self.case == "U":
            return result.upper()
        return result


def _expand(template: str, match: re.Match[str]) -> str:
    """A Java replacement string as Kafka applies it: $N and ${name} are groups, a backslash
    makes the next character literal, and a $N beyond the pattern's groups is literal text."""
    groups = match.re.groups
    out: list[str] = []
    i = 0
    while i < len(template):
        char = template[i]
        if char == "\\" and i + 1 < len(template):
            out.append(template[i + 1])
            i += 2
        elif char == "$" and template.startswith("{", i + 1):
            end = template.index("}", i + 2)
            out.append(match.group(template[i + 2 : end]) or "")
            i = end + 1
        elif char == "$" and i + 1 < len(template) and template[i + 1].isdigit():
            number = int(template[i + 1])
            if number > groups:  # Kafka keeps a reference to a missing group as text
                out.append(char)
                i += 1
                continue
            j = i + 2
            # Java reads further digits while they still name a group: $12 is group 12 only
            # when there are 12 groups, else group 1 and a "2".
            while j < len(template) and template[j].isdigit():
                longer = number * 10 + int(template[j])
                if longer > groups:
                    break
                number, j = longer, j + 1
            out.append(match.group(number) or "")
            i = j
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _field(text: str, start: int, what: str, rule: str) -> tuple[str, int]:
    """Text up to the next unescaped '/' (kept as written, escapes included) and the index
    after that slash."""
    i = start
    while i < len(text) and text[i] != "/":
        i += 2 if text[i] == "\\" else 1
    if i >= len(text):
        raise ConfigError(f"Invalid {KEY} rule {rule!r}: the {what} must end with '/'")
    return text[start:i], i + 1


# Java's named groups, (?<name>...), are Python's (?P<name>...).
_JAVA_NAMED_GROUP = re.compile(r"\(\?<([A-Za-z][A-Za-z0-9]*)>")


def _compile(pattern_text: str, replacement: str, rule: str) -> re.Pattern[str]:
    try:
        pattern = re.compile(_JAVA_NAMED_GROUP.sub(r"(?P<\1>", pattern_text))
    except re.error as exc:
        raise ConfigError(
            f"Invalid {KEY} rule {rule!r}: the pattern is not a valid regular expression ({exc})"
        ) from None
    # What Java would only find when the first client connects, said at start instead.
    for name in re.findall(r"(?<!\\)\$\{([^}]*)\}", replacement):
        if name not in pattern.groupindex:
            raise ConfigError(f"Invalid {KEY} rule {rule!r}: the pattern has no group {name!r}")
    if re.search(r"(?<!\\)\$(?![\d{])", replacement) or re.search(
        r"(?<!\\)\$\{[^}]*$", replacement
    ):
        raise ConfigError(
            f"Invalid {KEY} rule {rule!r}: a '$' in the replacement must name a group ($1, "
            "${name}) or be escaped (\\$)"
        )
    if pattern.groups == 0 and re.search(r"(?<!\\)\$[1-9]", replacement):
        raise ConfigError(f"Invalid {KEY} rule {rule!r}: the pattern has no groups")
    return pattern


def parse_rules(text: str | None) -> tuple[Rule, ...]:
    """Rules separated by commas; a comma inside a pattern belongs to the pattern."""
    rules: list[Rule] = []
    source = text if text is not None and text.strip() else "DEFAULT"
    i = 0
    while i < len(source):
        while i < len(source) and source[i].isspace():
            i += 1
        if i >= len(source):
            break
        start = i
        rule_text = source[start:].split(",", 1)[0].strip()
        if source[i] == ",":  # an empty rule: Kafka ignores it
            i += 1
            continue
        if source.startswith("DEFAULT", i):
            rules.append(Rule())
            i += len("DEFAULT")
        elif source.startswith("RULE:", i):
            pattern_text, i = _field(source, i + len("RULE:"), "pattern", rule_text)
            replacement, i = _field(source, i, "replacement", rule_text)
            case = source[i] if i < len(source) and source[i] in "LU" else ""
            i += len(case)
            rule_text = source[start:i]
            rules.append(Rule(_compile(pattern_text, replacement, rule_text), replacement, case))
        else:
            raise ConfigError(
                f"Invalid {KEY} rule {rule_text!r}: expected DEFAULT or "
                "RULE:pattern/replacement/ with an optional L or U"
            )
        while i < len(source) and source[i].isspace():
            i += 1
        if i < len(source) and source[i] != ",":
            rest = source[i:].split(",", 1)[0].strip()
            raise ConfigError(
                f"Invalid {KEY} rule {source[start:i].strip()!r}: unexpected {rest!r} after it"
            )
        i += 1
    return tuple(rules)


@dataclass(frozen=True, slots=True)
class PrincipalMapper:
    """The first rule that applies names the principal; none applying refuses the client."""

    rules: tuple[Rule, ...]

    @classmethod
    def from_config(cls, text: str | None) -> PrincipalMapper:
        return cls(parse_rules(text))

    def name(self, subject: str) -> str:
        for rule in self.rules:
            name = rule.apply(subject)
            if name is not None:
                return name
        raise NoMatchingRuleError(f"no {KEY} rule applies to {subject!r}")
