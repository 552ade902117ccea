"""Errors raised by the sans-IO protocol layer; each one closes only the offending connection."""


class ProtocolError(Exception):
    """The peer sent bytes that are not a valid Kafka request; close that connection."""


class FrameTooLargeError(ProtocolError):
    """A size prefix above socket.request.max.bytes (or negative)."""


class UnsupportedApiError(ProtocolError):
    """An API key or version this broker does not implement."""
