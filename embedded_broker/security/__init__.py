"""Authentication for the built-in broker: listeners, TLS and SASL (PLAIN, SCRAM)."""
