"""Export and serving: a trained run as a SavedModel with named signatures, and prediction.

Usage::

    from tfser import export

    export.export_saved_model("runs/001_hard", "exports/001_hard/1")
    result = export.predict_files("exports/001_hard/1", ["a.wav", "more_audio/"],
                                  "predictions.csv")
    print("\\n".join(result.summary_lines()))

The command-line front ends are ``pipelines/export.py`` (tfser-export) and
``pipelines/predict.py`` (tfser-predict). See :mod:`tfser.export.serving` for the
signatures and :mod:`tfser.export.contract` for the asset files a client reads.
"""

from tfser.export.contract import (EXAMPLE_SIGNATURE, FEATURES_SIGNATURE, MAX_DURATION_S,
                                   WAVEFORM_SIGNATURE, read_classes, read_features)
from tfser.export.exporter import export_saved_model
from tfser.export.predict import PredictResult, predict_files

__all__ = ["EXAMPLE_SIGNATURE", "FEATURES_SIGNATURE", "MAX_DURATION_S", "PredictResult",
           "WAVEFORM_SIGNATURE", "export_saved_model", "predict_files", "read_classes",
           "read_features"]
