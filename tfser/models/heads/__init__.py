"""Heads: small named layers from an embedding to one output each.

==============  =======================  ==============================================
type            output                   learns from (label kind)
==============  =======================  ==============================================
categorical     softmax ``[B, K]``       hard (class index) or soft (distribution)
speaker         softmax ``[B, S]``       speaker (class index, 004)
multilabel      sigmoid ``[B, K]``       secondary (000)
existence       sigmoid ``[B, K]``       existence (001)
per_rater       softmax ``[B, R, K]``    per_rater (002)
regression      linear ``[B(, T), A]``   dimensional (003)
==============  =======================  ==============================================

The output layer of a head is named after the head, and models return a dict keyed
by head name, which is also the label key, the loss key and the metric prefix.
"""

from tfser.models.heads import categorical, multilabel, per_rater, regression  # noqa: F401  (registers)
from tfser.models.heads.registry import HEADS, build_head, build_heads, register_head

__all__ = ["HEADS", "build_head", "build_heads", "register_head"]
