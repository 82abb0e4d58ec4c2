"""Input pipelines: featurized TFRecords -> ``(features, {head: target}, {head: weight})``.

Usage::

    from tfser import data

    train = data.build_dataset("build/features", fold=0, part="train", batch_size=16)
    dev = data.build_dataset("build/features", fold=0, part="dev")
    model.fit(train, validation_data=dev, epochs=10)

    weights = data.class_weights("build/features", fold=0, head="primary")

See :mod:`tfser.data.reader` for the element contract (padding, lengths, masks).
"""

from tfser.data.info import DatasetInfo, load_info
from tfser.data.out_of_range import out_of_range_counts
from tfser.data.rater_slices import slice_head
from tfser.data.reader import (build_dataset, class_weights, count_examples, label_summary,
                               length_key, steps_per_epoch, training_targets)

__all__ = ["DatasetInfo", "build_dataset", "class_weights", "count_examples",
           "label_summary", "length_key", "load_info", "out_of_range_counts", "slice_head",
           "steps_per_epoch", "training_targets"]
