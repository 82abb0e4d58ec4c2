"""The two-fold smoke cross-validation the evaluation and pipeline tests share."""

# A DNN on the eGeMAPS functionals the fixture stores beside the spectrograms, with a
# hard, a soft and an existence head: every kind of head data_001 has, in seconds.
CV_EXPERIMENT = "000_hard_pe"
CV_OVERRIDES = ("model.heads=[{name: emotion}, {name: emotion_soft}, "
                "{name: emotion_exists}]",)
CV_FOLDS = (0, 1)


def train_cv(data_dir, model_dir, **kwargs):
    """Trains the standard two-fold smoke cross-validation of these tests."""
    from tfser import training
    return training.train_folds(CV_EXPERIMENT, model_dir, overrides=CV_OVERRIDES,
                                data_dir=data_dir, folds=list(CV_FOLDS), smoke=True,
                                **kwargs)
