"""Evaluation: categorical and dimensional metrics, significance, agreement, human scores,
and trained runs scored into predictions, ``metrics.json`` and a report
(:func:`evaluate_run`, ``tfser-evaluate``)."""

from tfser.evaluation.evaluate import evaluate_run
from tfser.evaluation.metrics import compute_metrics
# Re-exported from their floors: rater statistics live with the labels, pure metrics on
# the ground floor (tfser.metrics).
from tfser.labels.agreement import (
    class_reliability_matrix, dimension_reliability_matrix, fleiss_kappa,
    fleiss_kappa_generalised, krippendorff_alpha, primary_judgements, table_dimension_alpha,
    table_fleiss_kappa, table_krippendorff_alpha)
from tfser.labels.human import HumanPerformance, human_performance, leave_one_rater_out
from tfser.metrics.classification import (
    classification_report, confusion_matrix, cross_entropy, encode_labels, f1_of_means,
    macro_f1, mean_precision, mean_recall, multilabel_accuracy, per_class_precision,
    per_class_recall, unweighted_accuracy, weighted_accuracy)
from tfser.metrics.regression import ccc, regression_report
from tfser.metrics.significance import ZTestResult, two_proportion_ztest

__all__ = [
    "HumanPerformance", "ZTestResult", "ccc", "class_reliability_matrix",
    "classification_report", "confusion_matrix", "cross_entropy",
    "compute_metrics", "dimension_reliability_matrix", "encode_labels", "evaluate_run",
    "f1_of_means", "fleiss_kappa",
    "fleiss_kappa_generalised", "human_performance", "krippendorff_alpha",
    "leave_one_rater_out", "macro_f1", "mean_precision", "mean_recall",
    "multilabel_accuracy", "per_class_precision", "per_class_recall", "primary_judgements",
    "regression_report", "table_dimension_alpha", "table_fleiss_kappa",
    "table_krippendorff_alpha", "two_proportion_ztest", "unweighted_accuracy",
    "weighted_accuracy",
]
