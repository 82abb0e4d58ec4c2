"""Canonical category names shared by all loaders.

Corpora write emotions as letters, codes or words, and single letters collide
across corpora (``A`` is anger in MSP-Podcast and CREMA-D but fear in EmoDB), so
each loader maps its own codes onto these names; nothing maps codes globally.
The raw string is always kept beside the canonical one (``primary_raw``).
"""

NEUTRAL = "neutral"
CALM = "calm"
HAPPY = "happy"
EXCITED = "excited"
SAD = "sad"
ANGRY = "angry"
FEAR = "fear"
DISGUST = "disgust"
SURPRISE = "surprise"
CONTEMPT = "contempt"
FRUSTRATION = "frustration"
BOREDOM = "boredom"
OTHER = "other"

CANONICAL = (NEUTRAL, CALM, HAPPY, EXCITED, SAD, ANGRY, FEAR, DISGUST, SURPRISE, CONTEMPT,
             FRUSTRATION, BOREDOM, OTHER)

# Paper 000's extra secondary-emotion classes (MSP-Podcast).
SECONDARY_EXTRA = ("amused", "frustrated", "depressed", "concerned", "disappointed", "excited",
                   "confused", "annoyed")
