"""Registered base experiments and the ``smoke`` shrink.

Each entry of :data:`EXPERIMENTS` is a plain config dict that
:func:`tfser.training.config.resolve_config` starts from; YAML deltas and overrides
change it from there. Heads are named by their stored label view (see
:mod:`tfser.training.task`).
"""

from __future__ import annotations

import copy
from typing import Any, Dict, Mapping

_DNN_000 = {"type": "dnn", "params": {"units": [512, 512]}}
_OPTIMIZER_000 = {"name": "adam", "learning_rate": 1e-3}

_DATA_000 = "configs/featurize/synthetic_000.yaml"


def _experiment_000(name: str, model_name: str, description: str, heads,
                    data: str = _DATA_000, weight_emotion: bool = False) -> Dict[str, Any]:
    """Paper 000's DNN 2x512 on eGeMAPS with the given heads (its four table rows)."""
    experiment = {"name": name, "description": f"{description}; data from {data}.",
                  "features": ["egemaps_functionals"],
                  "model": {"name": model_name, "trunk": _DNN_000, "heads": heads},
                  "optimizer": _OPTIMIZER_000, "batch_size": 32, "epochs": 100,
                  "early_stopping": {"monitor": "val_loss", "patience": 10}}
    if weight_emotion:
        experiment["class_weighting"] = {"emotion": True}
    return experiment


EXPERIMENTS: Dict[str, Dict[str, Any]] = {
    "000_mtl": _experiment_000(
        "000_mtl", "mtl_000", "Paper 000: DNN 2x512 on eGeMAPS, primary emotion (hard) plus "
        "secondary emotions (KL), loss weights 0.44 / 0.56",
        [{"name": "emotion", "loss_weight": 0.44},
         {"name": "secondary", "loss": "secondary_kl", "loss_weight": 0.56}],
        weight_emotion=True),
    "000_hard_pe": _experiment_000(
        "000_hard_pe", "hard_pe_000", "Paper 000's single-task baseline: the same DNN on "
        "the primary emotion only", [{"name": "emotion"}], weight_emotion=True),
    "000_soft_pe": _experiment_000(
        "000_soft_pe", "soft_pe_000", "Paper 000's Soft-label PE baseline: the same DNN on "
        "the primary vote distribution (soft cross-entropy)", [{"name": "emotion_soft"}],
        data="configs/featurize/synthetic_000_recipe.yaml (view emotion_soft)"),
    "000_hard_se": _experiment_000(
        "000_hard_se", "hard_se_000", "Paper 000's Hard-label SE baseline: the same DNN on "
        "the secondary emotions only (KL)", [{"name": "secondary", "loss": "secondary_kl"}]),
}

# Paper 001: CNN-BLSTM-attention on the log power spectrogram, a classifier of dense 64
# -> K, Adam, batch 16, early stopping on the development loss, and (Sec. 4.1) "inverse
# values of the class frequencies were used as class weights" - for the existence head
# the per-class existent / non-existent ones. Learning rates: 5e-4 for the dominant-
# emotion baseline, 2e-4 for MLEE from a flat start, 1e-4 to fine-tune a classifier on
# the frozen MLEE encoder, 5e-5 on the fused encoders. A two-stage experiment names its
# first stage(s) when it runs: model.trunk.init_from=<run> / model.trunk.fuse=[...].
_CNN_001 = {"type": "cnn_blstm_attention", "params": {}}
_HEADS_001 = {"hard": "emotion", "soft": "emotion_soft", "existence": "emotion_exists"}
_TRUNKS_001 = {"new": _CNN_001, "pretrain": {"init_from": None, "freeze": True},
               "fusion": {"fuse": None, "freeze": True}}


def _experiment_001(name: str, model_name: str, description: str, target: str,
                    learning_rate: float, trunk: str = "new") -> Dict[str, Any]:
    """Paper 001's model on one target (``hard``, ``soft``, ``existence``) over a new
    encoder, the frozen MLEE encoder (``pretrain``) or several fused (``fusion``)."""
    head = _HEADS_001[target]
    return {"name": name, "description": f"{description}; data from "
            "configs/featurize/synthetic_001.yaml.", "features": ["logspec_001"],
            "model": {"name": model_name, "trunk": _TRUNKS_001[trunk],
                      "heads": [{"name": head, "hidden": [64]}]},
            "optimizer": {"name": "adam", "learning_rate": learning_rate},
            "batch_size": 16, "epochs": 50,
            "early_stopping": {"monitor": "val_loss", "patience": 10},
            "class_weighting": {head: True}}


EXPERIMENTS.update({
    "001_hard": _experiment_001(
        "001_hard", "hard_001", "Paper 001: CNN-BLSTM-attention on the log power "
        "spectrogram, hard primary emotion, Adam 5e-4, batch 16, inverse class-frequency "
        "class weights", "hard", 5e-4),
    "001_soft": _experiment_001(
        "001_soft", "soft_001", "Paper 001's soft-target baseline: the same model on the "
        "vote distribution (a = 0.75), Adam 5e-4, class weights", "soft", 5e-4),
    "001_mlee": _experiment_001(
        "001_mlee", "mlee_001", "Paper 001's MLEE model: the same model with a sigmoid "
        "existence head (class-wise BCE, per-class existent / non-existent weights), Adam "
        "2e-4 from a flat start", "existence", 2e-4),
})
for _target in ("hard", "soft"):
    EXPERIMENTS.update({
        f"001_mlee_pretrain_{_target}": _experiment_001(
            f"001_mlee_pretrain_{_target}", f"mlee_pretrain_{_target}_001",
            f"Paper 001's MLEE pre-training: a new classifier ({_target} target) on the "
            "frozen MLEE encoder (model.trunk.init_from=<the 001_mlee run>), Adam 1e-4",
            _target, 1e-4, trunk="pretrain"),
        f"001_mlee_fusion_{_target}": _experiment_001(
            f"001_mlee_fusion_{_target}", f"mlee_fusion_{_target}_001",
            f"Paper 001's MLEE pre-training fusion: a new classifier ({_target} target) on "
            "the frozen MLEE and dominant-emotion encoders concatenated "
            "(model.trunk.fuse=[<001_mlee run>, <001_hard or 001_soft run>]), Adam 5e-5",
            _target, 5e-5, trunk="fusion"),
    })

# Paper 004: VGG-M on 4 s spectrograms, SGD with momentum, weight decay as the paper's
# L2 term of the gradient (weight_decay_mode: coupled, tfser.training.optimizers), the
# rate x 0.1 every 20 epochs, 60 epochs without early stopping, batch 64.
_VGGM_004 = {"type": "vggm", "params": {}}
_OPTIMIZER_004 = {"name": "sgd", "learning_rate": 0.01, "momentum": 0.9, "weight_decay": 5e-4,
                  "weight_decay_mode": "coupled",
                  "schedule": {"type": "step_decay", "every_epochs": 20, "factor": 0.1}}
_TRAINING_004 = {"optimizer": _OPTIMIZER_004, "batch_size": 64, "epochs": 60,
                 "early_stopping": {"monitor": "val_loss", "patience": 0}}


def _experiment_004(name: str, description: str, heads) -> Dict[str, Any]:
    return {"name": name, "description": description + "; data from "
            "configs/featurize/synthetic_004.yaml.", "features": ["spec_004"],
            "model": {"name": name, "trunk": _VGGM_004, "heads": heads}, **_TRAINING_004}


EXPERIMENTS.update({
    "004_stl": _experiment_004("004_stl", "Paper 004's single-task model: VGG-M, emotion only",
                               [{"name": "emotion"}]),
    "004_mtl": _experiment_004("004_mtl", "Paper 004's multitask model: VGG-M, emotion + "
                               "speaker identity, unweighted loss sum",
                               [{"name": "emotion"}, {"name": "speaker"}]),
    "004_speaker": _experiment_004("004_speaker", "Paper 004's single-task speaker "
                                   "identification: VGG-M, speaker only",
                                   [{"name": "speaker"}]),
})

# Paper 002: the BLSTM-DNN block (dense 256 -> BLSTM 128 with attention -> dense 256,
# dropout 0.5) on the 45 emobase LLDs, Adamax, early stopping on development loss; the
# paper grid-searches batch size, rate and epochs (recipe 002's sweep). Every component
# is the same block under another target: the hard consensus, the soft distribution
# (a = 0.75) or raters' own labels. Fusions (Crowd_HS, the proposed model) restore
# these trunks frozen under one new softmax (model.trunk: {fuse: [...]}).
_BLSTM_002 = {"type": "blstm_dnn_attention", "params": {}}
_TRAINING_002 = {"optimizer": {"name": "adamax", "learning_rate": 1e-3}, "batch_size": 32,
                 "epochs": 30, "early_stopping": {"monitor": "val_loss", "patience": 5}}


def _experiment_002(name: str, description: str, head: Dict[str, Any]) -> Dict[str, Any]:
    return {"name": name, "description": description + "; data from "
            "configs/featurize/synthetic_002_recipe.yaml.", "features": ["emobase_lld_002"],
            "model": {"name": name, "trunk": _BLSTM_002, "heads": [head]}, **_TRAINING_002}


EXPERIMENTS.update({
    "002_crowd_h": _experiment_002("002_crowd_h", "Paper 002's Crowd_H: BLSTM-DNN on the "
                                   "hard (plurality) emotion", {"name": "emotion"}),
    "002_crowd_s": _experiment_002("002_crowd_s", "Paper 002's Crowd_S: BLSTM-DNN on the "
                                   "soft label (a = 0.75) of every rated utterance",
                                   {"name": "emotion_soft"}),
    # On the per-rater view itself: one trunk with a softmax per rater (the shared
    # variant); with the head renamed to one rater's slice (rater.<rater>, as recipe
    # 002's each_rater row does): that rater's own model E_n, as the paper.
    "002_individual": _experiment_002("002_individual", "Paper 002's individual raters: "
                                      "BLSTM-DNN on raters' own labels (head rater: one "
                                      "softmax per rater on a shared trunk; head "
                                      "rater.<rater>: that rater's own model E_n)",
                                      {"name": "rater"}),
    "002_rater_embedding": _experiment_002(
        "002_rater_embedding", "Beyond paper 002: BLSTM-DNN with one classifier shared by "
        "all raters and conditioned on a learned rater embedding (crowds)",
        {"name": "rater", "params": {"rater_mode": "embedding"}}),
})

# Paper 003: LSTM 256 -> 128 -> 64 with dropout 0.4 over 10 Hz frames of continuous
# recordings, one ``traces`` head of three attributes (arousal, valence, liking) trained
# with CCCL_tot = alpha (1 - CCC_aro) + beta (1 - CCC_val) + gamma (1 - CCC_lik); RMSprop
# 5e-4, batch 34, 50 epochs. The paper keeps the last model of 50 epochs; early stopping
# is off (patience 0) and the recipe evaluates the last checkpoint.
_LSTM_003 = {"type": "lstm_seq", "params": {"units": [256, 128, 64], "dropout": 0.4}}
_TRAINING_003 = {"optimizer": {"name": "rmsprop", "learning_rate": 5e-4}, "batch_size": 34,
                 "epochs": 50, "early_stopping": {"monitor": "val_loss", "patience": 0}}
# The weights (alpha, beta, gamma) of each Table 2 loss; MTL2 is the paper's best.
WEIGHTS_003 = {"stl_arousal": (1.0, 0.0, 0.0), "stl_valence": (0.0, 1.0, 0.0),
               "stl_liking": (0.0, 0.0, 1.0), "mtl": (0.7, 0.2, 1.0)}
# Feature sets of the synthetic corpus's continuous recordings (the eGeMAPS and MFCC
# functionals and the facial action units); Table 2 of the paper uses the action units
# (FAUs). A "+" joins sets concatenated per frame (early fusion): every pair of them.
FEATURE_SETS_003 = {"au": "au", "egemaps": "windowed_egemaps_003",
                    "mfcc": "windowed_mfcc_003"}
_PAIRS_003 = (("egemaps", "au"), ("mfcc", "au"), ("egemaps", "mfcc"))
FEATURES_003 = {**{name: [feature] for name, feature in FEATURE_SETS_003.items()},
                **{f"{a}+{b}": [FEATURE_SETS_003[a], FEATURE_SETS_003[b]]
                   for a, b in _PAIRS_003}}


def _experiment_003(loss: str, features: str) -> Dict[str, Any]:
    weights = list(WEIGHTS_003[loss])
    return {"name": f"003_{loss}_{features}",
            "description": f"Paper 003: LSTM 256-128-64 on {features} (several sets are "
                           f"concatenated: early fusion), CCC loss with (alpha, beta, gamma) "
                           f"= {tuple(weights)}; data from configs/featurize/synthetic_003.yaml",
            "features": list(FEATURES_003[features]),
            "model": {"name": f"{loss}_003", "trunk": _LSTM_003,
                      "heads": [{"name": "traces", "loss": "ccc",
                                 "loss_params": {"attribute_weights": weights}}]},
            **_TRAINING_003}


EXPERIMENTS.update({f"003_{loss}_{features}": _experiment_003(loss, features)
                    for loss in WEIGHTS_003 for features in FEATURES_003})

# Trunk params that make each registered architecture tiny for --smoke.
SMOKE_TRUNK_PARAMS: Dict[str, Dict[str, Any]] = {
    "dnn": {"units": [8]},
    "cnn_blstm_attention": {"filters": [2, 2, 2], "lstm_units": 4, "attention_units": 4},
    "blstm_dnn_attention": {"input_units": 8, "lstm_units": 4, "output_units": 8},
    "lstm_seq": {"units": [4]},
    "vggm": {"filters": [2, 2, 2, 2, 2], "fc6_units": 8, "fc7_units": 8},
}
SMOKE_EPOCHS = 2
SMOKE_STEPS = 2
SMOKE_BATCH_SIZE = 8


def shrink_for_smoke(data: Mapping[str, Any]) -> Dict[str, Any]:
    """A copy of a plain config dict shrunk to seconds (tiny layers, 2 epochs of 2 steps)."""
    data = copy.deepcopy(dict(data))
    model = data.get("model") or {}
    trunk = model.get("trunk")
    if isinstance(trunk, dict) and trunk.get("type") in SMOKE_TRUNK_PARAMS:
        trunk["params"] = {**(trunk.get("params") or {}), **SMOKE_TRUNK_PARAMS[trunk["type"]]}
    for head in model.get("heads") or []:
        if isinstance(head, dict) and head.get("hidden"):
            head["hidden"] = [_at_most(width, 4) for width in head["hidden"]]
    data["epochs"] = _at_most(data.get("epochs"), SMOKE_EPOCHS)
    data["max_steps_per_epoch"] = SMOKE_STEPS
    data["batch_size"] = _at_most(data.get("batch_size"), SMOKE_BATCH_SIZE)
    data["smoke"] = True
    return data


def _at_most(value: Any, cap: int) -> Any:
    """``min(value, cap)`` for a positive integer; anything else is left to validation."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return min(value, cap)
    return cap if value is None else value
