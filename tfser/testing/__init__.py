"""Fakes and fixtures usable by tfser's tests and by downstream users' tests."""
