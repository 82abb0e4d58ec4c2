"""The command line every binary shares (pipelines/cli.py, pipelines/flags.py): --help,
unknown flags, one-line user errors with exit status 2."""

import errno
import os
import subprocess
import sys

import pytest
from absl import flags

from pipelines import build_annotations
from pipelines import cli
from pipelines import compare
from pipelines import demo
from pipelines import evaluate
from pipelines import export
from pipelines import featurize
from pipelines import predict
from pipelines import reproduce
from pipelines import synth
from pipelines import train
from tfser import synthetic
from tfser.config.errors import UserError

BINARIES = [build_annotations, compare, demo, evaluate, export, featurize, predict, reproduce,
            synth, train]
BIN_DIR = os.path.dirname(sys.executable)


def _exit_code(binary, argv):
    with pytest.raises(SystemExit) as exited:
        binary.invoke(argv)
    return exited.value.code


def _error_line(capsys):
    """The one line a user error prints (asserts it is the only stderr line)."""
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


@pytest.mark.parametrize("module", BINARIES, ids=lambda m: m.BINARY.name)
def test_help_shows_purpose_example_and_own_flags(module, capsys):
    binary = module.BINARY
    assert _exit_code(binary, [binary.name, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{binary.name}")
    assert f"Example::\n\n    {binary.name} --" in out
    assert binary.own_flags
    for name in binary.own_flags:
        assert f"  --{name}: " in out or f"  --[no]{name}: " in out, name
    assert "--alsologtostderr" not in out and "--helpfull" in out


@pytest.mark.parametrize("name", ["tfser-train", "tfser-featurize"])
def test_the_console_scripts_answer_help_with_their_own_flags(name):
    done = subprocess.run([os.path.join(BIN_DIR, name), "--help"], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "--params_override: " in done.stdout and "Example::" in done.stdout
    assert "--alsologtostderr" not in done.stdout


def test_a_mistyped_flag_fails_with_a_suggestion(capsys):
    argv = ["tfser-train", "--experimnt=000_mtl", "--model_dir=x"]
    assert _exit_code(train.BINARY, argv) == 2
    assert _error_line(capsys) == ("error: unknown flag --experimnt, on the command line "
                                   "of tfser-train, did you mean --experiment?")
    assert _exit_code(train.BINARY, ["tfser-train", "--model_dir=x"]) == 2
    assert "missing flag --experiment" in _error_line(capsys)
    assert _exit_code(synth.BINARY, ["tfser-synth", "--out=x", "stray"]) == 2
    assert "unexpected argument 'stray'" in _error_line(capsys)


def test_the_console_script_refuses_a_mistyped_flag():
    done = subprocess.run([os.path.join(BIN_DIR, "tfser-train"), "--experiment=000_mtl",
                           "--model_dir=x", "--smok"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: unknown flag --smok, on the command line of tfser-train, did you mean "
        "--smoke?"]


def test_featurize_passes_beam_options_and_refuses_other_flags(capsys):
    binary = featurize.BINARY
    binary.define()
    base = ["tfser-featurize", "--config=c.yaml", "--table=t", "--out=o"]
    # --dask_partition_size is a Beam option only once the DaskRunner is registered.
    assert binary.parse(base + ["--direct_running_mode=multi_processing",
                                "--dask_partition_size", "4"]) == [
        "tfser-featurize", "--direct_running_mode=multi_processing", "--dask_partition_size",
        "4"]
    with pytest.raises(SystemExit) as exited:
        binary.parse(base + ["--overwirte"])
    assert exited.value.code == 2
    assert _error_line(capsys).endswith("did you mean --overwrite?")
    with pytest.raises(SystemExit):
        binary.parse(base + ["--num_shard=3"])
    assert _error_line(capsys).endswith("did you mean --params_override=num_shards=...?")


def test_featurize_runner_flags_become_beam_options(capsys):
    binary = featurize.BINARY
    binary.define()
    base = ["tfser-featurize", "--config=c.yaml", "--table=t", "--out=o"]
    binary.parse(base + ["--runner=DaskRunner", "--dask_client_address=127.0.0.1:8786"])
    assert featurize.runner_options() == [
        "--direct_num_workers=1", "--runner=DaskRunner", "--dask_client_address=127.0.0.1:8786"]
    binary.parse(base)
    assert featurize.runner_options() == ["--direct_num_workers=1"]
    argv = base + ["--dask_client_address=127.0.0.1:8786"]
    assert _exit_code(binary, argv) == 2
    assert _error_line(capsys) == (
        "error: --dask_client_address=127.0.0.1:8786 without --runner=DaskRunner, on the "
        "command line of tfser-featurize, add --runner=DaskRunner")
    binary.define()
    help_text = binary.help_text()
    assert "--runner: " in help_text and "--dask_client_address: " in help_text


def test_flags_of_an_earlier_binary_are_gone(capsys):
    train.BINARY.define()
    assert "experiment" in flags.FLAGS
    synth.BINARY.define()
    assert "experiment" not in flags.FLAGS and "workers" in flags.FLAGS


def test_user_errors_of_train_are_one_line(data_000, tmp_path, capsys):
    model_dir = tmp_path / "run"
    base = ["tfser-train", f"--model_dir={model_dir}"]
    delta = tmp_path / "delta.yaml"
    delta.write_text("epochs: 3\n")
    cases = {
        "--params_override 'epochz=3' (over 000_mtl + " + str(delta) + "): ": [
            "--experiment=000_mtl", f"--config_file={delta}", "--params_override=epochz=3"],
        "unknown experiment '000_mtx'": ["--experiment=000_mtx"],
        "unknown fold 99": ["--experiment=000_mtl", f"--data_dir={data_000}", "--fold=99"],
        "not found": ["--experiment=000_mtl", f"--data_dir={tmp_path / 'missing'}"],
    }
    for expected, args in cases.items():
        assert _exit_code(train.BINARY, base + args) == 2, args
        assert expected in _error_line(capsys), args
    assert not model_dir.exists()
    # --verbosity=1 keeps the traceback: the error propagates.
    with pytest.raises(UserError, match="000_mtx"):
        train.BINARY.invoke(base + ["--experiment=000_mtx", "--verbosity=1"])


def test_a_read_only_directory_is_one_line(tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only directories")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        code = _exit_code(synth.BINARY, ["tfser-synth", f"--out={locked / 'corpus'}",
                                         "--size=small", "--noprogress"])
    finally:
        locked.chmod(0o755)
    assert code == 2
    assert "permission denied" in _error_line(capsys)


@pytest.mark.parametrize("number, advice", [(errno.ENOSPC, "free some space"),
                                            (errno.EROFS, "writable disk")])
def test_a_full_or_read_only_disk_is_one_line(number, advice, tmp_path, monkeypatch,
                                              capsys):
    path = str(tmp_path / "corpus" / "a.wav")

    def generate(*args, **kwargs):
        raise RuntimeError("writer failed") from OSError(number, os.strerror(number), path)

    monkeypatch.setattr(synthetic, "generate", generate)
    assert _exit_code(synth.BINARY, ["tfser-synth", f"--out={tmp_path}"]) == 2
    line = _error_line(capsys)
    assert line == f"error: {os.strerror(number).lower()}, {path}, {line.split(', ')[-1]}"
    assert advice in line


def test_a_real_bug_keeps_its_traceback(tmp_path, monkeypatch):
    def generate(*args, **kwargs):
        raise ValueError("a bug, not the user's input")

    monkeypatch.setattr(synthetic, "generate", generate)
    with pytest.raises(ValueError, match="a bug"):
        synth.BINARY.invoke(["tfser-synth", f"--out={tmp_path}"])


def test_user_input_converts_library_errors_at_the_boundary():
    with pytest.raises(UserError, match=r"^no key 'x', fix the flag$"):
        with cli.user_input("fix the flag"):
            raise KeyError("no key 'x'")
    with pytest.raises(RuntimeError):
        with cli.user_input("fix the flag"):
            raise RuntimeError("not converted")
