"""tfser's custom Keras layers, one small layer per module.

Every layer is registered as ``tfser>ClassName`` for ``keras.saving`` and has a
complete ``get_config``; :data:`LAYERS` lists them all so that one shared test can
round-trip each (``get_config`` -> ``from_config`` and ``model.save`` / ``load_model``).
A new layer must be added here, and the test fails until it has a test case.
"""

from tfser.models.layers.attention_pooling import AttentionPooling
from tfser.models.layers.downsample_lengths import DownsampleLengths
from tfser.models.layers.frame_count import FrameCount
from tfser.models.layers.length_mask import LengthMask, sequence_mask
from tfser.models.layers.per_rater_dense import PerRaterDense
from tfser.models.layers.rater_embedding_logits import RaterEmbeddingLogits
from tfser.models.layers.uncertainty_weights import UncertaintyWeights
from tfser.models.layers.zero_masked_frames import ZeroMaskedFrames

LAYERS = (AttentionPooling, DownsampleLengths, FrameCount, LengthMask, PerRaterDense,
          RaterEmbeddingLogits, UncertaintyWeights, ZeroMaskedFrames)

__all__ = [cls.__name__ for cls in LAYERS] + ["LAYERS", "sequence_mask"]
