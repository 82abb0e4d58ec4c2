"""Cross-validation driver: fold directories, folds.json, resume and skip on rerun."""

import json
import os

import keras
import pytest

from tfser import data
from tfser import training
from tfser.config.errors import UserError
from tfser.training import cross_validation

OVERRIDES = ("model.heads=[{name: emotion}]",)


class _InterruptFirstFold(keras.callbacks.Callback):
    """Raises at the end of the first epoch of the first fold it sees."""

    def __init__(self):
        super().__init__()
        self.fired = False

    def on_epoch_end(self, epoch, logs=None):
        if not self.fired:
            self.fired = True
            raise KeyboardInterrupt("simulated kill")


def _mtimes(run_dir):
    return {name: os.path.getmtime(os.path.join(run_dir, name))
            for name in ("history.json", "params.yaml", cross_validation.DONE_FILE)}


def test_folds_train_resume_and_are_skipped_when_done(data_001, tmp_path, capsys):
    info = data.load_info(data_001)
    model_dir = str(tmp_path / "cv")
    args = dict(overrides=OVERRIDES, data_dir=data_001, smoke=True)

    # Killed during the first fold: nothing is marked done.
    with pytest.raises(KeyboardInterrupt):
        training.train_folds("000_hard_pe", model_dir, folds="0,2",
                             callbacks=[_InterruptFirstFold()], **args)
    listing = training.read_folds(model_dir)
    assert [entry["name"] for entry in listing["folds"]] == [info.fold_names[0],
                                                             info.fold_names[2]]
    assert not any(entry["done"] for entry in listing["folds"])

    # Run again: the first fold resumes at its second epoch, the second one trains.
    capsys.readouterr()
    run_dirs = training.train_folds("000_hard_pe", model_dir, folds=[0, 2], **args)
    out = capsys.readouterr().out
    names = [info.fold_names[0], info.fold_names[2]]
    assert run_dirs == [os.path.join(model_dir, "folds", cross_validation.fold_dir_name(n))
                        for n in names]
    assert f"fold 1/2 ({names[0]}): resuming" in out
    assert f"fold 2/2 ({names[1]}): training, test speakers" in out
    for name, run_dir in zip(names, run_dirs):
        assert [e["epoch"] for e in training.read_history(run_dir)] == [0, 1]
        assert training.load_params(run_dir).fold == name
        assert os.path.exists(os.path.join(run_dir, "checkpoints", "best.keras"))
        with open(os.path.join(run_dir, cross_validation.DONE_FILE)) as handle:
            assert json.load(handle)["epochs"] == 2
    listing = training.read_folds(model_dir)
    assert listing["protocol"] == "loso" and listing["num_folds_in_protocol"] == 10
    assert [(e["name"], e["done"]) for e in listing["folds"]] == [(n, True) for n in names]
    assert listing["folds"][1]["test_speakers"] == info.speakers(names[1], "test")
    assert listing["folds"][0]["dir"] == os.path.join("folds",
                                                      os.path.basename(run_dirs[0]))

    # A third run skips both folds and touches nothing in them.
    before = [_mtimes(run_dir) for run_dir in run_dirs]
    assert training.train_folds("000_hard_pe", model_dir, folds=names, **args) == run_dirs
    out = capsys.readouterr().out
    assert out.count("finished before, skipped") == 2
    assert [_mtimes(run_dir) for run_dir in run_dirs] == before

    # Another configuration in the same directory is refused, naming what differs.
    with pytest.raises(UserError, match=r"holds another run \(differs in seed: 0 -> 3\)"):
        training.train_folds("000_hard_pe", model_dir, folds=[0], data_dir=data_001,
                             smoke=True, overrides=OVERRIDES + ("seed=3",))


def test_fold_selection_and_its_errors(data_001, tmp_path):
    info = data.load_info(data_001)
    assert cross_validation.select_folds(info, "all") == info.fold_names
    assert cross_validation.select_folds(info, f"3, {info.fold_names[1]}") == \
        [info.fold_names[1], info.fold_names[3]]
    assert cross_validation.select_folds(info, 4) == [info.fold_names[4]]
    with pytest.raises(ValueError, match=r"unknown fold 12; .* has folds 0\.\.9"):
        cross_validation.select_folds(info, [0, 12])
    with pytest.raises(ValueError, match="no folds selected"):
        cross_validation.select_folds(info, [])
    assert cross_validation.fold_dir_name("loso:synthetic:S01F") == "loso_synthetic_S01F"
    with pytest.raises(ValueError, match="unknown strategy 'tpu'"):
        training.train_folds("000_hard_pe", str(tmp_path / "x"), data_dir=data_001,
                             strategy="tpu")
    with pytest.raises(ValueError, match="unknown fold 'spk99'"):
        training.train_folds("000_hard_pe", str(tmp_path / "x"), data_dir=data_001,
                             folds="spk99")
    assert not (tmp_path / "x").exists()


def test_fold_directories_never_collide():
    names = ["S1_2", "S1:", "S1", "S01f", "S01F", "loso:c:S02"]
    dirs = cross_validation._dir_names(names)
    assert len({d.casefold() for d in dirs.values()}) == len(names)
    assert dirs["loso:c:S02"] == "loso_c_S02"
