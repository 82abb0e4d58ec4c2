"""The rater-embedding head at CREMA-D's crowd size: 2,443 raters, real vote counts.

CREMA-D's vote table (``../shared/corpora/crema-d-annotations/tabulatedVotes.csv``, not
part of the project) gives each clip's votes per emotion but not who cast them (the
per-rater ``finishedResponses.csv`` is not there). The test spreads each voice clip's
real votes over distinct raters drawn from a pool of the corpus's 2,443 raters (seeded)
and checks that the per-rater head in embedding mode builds and trains a step at that
size. Skipped where the folder is absent.
"""

import os

import keras
import numpy as np
import pandas as pd
import pytest

from tfser import models

VOTES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))), "shared", "corpora", "crema-d-annotations",
    "tabulatedVotes.csv")
CREMA_D_RATERS = 2443
EMOTIONS = ("A", "D", "F", "H", "N", "S")
CLIPS = 64


def _crowd_targets(rng):
    """[CLIPS, 2443, 6] one-hot votes of real voice clips, each vote a distinct rater."""
    table = pd.read_csv(VOTES)
    voice = table[table.iloc[:, 0].astype(str).str.startswith("1")].head(CLIPS)
    targets = np.zeros((len(voice), CREMA_D_RATERS, len(EMOTIONS)), np.float32)
    for i, counts in enumerate(voice[list(EMOTIONS)].to_numpy(int)):
        votes = np.repeat(np.arange(len(EMOTIONS)), counts)
        raters = rng.choice(CREMA_D_RATERS, size=len(votes), replace=False)
        targets[i, raters, votes] = 1.0
    return targets


@pytest.mark.skipif(not os.path.isfile(VOTES),
                    reason=f"CREMA-D's vote table is not at {VOTES} (third-party data, "
                           "never committed; see ../shared/corpora/README.md)")
def test_embedding_head_builds_and_trains_a_step_for_crema_d_raters():
    rng = np.random.default_rng(0)
    targets = _crowd_targets(rng)
    mask = targets.sum(axis=2)
    assert targets.shape == (CLIPS, CREMA_D_RATERS, 6) and (mask.sum(axis=1) >= 4).all()
    config = models.ModelConfig(
        features=(models.FeatureInput("x", dim=16),),
        trunk=models.TrunkConfig("dnn", params={"units": [32]}),
        heads=(models.HeadConfig("rater", units=6, kind="per_rater",
                                 params={"num_raters": CREMA_D_RATERS,
                                         "rater_mode": "embedding"}),))
    model = models.build_model(config)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), **models.compile_kwargs(config))
    head = model.get_layer("rater_logits")
    # One classifier shared by the crowd: far fewer weights than 2,443 classifiers.
    assert sum(int(np.prod(w.shape)) for w in head.weights) < 32 * CREMA_D_RATERS * 6 / 4
    before = [np.array(w) for w in head.weights]
    x = rng.normal(size=(CLIPS, 16)).astype(np.float32)
    loss = model.train_on_batch({"x": x}, {"rater": targets},
                                sample_weight={"rater": mask}, return_dict=True)["loss"]
    assert np.isfinite(loss) and loss > 0
    assert any(not np.allclose(a, np.array(b)) for a, b in zip(before, head.weights))
    assert model.predict({"x": x[:2]}, verbose=0)["rater"].shape == (2, CREMA_D_RATERS, 6)
