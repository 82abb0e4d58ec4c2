"""Ground floor: reading and checking audio files.

:mod:`tfser.audio.audio_io` decodes any format libsndfile reads, mixes down to mono,
resamples and checks a signal; corpus loaders use its header probe to record durations,
the synthetic corpus writes through it, and the feature front-ends and serving read
through it. It imports nothing else from tfser.
"""
