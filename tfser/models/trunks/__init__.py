"""Trunks: named features -> embedding, one registered architecture per module.

========================  ==========================  =======================================
name                      input                       embedding
========================  ==========================  =======================================
``dnn``                   ``[B, D]`` vectors          ``[B, units[-1]]`` (000)
``cnn_blstm_attention``   ``[B, T, F]`` + lengths     ``[B, 2 * lstm_units]`` (001)
``blstm_dnn_attention``   ``[B, T, D]`` + lengths     ``[B, output_units]`` (002)
``lstm_seq``              ``[B, T, D]`` + lengths     ``[B, T, units[-1]]`` frames (003)
``vggm``                  ``[B, T, F]`` fixed length  ``[B, fc7_units]`` (004)
========================  ==========================  =======================================
"""

from tfser.models.trunks import blstm_dnn_attention, cnn_blstm_attention, dnn, lstm_seq, vggm  # noqa: F401  (registers)
from tfser.models.trunks.registry import TRUNKS, TrunkEntry, build_trunk, register_trunk

__all__ = ["TRUNKS", "TrunkEntry", "build_trunk", "register_trunk"]
