"""Retention: anonymise old closed campaigns; erase a signer's data on request."""
