"""Shared config toolkit, usable by every stage: ``key.path=value`` overrides and the
validation helpers that turn a plain YAML mapping into a typed, frozen config."""
