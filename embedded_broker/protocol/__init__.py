"""Sans-IO Kafka wire protocol: framing, request headers, request decoding, response encoding."""
