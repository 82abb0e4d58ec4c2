"""Frame counts of a spectrogram from waveform lengths in samples."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfser")
class FrameCount(keras.layers.Layer):
    """``samples [B] -> frames [B]`` of an STFT without end padding.

    ``frames = 1 + max(samples - frame_length, 0) // frame_step``: the framing of
    :mod:`tfser.features.spectrogram` (a waveform shorter than one frame still gives
    one frame). Used when a model starts from batch-padded waveforms, so that the
    frames computed from padding are masked like padded frames.

    Args:
      frame_length: Samples per frame.
      frame_step: Samples between frame starts.
    """

    def __init__(self, frame_length: int, frame_step: int, **kwargs):
        super().__init__(**kwargs)
        if frame_length < 1 or frame_step < 1:
            raise ValueError("frame_length and frame_step must be positive")
        self.frame_length = int(frame_length)
        self.frame_step = int(frame_step)

    def call(self, samples):
        samples = ops.cast(samples, "int32")
        return 1 + ops.maximum(samples - self.frame_length, 0) // self.frame_step

    def get_config(self):
        config = super().get_config()
        config.update({"frame_length": self.frame_length, "frame_step": self.frame_step})
        return config
