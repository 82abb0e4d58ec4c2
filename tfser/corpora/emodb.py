"""Berlin Database of Emotional Speech (EmoDB; Burkhardt et al. 2005): acted German speech.

Layout of the download (pass the folder that holds ``wav/`` as ``root``; a folder of
WAVs without the ``wav/`` level works too)::

    wav/<SSTTTEV>.wav       535 utterances, 16 kHz mono in the original release
    erkennung.txt           perception test: recognition and naturalness per recording
    erklaerung.txt          German note on erkennung.txt (says "info.txt"/"info.xls")
    lablaut/ silb/ labsilb/ phone and syllable labels (not read)

File names ``SSTTTEV``: speaker (``03 08 09 10 11 12 13 14 15 16``), text code (``a01
a02 a04 a05 a07`` short sentences, ``b01 b02 b03 b09 b10`` long ones), emotion letter
from the German word, version letter (``a``-``f``):

======  ==============  =========
letter  German          canonical
======  ==============  =========
W       Wut / Aerger    angry
L       Langeweile      boredom
E       Ekel            disgust
A       Angst           fear
F       Freude          happy
T       Trauer          sad
N       neutral         neutral
======  ==============  =========

Speakers (sex, age at recording): 03 male 31, 08 female 34, 09 female 21, 10 male 32,
11 male 26, 12 male 30, 13 female 32, 14 female 35, 15 male 25, 16 female 31.

What the loader records:

* One utterance per WAV: ``utt_id`` = file stem, ``audio_path`` = path relative to
  ``root``, ``duration_s`` and the header's ``sample_rate``/``channels``/``frames`` read
  from the file (never assumed), ``speaker_id`` = ``emodb:<SS>``, ``session_id`` = the
  speaker (EmoDB has no sessions), gender and ``speaker_age`` from the table above, no
  official split (the usual protocol is leave-one-speaker-out), ``intended_label`` =
  the canonical emotion, and ``text``, ``text_length``, ``emotion_code``, ``version`` in
  ``extra``.
* One rating per utterance with ``rater_type="intended"``, ``rater_id="emodb:intended"``,
  ``primary`` canonical and ``primary_raw`` the letter, so label views can use the acted
  label like any other rating (views that default to observers/crowd leave it out).
* The perception test of ``erkennung.txt`` in ``extra``: ``perception_nr`` (its running
  number), ``recognition_pct`` (share of the 20 listeners - 21 for text ``b03`` - who
  chose the intended emotion) and ``naturalness_pct`` (share judging the rendition
  natural), plus ``perception_<name>`` for any further column. These are **not**
  ratings: a recognition rate says how many listeners agreed with the actor but not
  which wrong labels the others chose, so it cannot be turned into votes without
  inventing them. Utterances the file does not list get ``None`` (and a warning).

Obtaining it: http://emodb.bilderbar.info/ (``download.zip``). Licence: free for
research; the site gives no formal licence text (some redistributors label it CC0),
so check before redistributing. Tests use :mod:`tfser.testing.fixtures.emodb`.

Pitfalls handled: ``A`` is Angst (fear) and ``F`` Freude (happiness) - letters are
mapped from the German words, and a third-party copy's ``audio_labels.csv`` that maps
them otherwise is ignored; ``erkennung.txt`` is Latin-1 with U+00A0 padding after the
running number and the percentages, and decimal commas (a UTF-8 re-encoding, a BOM and
CRLF line ends are accepted too); it lists all 816 recorded utterances, not only the
535 released ones (unmatched lines are counted, not errors); some public copies are
resampled to 22,050 Hz and cut to exactly 2.000 s - the rate is read from each header,
and a warning is logged when every file has the same length. A file whose name does not
parse (wrong pattern, unknown speaker, text or emotion letter), a duplicate stem, or
audio whose header cannot be read is a reject with the reason; macOS ``._*`` files are
skipped. A malformed ``erkennung.txt`` line raises ``ValueError`` naming file and line.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Dict, List, Mapping, Optional, Tuple

from tfser.corpora import textio
from tfser.annotations import schema
from tfser.annotations import vocabulary as voc
from tfser.corpora.options import AUDIO_CHECK, MIN_DURATION_S, Option
from tfser.corpora.base import LoadResult, Reject, finish, iter_wav_files
from tfser.audio import audio_io

CORPUS = "emodb"
INTENDED_RATER = "emodb:intended"
# The keyword options of load(), read by tfser.corpora.load_corpus to check user input.
OPTIONS = (
    Option("perception_file", "text", None,
           "Perception-test file, relative to root or absolute (default: the first of "
           "erkennung.txt, info.txt in root)."),
    AUDIO_CHECK,
    MIN_DURATION_S,
)
LOOKED_FOR = "WAV files named like 03a01Fa.wav in wav/ or in the folder itself"

# Letter -> (canonical name, German word it abbreviates).
EMOTIONS: Mapping[str, Tuple[str, str]] = {
    "W": (voc.ANGRY, "Wut/Aerger"),
    "L": (voc.BOREDOM, "Langeweile"),
    "E": (voc.DISGUST, "Ekel"),
    "A": (voc.FEAR, "Angst"),
    "F": (voc.HAPPY, "Freude"),
    "T": (voc.SAD, "Trauer"),
    "N": (voc.NEUTRAL, "neutral"),
}
CATEGORIES = (voc.ANGRY, voc.BOREDOM, voc.DISGUST, voc.FEAR, voc.HAPPY, voc.SAD, voc.NEUTRAL)
# Speaker -> (gender, age in years), from CORPUS_FORMATS.md section 4.2.
SPEAKERS: Mapping[str, Tuple[str, int]] = {
    "03": ("male", 31), "08": ("female", 34), "09": ("female", 21), "10": ("male", 32),
    "11": ("male", 26), "12": ("male", 30), "13": ("female", 32), "14": ("female", 35),
    "15": ("male", 25), "16": ("female", 31),
}
TEXTS = ("a01", "a02", "a04", "a05", "a07", "b01", "b02", "b03", "b09", "b10")
PERCEPTION_FILES = ("erkennung.txt", "info.txt")
ORIGINAL_SAMPLE_RATE = 16000

_NAME = re.compile(r"^(\d{2})([ab]\d{2})([A-Z])([a-z])$")
# erkennung.txt header words -> extra keys.
_PERCEPTION_COLUMNS = {"nr": "perception_nr", "satz": "file", "erkannt": "recognition_pct",
                       "natuerlich": "naturalness_pct", "natürlich": "naturalness_pct"}
_PERCENT_KEYS = ("recognition_pct", "naturalness_pct")
_DEFAULT_HEADER = ("nr", "satz", "erkannt", "natuerlich")

_log = logging.getLogger(__name__)


class BadNameError(ValueError):
    """A file name that is not a valid EmoDB recording name."""


def parse_name(stem: str) -> Dict[str, object]:
    """Decodes an EmoDB file stem such as ``03a01Fa``.

    Args:
      stem: File name without ``.wav``.

    Returns:
      ``speaker``, ``text``, ``text_length`` (short/long), ``emotion_code``,
      ``emotion`` (canonical), ``emotion_german`` and ``version``.

    Raises:
      BadNameError: Naming the field that does not parse.
    """
    match = _NAME.match(stem)
    if not match:
        raise BadNameError(f"'{stem}' is not an EmoDB name SSTTTEV (2-digit speaker, text "
                           "code a../b.., emotion letter, version letter)")
    speaker, text, letter, version = match.groups()
    if speaker not in SPEAKERS:
        raise BadNameError(f"'{stem}': speaker '{speaker}' is not one of the EmoDB speakers "
                           f"{', '.join(SPEAKERS)}")
    if text not in TEXTS:
        raise BadNameError(f"'{stem}': text code '{text}' is not one of {', '.join(TEXTS)}")
    if letter not in EMOTIONS:
        raise BadNameError(f"'{stem}': emotion letter '{letter}' is not one of "
                           f"{' '.join(EMOTIONS)}")
    canonical, german = EMOTIONS[letter]
    return {"speaker": speaker, "text": text,
            "text_length": "short" if text.startswith("a") else "long",
            "emotion_code": letter, "emotion": canonical, "emotion_german": german,
            "version": version}


# --- perception test ---------------------------------------------------------------



def _clean(field: str) -> str:
    return field.replace("\xa0", " ").strip()


def _number(text: str, where: str, column: str) -> Optional[float]:
    if text == "":
        return None
    try:
        return float(text.replace(",", "."))
    except ValueError:
        raise ValueError(f"{where}: column '{column}' holds '{text}', not a number") from None


def read_perception(path: str) -> Dict[str, Dict[str, object]]:
    """Reads the perception test (``erkennung.txt``) into per-recording extras.

    Args:
      path: The perception-test file (tab-separated, Latin-1 or UTF-8).

    Returns:
      File stem -> ``{"perception_nr": int, "recognition_pct": float,
      "naturalness_pct": float, ...}`` (further columns as ``perception_<name>``).

    Raises:
      ValueError: Naming the file and line of a malformed or contradictory line.
    """
    lines = textio.read_text(path).splitlines()
    header = None
    entries: Dict[str, Dict[str, object]] = {}
    first_line: Dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        where = f"{path}, line {number}"
        if not _clean(line):
            continue
        fields = [_clean(f) for f in line.split("\t")]
        if header is None:
            if not re.fullmatch(r"\d+", fields[0]):
                header = [f.lower().rstrip(".") for f in fields]
                missing = {"satz", "erkannt"} - set(header)
                if missing or not ({"natuerlich", "natürlich"} & set(header)):
                    raise ValueError(f"{where}: header {fields} lacks the columns Satz, "
                                     "erkannt and natuerlich")
                continue
            header = list(_DEFAULT_HEADER)
        if len(fields) != len(header):
            raise ValueError(f"{where}: expected {len(header)} tab-separated fields "
                             f"({', '.join(header)}), found {len(fields)}")
        entry: Dict[str, object] = {}
        stem = None
        for name, value in zip(header, fields):
            key = _PERCEPTION_COLUMNS.get(name, "perception_" + re.sub(r"\W+", "_", name))
            if key == "file":
                stem = value[:-4] if value.lower().endswith(".wav") else value
            elif key == "perception_nr":
                if not re.fullmatch(r"\d+", value):
                    raise ValueError(f"{where}: running number '{value}' is not an integer")
                entry[key] = int(value)
            elif key in _PERCENT_KEYS:
                pct = _number(value, where, name)
                if pct is not None and not 0.0 <= pct <= 100.0:
                    raise ValueError(f"{where}: {name} = {pct} is not a percentage")
                entry[key] = pct
            else:
                try:
                    entry[key] = _number(value, where, name)
                except ValueError:
                    entry[key] = value
        if not stem:
            raise ValueError(f"{where}: empty file name")
        if stem in entries and entries[stem] != entry:
            raise ValueError(f"{where}: '{stem}' listed again with other values than on "
                             f"line {first_line[stem]}")
        entries.setdefault(stem, entry)
        first_line.setdefault(stem, number)
    return entries


def _perception_keys(entries: Mapping[str, Mapping[str, object]]) -> List[str]:
    keys = {"perception_nr", "recognition_pct", "naturalness_pct"}
    for entry in entries.values():
        keys.update(entry)
    return sorted(keys)


# --- loader ----------------------------------------------------------------------------

def _find_perception(root: str, perception_file: Optional[str]) -> Optional[str]:
    if perception_file is not None:
        path = perception_file if os.path.isabs(perception_file) else os.path.join(
            root, perception_file)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"EmoDB: perception file {path} not found")
        return path
    for name in PERCEPTION_FILES:
        path = os.path.join(root, name)
        if os.path.isfile(path):
            return path
    return None


def _warn_about_copy(infos: List[audio_io.AudioInfo]) -> None:
    """Flags third-party copies that were resampled or cut to a fixed length."""
    rates = sorted({i.sample_rate for i in infos})
    if rates and rates != [ORIGINAL_SAMPLE_RATE]:
        _log.warning("EmoDB: sample rates %s Hz; the original release is %d Hz, so this is "
                     "probably a resampled copy (results are not comparable to published "
                     "EmoDB numbers)", rates, ORIGINAL_SAMPLE_RATE)
    frames = {i.frames for i in infos}
    if len(infos) >= 10 and len(frames) == 1:
        _log.warning("EmoDB: all %d files are exactly %.3f s long; the original recordings "
                     "vary in length, so this copy was cut or padded", len(infos),
                     infos[0].duration_s)


def load(root: str, perception_file: Optional[str] = None, audio_check: bool = False,
         min_duration_s: float = 0.0) -> LoadResult:
    """Loads EmoDB from ``root``.

    Args:
      root: Folder holding ``wav/`` (or the WAVs themselves) and ``erkennung.txt``.
      perception_file: Perception-test file, relative to ``root`` or absolute; default
        the first of ``erkennung.txt``, ``info.txt`` found in ``root``. Without one the
        perception fields are None.
      audio_check: Also decode every file and record what is wrong with it (silent,
        clipped, too short, NaN samples) in ``extra["audio_problem"]`` (None when fine).
      min_duration_s: Shortest plausible duration for ``audio_check``.

    Returns:
      The validated table, the rejects and the number of WAV files found.

    Raises:
      FileNotFoundError: When ``root`` (or an explicit perception file) is absent.
      ValueError: When the perception file is malformed (file and line named).
    """
    if not os.path.isdir(root):
        raise FileNotFoundError(f"EmoDB: {root} is not a folder")
    wav_dir = os.path.join(root, "wav") if os.path.isdir(os.path.join(root, "wav")) else root
    perception_path = _find_perception(root, perception_file)
    perception = read_perception(perception_path) if perception_path else {}
    if perception_path is None:
        _log.warning("EmoDB: no %s in %s; perception-test fields will be None",
                     " or ".join(PERCEPTION_FILES), root)
    perception_keys = _perception_keys(perception)

    utterances: List[schema.Utterance] = []
    ratings: List[schema.Rating] = []
    rejects: List[Reject] = []
    infos: List[audio_io.AudioInfo] = []
    seen: Dict[str, str] = {}
    unmatched: List[str] = []
    found = 0
    for path, rel, stem in iter_wav_files(root, wav_dir, corpus="EmoDB"):
        found += 1
        try:
            fields = parse_name(stem)
        except BadNameError as error:
            rejects.append(Reject(item=rel, reason=str(error), source=rel))
            continue
        if stem in seen:
            rejects.append(Reject(item=rel, source=rel, reason=f"duplicate of {seen[stem]}"))
            continue
        try:
            info = audio_io.probe(path)
        except audio_io.AudioError as error:
            rejects.append(Reject(item=rel, source=rel,
                                  reason=f"unreadable audio: {error.problem}"))
            continue
        seen[stem] = rel
        infos.append(info)
        gender, age = SPEAKERS[fields["speaker"]]
        extra = {key: fields[key] for key in ("text", "text_length", "emotion_code",
                                              "emotion_german", "version")}
        extra.update(speaker_age=age, sample_rate=info.sample_rate, channels=info.channels,
                     frames=info.frames)
        entry = perception.get(stem)
        if entry is None:
            unmatched.append(stem)
        extra.update({key: (entry or {}).get(key) for key in perception_keys})
        if audio_check:
            problems = audio_io.check_audio(path, min_duration_s=min_duration_s)
            extra["audio_problem"] = "; ".join(problems) if problems else None
        speaker_id = f"{CORPUS}:{fields['speaker']}"
        utterances.append(schema.Utterance(
            utt_id=stem, corpus=CORPUS, audio_path=rel, duration_s=info.duration_s,
            speaker_id=speaker_id, session_id=speaker_id, gender=gender,
            official_split=None, intended_label=fields["emotion"], extra=extra))
        ratings.append(schema.Rating(
            utt_id=stem, rater_id=INTENDED_RATER, rater_type="intended",
            primary=fields["emotion"], primary_raw=fields["emotion_code"]))

    _warn_about_copy(infos)
    if perception_path and unmatched:
        _log.warning("EmoDB: %d of %d utterances have no line in %s (e.g. %s)",
                     len(unmatched), len(utterances), perception_path, unmatched[:5])
    if perception:
        _log.info("EmoDB: %s lists %d recordings, %d of them present here",
                  perception_path, len(perception), len(utterances) - len(unmatched))
    meta = schema.TableMeta(
        corpus=CORPUS, categories=list(CATEGORIES), secondary_categories=[], dimensions={},
        audio_root=os.path.abspath(root),
        description="Berlin EmoDB; intended (acted) labels as 'intended' ratings; perception "
                    "test (recognition_pct, naturalness_pct) in utterance extra.")
    return finish(schema.build_table(meta, utterances, ratings), rejects, found,
                  root=root, looked_for=LOOKED_FOR)
