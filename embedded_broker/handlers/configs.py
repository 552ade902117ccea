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
from embedded_broker.state import BrokerState
from embedded_broker.topic_configs import TOPIC_CONFIGS, broker_default, validate_topic_configs

from .base import ApiSpec, RequestContext
from .topics import SOURCE_CODES, SOURCE_DEFAULT, SOURCE_TOPIC
from .util import NO_THROTTLE, build, response_module

TOPIC = 2
BROKER = 4
BROKER_LOGGER = 8
TYPE_CODES = {BOOLEAN: 1, STRING: 2, INT: 3, LONG: 5, DOUBLE: 6, LIST: 7}
OP_SET, OP_DELETE, OP_APPEND, OP_SUBTRACT = 0, 1, 2, 3


class _FailError(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _topic_entries(mod: Any, state: BrokerState, name: str, keys: Any, synonyms: bool) -> list[Any]:
    overrides = state.topics[name].configs
    out = []
    for cname, tdef in TOPIC_CONFIGS.items():
        if keys is not None and cname not in keys:
            continue
        value, src, syn_name = broker_default(cname, state.config)
        syns: list[tuple[str, str | None, int]] = []
        if src != "DEFAULT_CONFIG":
            syns.append((syn_name, value, SOURCE_CODES[src]))
        syns.append(
            (
                tdef.synonyms[-1] if cname in ("retention.ms", "segment.ms") else tdef.synonyms[0],
                tdef.definition.default,
                SOURCE_DEFAULT,
            )
        )
        if cname in overrides:
            value, source = overrides[cname], SOURCE_TOPIC
            syns.insert(0, (cname, value, SOURCE_TOPIC))
        else:
            source = SOURCE_CODES[src]
        if cname in ("retention.ms", "segment.ms") and src == "DEFAULT_CONFIG":
            syns[-1] = (syns[-1][0], state.config.value(syns[-1][0]), SOURCE_DEFAULT)
        out.append(
            build(
                mod.DescribeConfigsResourceResult,
                name=cname,
                value=value,
                read_only=False,
                config_source=source,
                is_default=source == SOURCE_DEFAULT,
                is_sensitive=False,
                synonyms=tuple(
                    build(mod.DescribeConfigsSynonym, name=n, value=v, source=s) for n, v, s in syns
                )
                if synonyms
                else (),
                config_type=TYPE_CODES[tdef.definition.type],
                documentation=None,
            )
        )
    return out


def _broker_entries(
    mod: Any, state: BrokerState, keys: Any, synonyms: bool, docs: bool = False
) -> list[Any]:
    out = []
    for cname, cdef in BROKER_CONFIGS.items():
        if keys is not None and cname not in keys:
            continue
        source = SOURCE_CODES[state.config.source(cname)]
        value = None if cdef.sensitive else state.config.value(cname)
        syns: list[tuple[str, str | None, int]] = [(cname, value, source)]
        if source != SOURCE_DEFAULT and cdef.default is not None and not cdef.sensitive:
            syns.append((cname, cdef.default, SOURCE_DEFAULT))
        out.append(
            build(
                mod.DescribeConfigsResourceResult,
                name=cname,
                value=value,
                read_only=not cdef.dynamic,
                config_source=source,
                is_default=source == SOURCE_DEFAULT,
                is_sensitive=cdef.sensitive,
                synonyms=tuple(
                    build(mod.DescribeConfigsSynonym, name=n, value=v, source=s) for n, v, s in syns
                )
                if synonyms
                else (),
                config_type=TYPE_CODES[cdef.type],
                documentation=cdef.doc if docs else None,
            )
        )
    return out


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
                entries = _topic_entries(mod, state, res.resource_name, keys, synonyms)
            elif res.resource_type == BROKER:
                _check_broker_name(state, res.resource_name)
                docs = bool(getattr(request, "include_documentation", False))
                entries = _broker_entries(mod, state, keys, synonyms, docs)
            elif res.resource_type == BROKER_LOGGER:
                _check_broker_name(state, res.resource_name)
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
    return build(
        mod.IncrementalAlterConfigsResponse, throttle_time=NO_THROTTLE, responses=tuple(out)
    )


APIS = (
    ApiSpec(32, 1, 4, handle_describe_configs),
    ApiSpec(33, 0, 2, handle_alter_configs),
    ApiSpec(44, 0, 1, handle_incremental_alter_configs),
)
