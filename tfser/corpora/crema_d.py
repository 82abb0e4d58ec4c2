"""CREMA-D (Cao et al. 2014): 7,442 acted clips, each rated by crowd raters in three modes.

Layout of the repository (pass its folder as ``root``)::

    AudioWAV/<clip>.wav               16 kHz audio for computation (git-LFS objects)
    AudioMP3/ VideoFlash/             rating stimuli (not read)
    SentenceFilenames.csv             "Stimulus_Number","Filename": clip number -> clip name
    VideoDemographics.csv             "ActorID","Age","Sex","Race","Ethnicity"
    finishedResponses.csv             one row per crowd response (git-LFS object)
    finishedEmoResponses.csv          first click of each response, with its time
    processedResults/tabulatedVotes.csv, summaryTable.csv    the corpus's own aggregates

Every CSV may sit at the root or under ``processedResults/``. Clip names are
``ActorID_Sentence_Emotion_Level``: actor ``1001``-``1091``, one of 12 sentence codes,
the intended emotion (``ANG DIS FEA HAP NEU SAD``) and intended level (``LO MD HI XX``).

What the loader records:

* One utterance per clip: ``utt_id`` = clip name, ``audio_path`` =
  ``AudioWAV/<clip>.wav`` whether or not the file is there, ``speaker_id`` =
  ``crema:<ActorID>``, gender from ``Sex``, ``speaker_age``/``race``/``ethnicity``,
  ``sentence``, ``sentence_text``, ``clip_num``, ``intended_level`` in ``extra``,
  ``intended_label`` canonical, no session and no official split.
* Clips whose audio is absent or unreadable are still annotated (the vote table is
  useful on its own): ``duration_s`` is NaN (unknown, allowed by the schema),
  ``extra["audio_present"]`` is False or ``extra["audio_problem"]`` names the problem
  (e.g. a git-LFS pointer stub). ``require_audio=True`` rejects them instead.
  ``audio_check=True`` also decodes every present file and records silent, too-short,
  clipped or NaN-holding audio in ``extra["audio_problem"]`` (``tfser-annotate
  --audio_check`` prints these and writes ``audio_report.csv``).
* One ``intended`` rating per clip (``rater_id="crema:intended"``, ``primary_raw`` =
  the three-letter code).
* Crowd ratings, ``rater_type="crowd"``, ``condition`` = ``voice`` / ``face`` /
  ``audiovisual`` for ``queryType`` 1 / 2 / 3 (all three are kept; for speech emotion
  recognition select ``condition="voice"`` in the label spec):

  - from ``finishedResponses.csv`` when present: one rating per response row,
    ``rater_id`` = ``crema:<localid>`` (real raters, usable for per-rater models and
    Krippendorff's alpha), ``primary`` from ``respEmo``, and ``respLevel`` (0-100) as
    the dimension ``intensity`` (a non-numeric level is kept verbatim in
    ``extra["intensity_raw"]``). As in the corpus's own processing, a response whose
    first click took more than 10 s (``finishedEmoResponses.csv``) is set aside as
    distracted when that file is present (``drop_distracted``);
  - otherwise from the vote counts of ``tabulatedVotes.csv``: each count becomes that
    many ratings with **anonymous** ids ``crema:anon:<queryType>:<clip>:<i>``. These
    ids are unique per clip and condition, so they carry the vote distribution
    (hard, soft and existence labels, Fleiss' kappa) but say nothing about who voted:
    they **cannot** feed per-rater models, rater-reliability weighting or Krippendorff's
    alpha across items, and the table has no ``intensity`` dimension.

* The corpus's aggregates, per condition, in ``extra["tabulated"][condition]`` with the
  corpus's column names (``A`` ... ``S`` counts, ``numResponses``, ``agreement``,
  ``emoVote`` with ties as ``A:D``, ``meanEmoResp`` ... ``medianEmoRespNorm``; the
  ``-1``/``NA`` sentinels become None) plus ``emoVote_labels`` (the canonical names of
  the tied winners); ``summaryTable.csv`` adds ``extra["summary"][condition]`` =
  ``{"vote": "A:D", "level": [29.0, 100.0]}``.

Counting: ``items_found`` = candidate clips (every name seen in SentenceFilenames, the
rating files or ``AudioWAV/``) + rating rows set aside one by one. Set-aside rows
(unknown query type or emotion letter, clip number and name that disagree, counts that
do not add up, the same rater twice for a clip and condition, distracted responses)
are rejects naming the file and line; practice items (clips 7443 ``ANG_HI_practice``
and 7444 ``SAD_MD_practice``), unparseable names, unknown actors and names missing from
SentenceFilenames.csv are rejects per clip, with the number of their rating rows.

Obtaining it: https://github.com/CheyneyComputerScience/CREMA-D (clone with git-LFS; a
zip download holds only LFS pointer stubs for audio and the response files).
Licence: Open Database License 1.0 for the database, Database Contents License 1.0 for
its contents. Tests use :mod:`tfser.testing.fixtures.crema_d`.

Pitfalls handled: LFS stubs instead of audio; ties ``A:D`` and ``-1``/``NA`` sentinels;
summaryTable levels with a leading space; the unnamed first column (``""`` or R's
``X``); BOMs and CRLF line ends in re-saved CSVs; voice votes disagree with the intended
emotion often (both are kept: acted is not perceived).
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import io
import logging
import math
import os
import re
from typing import Dict, Iterator, List, Mapping, Optional, Set, Tuple

from tfser.corpora import textio
from tfser.annotations import schema
from tfser.annotations import vocabulary as voc
from tfser.corpora.options import AUDIO_CHECK, MIN_DURATION_S, REQUIRE_AUDIO, Option
from tfser.corpora.base import LoadResult, Reject, finish
from tfser.audio import audio_io

CORPUS = "crema_d"
RATER_PREFIX = "crema"
INTENDED_RATER = "crema:intended"
AUDIO_DIR = "AudioWAV"
CSV_DIRS = ("", "processedResults")

CONDITIONS = {1: "voice", 2: "face", 3: "audiovisual"}
LETTERS = {"A": voc.ANGRY, "D": voc.DISGUST, "F": voc.FEAR, "H": voc.HAPPY,
           "N": voc.NEUTRAL, "S": voc.SAD}
EMOTION_CODES = {"ANG": voc.ANGRY, "DIS": voc.DISGUST, "FEA": voc.FEAR, "HAP": voc.HAPPY,
                 "NEU": voc.NEUTRAL, "SAD": voc.SAD}
CATEGORIES = (voc.ANGRY, voc.DISGUST, voc.FEAR, voc.HAPPY, voc.NEUTRAL, voc.SAD)
LEVELS = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"}
SENTENCES = {
    "IEO": "It's eleven o'clock", "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting", "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full", "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock", "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket", "ITS": "I think I've seen this before",
    "TSI": "The surface is slick", "WSI": "We'll stop in a couple of minutes",
}
PRACTICE_CLIPS = {7443: "ANG_HI_practice", 7444: "SAD_MD_practice"}
INTENSITY_SCALE = (0.0, 100.0)
# Responses whose first click came later than this are "distracted" in the corpus's
# own processing (processFinishedResponses.R).
DISTRACTED_MS = 10000.0

RESPONSES_FILE = "finishedResponses.csv"
EMO_RESPONSES_FILE = "finishedEmoResponses.csv"
VOTES_FILE = "tabulatedVotes.csv"
# The keyword options of load(), read by tfser.corpora.load_corpus to check user input.
OPTIONS = (
    Option("ratings", "choice", "auto",
           "Per-rater responses, anonymous tabulated votes, or auto (responses when "
           "present and not an LFS stub, else votes).", choices=("auto", "responses", "votes")),
    Option("responses_file", "text", RESPONSES_FILE, "Response file name."),
    Option("drop_distracted", "flag", True, "Set aside responses whose first click took "
           "more than 10 s, when finishedEmoResponses.csv is present."),
    REQUIRE_AUDIO.with_default(False, "Reject clips whose WAV is missing or unreadable "
                                      "(default: keep them with a NaN duration)."),
    AUDIO_CHECK,
    MIN_DURATION_S.with_default(0.5),
    Option("silence_dbfs", "number", audio_io.DEFAULT_SILENCE_DBFS,
           "audio_check reports clips whose RMS level in dBFS is lower."),
)
LOOKED_FOR = f"clips rated in {RESPONSES_FILE} or {VOTES_FILE} (also under processedResults/)"
SUMMARY_FILE = "summaryTable.csv"
SENTENCES_FILE = "SentenceFilenames.csv"
DEMOGRAPHICS_FILE = "VideoDemographics.csv"

_NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})$")
_RESPONSE_COLUMNS = ("localid", "queryType", "clipNum", "clipName", "respEmo", "respLevel")
_VOTE_COUNT_COLUMNS = tuple(LETTERS)
_VOTE_COLUMNS = _VOTE_COUNT_COLUMNS + ("fileName", "numResponses", "agreement", "emoVote")
_SUMMARY_COLUMNS = {"voice": ("VoiceVote", "VoiceLevel"), "face": ("FaceVote", "FaceLevel"),
                    "audiovisual": ("MultiModalVote", "MultiModalLevel")}

_log = logging.getLogger(__name__)


class BadNameError(ValueError):
    """A clip name that is not ``ActorID_Sentence_Emotion_Level``."""


class RowError(ValueError):
    """A CSV row the loader cannot use; the message names file and line."""


def parse_name(name: str) -> Dict[str, object]:
    """Decodes a clip name such as ``1017_IWL_FEA_XX``.

    Raises:
      BadNameError: Naming the field that does not parse.
    """
    match = _NAME.match(name)
    if not match:
        raise BadNameError(f"'{name}' is not a CREMA-D clip name ActorID_Sentence_Emotion_"
                           "Level (e.g. 1017_IWL_FEA_XX)")
    actor, sentence, emotion, level = match.groups()
    if sentence not in SENTENCES:
        raise BadNameError(f"'{name}': sentence code '{sentence}' is not one of "
                           f"{' '.join(SENTENCES)}")
    if emotion not in EMOTION_CODES:
        raise BadNameError(f"'{name}': emotion code '{emotion}' is not one of "
                           f"{' '.join(EMOTION_CODES)}")
    if level not in LEVELS:
        raise BadNameError(f"'{name}': level '{level}' is not one of {' '.join(LEVELS)}")
    return {"actor": actor, "sentence": sentence, "sentence_text": SENTENCES[sentence],
            "emotion_code": emotion, "emotion": EMOTION_CODES[emotion],
            "level_code": level, "intended_level": LEVELS[level]}


# --- CSV reading --------------------------------------------------------------------------

def find_file(root: str, name: str) -> Optional[str]:
    """``root/name`` or ``root/processedResults/name``, whichever exists (else None)."""
    for folder in CSV_DIRS:
        path = os.path.join(root, folder, name)
        if os.path.isfile(path):
            return path
    return None


def _read_csv(path: str, required: Tuple[str, ...] = ()) -> Iterator[Tuple[int, Dict[str, str]]]:
    """Yields (line number, row) of a CSV; the unnamed first column is called ``_id``.

    Raises:
      ValueError: When the file is not text, lacks a column or a row has the wrong
        number of fields (file and line named).
    """
    with open(path, "rb") as handle:
        data = handle.read()
    if data.startswith(b"version https://git-lfs"):
        raise ValueError(f"{path} is a git-LFS pointer stub, not the CSV; fetch it with "
                         "'git lfs pull'")
    text = textio.decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = None
    for fields in reader:
        if header is None:
            header = [f.strip() for f in fields]
            if header and header[0] in ("", "X"):
                header[0] = "_id"
            missing = [c if c != "_id" else "<unnamed first column>"
                       for c in required if c not in header]
            if missing:
                raise ValueError(f"{path}: missing column(s) {missing}; found {header}")
            continue
        if not fields or all(not f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            raise ValueError(f"{path}, line {reader.line_num}: {len(fields)} fields, the "
                             f"header has {len(header)}")
        yield reader.line_num, dict(zip(header, fields))
    if header is None:
        raise ValueError(f"{path} is empty")


def _int(text: str, where: str, column: str) -> int:
    try:
        value = float(text.strip())
    except ValueError:
        raise RowError(f"{where}: {column} '{text}' is not a number") from None
    if not value.is_integer():
        raise RowError(f"{where}: {column} '{text}' is not a whole number")
    return int(value)


def _aggregate(text: str) -> Optional[float]:
    """An aggregate cell: ``-1`` (nobody chose that emotion) and ``NA`` become None."""
    text = text.strip()
    if text in ("", "NA", "NaN", "-1"):
        return None
    value = float(text)
    return None if value == -1 or not math.isfinite(value) else value


def read_sentences(path: str) -> Dict[int, str]:
    """SentenceFilenames.csv -> {clip number: clip name}."""
    names: Dict[int, str] = {}
    for line, row in _read_csv(path, ("Stimulus_Number", "Filename")):
        where = f"{path}, line {line}"
        try:
            number = _int(row["Stimulus_Number"], where, "Stimulus_Number")
        except RowError as error:
            raise ValueError(str(error)) from None
        name = row["Filename"].strip()
        if number in names and names[number] != name:
            raise ValueError(f"{where}: Stimulus_Number {number} listed twice")
        names[number] = name
    return names


def read_demographics(path: str) -> Dict[str, Dict[str, object]]:
    """VideoDemographics.csv -> {actor id: {gender, speaker_age, race, ethnicity, sex}}."""
    actors: Dict[str, Dict[str, object]] = {}
    for line, row in _read_csv(path, ("ActorID", "Age", "Sex", "Race", "Ethnicity")):
        where = f"{path}, line {line}"
        actor = row["ActorID"].strip()
        sex = row["Sex"].strip()
        gender = {"male": "male", "female": "female"}.get(sex.lower())
        if gender is None:
            _log.warning("%s: Sex '%s' is neither Male nor Female; gender left empty",
                         where, sex)
        age = row["Age"].strip()
        actors[actor] = {"gender": gender, "sex": sex,
                         "speaker_age": int(age) if age.isdigit() else None,
                         "race": row["Race"].strip() or None,
                         "ethnicity": row["Ethnicity"].strip() or None}
    return actors


def read_distracted(path: str, threshold_ms: float = DISTRACTED_MS) -> Set[Tuple[int, int, int]]:
    """Keys (sessionNums, queryType, questNum) of responses whose first click was late."""
    keys = set()
    for line, row in _read_csv(path, ("sessionNums", "queryType", "questNum", "ttr")):
        try:
            ttr = float(row["ttr"])
        except ValueError:
            _log.warning("%s, line %d: ttr '%s' is not a number; not treated as distracted",
                         path, line, row["ttr"])
            continue
        if ttr > threshold_ms:
            where = f"{path}, line {line}"
            keys.add((_int(row["sessionNums"], where, "sessionNums"),
                      _int(row["queryType"], where, "queryType"),
                      _int(row["questNum"], where, "questNum")))
    return keys


# --- rating sources ---------------------------------------------------------------------

@dataclasses.dataclass
class _Clip:
    """What the files say about one candidate clip."""

    name: str
    number: Optional[int] = None
    practice: bool = False
    ratings: List[schema.Rating] = dataclasses.field(default_factory=list)
    rows: int = 0
    tabulated: Dict[str, dict] = dataclasses.field(default_factory=dict)
    summary: Dict[str, dict] = dataclasses.field(default_factory=dict)
    intensity_raw: Dict[str, str] = dataclasses.field(default_factory=dict)
    sources: Set[str] = dataclasses.field(default_factory=set)


class _Clips:
    """Candidate clips in first-seen order, keyed by name."""

    def __init__(self, numbers: Mapping[int, str]):
        self.by_name: Dict[str, _Clip] = {}
        self.numbers = dict(numbers)
        self.listed = set(numbers.values())
        for number, name in sorted(numbers.items()):
            self.get(name, SENTENCES_FILE).number = number

    def get(self, name: str, source: str) -> _Clip:
        if name not in self.by_name:
            self.by_name[name] = _Clip(name)
        clip = self.by_name[name]
        clip.sources.add(source)
        return clip

    def resolve(self, number: Optional[int], name: str, where: str, source: str) -> _Clip:
        """The clip a row refers to; raises RowError when number and name disagree."""
        if number in PRACTICE_CLIPS:
            clip = self.get(name or PRACTICE_CLIPS[number], source)
            clip.practice, clip.number = True, number
            return clip
        if name.endswith("practice"):
            clip = self.get(name, source)
            clip.practice = True
            return clip
        if number is not None and self.numbers and number in self.numbers \
                and self.numbers[number] != name:
            raise RowError(f"{where}: clip number {number} is '{self.numbers[number]}' in "
                           f"{SENTENCES_FILE} but the row names '{name}'")
        clip = self.get(name, source)
        if clip.number is None:
            clip.number = number
        return clip


def _read_responses(path: str, clips: _Clips, distracted: Set[Tuple[int, int, int]],
                    root: str) -> List[Reject]:
    """Adds one crowd rating per usable response row; returns the rows set aside."""
    source = os.path.relpath(path, root)
    rejects: List[Reject] = []
    first_seen: Dict[Tuple[str, str, str], int] = {}
    for line, row in _read_csv(path, _RESPONSE_COLUMNS):
        where = f"{source}, line {line}"
        try:
            query = _int(row["queryType"], where, "queryType")
            if query not in CONDITIONS:
                raise RowError(f"{where}: queryType {query} is not 1 (voice), 2 (face) or 3 "
                               "(audiovisual)")
            number = _int(row["clipNum"], where, "clipNum")
            clip = clips.resolve(number, row["clipName"].strip(), where, source)
            if clip.practice:
                clip.rows += 1
                continue
            localid = row["localid"].strip()
            if not localid:
                raise RowError(f"{where}: empty localid (rater)")
            letter = row["respEmo"].strip()
            if letter not in LETTERS:
                raise RowError(f"{where}: respEmo '{letter}' is not one of "
                               f"{' '.join(LETTERS)}")
            if distracted and all(k in row for k in ("sessionNums", "questNum")):
                key = (_int(row["sessionNums"], where, "sessionNums"), query,
                       _int(row["questNum"], where, "questNum"))
                if key in distracted:
                    raise RowError(f"{where}: distracted response (first click after more "
                                   f"than {DISTRACTED_MS / 1000:.0f} s in "
                                   f"{EMO_RESPONSES_FILE}), set aside as in the corpus's "
                                   "own processing")
            condition = CONDITIONS[query]
            rater_id = f"{RATER_PREFIX}:{localid}"
            dup_key = (clip.name, rater_id, condition)
            if dup_key in first_seen:
                raise RowError(f"{where}: rater {localid} already rated {clip.name} "
                               f"({condition}) on line {first_seen[dup_key]}")
            first_seen[dup_key] = line
        except RowError as error:
            rejects.append(Reject(item=f"{source}:{line}", reason=str(error), source=source))
            continue
        clip.rows += 1
        dims = {}
        level = row["respLevel"].strip()
        try:
            value = float(level)
            if not (math.isfinite(value) and INTENSITY_SCALE[0] <= value <= INTENSITY_SCALE[1]):
                raise ValueError
            dims["intensity"] = value
        except ValueError:
            # "NA" is R's missing value; anything else unusable is kept verbatim.
            if level and level != "NA":
                clip.intensity_raw[f"{rater_id}|{condition}"] = level
        clip.ratings.append(schema.Rating(
            utt_id=clip.name, rater_id=rater_id, rater_type="crowd", primary=LETTERS[letter],
            primary_raw=letter, dims=dims, condition=condition))
    return rejects


def _read_votes(path: str, clips: _Clips, expand: bool, root: str) -> List[Reject]:
    """Stores the aggregates per clip and condition; with ``expand`` adds one anonymous
    crowd rating per vote. Returns the rows set aside."""
    source = os.path.relpath(path, root)
    rejects: List[Reject] = []
    first_seen: Dict[Tuple[str, int], int] = {}
    for line, row in _read_csv(path, ("_id",) + _VOTE_COLUMNS):
        where = f"{source}, line {line}"
        try:
            code = _int(row["_id"], where, "row id")
            query, number = divmod(code, 100000)
            if query not in CONDITIONS:
                raise RowError(f"{where}: row id {code} does not start with query type 1, 2 "
                               "or 3")
            clip = clips.resolve(number, row["fileName"].strip(), where, source)
            if clip.practice:
                clip.rows += 1
                continue
            if (clip.name, query) in first_seen:
                raise RowError(f"{where}: second row for {clip.name} query type {query} "
                               f"(first on line {first_seen[(clip.name, query)]})")
            counts = {k: _int(row[k], where, k) for k in _VOTE_COUNT_COLUMNS}
            total = _int(row["numResponses"], where, "numResponses")
            if min(counts.values()) < 0 or sum(counts.values()) != total:
                raise RowError(f"{where}: vote counts {counts} do not add up to "
                               f"numResponses {total}")
            first_seen[(clip.name, query)] = line
        except RowError as error:
            rejects.append(Reject(item=f"{source}:{line}", reason=str(error), source=source))
            continue
        clip.rows += 1
        condition = CONDITIONS[query]
        entry: Dict[str, object] = dict(counts)
        entry["numResponses"] = total
        entry["agreement"] = _aggregate(row["agreement"])
        vote = row["emoVote"].strip()
        entry["emoVote"] = vote or None
        entry["emoVote_labels"] = [LETTERS.get(v, v) for v in vote.split(":") if v]
        for column, value in row.items():
            if column.startswith(("mean", "median")):
                try:
                    entry[column] = _aggregate(value)
                except ValueError:
                    entry[column] = value.strip()
        clip.tabulated[condition] = entry
        if expand:
            i = 0
            for letter in _VOTE_COUNT_COLUMNS:
                for _ in range(counts[letter]):
                    clip.ratings.append(schema.Rating(
                        utt_id=clip.name, rater_id=f"{RATER_PREFIX}:anon:{query}:{clip.name}:{i}",
                        rater_type="crowd", primary=LETTERS[letter], primary_raw=letter,
                        condition=condition))
                    i += 1
    return rejects


def _read_summary(path: str, clips: _Clips) -> None:
    """summaryTable.csv: the winning emotion(s) and their mean level per condition."""
    required = ("FileName",) + tuple(c for pair in _SUMMARY_COLUMNS.values() for c in pair)
    for _, row in _read_csv(path, required):
        name = row["FileName"].strip()
        if name not in clips.by_name:
            continue    # clips known only to the summary are not candidates
        for condition, (vote_col, level_col) in _SUMMARY_COLUMNS.items():
            levels = []
            for part in row[level_col].split(":"):
                try:
                    levels.append(float(part))
                except ValueError:
                    levels = row[level_col].strip()
                    break
            clips.by_name[name].summary[condition] = {"vote": row[vote_col].strip() or None,
                                                      "level": levels}


# --- loader -------------------------------------------------------------------------------

def _audio_facts(root: str, name: str, audio_check: bool, min_duration_s: float,
                 silence_dbfs: float) -> Tuple[float, Dict[str, object]]:
    """Duration (NaN when unknown) and the audio fields of ``extra``."""
    path = os.path.join(root, AUDIO_DIR, name + ".wav")
    if not os.path.exists(path):
        return math.nan, {"audio_present": False, "audio_problem": "file not found"}
    try:
        info = audio_io.probe(path)
    except audio_io.AudioError as error:
        return math.nan, {"audio_present": True, "audio_problem": error.problem}
    facts: Dict[str, object] = {"audio_present": True, "audio_problem": None,
                                "sample_rate": info.sample_rate, "channels": info.channels}
    if audio_check:
        problems = audio_io.check_audio(path, min_duration_s=min_duration_s,
                                        silence_dbfs=silence_dbfs)
        facts["audio_problem"] = "; ".join(problems) if problems else None
    return info.duration_s, facts


def load(root: str, ratings: str = "auto", responses_file: str = RESPONSES_FILE,
         drop_distracted: bool = True, require_audio: bool = False, audio_check: bool = False,
         min_duration_s: float = 0.5,
         silence_dbfs: float = audio_io.DEFAULT_SILENCE_DBFS) -> LoadResult:
    """Loads CREMA-D from ``root``.

    Args:
      root: The corpus folder.
      ratings: ``responses`` (per-rater rows of ``responses_file``), ``votes`` (anonymous
        ratings expanded from ``tabulatedVotes.csv``) or ``auto`` (responses when the
        file is present and not an LFS stub, else votes).
      responses_file: Response file name (e.g. ``finishedResponsesWithRepeatWithPractice
        .csv``, whose practice and repeated rows then become rejects).
      drop_distracted: Set aside responses whose first click took more than 10 s, when
        ``finishedEmoResponses.csv`` is present.
      require_audio: Reject clips whose WAV is missing or unreadable (default: keep them
        with a NaN duration).
      audio_check: Decode every present WAV and record problems in
        ``extra["audio_problem"]``.
      min_duration_s: ``audio_check`` reports shorter clips.
      silence_dbfs: ``audio_check`` reports clips whose RMS level is lower.

    Returns:
      The validated table, the rejects and the number of items found (clips + rows set
      aside).

    Raises:
      FileNotFoundError: When ``root`` or the requested rating file is missing.
      ValueError: For a bad option or a malformed metadata file (file and line named).
    """
    if not os.path.isdir(root):
        raise FileNotFoundError(f"CREMA-D: {root} is not a folder")
    if ratings not in ("auto", "responses", "votes"):
        raise ValueError(f"ratings must be 'auto', 'responses' or 'votes', got {ratings!r}")
    responses_path = find_file(root, responses_file)
    votes_path = find_file(root, VOTES_FILE)
    if ratings == "auto":
        usable = responses_path is not None and not audio_io.is_lfs_pointer(responses_path)
        if responses_path is not None and not usable:
            _log.warning("CREMA-D: %s is a git-LFS pointer stub; using the anonymous vote "
                         "counts of %s instead", responses_path, VOTES_FILE)
        ratings = "responses" if usable else "votes"
    if ratings == "responses" and responses_path is None:
        raise FileNotFoundError(f"CREMA-D: {responses_file} not found in {root} or "
                                f"{root}/processedResults")
    if ratings == "votes" and votes_path is None:
        raise FileNotFoundError(f"CREMA-D: neither {responses_file} nor {VOTES_FILE} found in "
                                f"{root} or {root}/processedResults")

    sentences_path = find_file(root, SENTENCES_FILE)
    numbers = read_sentences(sentences_path) if sentences_path else {}
    demographics_path = find_file(root, DEMOGRAPHICS_FILE)
    actors = read_demographics(demographics_path) if demographics_path else {}
    if not actors:
        _log.warning("CREMA-D: no %s; gender and age will be empty", DEMOGRAPHICS_FILE)

    clips = _Clips(numbers)
    rejects: List[Reject] = []
    if ratings == "responses":
        emo_path = find_file(root, EMO_RESPONSES_FILE)
        distracted = read_distracted(emo_path) if (emo_path and drop_distracted) else set()
        if drop_distracted and not emo_path:
            _log.warning("CREMA-D: no %s; distracted responses cannot be identified and are "
                         "kept", EMO_RESPONSES_FILE)
        rejects += _read_responses(responses_path, clips, distracted, root)
    if votes_path is not None:
        rejects += _read_votes(votes_path, clips, expand=(ratings == "votes"), root=root)
    audio_dir = os.path.join(root, AUDIO_DIR)
    if os.path.isdir(audio_dir):
        for file_name in sorted(os.listdir(audio_dir)):
            if file_name.lower().endswith(".wav") and not file_name.startswith("._"):
                clips.get(file_name[:-4], f"{AUDIO_DIR}/{file_name}")
    summary_path = find_file(root, SUMMARY_FILE)
    if summary_path is not None:
        _read_summary(summary_path, clips)
    found = len(rejects)

    utterances: List[schema.Utterance] = []
    all_ratings: List[schema.Rating] = []
    for clip in sorted(clips.by_name.values(),
                       key=lambda c: (c.number is None, c.number or 0, c.name)):
        found += 1
        with_rows = f" ({clip.rows} rating row(s) set aside with it)" if clip.rows else ""
        reason = None
        if clip.practice:
            reason = f"practice item (clip {clip.number}), not a corpus clip{with_rows}"
        else:
            try:
                fields = parse_name(clip.name)
            except BadNameError as error:
                reason = f"{error}{with_rows}"
        if reason is None and clips.listed and clip.name not in clips.listed:
            reason = f"'{clip.name}' is not listed in {SENTENCES_FILE}{with_rows}"
        if reason is None and actors and fields["actor"] not in actors:
            reason = f"actor {fields['actor']} is not in {DEMOGRAPHICS_FILE}{with_rows}"
        audio_path = f"{AUDIO_DIR}/{clip.name}.wav"
        if reason is None:
            duration, audio = _audio_facts(root, clip.name, audio_check, min_duration_s,
                                           silence_dbfs)
            if require_audio and math.isnan(duration):
                reason = f"no usable audio ({audio_path}: {audio['audio_problem']})"
        if reason is not None:
            rejects.append(Reject(item=clip.name, reason=reason,
                                  source=", ".join(sorted(clip.sources))))
            continue
        actor = actors.get(fields["actor"], {})
        extra: Dict[str, object] = {
            "clip_num": clip.number, "actor": fields["actor"], "sentence": fields["sentence"],
            "sentence_text": fields["sentence_text"], "emotion_code": fields["emotion_code"],
            "level_code": fields["level_code"], "intended_level": fields["intended_level"],
            "speaker_age": actor.get("speaker_age"), "sex": actor.get("sex"),
            "race": actor.get("race"), "ethnicity": actor.get("ethnicity"),
            "tabulated": clip.tabulated, "summary": clip.summary,
        }
        extra.update(audio)
        if clip.intensity_raw:
            extra["intensity_raw"] = clip.intensity_raw
        utterances.append(schema.Utterance(
            utt_id=clip.name, corpus=CORPUS, audio_path=audio_path, duration_s=duration,
            speaker_id=f"{RATER_PREFIX}:{fields['actor']}", session_id=None,
            gender=actor.get("gender"), official_split=None,
            intended_label=fields["emotion"], extra=extra))
        all_ratings.append(schema.Rating(
            utt_id=clip.name, rater_id=INTENDED_RATER, rater_type="intended",
            primary=fields["emotion"], primary_raw=fields["emotion_code"]))
        all_ratings.extend(clip.ratings)

    by_type = collections.Counter(r.condition for r in all_ratings if r.rater_type == "crowd")
    _log.info("CREMA-D: %d clips, crowd ratings per condition %s (source: %s)",
              len(utterances), dict(by_type), ratings)
    dimensions = {"intensity": list(INTENSITY_SCALE)} if ratings == "responses" else {}
    source_name = os.path.relpath(responses_path if ratings == "responses" else votes_path,
                                  root)
    meta = schema.TableMeta(
        corpus=CORPUS, categories=list(CATEGORIES), secondary_categories=[],
        dimensions=dimensions, audio_root=os.path.abspath(root),
        description=(f"CREMA-D; crowd ratings from {source_name}"
                     + (" (anonymous: one id per vote, not per rater)"
                        if ratings == "votes" else "")
                     + "; conditions voice/face/audiovisual; intended labels as "
                       "'intended' ratings."))
    return finish(schema.build_table(meta, utterances, all_ratings), rejects, found,
                  root=root, looked_for=LOOKED_FOR)
