"""ExperimentConfig: registry, resolution order, validation, params.yaml round trip."""

import glob
import os

import pytest

from tfser import training
from tfser.config.errors import UserError
from tfser.training import config as config_lib

EXPERIMENT_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..",
                                               "configs", "experiments"))


@pytest.mark.parametrize("name", sorted(config_lib.EXPERIMENTS))
def test_every_registered_experiment_resolves_and_round_trips(name):
    # Two-stage experiments (paper 001) name their first stage when they run.
    trunk = config_lib.EXPERIMENTS[name]["model"]["trunk"]
    overrides = [f"model.trunk.{key}={value}" for key, value in
                 (("init_from", "runs/a"), ("fuse", "[runs/a, runs/b]")) if key in trunk]
    config = training.resolve_config(name, data_dir="somewhere", overrides=overrides)
    assert config.name == name and config.data_dir == "somewhere"
    assert training.ExperimentConfig.from_dict(config.to_dict()) == config


def test_registered_bases_follow_the_papers():
    mtl = training.resolve_config("000_mtl")
    assert mtl.model["trunk"]["params"]["units"] == (512, 512)
    assert [h.get("loss_weight") for h in mtl.model["heads"]] == [0.44, 0.56]
    assert mtl.model["heads"][1]["loss"] == "secondary_kl"
    assert training.resolve_config("000_hard_pe").head_names == ("emotion",)
    hard = training.resolve_config("001_hard")
    assert hard.model["trunk"]["type"] == "cnn_blstm_attention"
    assert (hard.optimizer.name, hard.optimizer.learning_rate, hard.batch_size) == (
        "adam", 5e-4, 16)
    assert dict(hard.class_weighting) == {"emotion": True}


def test_paper_003_experiments_follow_the_paper():
    mtl = training.resolve_config("003_mtl_au")
    assert mtl.model["trunk"]["type"] == "lstm_seq"
    assert mtl.model["trunk"]["params"]["units"] == (256, 128, 64)
    assert mtl.model["trunk"]["params"]["dropout"] == 0.4
    assert (mtl.optimizer.name, mtl.optimizer.learning_rate, mtl.batch_size, mtl.epochs) == (
        "rmsprop", 5e-4, 34, 50)
    assert tuple(mtl.model["heads"][0]["loss_params"]["attribute_weights"]) == (0.7, 0.2, 1.0)
    assert tuple(mtl.features) == ("au",)
    stl = training.resolve_config("003_stl_valence_egemaps+au")
    assert tuple(stl.model["heads"][0]["loss_params"]["attribute_weights"]) == (0.0, 1.0, 0.0)
    assert tuple(stl.features) == ("windowed_egemaps_003", "au")
    # The MFCC functionals alone and in every early-fusion pair (paper 003's Table 3).
    assert tuple(training.resolve_config("003_mtl_mfcc").features) == ("windowed_mfcc_003",)
    assert tuple(training.resolve_config("003_mtl_mfcc+au").features) == (
        "windowed_mfcc_003", "au")
    assert tuple(training.resolve_config("003_mtl_egemaps+mfcc").features) == (
        "windowed_egemaps_003", "windowed_mfcc_003")


@pytest.mark.parametrize("name, head, rate, trunk", [
    ("001_soft", "emotion_soft", 5e-4, {}),
    ("001_mlee", "emotion_exists", 2e-4, {}),
    ("001_mlee_pretrain_hard", "emotion", 1e-4, {"init_from": "runs/mlee"}),
    ("001_mlee_pretrain_soft", "emotion_soft", 1e-4, {"init_from": "runs/mlee"}),
    ("001_mlee_fusion_hard", "emotion", 5e-5, {"fuse": ["runs/mlee", "runs/hard"]}),
    ("001_mlee_fusion_soft", "emotion_soft", 5e-5, {"fuse": ["runs/mlee", "runs/soft"]})])
def test_paper_001_experiments_use_its_learning_rates_and_class_weights(name, head, rate,
                                                                        trunk):
    overrides = [f"model.trunk.{k}={v}".replace("'", "") for k, v in trunk.items()]
    config = training.resolve_config(name, overrides=overrides)
    assert config.head_names == (head,) and config.optimizer.learning_rate == rate
    assert dict(config.class_weighting) == {head: True} and config.batch_size == 16
    assert config.model["heads"][0]["hidden"] == (64,)
    if trunk:
        got = config.model["trunk"]
        assert got["freeze"] is True and got.get("init_from") == trunk.get("init_from")
        assert list(got.get("fuse") or []) == trunk.get("fuse", [])


@pytest.mark.parametrize("name, key", [("001_mlee_pretrain_soft", "init_from"),
                                       ("001_mlee_fusion_hard", "fuse")])
def test_two_stage_experiment_without_its_first_stage_says_what_to_pass(name, key):
    with pytest.raises(ValueError,
                       match=rf"model.trunk.{key}: names no first-stage run; pass "
                             rf"--params_override=model.trunk.{key}="):
        training.resolve_config(name)


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(EXPERIMENT_DIR, "*.yaml"))))
def test_every_experiment_file_loads_with_the_command_on_its_first_line(path):
    with open(path, encoding="utf-8") as handle:
        first = handle.readline()
    assert first.startswith("# tfser-train --experiment=")
    experiment = first.split("--experiment=")[1].split()[0]
    assert f"--config_file=configs/experiments/{os.path.basename(path)}" in first
    training.resolve_config(experiment, [path])


def test_order_is_base_then_files_then_overrides_then_flags_then_smoke(tmp_path):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text("batch_size: 4\nepochs: 7\noptimizer: {name: sgd}\nfold: 3\n")
    second.write_text("batch_size: 5\noptimizer: {momentum: 0.9}\n")
    config = training.resolve_config("000_mtl", [str(first), str(second)],
                                     ["epochs=9,optimizer.learning_rate=0.1"], fold=1)
    assert (config.batch_size, config.epochs, config.fold) == (5, 9, 1)
    # Mappings merge: the second file keeps the first file's optimizer name.
    assert (config.optimizer.name, config.optimizer.momentum,
            config.optimizer.learning_rate) == ("sgd", 0.9, 0.1)
    smoke = training.resolve_config("000_mtl", [str(first)], ["epochs=9"], smoke=True)
    assert (smoke.smoke, smoke.epochs, smoke.max_steps_per_epoch) == (True, 2, 2)
    assert smoke.model["trunk"]["params"]["units"] == (8,)


def test_smoke_shrinks_every_registered_trunk_and_hidden_layer():
    config = training.resolve_config("001_hard", smoke=True)
    assert config.model["trunk"]["params"]["lstm_units"] == 4
    assert config.model["heads"][0]["hidden"] == (4,)
    assert config.batch_size == 8


def test_smoke_leaves_bad_values_to_validation():
    with pytest.raises(ValueError, match="epochs: must be an integer >= 1"):
        training.resolve_config("000_mtl", overrides=["epochs=many"], smoke=True)


def test_config_is_frozen():
    config = training.resolve_config("000_mtl")
    with pytest.raises(Exception):
        config.epochs = 3
    with pytest.raises(TypeError):
        config.model["trunk"]["type"] = "vggm"


def test_params_yaml_is_written_and_reloads_equal(tmp_path):
    config = training.resolve_config("000_mtl", overrides=["seed=3"], data_dir="d",
                                     smoke=True)
    path = training.save_params(config, str(tmp_path / "run"))
    assert os.path.basename(path) == "params.yaml"
    assert training.load_params(str(tmp_path / "run")) == config


@pytest.mark.parametrize("overrides, message", [
    (["epochz=3"], r"top level: unknown keys \['epochz'\]"),
    (["optimizer.nam=adam"], r"optimizer: unknown keys \['nam'\]"),
    (["optimizer.name=adagrad"], "optimizer.name: must be one of"),
    (["optimizer.schedule.type=cosine"], "optimizer.schedule.type"),
    (["optimizer.learning_rate=0"], "optimizer.learning_rate"),
    (["batch_size=0"], "batch_size: must be an integer >= 1"),
    (["early_stopping.monitor=val_ua"], "early_stopping.monitor"),
    (["class_weighting.nohead=true"], r"class_weighting: unknown keys \['nohead'\]"),
    (["model.trunk.type=transformer"], "model.trunk.type: unknown trunk"),
    (["model.heads=[]"], "model.heads"),
    (["model.extra=1"], r"model: unknown keys \['extra'\]"),
    (["epochs"], "is not key=value"),
])
def test_bad_configs_raise_naming_the_key(overrides, message):
    with pytest.raises(ValueError, match=message):
        training.resolve_config("000_mtl", overrides=overrides)


def test_unknown_experiment_and_bad_file(tmp_path):
    with pytest.raises(ValueError, match="unknown experiment 'nope'; registered"):
        training.resolve_config("nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n")
    with pytest.raises(ValueError, match="must be a YAML mapping"):
        training.resolve_config("000_mtl", [str(bad)])
    typo = tmp_path / "typo.yaml"
    typo.write_text("optimiser: {name: sgd}\n")
    with pytest.raises(ValueError, match=r"typo.yaml: experiment config: top level"):
        training.resolve_config("000_mtl", [str(typo)])


def test_exponent_numbers_without_a_dot_are_numbers():
    config = training.resolve_config("000_mtl", overrides=["optimizer.learning_rate=1e-4"])
    assert config.optimizer.learning_rate == 1e-4
    with pytest.raises(ValueError, match="optimizer.learning_rate"):
        training.resolve_config("000_mtl", overrides=["optimizer.learning_rate=fast"])


def test_step_decay_schedule():
    schedule = config_lib.ScheduleConfig.from_dict(
        {"type": "step_decay", "every_epochs": 2, "factor": 0.5})
    assert [schedule.learning_rate(1.0, e) for e in range(5)] == [1, 1, 0.5, 0.5, 0.25]
    assert config_lib.ScheduleConfig().learning_rate(0.1, 9) == 0.1


def test_config_errors_are_user_errors():
    # Binaries print a UserError as one line; every config mistake must be one.
    for call in (lambda: training.resolve_config("000_mtl", overrides=["epochs=0"]),
                 lambda: training.resolve_config("nope"),
                 lambda: training.resolve_config("000_mtl", overrides=["epochs"])):
        with pytest.raises(UserError):
            call()
