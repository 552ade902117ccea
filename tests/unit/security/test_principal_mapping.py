"""ssl.principal.mapping.rules parsed and applied as Kafka's SslPrincipalMapper does."""

from __future__ import annotations

import pytest

from embedded_broker.config import ConfigError
from embedded_broker.security.principal_mapping import (
    NoMatchingRuleError,
    PrincipalMapper,
    parse_rules,
)

# The example of Kafka's documentation (security.html, "Customizing SSL User Name").
DOC_RULES = (
    "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,"
    "RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L,"
    "RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L,"
    "DEFAULT"
)


@pytest.mark.parametrize(
    ("subject", "name"),
    [
        ("CN=serviceuser,OU=ServiceUsers,O=Unknown,L=Unknown,ST=Unknown,C=Unknown", "serviceuser"),
        ("CN=adminUser,OU=Admin,O=Unknown,L=Unknown,ST=Unknown,C=Unknown", "adminuser@admin"),
        ("CN=kafka1,O=Apache", "kafka1"),
        ("OU=JustAUnit", "OU=JustAUnit"),  # only DEFAULT applies: the whole subject
    ],
)
def test_kafkas_documented_example(subject: str, name: str) -> None:
    assert PrincipalMapper.from_config(DOC_RULES).name(subject) == name


def test_the_default_is_the_whole_subject() -> None:
    for rules in (None, "", "DEFAULT", "  DEFAULT  "):
        assert PrincipalMapper.from_config(rules).name("CN=a,O=b") == "CN=a,O=b"


def test_upper_case_and_rules_tried_in_order() -> None:
    mapper = PrincipalMapper.from_config(
        "RULE:^CN=([^,]+),O=Ops$/ops-$1/U , RULE:^CN=([^,]+),.*$/$1/"
    )
    assert mapper.name("CN=eve,O=Ops") == "OPS-EVE"
    assert mapper.name("CN=eve,O=Dev") == "eve"


def test_no_rule_applies_without_default() -> None:
    mapper = PrincipalMapper.from_config("RULE:^CN=(.*),O=Ops$/$1/")
    with pytest.raises(NoMatchingRuleError, match="CN=eve,O=Dev"):
        mapper.name("CN=eve,O=Dev")


def test_replacement_references_as_kafka_reads_them() -> None:
    # $3 with two groups stays text (Kafka escapes it); $12 with two groups is $1 then "2";
    # $0 is the whole subject; \$ is a dollar sign.
    mapper = PrincipalMapper.from_config(r"RULE:^CN=(\w+),O=(\w+)$/$1-$3-$12-\$-$0/")
    assert mapper.name("CN=a,O=b") == "a-$3-a2-$-CN=a,O=b"


def test_named_groups_and_escaped_slashes() -> None:
    mapper = PrincipalMapper.from_config(r"RULE:^CN=(?<user>[^,]+),O=a\/b$/${user}/")
    assert mapper.name("CN=zoe,O=a/b") == "zoe"


def test_a_comma_inside_a_pattern_belongs_to_it() -> None:
    rules = parse_rules("RULE:^CN=(.*?),OU=(.*?)$/$1/, DEFAULT")
    assert len(rules) == 2


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ("NOTARULE", "expected DEFAULT or RULE:pattern/replacement/"),
        ("RULE:^CN=(.*)$/$1", "the replacement must end with '/'"),
        ("RULE:^CN=(.*$/$1/", "not a valid regular expression"),
        ("RULE:^CN=(.*)$/$1/Lxyz", "unexpected 'xyz'"),
        ("RULE:^CN=(.*)$/$1/ DEFAULT", "unexpected 'DEFAULT'"),
        ("RULE:^CN=(.*)$/$ 1/", "must name a group"),
        ("RULE:^CN=.*$/$1/", "the pattern has no groups"),
        ("RULE:^CN=(?<u>.*)$/${v}/", "no group 'v'"),
    ],
)
def test_invalid_rules_are_refused_at_start(rules: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"ssl\.principal\.mapping\.rules") as caught:
        parse_rules(rules)
    assert message in str(caught.value)
