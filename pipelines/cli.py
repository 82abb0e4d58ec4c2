"""What every tfser binary does the same way: quiet library logs, start-up environment.

Each binary keeps its own flags (defined in its ``define_flags``, at run time, so the
binaries can be imported side by side) and calls :func:`start` from its ``run``.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Callable, Optional

from absl import app
from absl import logging as absl_logging

from tfser.config.errors import UserError

# Libraries that log every step at INFO (Beam logs each worker, SavedModel writing
# each asset); their warnings and errors still show.
NOISY_LOGGERS = ("apache_beam", "tensorflow")


def quiet_logs(*own: str) -> None:
    """Libraries only warn; the ``own`` tfser loggers (e.g. ``tfser.export``) stay at INFO."""
    absl_logging.set_verbosity(absl_logging.WARNING)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in own:
        logging.getLogger(name).setLevel(logging.INFO)


def user_errors_as_one_line(main: Callable) -> Callable:
    """``main`` printing a :class:`~tfser.config.errors.UserError` as ``error: ...`` on
    stderr and exiting with status 2 (other exceptions keep their traceback)."""

    def guarded(argv):
        try:
            return main(argv)
        except UserError as error:
            print(f"error: {error}", file=sys.stderr, flush=True)
            sys.exit(2)

    return guarded


def start(define_flags: Callable[[], None], main: Callable,
          flags_parser: Optional[Callable] = None) -> None:
    """Console-script entry: hides TensorFlow's C++ start-up chatter, defines the flags, runs."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    define_flags()
    main = user_errors_as_one_line(main)
    if flags_parser is None:
        app.run(main)
    else:
        app.run(main, flags_parser=flags_parser)
