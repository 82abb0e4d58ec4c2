"""Reading corpus text files as their authors wrote them.

Label files of the same corpus come as UTF-8, UTF-8 with a BOM, Latin-1 (EmoDB's
perception test, files re-saved by older Windows/macOS tools) and with LF, CRLF or
CR line ends. Every loader reads text through here so these quirks are handled once.
"""

from __future__ import annotations

from typing import List

_BOM = b"\xef\xbb\xbf"


def decode(data: bytes) -> str:
    """Bytes -> text: UTF-8 (BOM dropped) when they decode as such, else Latin-1.

    Latin-1 never fails and keeps every byte, so a stray accented comment cannot
    abort a load; the BOM is removed first so the fallback cannot turn it into text.
    """
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_text(path: str) -> str:
    """The whole file as text (see :func:`decode`)."""
    with open(path, "rb") as handle:
        return decode(handle.read())


def read_lines(path: str, skip_blank: bool = False) -> List[str]:
    """The file's lines without terminators (LF, CRLF and CR all end a line)."""
    lines = read_text(path).splitlines()
    return [line for line in lines if line.strip()] if skip_blank else lines
