"""Speaker-independent train / dev / test splits over a table's utterances.

A model that has heard a speaker in training is scored on that speaker's voice as
much as on emotion, so every protocol here keeps speakers disjoint across parts and
proves it: each split function ends by calling :func:`check_no_speaker_leak`.
Utterances whose speaker is unknown cannot be placed safely and make every
speaker-independent function raise.

Protocols (each returns a :class:`SplitProtocol`, a list of :class:`Split` folds):

* :func:`leave_one_speaker_out` - one fold per speaker; one further speaker is held
  out for development (paper 001: 8 train / 1 dev / 1 test over 10 speakers).
* :func:`leave_one_session_out` - one fold per recording session (paper 002).
* :func:`speaker_grouped_kfold` - k folds of whole speakers, balanced by utterances.
* :func:`official_split` - the corpus's own partition (``official_split`` column).
* :func:`by_group_split` - an explicit opt-in for partitions that are *not*
  speaker-independent (e.g. speaker identification split by sentence, paper 004).

There is deliberately no utterance-random split. :func:`build_split` dispatches by
protocol name for configuration files.
"""

from tfser.annotations.splits.base import (
    SpeakerLeakError,
    Split,
    SplitProtocol,
    find_speaker_overlap,
    check_no_speaker_leak,
    PARTS,
    LOSO_DEV_POLICIES,
    SESSION_DEV_POLICIES,
    UtterancesLike)
from tfser.annotations.splits.protocols import (
    leave_one_speaker_out,
    leave_one_session_out,
    speaker_grouped_kfold,
    official_split,
    by_group_split,
    build_split)

__all__ = [
    "LOSO_DEV_POLICIES",
    "PARTS",
    "SESSION_DEV_POLICIES",
    "SpeakerLeakError",
    "Split",
    "SplitProtocol",
    "UtterancesLike",
    "build_split",
    "by_group_split",
    "check_no_speaker_leak",
    "find_speaker_overlap",
    "leave_one_session_out",
    "leave_one_speaker_out",
    "official_split",
    "speaker_grouped_kfold",
]
