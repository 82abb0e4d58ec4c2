"""Generation of the whole synthetic corpus: plan, synthesise, rate, write, tabulate.

Every random draw comes from a generator seeded by ``(seed, stream, index)``, so an
utterance's audio and ratings do not depend on the order in which work is done
or on how many worker processes do it.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import multiprocessing
import os
from typing import Dict, List, Optional, Sequence

import numpy as np
import soundfile
import tqdm

from tfser import annotations
from tfser.synthetic import config as config_lib
from tfser.synthetic import continuous
from tfser.synthetic import expression
from tfser.synthetic import raters as raters_lib
from tfser.synthetic import voice as voice_lib

WAV_DIR = "wav"
TRACE_DIR = "traces"
CONSENSUS = "consensus"
FEATURE_RATER = "none"

# Random streams; changing a number changes the corpus of every seed.
_PLAN, _LATENT, _AUDIO, _RATINGS, _CONTINUOUS, _TRACES = range(6)

DESCRIPTION = (
    "tfser synthetic corpus: source-filter speech whose prosody and voice quality follow "
    "simulated emotions (latent mixtures and arousal/valence/dominance), rated by simulated "
    "raters with personal confusions, reliability and leniency; plus continuous recordings "
    "with delayed per-rater arousal/valence/liking traces and a synthetic action-unit stream.")


# Like CREMA-D's 12 sentences; the by-sentence split of paper 004 groups by them.
NUM_SENTENCES = 12


def _rng(seed: int, stream: int, index: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, stream, index])


@dataclasses.dataclass(frozen=True)
class _UtteranceJob:
    index: int
    utt_id: str
    speaker: expression.Speaker
    state: expression.LatentState
    duration_s: float


@dataclasses.dataclass(frozen=True)
class _RecordingJob:
    index: int
    utt_id: str
    speaker: expression.Speaker
    frames: int
    raters: tuple


def sentence_of(utt_id: str) -> str:
    """The script sentence (``sent01`` .. ``sent12``) of a rated utterance id."""
    number = int(utt_id.rsplit("_", 1)[1])
    return f"sent{(number - 1) % NUM_SENTENCES + 1:02d}"


def class_counts(cfg: config_lib.SynthConfig) -> Dict[str, int]:
    """Utterances per dominant emotion: proportional to the weights, at least the minimum.

    Largest-remainder rounding on what is left after the minimum, so counts sum to
    ``n_utterances`` exactly.
    """
    weights = np.asarray(cfg.class_weights, dtype=float)
    spare = cfg.n_utterances - cfg.min_per_class * len(weights)
    share = spare * weights / weights.sum()
    counts = np.floor(share).astype(int)
    order = np.argsort(-(share - counts), kind="stable")
    counts[order[:spare - counts.sum()]] += 1
    return {e: int(c) + cfg.min_per_class for e, c in zip(config_lib.EMOTIONS, counts)}


def _utterance_jobs(seed: int, cfg: config_lib.SynthConfig,
                    speakers: Sequence[expression.Speaker]) -> List[_UtteranceJob]:
    rng = _rng(seed, _PLAN, 1)
    # Deal each class's utterances round-robin over the speakers (continuing where
    # the previous class stopped) so every speaker gets a near-equal class mix.
    per_speaker: Dict[int, List[str]] = {i: [] for i in range(len(speakers))}
    cursor = int(rng.integers(len(speakers)))
    for emotion, count in class_counts(cfg).items():
        for _ in range(count):
            per_speaker[cursor % len(speakers)].append(emotion)
            cursor += 1
    jobs = []
    for s, speaker in enumerate(speakers):
        emotions = per_speaker[s]
        order = rng.permutation(len(emotions))
        for k, e in enumerate(order):
            index = len(jobs)
            state = expression.sample_latent(_rng(seed, _LATENT, index), emotions[e], cfg)
            duration = round(float(rng.uniform(*cfg.duration_range)), 3)
            jobs.append(_UtteranceJob(index, f"utt_{speaker.short_id}_{k + 1:04d}", speaker,
                                      state, duration))
    return jobs


def _recording_jobs(seed: int, cfg: config_lib.SynthConfig,
                    speakers: Sequence[expression.Speaker],
                    raters: Sequence[raters_lib.Rater]) -> List[_RecordingJob]:
    rng = _rng(seed, _PLAN, 2)
    jobs, per_speaker = [], {}
    for j in range(cfg.n_continuous):
        speaker = speakers[j % len(speakers)]
        per_speaker[speaker.short_id] = per_speaker.get(speaker.short_id, 0) + 1
        seconds = rng.uniform(*cfg.continuous_duration_range)
        frames = int(round(seconds * cfg.trace_rate_hz))
        chosen = sorted(rng.choice(len(raters), size=cfg.raters_per_recording, replace=False))
        jobs.append(_RecordingJob(
            j, f"cont_{speaker.short_id}_{per_speaker[speaker.short_id]:03d}", speaker, frames,
            tuple(raters[i] for i in chosen)))
    return jobs


def _write_wav(path: str, waveform: np.ndarray, sample_rate: int) -> None:
    soundfile.write(path, voice_lib.to_pcm16(waveform), sample_rate, subtype="PCM_16",
                    format="WAV")


def _render_utterance(job: _UtteranceJob, seed: int, cfg: config_lib.SynthConfig,
                      out_dir: str) -> int:
    rng = _rng(seed, _AUDIO, job.index)
    plan = expression.utterance_plan(rng, job.speaker, job.state, job.duration_s)
    waveform = voice_lib.render(plan, job.speaker.voice, cfg.sample_rate, rng)
    _write_wav(os.path.join(out_dir, WAV_DIR, f"{job.utt_id}.wav"), waveform, cfg.sample_rate)
    return len(waveform)


def _save_array(out_dir: str, relative: str, array: np.ndarray) -> str:
    np.save(os.path.join(out_dir, relative), array, allow_pickle=False)
    return relative


def _render_recording(job: _RecordingJob, seed: int, cfg: config_lib.SynthConfig,
                      out_dir: str) -> dict:
    rng = _rng(seed, _CONTINUOUS, job.index)
    rate = cfg.trace_rate_hz
    duration = job.frames / rate
    latent = continuous.latent_traces(rng, job.frames, rate)
    plan = continuous.recording_plan(rng, job.speaker, latent, duration, rate)
    waveform = voice_lib.render(plan, job.speaker.voice, cfg.sample_rate, rng)
    _write_wav(os.path.join(out_dir, WAV_DIR, f"{job.utt_id}.wav"), waveform, cfg.sample_rate)

    folder = f"{TRACE_DIR}/{job.utt_id}"
    os.makedirs(os.path.join(out_dir, folder), exist_ok=True)
    traces = []
    trace_rng = _rng(seed, _TRACES, job.index)
    for k, attribute in enumerate(config_lib.TRACE_ATTRIBUTES):
        per_rater = []
        for rater in job.raters:
            values = raters_lib.rater_trace(trace_rng, rater, latent[:, k], rate)
            per_rater.append(values)
            short = rater.rater_id.split(":")[-1]
            path = _save_array(out_dir, f"{folder}/{short}_{attribute}.npy", values)
            traces.append(annotations.Trace(job.utt_id, rater.rater_id, "label", attribute, rate,
                                            path, job.frames))
        consensus = np.mean(per_rater, axis=0).astype(np.float32)
        path = _save_array(out_dir, f"{folder}/{CONSENSUS}_{attribute}.npy", consensus)
        traces.append(annotations.Trace(job.utt_id, CONSENSUS, "label", attribute, rate, path,
                                        job.frames))
    speaking = plan.speech_activity(rate, job.frames)
    units = continuous.action_units(trace_rng, latent, speaking, rate)
    path = _save_array(out_dir, f"{folder}/au.npy", units)
    traces.append(annotations.Trace(job.utt_id, FEATURE_RATER, "feature", "au", rate, path,
                                    job.frames))
    latent_path = _save_array(out_dir, f"{folder}/latent.npy", latent.astype(np.float32))
    return {"samples": len(waveform), "traces": traces, "latent_path": latent_path}


def _run(task):
    kind, job, seed, cfg, out_dir = task
    if kind == "recording":
        return _render_recording(job, seed, cfg, out_dir)
    return _render_utterance(job, seed, cfg, out_dir)


# Tasks queued per worker process: enough to keep every worker busy, few enough that
# the queue stays small whatever the corpus size (a task holds only its plan).
IN_FLIGHT_PER_WORKER = 4


def _execute(tasks: list, workers: int, progress: bool) -> list:
    """Runs every task; returns their (small) results in task order.

    Each task writes its files itself, so only the results - sample counts and trace
    records - stay in memory, and at most ``IN_FLIGHT_PER_WORKER`` tasks per worker
    are queued at any time.
    """
    results: list = [None] * len(tasks)
    bar = tqdm.tqdm(total=len(tasks), desc="tfser-synth", unit="file", disable=not progress)
    with bar:
        if workers <= 1:
            for i, task in enumerate(tasks):
                results[i] = _run(task)
                bar.update(1)
            return results
        # "spawn" keeps workers clean even when the caller has imported libraries
        # that do not survive fork (TensorFlow's thread pools).
        context = multiprocessing.get_context("spawn")
        limit = workers * IN_FLIGHT_PER_WORKER
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            waiting: Dict[concurrent.futures.Future, int] = {}
            for i, task in enumerate(tasks):
                if len(waiting) >= limit:
                    _collect(waiting, results, bar, concurrent.futures.FIRST_COMPLETED)
                waiting[pool.submit(_run, task)] = i
            _collect(waiting, results, bar, concurrent.futures.ALL_COMPLETED)
    return results


def _collect(waiting: dict, results: list, bar, return_when: str) -> None:
    """Moves finished futures' results into ``results`` (waits per ``return_when``)."""
    done, _ = concurrent.futures.wait(waiting, return_when=return_when)
    for future in done:
        results[waiting.pop(future)] = future.result()
        bar.update(1)


def _utterance_record(job: _UtteranceJob, samples: int, cfg: config_lib.SynthConfig
                      ) -> annotations.Utterance:
    state = job.state
    extra = {
        "continuous": False,
        # A script sentence per utterance, cycling over SENTENCES within each speaker, so
        # a split by sentence (paper 004's speaker identification) puts every speaker
        # in every part. Derived from the id: draws no random numbers.
        "sentence": sentence_of(job.utt_id),
        "dominant": state.dominant,
        "mixture": {k: float(v) for k, v in state.mixture.items()},
        "blended": len(state.mixture) > 1,
        "intensity": float(state.intensity),
        "latent": dict(zip(config_lib.LATENT_DIMENSIONS, (float(d) for d in state.dims))),
    }
    return annotations.Utterance(
        utt_id=job.utt_id, corpus=config_lib.CORPUS, audio_path=f"{WAV_DIR}/{job.utt_id}.wav",
        duration_s=samples / cfg.sample_rate, speaker_id=job.speaker.speaker_id,
        session_id=job.speaker.session_id, gender=job.speaker.gender,
        official_split=cfg.sessions_per_split[job.speaker.session], extra=extra)


def _recording_record(job: _RecordingJob, result: dict, cfg: config_lib.SynthConfig
                      ) -> annotations.Utterance:
    extra = {
        "continuous": True,
        "au_names": list(config_lib.AU_NAMES),
        "latent_trace": result["latent_path"],
        "latent_attributes": list(config_lib.TRACE_ATTRIBUTES),
        "rater_delays_s": {r.rater_id: round(r.delay_s, 4) for r in job.raters},
    }
    return annotations.Utterance(
        utt_id=job.utt_id, corpus=config_lib.CORPUS, audio_path=f"{WAV_DIR}/{job.utt_id}.wav",
        duration_s=result["samples"] / cfg.sample_rate, speaker_id=job.speaker.speaker_id,
        session_id=job.speaker.session_id, gender=job.speaker.gender,
        official_split=cfg.sessions_per_split[job.speaker.session], extra=extra)


def _ratings(seed: int, jobs: Sequence[_UtteranceJob], raters: Sequence[raters_lib.Rater],
             cfg: config_lib.SynthConfig) -> List[annotations.Rating]:
    records = []
    for job in jobs:
        rng = _rng(seed, _RATINGS, job.index)
        vector = job.state.vector()
        for rater in raters_lib.choose_raters(rng, raters, cfg.raters_per_utterance):
            answer = raters_lib.judge(rng, rater, vector, job.state.intensity, job.state.dims)
            records.append(annotations.Rating(
                utt_id=job.utt_id, rater_id=answer.rater_id, rater_type="observer",
                primary=answer.primary, primary_raw=answer.primary,
                secondary=list(answer.secondary), dims=answer.dims))
    return records


def table_meta() -> annotations.TableMeta:
    """The synthetic corpus's metadata (vocabularies and 1..7 scales)."""
    low, high = config_lib.DIMENSION_SCALE
    return annotations.TableMeta(
        corpus=config_lib.CORPUS, categories=list(config_lib.CATEGORIES),
        secondary_categories=list(config_lib.SECONDARY_CATEGORIES),
        dimensions={d: [low, high] for d in config_lib.DIMENSIONS}, description=DESCRIPTION)


def generate(out_dir: str, seed: int = 0, size: str = "default", progress: bool = True,
             config: Optional[config_lib.SynthConfig] = None) -> annotations.AnnotationTable:
    """Generates the synthetic corpus into ``out_dir`` and returns its (saved) table.

    Writes ``wav/<utt_id>.wav`` (16-bit mono), ``traces/<recording>/*.npy`` and the
    unified table (``meta.json`` + Parquet files). The same seed and configuration
    give byte-identical audio and equal tables.

    Args:
      out_dir: Output directory (created; existing files of the same name are replaced).
      seed: Non-negative integer seed.
      size: ``small`` or ``default``; ignored when ``config`` is given.
      progress: Show a progress bar.
      config: Explicit configuration instead of a named size.

    Returns:
      The validated table, with ``root`` set to ``out_dir``.

    Raises:
      ValueError: Bad seed, size or configuration.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    cfg = config if config is not None else config_lib.SynthConfig.for_size(size)
    cfg.check()
    os.makedirs(os.path.join(out_dir, WAV_DIR), exist_ok=True)
    os.makedirs(os.path.join(out_dir, TRACE_DIR), exist_ok=True)

    plan_rng = _rng(seed, _PLAN, 0)
    speakers = expression.make_speakers(plan_rng)
    raters = raters_lib.make_raters(plan_rng, cfg)
    utterance_jobs = _utterance_jobs(seed, cfg, speakers)
    recording_jobs = _recording_jobs(seed, cfg, speakers, raters)

    # Long recordings first so that parallel workers finish together.
    tasks = ([("recording", job, seed, cfg, out_dir) for job in recording_jobs]
             + [("utterance", job, seed, cfg, out_dir) for job in utterance_jobs])
    results = _execute(tasks, cfg.workers, progress)
    recording_results = results[:len(recording_jobs)]
    utterance_samples = results[len(recording_jobs):]

    utterances = [_utterance_record(job, samples, cfg)
                  for job, samples in zip(utterance_jobs, utterance_samples)]
    utterances += [_recording_record(job, result, cfg)
                   for job, result in zip(recording_jobs, recording_results)]
    traces = [trace for result in recording_results for trace in result["traces"]]
    ratings = _ratings(seed, utterance_jobs, raters, cfg)
    table = annotations.build_table(table_meta(), utterances, ratings, traces,
                                    root=os.path.abspath(out_dir))
    annotations.validate(table)
    annotations.save_table(table, out_dir)
    return table


def corpus_stats(table: annotations.AnnotationTable) -> dict:
    """Figures that show what was simulated: sizes, class mix, ties and agreement."""
    utts = table.utterances
    is_cont = utts["extra"].map(lambda e: bool(e.get("continuous", False)))
    rated = utts[~is_cont]
    votes, winners = [], []
    categories = list(table.meta.categories)
    grouped = table.ratings.groupby("utt_id", sort=False)["primary"].apply(list)
    for utt_id in rated["utt_id"]:
        primaries = grouped.get(utt_id, [])
        votes.append([primaries.count(c) for c in categories])
        winners.append(raters_lib.plurality(primaries))
    per_utt = table.ratings.groupby("utt_id").size()
    dominant = rated["extra"].map(lambda e: e["dominant"]).value_counts()
    return {
        "utterances": int(len(rated)),
        "continuous_recordings": int(is_cont.sum()),
        "speakers": int(utts["speaker_id"].nunique()),
        "sessions": int(utts["session_id"].nunique()),
        "raters": int(table.ratings["rater_id"].nunique()),
        "ratings": int(len(table.ratings)),
        "ratings_per_utterance_min": int(per_utt.min()) if len(per_utt) else 0,
        "ratings_per_utterance_mean": round(float(per_utt.mean()), 2) if len(per_utt) else 0.0,
        "utterance_seconds": round(float(rated["duration_s"].sum()), 1),
        "utterance_duration_range": [round(float(rated["duration_s"].min()), 2),
                                     round(float(rated["duration_s"].max()), 2)],
        "continuous_seconds": round(float(utts.loc[is_cont, "duration_s"].sum()), 1),
        "traces": int(len(table.traces)),
        "dominant_counts": {e: int(dominant.get(e, 0)) for e in config_lib.EMOTIONS},
        "plurality_counts": {e: winners.count(e) for e in config_lib.EMOTIONS},
        "tie_rate": round(winners.count(None) / max(1, len(winners)), 3),
        "plurality_matches_dominant": round(float(np.mean(
            [w == d for w, d in zip(winners, rated["extra"].map(lambda e: e["dominant"]))])), 3),
        "fleiss_kappa": round(raters_lib.fleiss_kappa(np.array(votes)), 3) if votes else None,
    }
