"""The synthetic corpus: speech with known emotions, rated by simulated raters.

Licensed emotion corpora cannot be shipped, so tfser generates one that exercises
every method it implements: hard, soft and per-rater labels, secondary
(multi-label) emotions, dimensional ratings, ties with no plurality winner,
speaker-independent splits, and continuous traces with a visual stream. The
simulation's truth is stored next to the labels, so tests and demos can check
what a method recovers.

Usage::

    tfser-synth --out build/synth --seed 0 --size default     # or --size small

    from tfser import synthetic
    table = synthetic.generate("build/synth", seed=0, size="small")

The same seed gives byte-identical WAV files and equal tables (on one platform
and library stack; floating-point libraries may differ elsewhere). The default
size (600 utterances of 1.5-6 s, about 38 min, plus 10 continuous recordings of
20-60 s, about 7 min; 86 MB) takes about 30 s on one core; ``small`` (80
utterances of 1-2.5 s plus 3 recordings of ~20 s) about 2 s.

What is simulated
-----------------

*Speakers.* Ten speakers in five sessions (``Ses1`` .. ``Ses5``), one female and
one male each (``synthetic:S01F``, ``synthetic:S01M``, ...). Each has a habitual
F0 (female 185-235 Hz, male 95-135 Hz), a vocal-tract length that scales all
formants (female ~17% higher), speaker-specific vowel formants, a voice quality
(open quotient, breathiness, jitter, shimmer, creak), a spectral tilt, a speaking
rate and a loudness. Sessions 1-3 are the official train split, 4 dev, 5 test.

*Speech.* A source-filter synthesiser (``voice.py``): a Rosenberg glottal pulse
train driven by the F0 contour, with per-cycle jitter and shimmer and
flow-modulated aspiration noise, passed through a spectral-tilt filter and a
cascade of five second-order formant resonators updated every 10 ms. Each
utterance is a phrase of syllables: an optional consonant (fricative noise or a
plosive closure and burst), then a vowel whose formants glide from the previous
vowel's targets; stressed syllables are longer, louder and pitch-accented, pitch
declines over the phrase, and short pauses separate some syllables. Audio is
16 kHz mono 16-bit PCM.

*Emotions.* Eight primary categories, in this order: angry, sad, happy,
surprise, fear, disgust, contempt, neutral, with realistic imbalance (neutral
~29%, fear/disgust/contempt ~6% each). Each utterance expresses a latent state:
a dominant emotion, in 30% of utterances blended with a plausible second one
(weight 0.2-0.45, e.g. angry+disgust, happy+surprise), an intensity (0.45-1), and
latent arousal, valence and dominance (the mixture's prototype values scaled by
intensity, plus noise). Prosody and voice quality follow the state: each emotion
has a prototype deviation from the speaker's neutral voice (anger: F0 +4 st,
+8 dB, flatter tilt, pressed voice, faster; sadness: F0 -3 st, narrow range,
-7 dB, steep tilt, breathy, slow, long pauses; happiness: F0 +5 st, wide range,
raised formants; fear: F0 +6 st, 3x jitter, tremor, fast; surprise: wide range,
strongly rising end; disgust: low, slow, creaky; contempt: low arousal, strongly
falling contour; neutral: the speaker's habits), mixed by the mixture weights and
scaled by intensity; the latent dimensions' deviation from the prototypes moves
F0, loudness, tempo, range and tilt further. eGeMAPS functionals therefore carry
both speaker and emotion cues: a speaker-independent logistic regression on them
reaches ~60% accuracy on the default corpus (8 classes; ~40% on the small one).

*Raters.* Ten simulated observers (``synthetic:R01`` ..), 5-7 per utterance
(workload-weighted); the ``crowd`` size (or ``SynthConfig.for_size(size, **CROWD)``)
has 500 (``synthetic:R001`` ..), 20-30 per utterance, a few dozen ratings each. A rater perceives the latent mixture through a personal
confusion matrix (shared confusions such as angry/disgust, happy/surprise,
sad/neutral, plus one or two personal ones), with a clarity that grows with the
rater's reliability and the expression's intensity; what is unclear falls back to
a neutral-leaning guess. Each rater gives a primary category (one of the eight, or
"other" at 1-5%, twice as often for blends), 0-3 secondary categories from paper
000's extended list (the eight plus amused, frustrated, depressed, concerned,
disappointed, excited, confused, annoyed; the blended emotion is a likely pick),
and integer arousal, valence and dominance ratings on 1..7 with a personal
leniency, scale and noise. Fleiss' kappa on the primary categories is ~0.35-0.4,
and ~8% of utterances have no plurality winner (a tie).

*Continuous recordings* (SEWA-like, ``cont_S01F_001`` ..): latent arousal,
valence and liking trajectories at 10 Hz (smooth random processes with a few
emotional episodes; liking partly follows valence) drive the speech: each
syllable's F0, loudness, tempo and voice quality follow the latent arousal and
valence at that moment, in speech turns separated by listening pauses. Six raters
per recording trace arousal, valence and liking at 10 Hz in [-1, 1]: the latent
trace delayed by the rater's reaction time (1-3 s), smoothed, with a personal gain
and bias and slowly wandering noise; the ``consensus`` trace is their mean. A
synchronised visual stream gives ten facial action-unit intensities (0..5, AU01,
AU02, AU04, AU05, AU06, AU09, AU12, AU15, AU25, AU26) driven by the undelayed
latent state (AU12/AU06 with positive valence, AU04/AU15 with negative valence,
AU05/AU26 with arousal, AU25 while speaking) plus noise. Recordings have no
categorical ratings.

Output layout
-------------

``meta.json`` + ``utterances.parquet``, ``ratings.parquet``, ``traces.parquet``
(the unified table); ``wav/<utt_id>.wav``; ``traces/<recording>/<rater>_<attribute>.npy``,
``consensus_<attribute>.npy``, ``au.npy`` ([T, 10], trace kind ``feature``,
attribute ``au``, rater ``none``) and ``latent.npy`` ([T, 3] true arousal,
valence, liking). Categories are the eight emotions plus ``other`` (a legal
primary that label policies may exclude); the extra secondary names are in
``meta.secondary_categories``; ``meta.dimensions`` is arousal, valence, dominance
on [1, 7]. The simulated truth is in each utterance's ``extra``: ``dominant``,
``mixture``, ``blended``, ``intensity``, ``latent`` (arousal/valence/dominance in
[-1, 1]) for rated utterances; ``continuous: true``, ``latent_trace``,
``au_names`` and ``rater_delays_s`` for recordings. ``tfser.corpora.synthetic``
loads a generated directory like any other corpus.
"""

from tfser.synthetic.config import (
    AU_NAMES, CATEGORIES, CROWD, DIMENSIONS, EMOTIONS, OTHER, SECONDARY_CATEGORIES, SIZES,
    TRACE_ATTRIBUTES, SynthConfig)
from tfser.synthetic.corpus import class_counts, corpus_stats, generate

__all__ = [
    "AU_NAMES", "CATEGORIES", "CROWD", "DIMENSIONS", "EMOTIONS", "OTHER", "SECONDARY_CATEGORIES", "SIZES",
    "TRACE_ATTRIBUTES", "SynthConfig", "class_counts", "corpus_stats", "generate",
]
