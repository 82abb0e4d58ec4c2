"""Audio front-end: decoding and checking audio files, then acoustic features.

:mod:`tfser.features.audio_io` reads audio (any format libsndfile decodes), mixes it
to mono, resamples it and checks it; corpus loaders use its header probe to record
durations. Feature extractors build on the decoded signal.
"""
