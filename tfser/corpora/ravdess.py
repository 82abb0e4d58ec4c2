"""RAVDESS (Livingstone & Russo 2018): acted speech and song, intended labels only.

Layout: the audio-only zips (speech, song) unpack to ``Actor_01/ ... Actor_24/``; pass
the folder that holds them (or any parent: every ``*.wav`` below ``root`` is read, so
speech and song may sit in separate sub-folders)::

    Actor_17/03-01-05-02-01-02-17.wav

The 7-field name ``MM-VV-EE-II-SS-RR-AA`` is the only label:

=====  ================  =========================================================
field  meaning           codes
=====  ================  =========================================================
MM     modality          01 audio-video, 02 video-only, 03 audio-only
VV     vocal channel     01 speech, 02 song
EE     emotion           01 neutral, 02 calm, 03 happy, 04 sad, 05 angry,
                         06 fearful, 07 disgust, 08 surprised
II     intensity         01 normal, 02 strong (neutral has no strong)
SS     statement         01 "Kids are talking by the door", 02 "Dogs are sitting by the door"
RR     repetition        01, 02
AA     actor             01-24; odd = male, even = female
=====  ================  =========================================================

What the loader records: one utterance per WAV (``utt_id`` = file stem, speaker
``ravdess:<AA>``, gender from the actor number's parity, ``intended_label`` canonical,
``duration_s`` plus sample rate and channel count from the WAV header, the decoded
fields in ``extra``) and one rating per utterance with ``rater_type="intended"``,
``rater_id="ravdess:intended"``, ``primary_raw`` = the emotion code. There are no
rater rows: the perceptual validation ratings (10 per recording) are supplementary
material of the paper, not part of the audio zips. No official split (use actor-wise
folds); ``official_split`` is None and ``session_id`` is None.

Obtaining it: https://zenodo.org/records/1188976 (``Audio_Speech_Actors_01-24.zip``,
``Audio_Song_Actors_01-24.zip``). Licence: the Zenodo record says CC BY-NC-SA 4.0 (the
description text says "Creative Commons Attribution"); treat it as non-commercial,
share-alike. Tests use :mod:`tfser.testing.fixtures.ravdess`.

Pitfalls handled: WAV headers carry an extra chunk before ``data`` (duration comes from
libsndfile, never from a 44-byte-header assumption); song has only emotions 01-06 and
no Actor_18; "calm" exists only here (merging it into neutral is a label policy, not a
loader decision). A name that is not 7 valid fields, an impossible combination (strong
neutral, song with disgust/surprise, video-only "audio"), an actor number that
disagrees with its ``Actor_NN`` folder, a duplicate stem or an unreadable/empty WAV is a
reject with the reason; macOS ``._*`` files are skipped (logged).
"""

from __future__ import annotations

import logging
import os
import re
from typing import Dict, List, Tuple

from tfser.annotations import schema
from tfser.annotations import vocabulary as voc
from tfser.corpora.options import Option
from tfser.corpora.base import LoadResult, Reject, finish, iter_wav_files
from tfser.audio.audio_io import AudioError, probe

CORPUS = "ravdess"
INTENDED_RATER = "ravdess:intended"
# load() has no keyword options.
OPTIONS: Tuple[Option, ...] = ()
LOOKED_FOR = "WAV files named like 03-01-05-01-02-01-12.wav below the folder (Actor_NN/)"

EMOTIONS = {"01": voc.NEUTRAL, "02": voc.CALM, "03": voc.HAPPY, "04": voc.SAD,
            "05": voc.ANGRY, "06": voc.FEAR, "07": voc.DISGUST, "08": voc.SURPRISE}
CATEGORIES = tuple(EMOTIONS.values())
SONG_EMOTIONS = ("01", "02", "03", "04", "05", "06")
MODALITIES = {"01": "audio-video", "02": "video-only", "03": "audio-only"}
CHANNELS = {"01": "speech", "02": "song"}
INTENSITIES = {"01": "normal", "02": "strong"}
STATEMENTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
REPETITIONS = ("01", "02")

_NAME = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")
_ACTOR_DIR = re.compile(r"^Actor_(\d+)$")

_log = logging.getLogger(__name__)


class BadNameError(ValueError):
    """A file name that does not describe a valid RAVDESS recording."""


def parse_name(stem: str) -> Dict[str, object]:
    """Decodes a RAVDESS file stem.

    Args:
      stem: File name without extension, e.g. ``03-01-05-02-01-02-17``.

    Returns:
      The decoded fields (``modality``, ``vocal_channel``, ``emotion_code``, ``emotion``,
      ``intensity``, ``statement``, ``statement_text``, ``repetition``, ``actor``).

    Raises:
      ValueError: naming the field when the stem is not a valid RAVDESS name.
    """
    match = _NAME.match(stem)
    if not match:
        raise BadNameError(f"'{stem}' is not a 7-field RAVDESS name MM-VV-EE-II-SS-RR-AA "
                         "(two digits each)")
    modality, channel, emotion, intensity, statement, repetition, actor = match.groups()
    for value, table, field in ((modality, MODALITIES, "modality"),
                                (channel, CHANNELS, "vocal channel"),
                                (emotion, EMOTIONS, "emotion"),
                                (intensity, INTENSITIES, "intensity"),
                                (statement, STATEMENTS, "statement"),
                                (repetition, REPETITIONS, "repetition")):
        if value not in table:
            raise BadNameError(f"'{stem}': unknown {field} code '{value}' (known: "
                             f"{sorted(table)})")
    if int(actor) < 1:
        raise BadNameError(f"'{stem}': actor number must be 01 or more")
    if modality == "02":
        raise BadNameError(f"'{stem}': modality 02 is video-only and has no audio")
    if emotion == "01" and intensity == "02":
        raise BadNameError(f"'{stem}': neutral has no strong intensity (II=02)")
    if channel == "02" and emotion not in SONG_EMOTIONS:
        raise BadNameError(f"'{stem}': song has only emotions {', '.join(SONG_EMOTIONS)}, "
                         f"not {emotion} ({EMOTIONS[emotion]})")
    return {
        "modality": MODALITIES[modality], "vocal_channel": CHANNELS[channel],
        "emotion_code": emotion, "emotion": EMOTIONS[emotion],
        "intensity": INTENSITIES[intensity], "statement": statement,
        "statement_text": STATEMENTS[statement], "repetition": int(repetition),
        "actor": int(actor),
    }


def load(root: str) -> LoadResult:
    """Loads every RAVDESS WAV below ``root``.

    Args:
      root: Folder holding the ``Actor_NN`` folders (or a parent of them).

    Returns:
      The validated table (intended labels as ``intended`` ratings), the rejects and the
      number of WAV files found.

    Raises:
      FileNotFoundError: when ``root`` is not a folder.
    """
    if not os.path.isdir(root):
        raise FileNotFoundError(f"RAVDESS: {root} is not a folder")
    utterances: List[schema.Utterance] = []
    ratings: List[schema.Rating] = []
    rejects: List[Reject] = []
    seen: Dict[str, str] = {}
    found = 0
    for path, rel, stem in iter_wav_files(root, root, recursive=True, corpus="RAVDESS"):
        folder = os.path.dirname(path)
        found += 1
        try:
            fields = parse_name(stem)
        except BadNameError as error:
            rejects.append(Reject(item=rel, reason=str(error), source=rel))
            continue
        actor_dir = _ACTOR_DIR.match(os.path.basename(folder))
        if actor_dir and int(actor_dir.group(1)) != fields["actor"]:
            rejects.append(Reject(item=rel, source=rel, reason=(
                f"actor {fields['actor']:02d} in the name but the file lies in "
                f"{os.path.basename(folder)}")))
            continue
        if stem in seen:
            rejects.append(Reject(item=rel, source=rel,
                                  reason=f"duplicate of {seen[stem]}"))
            continue
        try:
            info = probe(path)
        except AudioError as error:
            rejects.append(Reject(item=rel, source=rel,
                                  reason=f"unusable audio: {error.problem}"))
            continue
        seen[stem] = rel
        actor = fields["actor"]
        extra = dict(fields, sample_rate=info.sample_rate, channels=info.channels)
        utterances.append(schema.Utterance(
            utt_id=stem, corpus=CORPUS, audio_path=rel, duration_s=info.duration_s,
            speaker_id=f"{CORPUS}:{actor:02d}", session_id=None,
            gender="male" if actor % 2 else "female", official_split=None,
            intended_label=fields["emotion"], extra=extra))
        ratings.append(schema.Rating(
            utt_id=stem, rater_id=INTENDED_RATER, rater_type="intended",
            primary=fields["emotion"], primary_raw=fields["emotion_code"]))

    meta = schema.TableMeta(
        corpus=CORPUS, categories=list(CATEGORIES), secondary_categories=[], dimensions={},
        audio_root=os.path.abspath(root),
        description="RAVDESS speech and song; intended labels from the file names.")
    return finish(schema.build_table(meta, utterances, ratings), rejects, found,
                  root=root, looked_for=LOOKED_FOR)
