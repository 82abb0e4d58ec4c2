"""Small hand-written annotation tables for the label tests."""

from __future__ import annotations

from typing import Optional, Sequence

from tfser.annotations import schema
from tfser.annotations import validation

CATEGORIES = ["neutral", "happy", "excited", "sad", "angry", "frustration", "other"]


def rating(utt: str, rater: str, primary: Optional[str], secondary: Sequence[str] = (),
           rater_type: str = "observer", condition: Optional[str] = None,
           **dims: float) -> schema.Rating:
    return schema.Rating(utt_id=utt, rater_id=rater, rater_type=rater_type, primary=primary,
                         primary_raw=primary, secondary=tuple(secondary), dims=dims,
                         condition=condition)


def make_table(ratings: Sequence[schema.Rating], utt_ids: Optional[Sequence[str]] = None,
               categories: Sequence[str] = CATEGORIES,
               secondary_categories: Sequence[str] = (), dimensions=None,
               speakers=None, validate: bool = True) -> schema.AnnotationTable:
    """A valid table over ``utt_ids`` (default: the rated utterances in first-seen order)."""
    if utt_ids is None:
        utt_ids = list(dict.fromkeys(r.utt_id for r in ratings))
    speakers = speakers or {}
    utterances = [schema.Utterance(utt_id=u, corpus="unit", audio_path=f"{u}.wav",
                                   duration_s=1.0, speaker_id=speakers.get(u, f"unit:{u[:2]}"))
                  for u in utt_ids]
    meta = schema.TableMeta(corpus="unit", categories=list(categories),
                            secondary_categories=list(secondary_categories),
                            dimensions=dict(dimensions or {}))
    table = schema.build_table(meta, utterances, ratings)
    return validation.validate(table) if validate else table
