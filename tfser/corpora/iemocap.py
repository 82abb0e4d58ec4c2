"""IEMOCAP (USC SAIL, Busso et al. 2008): every categorical and dimensional rater line.

Layout (release folder usually ``IEMOCAP_full_release/``; pass it, or its parent, as
``root``)::

    Session1/ ... Session5/
      dialog/EmoEvaluation/<dialog>.txt      consensus + every rater line (parsed here)
      dialog/EmoEvaluation/Categorical/ Attribute/ Self-evaluation/   (duplicates, ignored)
      dialog/wav/<dialog>.wav                whole-dialog audio (two channels)
      sentences/wav/<dialog>/<utt>.wav       one file per utterance (the usual input)

An EmoEvaluation file holds one block per utterance, blocks separated by blank lines::

    [41.0520 - 44.8800]<TAB>Ses04F_impro03_M011<TAB>fru<TAB>[2.0000, 3.5000, 3.0000]
    C-E1:<TAB>Frustration;<TAB>()
    C-E3:<TAB>Frustration; Anger;<TAB>(raised voice)
    C-M1:<TAB>Frustration;<TAB>()
    A-E2:<TAB>val 2; act 3; dom  3;<TAB>()
    A-M1:<TAB>val 1; act 4; dom  4;<TAB>()

What the loader records:

* One utterance per block. ``speaker_id`` is ``iemocap:Ses<SS><G>`` where ``G`` is the
  letter *after the dialog part* of the utterance id (the speaker of the turn), never the
  letter in the dialog id (the actor wearing motion-capture markers). Gender comes from
  the same letter. ``session_id`` is ``Ses<SS>``. ``official_split`` is None: IEMOCAP has
  no official partition (leave-one-session-out is the usual protocol).
* ``duration_s`` is ``end - start`` of the block header (the corpus's own segment
  times), so an absent sentence WAV does not reject an utterance unless
  ``require_audio=True``. The dialog times are kept in ``extra`` (``dialog_start_s``,
  ``dialog_end_s``); with ``audio="dialog"`` the utterance instead points into the
  dialog WAV with ``start_s``/``end_s`` set.
* The header's consensus code and ``[V, A, D]`` go to ``extra`` (``cons_label_raw``,
  ``cons_label`` (canonical, None for ``xxx``), ``cons_no_agreement``,
  ``cons_valence``/``cons_arousal``/``cons_dominance`` on the 1-5 scale). The consensus
  is never turned into a rating: label policy is applied later from the raw votes.
* Every ``C-<rater>`` line becomes one rating: ``primary`` = the first category
  (canonical name), ``primary_raw`` = that word as written, ``secondary`` = the other
  categories of the line in order, without repeats and without the primary.
* Every ``A-<rater>`` line gives valence/arousal/dominance (1-5). When the same rater
  also has a ``C-`` line for the utterance both are merged into one rating row (the
  schema keys ratings by utterance, rater and condition); otherwise the row has
  dimensions only (``primary`` None). ``condition`` is always None.
* Rater ids: external evaluators ``E<k>`` are ``observer`` ratings with id
  ``iemocap:E<k>``. The ids are corpus-wide by default because the evaluator pool is
  shared across sessions (Chou & Lee 2019 count 12 raters and model E1, E2, E4, E5, E6
  over all five sessions); pass ``rater_scope="session"`` for ``iemocap:Ses01:E<k>`` if
  you do not want to assume that. Lines ``F<k>``/``M<k>`` (categorical and dimensional)
  are the actors' self-evaluations: ``rater_type="self"``, id ``iemocap:self:Ses01F``
  (the session's female actor; a number other than 1 is appended). That id ends with the
  speaker id of the same actor, so a self-rating of one's own turn is
  ``rater_id.endswith(speaker_id.split(":")[1])``.
* Non-empty parenthesised comments go to ``extra["rater_comments"]`` keyed by line
  prefix (``"C-E3": "raised voice"``).

Obtaining it: request IEMOCAP from USC SAIL (https://sail.usc.edu/iemocap/) by signing
its release form. Licence: research use under that agreement, no redistribution; tfser
never downloads it and tests use :mod:`tfser.testing.fixtures.iemocap`.

Pitfalls handled here: the mocap-wearer letter is not the speaker; ``xxx`` means "no
majority", not an emotion, and ties are only visible by recounting the ``C-E*`` lines;
the header order is V, A, D while rater lines say ``val; act; dom`` with irregular
spacing (parsed by key, never by column); rater lines may list several categories;
self-evaluations must not be counted as observer votes; files may have CRLF line ends,
a BOM or Latin-1 bytes; macOS ``._*`` files are skipped (logged). A malformed block
(bad header, unknown category word, unknown rater code, a value off the 1-5 scale, a
repeated rater line, a line that is neither) rejects that utterance with the file, line
and reason; nothing is dropped silently.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from tfser.corpora import textio
from tfser.annotations import schema
from tfser.annotations import vocabulary as voc
from tfser.corpora.options import REQUIRE_AUDIO, Option
from tfser.corpora.base import LoadResult, Reject, finish

CORPUS = "iemocap"
# The keyword options of load(), read by tfser.corpora.load_corpus to check user input.
OPTIONS = (
    Option("sessions", "integer_list", None,
           "Session numbers to load (default: every Session<N> folder)."),
    Option("rater_scope", "choice", "corpus",
           "External evaluator ids per corpus (iemocap:E3) or per session "
           "(iemocap:Ses01:E3).", choices=("corpus", "session")),
    Option("audio", "choice", "sentences",
           "Per-utterance WAVs (sentences) or the dialog WAV cut at the header's times "
           "(dialog).", choices=("sentences", "dialog")),
    REQUIRE_AUDIO.with_default(False, "Reject utterances whose audio file is absent (off by "
                                      "default: the header gives the segment times)."),
    Option("extra_words", "mapping", None,
           "Additional rater-line words (lower case) -> canonical category."),
)
LOOKED_FOR = "rating blocks in Session<N>/dialog/EmoEvaluation/*.txt"

CATEGORIES = (voc.NEUTRAL, voc.HAPPY, voc.SAD, voc.ANGRY, voc.SURPRISE, voc.FEAR,
              voc.DISGUST, voc.FRUSTRATION, voc.EXCITED, voc.OTHER)
# Alphabetical: meta.json is written with sorted keys, so any other order would come
# back reordered and a saved table would not compare equal to the loaded one.
DIMENSIONS = {"arousal": [1.0, 5.0], "dominance": [1.0, 5.0], "valence": [1.0, 5.0]}

# Header consensus codes. ``xxx`` (no majority) is deliberately absent: it is an outcome
# of the vote, not a category.
CONSENSUS_CODES = {
    "neu": voc.NEUTRAL, "hap": voc.HAPPY, "exc": voc.EXCITED, "sad": voc.SAD,
    "ang": voc.ANGRY, "fru": voc.FRUSTRATION, "sur": voc.SURPRISE, "fea": voc.FEAR,
    "dis": voc.DISGUST, "oth": voc.OTHER,
}
NO_AGREEMENT = "xxx"

# Words on C- rater lines (matched case-insensitively); "Neutral state" is the spelling
# of the Categorical/ sub-folder, accepted in case a copy uses it in the main file too.
RATER_WORDS = {
    "neutral": voc.NEUTRAL, "neutral state": voc.NEUTRAL, "happiness": voc.HAPPY,
    "excited": voc.EXCITED, "sadness": voc.SAD, "anger": voc.ANGRY,
    "frustration": voc.FRUSTRATION, "surprise": voc.SURPRISE, "fear": voc.FEAR,
    "disgust": voc.DISGUST, "other": voc.OTHER,
}
# A-line keys in the order the main file writes them (val, act, dom).
DIM_KEYS = {"val": "valence", "act": "arousal", "dom": "dominance"}

_HEADER = re.compile(
    r"^\[\s*(?P<start>\d+(?:\.\d*)?)\s*-\s*(?P<end>\d+(?:\.\d*)?)\s*\]\s+(?P<utt>\S+)\s+"
    r"(?P<code>\S+)\s+\[\s*(?P<v>[-+]?\d+(?:\.\d*)?)\s*,\s*(?P<a>[-+]?\d+(?:\.\d*)?)\s*,"
    r"\s*(?P<d>[-+]?\d+(?:\.\d*)?)\s*\]\s*$")
_RATER_LINE = re.compile(r"^(?P<kind>[CA])-(?P<rater>[A-Za-z]+\d*)\s*:(?P<body>.*)$")
_OBSERVER = re.compile(r"^E(\d+)$")
_SELF = re.compile(r"^([FM])(\d*)$")
_DIM_ITEM = re.compile(r"^(?P<key>[a-z]+)\s*:?\s*(?P<value>[-+]?\d+(?:\.\d+)?)$")
_UTT_ID = re.compile(r"^(?P<dialog>.+)_(?P<spk>[FM])(?P<num>\d+)$")
_DIALOG_ID = re.compile(r"^Ses(?P<session>\d{2})(?P<mocap>[FM])_(?P<kind>impro|script)")
_SESSION_DIR = re.compile(r"^Session(\d+)$")

_log = logging.getLogger(__name__)


class BlockError(ValueError):
    """A malformed EmoEvaluation block; the message names the line."""


def read_text(path: str) -> List[str]:
    """Lines of a label file, tolerant of BOM, CRLF/CR line ends and Latin-1 bytes."""
    return textio.read_lines(path)


def find_release_root(root: str) -> str:
    """Returns the folder holding ``Session*/`` (``root`` or its ``IEMOCAP_full_release``).

    Raises:
      FileNotFoundError: when neither has a ``Session<N>`` folder.
    """
    for candidate in (root, os.path.join(root, "IEMOCAP_full_release")):
        if os.path.isdir(candidate) and any(
                _SESSION_DIR.match(name) for name in os.listdir(candidate)):
            return candidate
    raise FileNotFoundError(
        f"IEMOCAP: no Session<N>/ folder in {root} (nor in {root}/IEMOCAP_full_release); "
        "point root at the IEMOCAP_full_release folder")


def _split_blocks(lines: Sequence[str]) -> List[Tuple[int, List[Tuple[int, str]]]]:
    """Groups lines into blocks: a header line or a blank line starts a new group.

    Returns:
      ``(first_line_number, [(line_number, text), ...])`` per group (1-based numbers).
    """
    blocks: List[Tuple[int, List[Tuple[int, str]]]] = []
    current: List[Tuple[int, str]] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            if current:
                blocks.append((current[0][0], current))
                current = []
            continue
        if line.startswith("%"):
            continue
        # A header always opens a block, so a missing blank line cannot glue two
        # utterances together.
        if line.startswith("[") and current:
            blocks.append((current[0][0], current))
            current = []
        current.append((number, line))
    if current:
        blocks.append((current[0][0], current))
    return blocks


def _split_comment(body: str) -> Tuple[str, str]:
    """Splits ``values<TAB>(comment)`` at the first parenthesis."""
    cut = body.find("(")
    if cut < 0:
        return body.strip(), ""
    comment = body[cut + 1:].strip()
    if comment.endswith(")"):
        comment = comment[:-1]
    return body[:cut].strip(), comment.strip()


def _rater_identity(code: str, session: str, rater_scope: str,
                    where: str) -> Tuple[str, str]:
    """Maps a line's rater code (``E3``, ``F1``) to ``(rater_id, rater_type)``."""
    observer = _OBSERVER.match(code)
    if observer:
        if rater_scope == "session":
            return f"{CORPUS}:Ses{session}:E{int(observer.group(1))}", "observer"
        return f"{CORPUS}:E{int(observer.group(1))}", "observer"
    actor = _SELF.match(code)
    if actor:
        number = actor.group(2)
        suffix = "" if number in ("", "1") else number
        return f"{CORPUS}:self:Ses{session}{actor.group(1)}{suffix}", "self"
    raise BlockError(f"{where}: unknown rater code '{code}' (expected E<k>, F<k> or M<k>)")


def _parse_categories(values: str, words: Mapping[str, str], where: str
                      ) -> Tuple[str, str, List[str]]:
    raw = [item.strip() for item in values.split(";") if item.strip()]
    if not raw:
        raise BlockError(f"{where}: categorical line has no category")
    canonical = []
    for word in raw:
        name = words.get(" ".join(word.lower().split()))
        if name is None:
            raise BlockError(f"{where}: unknown category word '{word}' (known: "
                             f"{sorted(set(words))})")
        canonical.append(name)
    # A word repeated on one line (or the primary again) adds no information.
    secondary: List[str] = []
    for name in canonical[1:]:
        if name != canonical[0] and name not in secondary:
            secondary.append(name)
    return canonical[0], raw[0], secondary


def _parse_dimensions(values: str, where: str) -> Dict[str, float]:
    dims: Dict[str, float] = {}
    for item in (part.strip() for part in values.split(";")):
        if not item:
            continue
        match = _DIM_ITEM.match(item)
        if not match or match.group("key") not in DIM_KEYS:
            raise BlockError(f"{where}: cannot read '{item}' (expected 'val <n>', 'act <n>' "
                             "or 'dom <n>')")
        name = DIM_KEYS[match.group("key")]
        if name in dims:
            raise BlockError(f"{where}: '{match.group('key')}' given twice")
        value = float(match.group("value"))
        low, high = DIMENSIONS[name]
        if not low <= value <= high:
            raise BlockError(f"{where}: {match.group('key')} {value:g} is outside the "
                             f"{low:g}-{high:g} scale")
        dims[name] = value
    if not dims:
        raise BlockError(f"{where}: dimensional line has no value")
    return dims


def _parse_block(block: List[Tuple[int, str]], rel_file: str, dialog: str, session_dir: str,
                 folder_session: str, *, rater_scope: str, words: Mapping[str, str],
                 audio: str) -> Tuple[schema.Utterance, List[schema.Rating]]:
    """Parses one block into an utterance and its ratings (raises BlockError)."""
    first_number, first = block[0]
    header = _HEADER.match(first)
    if not header:
        raise BlockError(f"{rel_file}:{first_number}: block does not start with a header "
                         f"'[start - end]<TAB>utt_id<TAB>code<TAB>[V, A, D]': {first!r}")
    utt_id = header.group("utt")
    utt = _UTT_ID.match(utt_id)
    if not utt or utt.group("dialog") != dialog:
        raise BlockError(f"{rel_file}:{first_number}: utterance id '{utt_id}' is not "
                         f"'{dialog}_<F|M><number>'")
    dialog_match = _DIALOG_ID.match(dialog)
    session = dialog_match.group("session")
    if int(session) != int(folder_session):
        raise BlockError(f"{rel_file}:{first_number}: utterance '{utt_id}' belongs to "
                         f"session {session} but lies in {session_dir}")
    start, end = float(header.group("start")), float(header.group("end"))
    if not end > start:
        raise BlockError(f"{rel_file}:{first_number}: segment [{start} - {end}] is empty")
    code = header.group("code").lower()
    if code != NO_AGREEMENT and code not in CONSENSUS_CODES:
        raise BlockError(f"{rel_file}:{first_number}: unknown consensus code "
                         f"'{header.group('code')}' (known: {sorted(CONSENSUS_CODES)}, "
                         f"'{NO_AGREEMENT}')")

    rows: Dict[str, dict] = {}
    order: List[str] = []
    comments: Dict[str, str] = {}
    for number, line in block[1:]:
        where = f"{rel_file}:{number}"
        match = _RATER_LINE.match(line)
        if not match:
            raise BlockError(f"{where}: expected a 'C-<rater>:' or 'A-<rater>:' line, got "
                             f"{line!r}")
        kind, code_raw = match.group("kind"), match.group("rater")
        rater_id, rater_type = _rater_identity(code_raw, session, rater_scope, where)
        values, comment = _split_comment(match.group("body"))
        row = rows.get(rater_id)
        if row is None:
            row = rows[rater_id] = {"rater_type": rater_type, "categorical": None, "dims": None}
            order.append(rater_id)
        slot = "categorical" if kind == "C" else "dims"
        if row[slot] is not None:
            raise BlockError(f"{where}: second {kind}- line for rater '{code_raw}'")
        if kind == "C":
            row[slot] = _parse_categories(values, words, where)
        else:
            row[slot] = _parse_dimensions(values, where)
        if comment:
            comments[f"{kind}-{code_raw}"] = comment

    ratings = []
    for rater_id in order:
        row = rows[rater_id]
        primary, primary_raw, secondary = row["categorical"] or (None, None, [])
        ratings.append(schema.Rating(
            utt_id=utt_id, rater_id=rater_id, rater_type=row["rater_type"], primary=primary,
            primary_raw=primary_raw, secondary=tuple(secondary), dims=dict(row["dims"] or {})))

    sentence_wav = f"{session_dir}/sentences/wav/{dialog}/{utt_id}.wav"
    dialog_wav = f"{session_dir}/dialog/wav/{dialog}.wav"
    extra = {
        "dialog": dialog,
        "dialog_kind": dialog_match.group("kind"),
        "mocap_actor": dialog_match.group("mocap"),
        "dialog_start_s": start,
        "dialog_end_s": end,
        "dialog_wav": dialog_wav,
        "cons_label_raw": header.group("code"),
        "cons_label": CONSENSUS_CODES.get(code),
        "cons_no_agreement": code == NO_AGREEMENT,
        "cons_valence": float(header.group("v")),
        "cons_arousal": float(header.group("a")),
        "cons_dominance": float(header.group("d")),
        "cons_scale": [1.0, 5.0],
        "label_file": rel_file,
        "label_line": first_number,
    }
    if comments:
        extra["rater_comments"] = comments
    speaker_letter = utt.group("spk")
    utterance = schema.Utterance(
        utt_id=utt_id, corpus=CORPUS,
        audio_path=dialog_wav if audio == "dialog" else sentence_wav,
        duration_s=round(end - start, 6),
        start_s=start if audio == "dialog" else None,
        end_s=end if audio == "dialog" else None,
        speaker_id=f"{CORPUS}:Ses{session}{speaker_letter}",
        session_id=f"Ses{session}",
        gender="female" if speaker_letter == "F" else "male",
        official_split=None, intended_label=None, extra=extra)
    return utterance, ratings


def load(root: str, *, sessions: Optional[Sequence[int]] = None, rater_scope: str = "corpus",
         audio: str = "sentences", require_audio: bool = False,
         extra_words: Optional[Mapping[str, str]] = None) -> LoadResult:
    """Loads IEMOCAP's EmoEvaluation files into the unified table.

    Args:
      root: The ``IEMOCAP_full_release`` folder (or a folder containing it).
      sessions: Session numbers to load (default: every ``Session<N>`` folder).
      rater_scope: ``"corpus"`` (``iemocap:E3``, default) or ``"session"``
        (``iemocap:Ses01:E3``) for external evaluator ids.
      audio: ``"sentences"`` (default; per-utterance WAV, whole file) or ``"dialog"``
        (the dialog WAV with the header's ``start_s``/``end_s``).
      require_audio: Reject utterances whose audio file is absent. Off by default since
        the header gives the segment times (and hence the duration).
      extra_words: Additional rater-line words (lower case) -> canonical category, for
        copies that spell a category differently; a word not known fails its block.

    Returns:
      The validated table, the rejected blocks and the number of blocks found.

    Raises:
      FileNotFoundError: when ``root`` holds no IEMOCAP release.
      ValueError: on an invalid option.
    """
    if rater_scope not in ("corpus", "session"):
        raise ValueError(f"rater_scope must be 'corpus' or 'session', got {rater_scope!r}")
    if audio not in ("sentences", "dialog"):
        raise ValueError(f"audio must be 'sentences' or 'dialog', got {audio!r}")
    words = dict(RATER_WORDS)
    for word, name in (extra_words or {}).items():
        if name not in CATEGORIES:
            raise ValueError(f"extra_words maps '{word}' to '{name}', which is not one of "
                             f"{CATEGORIES}")
        words[" ".join(word.lower().split())] = name
    base = find_release_root(root)

    session_dirs = []
    for name in os.listdir(base):
        match = _SESSION_DIR.match(name)
        if match and os.path.isdir(os.path.join(base, name)):
            session_dirs.append((int(match.group(1)), name))
    session_dirs.sort()
    if sessions is not None:
        wanted = {int(s) for s in sessions}
        missing = wanted - {number for number, _ in session_dirs}
        if missing:
            raise FileNotFoundError(f"IEMOCAP: no Session folder for session(s) "
                                    f"{sorted(missing)} in {base}")
        session_dirs = [(n, d) for n, d in session_dirs if n in wanted]

    utterances: List[schema.Utterance] = []
    ratings: List[schema.Rating] = []
    rejects: List[Reject] = []
    seen: Dict[str, str] = {}
    found = 0
    for number, session_dir in session_dirs:
        eval_dir = os.path.join(base, session_dir, "dialog", "EmoEvaluation")
        if not os.path.isdir(eval_dir):
            raise FileNotFoundError(f"IEMOCAP: {eval_dir} is missing (expected "
                                    f"{session_dir}/dialog/EmoEvaluation/<dialog>.txt)")
        for name in sorted(os.listdir(eval_dir)):
            path = os.path.join(eval_dir, name)
            if not name.endswith(".txt") or not os.path.isfile(path):
                continue
            if name.startswith("._"):
                _log.info("IEMOCAP: skipping macOS metadata file %s", path)
                continue
            dialog = name[:-len(".txt")]
            rel_file = f"{session_dir}/dialog/EmoEvaluation/{name}"
            if not _DIALOG_ID.match(dialog):
                raise ValueError(f"IEMOCAP: {rel_file}: file name is not a dialog id "
                                 "'Ses<SS><F|M>_<impro|script>...'")
            for first_number, block in _split_blocks(read_text(path)):
                found += 1
                try:
                    utterance, block_ratings = _parse_block(
                        block, rel_file, dialog, session_dir, str(number),
                        rater_scope=rater_scope, words=words, audio=audio)
                except BlockError as error:
                    header = _HEADER.match(block[0][1])
                    item = header.group("utt") if header else f"{rel_file}:{first_number}"
                    rejects.append(Reject(item=item, reason=str(error), source=rel_file))
                    continue
                if utterance.utt_id in seen:
                    rejects.append(Reject(
                        item=utterance.utt_id, source=rel_file,
                        reason=f"{rel_file}:{first_number}: utterance already defined in "
                               f"{seen[utterance.utt_id]}"))
                    continue
                if require_audio and not os.path.isfile(
                        os.path.join(base, utterance.audio_path)):
                    rejects.append(Reject(
                        item=utterance.utt_id, source=rel_file,
                        reason=f"audio file missing: {utterance.audio_path}"))
                    continue
                seen[utterance.utt_id] = f"{rel_file}:{first_number}"
                utterances.append(utterance)
                ratings.extend(block_ratings)

    meta = schema.TableMeta(
        corpus=CORPUS, categories=list(CATEGORIES), secondary_categories=[],
        dimensions={k: list(v) for k, v in DIMENSIONS.items()},
        audio_root=os.path.abspath(base),
        description="IEMOCAP: every C-/A- rater line of dialog/EmoEvaluation/*.txt; "
                    "self-evaluations as rater_type 'self'; consensus in extra.")
    return finish(schema.build_table(meta, utterances, ratings), rejects, found,
                  root=root, looked_for=LOOKED_FOR)
