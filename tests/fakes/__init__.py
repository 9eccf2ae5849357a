"""Test doubles for external services (only loopback addresses, never the real network)."""
