"""Kept only so that test files written before the fixture moved still import: the
``add_signature`` fixture is now a plugin (tests/fixtures/signatures.py), so a test
asks for it by name and imports nothing."""
from tests.fixtures.signatures import add_signature

__all__ = ["add_signature"]
