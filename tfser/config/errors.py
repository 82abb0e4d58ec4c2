"""The one exception type for mistakes a user can fix (bad flag, config, path, input).

Binaries print a :class:`UserError` as one line, ``error: <what>, <where>, <what to do>``,
and exit with status 2; anything else is a bug and keeps its traceback. Library code
raises it (or a subclass) where the cause is the caller's input, never for a broken
invariant.
"""


class UserError(Exception):
    """A mistake in the caller's input; the message says what, where and what to do."""
