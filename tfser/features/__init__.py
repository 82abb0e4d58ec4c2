"""Acoustic front-ends on decoded audio, and the TFRecord schema.

Audio is read by :mod:`tfser.audio.audio_io` (the ground floor); the extractors here
(openSMILE sets, spectrograms, frame pooling, augmentation) build on the decoded signal,
and :mod:`tfser.features.example_codec` is the sole owner of TFRecord keys and of the
reader side of ``dataset_info.json`` (:mod:`tfser.features.dataset_info`).
"""
