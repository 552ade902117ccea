"""DescribeConfigs, AlterConfigs and IncrementalAlterConfigs for topics and this broker."""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.cluster_link import views as cluster_views
from embedded_broker.cluster_link.link import cluster_link
from embedded_broker.config import (
    BOOLEAN,
    BROKER_CONFIGS,
    DOUBLE,
    INT,
    LIST,
    LONG,
    STRING,
    ConfigError,
    validate_value,
)
from embedded_broker.kafka_broker_keys import KAFKA_BROKER_KEYS
from embedded_broker.kafka_topic_keys import KAFKA_TOPIC_KEYS
from embedded_broker.state import BrokerState
from embedded_broker.topic_configs import TOPIC_CONFIGS, broker_default, validate_topic_configs

from . import share_configs
from .base import ApiSpec, RequestContext
from .metadata import advertised_address
from .topics import SOURCE_CODES, SOURCE_DEFAULT, SOURCE_STATIC_BROKER, SOURCE_TOPIC
from .util import NO_THROTTLE, build, response_module

TOPIC = 2
BROKER = 4
BROKER_LOGGER = 8
TYPE_CODES = {BOOLEAN: 1, STRING: 2, INT: 3, LONG: 5, DOUBLE: 6, LIST: 7}
OP_SET, OP_DELETE, OP_APPEND, OP_SUBTRACT = 0, 1, 2, 3
MS_DERIVED = ("retention.ms", "segment.ms")
KAFKA_BROKER_KEY_NAMES = frozenset(k[0] for k in KAFKA_BROKER_KEYS)
# the wire type and sensitivity Kafka declares (e.g. SHORT, PASSWORD) win over the broker's own
KAFKA_TYPE_CODES = {k[0]: k[1] for k in KAFKA_BROKER_KEYS}
KAFKA_SENSITIVE = frozenset(k[0] for k in KAFKA_BROKER_KEYS if k[4])
UNUSED_BROKER_DOC = (
    "Kafka's broker setting, reported with Kafka 4.3.1's default; the built-in broker does not "
    "use it (read-only here)."
)
REAL_VALUE_DOC = (
    "Kafka's broker setting, reported with the built-in broker's actual value (it cannot be "
    "set under this name)."
)


class _FailError(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _entry(
    mod: Any,
    name: str,
    value: str | None,
    source: int,
    syns: list[tuple[str, str | None, int]],
    *,
    read_only: bool,
    sensitive: bool,
    type_code: int,
    doc: str | None,
    with_synonyms: bool,
) -> Any:
    return build(
        mod.DescribeConfigsResourceResult,
        name=name,
        value=None if sensitive else value,
        read_only=read_only,
        config_source=source,
        is_default=source == SOURCE_DEFAULT,
        is_sensitive=sensitive,
        synonyms=tuple(
            build(mod.DescribeConfigsSynonym, name=n, value=None if sensitive else v, source=s)
            for n, v, s in syns
        )
        if with_synonyms
        else (),
        config_type=type_code,
        documentation=doc,
    )


def _topic_entries(
    mod: Any, state: BrokerState, name: str, keys: Any, synonyms: bool, *, docs: bool = False
) -> list[Any]:
    overrides = state.topics[name].configs
    out = []
    for cname, tdef in TOPIC_CONFIGS.items():
        if keys is not None and cname not in keys:
            continue
        value, src, syn_name = broker_default(cname, state.config)
        syns: list[tuple[str, str | None, int]] = []
        if cname in MS_DERIVED:
            # Kafka lists each broker setting actually made, in its own units (hours stay
            # hours), and no default synonym: the default lives in log.*.hours, not in ms
            for syn in tdef.synonyms:
                syn_source = state.config.source(syn)
                if syn_source != "DEFAULT_CONFIG":
                    syns.append((syn, state.config.value(syn), SOURCE_CODES[syn_source]))
        else:
            if src != "DEFAULT_CONFIG":
                syns.append((syn_name, value, SOURCE_CODES[src]))
            syns.append((tdef.synonyms[0], tdef.definition.default, SOURCE_DEFAULT))
        if cname in overrides:
            value, source = overrides[cname], SOURCE_TOPIC
            syns.insert(0, (cname, value, SOURCE_TOPIC))
        else:
            source = SOURCE_CODES[src]
        out.append(
            _entry(
                mod,
                cname,
                value,
                source,
                syns,
                read_only=False,
                sensitive=False,
                type_code=TYPE_CODES[tdef.definition.type],
                doc=tdef.definition.doc if docs else None,
                with_synonyms=synonyms,
            )
        )
    for extra in KAFKA_TOPIC_KEYS:
        if extra.name in TOPIC_CONFIGS or (keys is not None and extra.name not in keys):
            continue
        value = extra.default
        if extra.name == "flush.ms":
            value = state.config.value("log.flush.interval.ms") or extra.default
        out.append(
            _entry(
                mod,
                extra.name,
                value,
                SOURCE_DEFAULT,
                [] if extra.synonym is None else [(extra.synonym, extra.default, SOURCE_DEFAULT)],
                read_only=True,
                sensitive=False,
                type_code=extra.type_code,
                doc=extra.doc if docs else None,
                with_synonyms=synonyms,
            )
        )
    return out


def _broker_entries(
    mod: Any,
    state: BrokerState,
    keys: Any,
    synonyms: bool,
    *,
    docs: bool = False,
    real: dict[str, str | None] | None = None,
) -> list[Any]:
    out = []
    for cname, cdef in BROKER_CONFIGS.items():
        if keys is not None and cname not in keys:
            continue
        source = SOURCE_CODES[state.config.source(cname)]
        value = state.config.value(cname)
        if value is None and real is not None and cname in real:
            value = real[cname]  # unset, but known from how the broker runs (e.g. broker.id)
        syns: list[tuple[str, str | None, int]] = [(cname, value, source)]
        if source != SOURCE_DEFAULT and cdef.default is not None and not cdef.sensitive:
            syns.append((cname, cdef.default, SOURCE_DEFAULT))
        out.append(
            _entry(
                mod,
                cname,
                value,
                source,
                syns,
                read_only=not cdef.dynamic,
                sensitive=cdef.sensitive or cname in KAFKA_SENSITIVE,
                type_code=KAFKA_TYPE_CODES.get(cname, TYPE_CODES[cdef.type]),
                doc=cdef.doc if docs else None,
                with_synonyms=synonyms,
            )
        )
    for kname, type_code, default, _kafka_read_only, sensitive in KAFKA_BROKER_KEYS:
        if kname in BROKER_CONFIGS or (keys is not None and kname not in keys):
            continue
        if real is not None and kname in real:
            # this broker's own value (listeners, log dirs, roles), as Kafka reports its own
            value, source, doc = real[kname], SOURCE_STATIC_BROKER, REAL_VALUE_DOC
            syns = [(kname, value, source)]
            if default is not None:
                syns.append((kname, default, SOURCE_DEFAULT))
        else:
            value, source, doc = default, SOURCE_DEFAULT, UNUSED_BROKER_DOC
            syns = [] if default is None else [(kname, default, SOURCE_DEFAULT)]
        out.append(
            _entry(
                mod,
                kname,
                value,
                source,
                syns,
                read_only=True,
                sensitive=sensitive,
                type_code=type_code,
                doc=doc if docs else None,
                with_synonyms=synonyms,
            )
        )
    return out


def _real_values(ctx: RequestContext, state: BrokerState) -> dict[str, str | None]:
    """Values of Kafka settings the broker knows without their being set (its listener, data
    directory, roles): reported for keys it has no setting of its own for, or left unset."""
    host, port = advertised_address(ctx, state)
    listener = f"PLAINTEXT://{ctx.local_host}:{ctx.local_port}"
    data = None if state.in_memory or state.data_dir is None else str(state.data_dir)
    return {
        "broker.id": str(state.node_id),  # Kafka reports the node id here in KRaft mode
        "listeners": listener,
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "log.dirs": data,
        "log.dir": data,
        "process.roles": "broker,controller",
    }


def _check_broker_name(state: BrokerState, name: str) -> None:
    if name not in ("", str(state.node_id)):
        raise _FailError(
            ErrorCode.invalid_request, f"Unexpected broker id, expected {state.node_id}"
        )


async def handle_describe_configs(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    synonyms = bool(getattr(request, "include_synonyms", False))
    results = []
    for res in request.resources:
        keys = set(res.configuration_keys) if res.configuration_keys is not None else None
        code, message, entries = ErrorCode.none, None, []
        try:
            if res.resource_type == TOPIC:
                if res.resource_name not in state.topics:
                    raise _FailError(
                        ErrorCode.unknown_topic_or_partition,
                        f"Topic '{res.resource_name}' does not exist.",
                    )
                docs = bool(getattr(request, "include_documentation", False))
                entries = _topic_entries(mod, state, res.resource_name, keys, synonyms, docs=docs)
            elif res.resource_type == BROKER:
                _check_broker_name(state, res.resource_name)
                docs = bool(getattr(request, "include_documentation", False))
                entries = _broker_entries(
                    mod, state, keys, synonyms, docs=docs, real=_real_values(ctx, state)
                )
            elif res.resource_type == BROKER_LOGGER:
                _check_broker_name(state, res.resource_name)
            elif res.resource_type == share_configs.GROUP:
                docs = bool(getattr(request, "include_documentation", False))
                entries = [
                    _entry(
                        mod,
                        name,
                        value,
                        source,
                        [],
                        read_only=False,
                        sensitive=False,
                        type_code=kind,
                        doc=doc if docs else None,
                        with_synonyms=synonyms,
                    )
                    for name, value, source, kind, doc in await share_configs.rows(
                        state, res.resource_name, keys
                    )
                ]
            else:
                raise _FailError(
                    ErrorCode.invalid_request, f"Unsupported resource type {res.resource_type}"
                )
        except _FailError as fail:
            code, message, entries = fail.code, fail.message, []
        results.append(
            build(
                mod.DescribeConfigsResult,
                error_code=code,
                error_message=message,
                resource_type=res.resource_type,
                resource_name=res.resource_name,
                configs=tuple(entries),
            )
        )
    return build(mod.DescribeConfigsResponse, throttle_time=NO_THROTTLE, results=tuple(results))


def _apply_topic(
    state: BrokerState, name: str, new: dict[str, str | None], validate_only: bool
) -> None:
    if name not in state.topics:
        raise _FailError(ErrorCode.unknown_topic_or_partition, f"Topic '{name}' does not exist.")
    try:
        configs = validate_topic_configs(new)
    except ConfigError as exc:
        raise _FailError(ErrorCode.invalid_config, str(exc)) from None
    if not validate_only:
        state.set_topic_configs(name, configs)


def _apply_broker(
    state: BrokerState, name: str, new: dict[str, str | None], validate_only: bool
) -> None:
    _check_broker_name(state, name)
    static_only = sorted(k for k in new if k in BROKER_CONFIGS and not BROKER_CONFIGS[k].dynamic)
    unknown = sorted(k for k in new if k not in BROKER_CONFIGS)
    unused = [k for k in unknown if k in KAFKA_BROKER_KEY_NAMES]
    if unused:
        raise _FailError(
            ErrorCode.invalid_config,
            f"{', '.join(unused)}: Kafka broker setting(s) the built-in broker does not use, so "
            "they cannot be changed here.",
        )
    if unknown:
        raise _FailError(
            ErrorCode.invalid_config, f"Unknown broker config name: {', '.join(unknown)}"
        )
    if static_only:
        raise _FailError(
            ErrorCode.invalid_request,
            f"Cannot update these configs dynamically: {set(static_only)}",
        )
    out: dict[str, str] = {}
    try:
        for k, v in new.items():
            if v is None:
                raise ConfigError(f"Invalid value null for configuration {k}")
            out[k] = validate_value(BROKER_CONFIGS[k], v)
    except ConfigError as exc:
        raise _FailError(ErrorCode.invalid_config, str(exc)) from None
    if not validate_only:
        state.set_broker_dynamic(out)


def _apply(
    state: BrokerState, rtype: int, name: str, new: dict[str, str | None], validate_only: bool
) -> None:
    if rtype == TOPIC:
        _apply_topic(state, name, new, validate_only)
    elif rtype == BROKER:
        _apply_broker(state, name, new, validate_only)
    elif rtype == share_configs.GROUP:
        problem = share_configs.apply(state, name, new, validate_only)
        if problem is not None:
            raise _FailError(ErrorCode.invalid_config, problem)
    else:
        raise _FailError(ErrorCode.invalid_request, f"Unsupported resource type {rtype}")


def _result(mod: Any, res: Any, fail: _FailError | None) -> Any:
    return build(
        mod.AlterConfigsResourceResponse,
        error_code=fail.code if fail else ErrorCode.none,
        error_message=fail.message if fail else None,
        resource_type=res.resource_type,
        resource_name=res.resource_name,
    )


async def handle_alter_configs(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    link = cluster_link(state)
    if link is not None and any(r.resource_type == TOPIC for r in request.resources):
        return await cluster_views.forward(request, link)  # topic configs live in the metadata
    mod = response_module(request)
    await share_configs.prepare(state, request.resources)
    out = []
    for res in request.resources:
        try:
            _apply(
                state,
                res.resource_type,
                res.resource_name,
                {c.name: c.value for c in res.configs},
                request.validate_only,
            )
            out.append(_result(mod, res, None))
        except _FailError as fail:
            out.append(_result(mod, res, fail))
    await share_configs.settle(state, request.resources)
    return build(mod.AlterConfigsResponse, throttle_time=NO_THROTTLE, responses=tuple(out))


def _current(state: BrokerState, rtype: int, name: str) -> dict[str, str | None]:
    if rtype == TOPIC:
        if name not in state.topics:
            raise _FailError(
                ErrorCode.unknown_topic_or_partition, f"Topic '{name}' does not exist."
            )
        return dict(state.topics[name].configs)
    if rtype == BROKER:
        _check_broker_name(state, name)
        return dict(state.config.dynamic)
    if rtype == share_configs.GROUP:
        return share_configs.current(state, name)
    raise _FailError(ErrorCode.invalid_request, f"Unsupported resource type {rtype}")


def _effective(
    state: BrokerState, rtype: int, name: str, key: str, current: dict[str, str | None]
) -> str:
    if key in current and current[key] is not None:
        return current[key] or ""
    if rtype == TOPIC and key in TOPIC_CONFIGS:
        return broker_default(key, state.config)[0]
    if rtype == BROKER and key in BROKER_CONFIGS:
        return state.config.value(key) or ""
    return ""


def _list_type(rtype: int, key: str) -> bool:
    if rtype == TOPIC and key in TOPIC_CONFIGS:
        return TOPIC_CONFIGS[key].definition.type == LIST
    if rtype == BROKER and key in BROKER_CONFIGS:
        return BROKER_CONFIGS[key].type == LIST
    return False


async def handle_incremental_alter_configs(
    ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    link = cluster_link(state)
    if link is not None and any(r.resource_type == TOPIC for r in request.resources):
        return await cluster_views.forward(request, link)  # topic configs live in the metadata
    mod = response_module(request)
    await share_configs.prepare(state, request.resources)
    out = []
    for res in request.resources:
        try:
            current = _current(state, res.resource_type, res.resource_name)
            for c in res.configs:
                op = c.config_operation
                if op == OP_SET:
                    current[c.name] = c.value
                elif op == OP_DELETE:
                    current.pop(c.name, None)
                elif op in (OP_APPEND, OP_SUBTRACT):
                    if not _list_type(res.resource_type, c.name):
                        verb = "append" if op == OP_APPEND else "subtract"
                        raise _FailError(
                            ErrorCode.invalid_config,
                            f"Config value {verb} is not allowed for config key: {c.name}",
                        )
                    items = [
                        v
                        for v in _effective(
                            state, res.resource_type, res.resource_name, c.name, current
                        ).split(",")
                        if v
                    ]
                    given = [v.strip() for v in (c.value or "").split(",") if v.strip()]
                    if op == OP_APPEND:
                        items += [v for v in given if v not in items]
                    else:
                        items = [v for v in items if v not in given]
                    current[c.name] = ",".join(items)
                else:
                    raise _FailError(ErrorCode.invalid_request, f"Unknown config operation {op}")
            _apply(state, res.resource_type, res.resource_name, current, request.validate_only)
            out.append(_result(mod, res, None))
        except _FailError as fail:
            out.append(_result(mod, res, fail))
    await share_configs.settle(state, request.resources)
    return build(
        mod.IncrementalAlterConfigsResponse, throttle_time=NO_THROTTLE, responses=tuple(out)
    )


APIS = (
    ApiSpec(32, 1, 4, handle_describe_configs),
    ApiSpec(33, 0, 2, handle_alter_configs),
    ApiSpec(44, 0, 1, handle_incremental_alter_configs),
)
