"""What every tfser binary does the same way: flags, --help, errors, quiet library logs.

Each binary module describes itself with a :class:`Binary` (its name, its docstring,
a ``define_flags`` function and a ``main``) and its console-script entry calls
:meth:`Binary.run`. The shared pieces:

* ``--help`` prints the module docstring (purpose and an example command) and the
  binary's own flags with their help texts; absl's global flags stay behind
  ``--helpfull``.
* A flag the binary does not define fails with exit status 2 and a "did you mean"
  suggestion (difflib), instead of being dropped with a warning.
* A user error prints one line, ``error: <what>, <where>, <what to do>``, to stderr
  and exits with status 2: a :class:`tfser.config.errors.UserError`, or an ``OSError``
  of a full or read-only disk, a denied permission or a missing path. Tracebacks are
  kept for real bugs and shown for user errors too with ``--verbosity=1``.

Flags are defined at run time (not at import) and the flags of a binary set up earlier
in the same process are removed first, so tests can run several binaries in one process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import errno
import logging
import os
import re
import sys
import textwrap
from typing import Callable, Iterable, Iterator, List, Optional, Sequence

from absl import app
from absl import flags
from absl import logging as absl_logging

from tfser.config.errors import UserError

FLAGS = flags.FLAGS
EXIT_USER_ERROR = 2
# Libraries that log every step at INFO (Beam logs each worker, SavedModel writing
# each asset); their warnings and errors still show.
NOISY_LOGGERS = ("apache_beam", "tensorflow")
HELP_FLAGS = ("-h", "-help", "--help", "-?", "--helpshort")
# OSError numbers that are the user's to fix, with what to do about them.
USER_ERRNOS = {
    errno.ENOSPC: "free some space or write elsewhere",
    errno.EROFS: "write to a directory on a writable disk",
    errno.EACCES: "write to a directory you may write to, or change its permissions",
    errno.ENOENT: "check the path",
}
HELP_WIDTH = 88
# The flags the last Binary.define() created: removed before the next binary defines its own.
_DEFINED: List[str] = []


def quiet_logs(*own: str) -> None:
    """Libraries only warn; the ``own`` tfser loggers (e.g. ``tfser.export``) stay at INFO.

    An explicit ``--verbosity`` on the command line wins over the quiet default.
    """
    if FLAGS.is_parsed() and FLAGS["verbosity"].present:
        return
    absl_logging.set_verbosity(absl_logging.WARNING)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in own:
        logging.getLogger(name).setLevel(logging.INFO)


def fail(message: str) -> None:
    """Prints ``error: <message>`` to stderr and exits with status 2."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USER_ERROR)


def _text(error: BaseException) -> str:
    # A KeyError's str() is the repr of its key; its argument reads better.
    if isinstance(error, KeyError) and error.args:
        return str(error.args[0])
    return str(error)


@contextlib.contextmanager
def cluster_gave_up(out: str) -> Iterator[None]:
    """Turns a cluster giving up on the work (:class:`tfser.beam.runners.RunnerGaveUp`)
    into one line on stderr and exit status 1 (not the user's input, so not 2).

    Only for writes that replace ``out`` in one rename at the end, so the message can
    say that ``out`` is unchanged.
    """
    # Imported here: only binaries that run Beam pay for it.
    from tfser.beam import runners  # pylint: disable=import-outside-toplevel
    try:
        yield
    except runners.RunnerGaveUp as error:
        print(f"error: {error} ({out} is unchanged)", file=sys.stderr)
        raise SystemExit(1) from error


@contextlib.contextmanager
def user_input(what_to_do: str = "",
               errors=(ValueError, KeyError, FileNotFoundError)) -> Iterator[None]:
    """Turns the ``errors`` raised inside into :class:`UserError` ending in ``what_to_do``.

    Wrap only library calls whose failures are the user's input (config files,
    overrides, directories named by flags), never training or writing: there a
    ``ValueError`` is a bug and keeps its traceback. Leave ``what_to_do`` empty when
    the library's messages already say it.
    """
    try:
        yield
    except UserError:
        raise
    except errors as error:
        text = _text(error)
        raise UserError(f"{text}, {what_to_do}" if what_to_do else text) from error


def user_error_line(error: BaseException) -> Optional[str]:
    """The one-line message of a user error (without ``error:``), or None for a bug.

    Follows explicit causes (``raise ... from``), so a wrapped user error still counts.
    """
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, UserError):
            return str(error)
        if isinstance(error, OSError) and error.errno in USER_ERRNOS:
            where = error.filename if error.filename is not None else "(path not known)"
            reason = (error.strerror or os.strerror(error.errno)).lower()
            return f"{reason}, {where}, {USER_ERRNOS[error.errno]}"
        error = error.__cause__
    return None


def _flag_name(arg: str) -> str:
    return arg.lstrip("-").split("=", 1)[0]


def suggestion(name: str, candidates: Iterable[str],
               config_keys: Iterable[str] = ()) -> str:
    """`` did you mean --x?`` for the closest flag (or config key), or an empty string."""
    plain = name[2:] if name.startswith("no") and name[2:] in candidates else name
    if plain != name:
        return ""  # --noflag of a known flag is not misspelled
    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.7)
    if close:
        return f", did you mean --{close[0]}?"
    close = difflib.get_close_matches(name, sorted(config_keys), n=1, cutoff=0.7)
    if close:
        return f", did you mean --params_override={close[0]}=...?"
    return ""


@dataclasses.dataclass
class Binary:
    """One command-line binary: its flags, help, parsing and error handling.

    Attributes:
      name: The console-script name, e.g. ``tfser-train``.
      doc: The module docstring: purpose first, then an ``Example::`` block.
      define_flags: Defines the binary's flags (shared ones via :mod:`pipelines.flags`).
      main: ``main(argv)``, absl style; ``argv[1:]`` holds the accepted extra arguments.
      extra_args: Given the arguments absl did not recognise, returns those the binary
        cannot pass on (e.g. to Beam); by default all of them are refused.
      config_keys: Returns the config keys a misspelled flag may have meant (suggested
        as ``--params_override=key=...``).
      own_flags: The flags ``define_flags`` created (set by :meth:`define`).
    """

    name: str
    doc: str
    define_flags: Callable[[], None]
    main: Callable[[List[str]], object]
    extra_args: Optional[Callable[[Sequence[str]], List[str]]] = None
    config_keys: Callable[[], Iterable[str]] = lambda: ()
    own_flags: List[str] = dataclasses.field(default_factory=list)

    def define(self) -> None:
        """Removes the previous binary's flags in this process, then defines this one's."""
        for name in _DEFINED:
            if name in FLAGS:
                delattr(FLAGS, name)
        before = set(FLAGS)
        self.define_flags()
        self.own_flags = [name for name in FLAGS if name not in before]
        _DEFINED[:] = self.own_flags

    def help_text(self) -> str:
        """The docstring, the binary's own flags and where the global flags are."""
        lines = [textwrap.dedent(self.doc).strip(), "", "Flags:"]
        for name in self.own_flags:
            lines.append(_describe(FLAGS[name]))
        lines += ["", textwrap.fill("--verbosity=1 shows library logs and the traceback of "
                                    "an error; --helpfull lists absl's global flags too.",
                                    width=HELP_WIDTH)]
        return "\n".join(lines)

    def parse(self, argv: Sequence[str]) -> List[str]:
        """Parses the flags; exits on --help (0) or a bad command line (2).

        Returns:
          The program name followed by the extra arguments ``extra_args`` accepted.
        """
        argv = list(argv)
        options = argv[1:argv.index("--")] if "--" in argv else argv[1:]
        if any(arg in HELP_FLAGS for arg in options):
            print(self.help_text())
            raise SystemExit(0)
        # Unknown flags first: absl would otherwise report a missing required flag
        # that is only misspelled.
        unknown = _unknown_flags(options)
        refused = self.extra_args(unknown) if self.extra_args else unknown
        if refused:
            self._refuse(refused[0])
        FLAGS.unparse_flags()
        try:
            rest = FLAGS(argv, known_only=True)
        except flags.IllegalFlagValueError as error:
            missing = [n for n in self.own_flags if _required(FLAGS[n]) and FLAGS[n].value is None]
            what = f"missing flag --{missing[0]}" if missing else str(error).rstrip(".")
            fail(f"{what}, on the command line of {self.name}, see {self.name} --help")
        except flags.Error as error:
            fail(f"{str(error).rstrip('.')}, on the command line of {self.name}, "
                 f"see {self.name} --help")
        extras = rest[1:]
        refused = self.extra_args(extras) if self.extra_args else extras
        if refused:
            self._refuse(refused[0])
        return rest[:1] + extras

    def _refuse(self, arg: str) -> None:
        where = f"on the command line of {self.name}"
        if not arg.startswith("-"):
            fail(f"unexpected argument {arg!r}, {where}, flags take the form --name=value "
                 f"(see {self.name} --help)")
        name = _flag_name(arg)
        hint = suggestion(name, self.own_flags, self.config_keys())
        fail(f"unknown flag --{name}, {where}{hint or f', see {self.name} --help'}")

    def call_main(self, argv: List[str]):
        """Runs ``main``; a user error becomes one line on stderr and exit status 2."""
        try:
            return self.main(argv)
        except Exception as error:  # pylint: disable=broad-except
            line = user_error_line(error)
            if line is None or _wants_tracebacks():
                raise
            fail(line)
        return None

    def invoke(self, argv: Sequence[str]):
        """Defines, parses and runs in this process (tests); returns what ``main`` returns."""
        self.define()
        return self.call_main(self.parse(argv))

    def run(self) -> None:
        """Console-script entry: hides TensorFlow's C++ start-up chatter, then runs."""
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
        self.define()
        app.run(self.call_main, flags_parser=self.parse)


def _unknown_flags(options: Sequence[str]) -> List[str]:
    """The flags absl does not know, each with its value when that is a separate word."""
    unknown = []
    for index, arg in enumerate(options):
        if arg.startswith("-") and not _known(arg):
            unknown.append(arg)
        elif (not arg.startswith("-") and index and unknown
              and options[index - 1] == unknown[-1] and "=" not in unknown[-1]):
            unknown.append(arg)
    return unknown


def _known(arg: str) -> bool:
    name = _flag_name(arg)
    if name in FLAGS:
        return True
    return name.startswith("no") and name[2:] in FLAGS and FLAGS[name[2:]].boolean


def _wants_tracebacks() -> bool:
    return FLAGS["verbosity"].present and FLAGS["verbosity"].value >= 1


def _required(flag) -> bool:
    # mark_flag_as_required attaches a validator refusing None; absl keeps no other mark.
    return any("must have a value other than None" in getattr(v, "message", "")
               for v in flag.validators)


def _describe(flag) -> str:
    spelled = f"--[no]{flag.name}" if flag.boolean else f"--{flag.name}"
    if _required(flag):
        note = "required"
    elif flag.default is None or flag.default == []:
        note = "repeatable" if isinstance(flag, flags.MultiFlag) else ""
    else:
        note = f"default: {flag.default_as_str.strip(chr(39))}"
        if isinstance(flag, flags.MultiFlag):
            note = "repeatable; " + note
    # absl appends its own "repeat this option" sentence to multi flags: "repeatable" says it.
    help_text = re.sub(r";\s*repeat this option to specify a list of values$", "", flag.help)
    text = f"{spelled}: {' '.join(help_text.split())}" + (f" ({note})" if note else "")
    return textwrap.fill(text, width=HELP_WIDTH, initial_indent="  ",
                         subsequent_indent="      ")
