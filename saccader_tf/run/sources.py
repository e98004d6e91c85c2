"""The data source of a run's settings (cluttered MNIST, an image folder, TFRecord shards or a TFDS
dataset)."""

import contextlib

from saccader_tf.data import make_source
from saccader_tf.data.tfds_download import explained_download


def data_source(settings):
    """The `DataSource` of `settings.dataset` (a `RunSettings`), at `settings.image_size`.

    Image folders get the folder options (`cache`, `cache_budget_mb`, `skip_bad_files`); TFDS
    datasets are downloaded with an explanation when there is no network
    (`explained_download`); both get the preprocessing recipe (`augment`, `flip`, `channels`).
    """
    common = dict(
        image_size=settings.image_size,
        batch_size=settings.batch_size,
        seed=settings.seed,
        data_dir=settings.data_dir,
    )
    if settings.dataset == "cluttered_mnist":
        extra = {"num_train": settings.train_examples, "num_eval": settings.test_examples}
        if settings.num_clutter is not None:
            extra["num_clutter"] = settings.num_clutter
        return make_source(settings.dataset, **common, **extra)
    folder = settings.dataset.startswith("folder:")
    channels = settings.channels if settings.channels == "auto" else int(settings.channels)
    extra = dict(augment=settings.augment or "light", flip=settings.flip, channels=channels)
    if folder:
        extra.update(
            cache=settings.cache,
            cache_budget_bytes=settings.cache_budget_mb << 20,
            skip_bad_files=settings.skip_bad_files,
        )
    tfrecord = settings.dataset.startswith("tfrecord:")
    if tfrecord:
        extra.update(label_offset=settings.label_offset, skip_bad_files=settings.skip_bad_files)
    if settings.background_class:  # TFDS only (the settings refuse it for other data)
        extra["background_class"] = True
    download = (
        contextlib.nullcontext()
        if folder or tfrecord
        else explained_download(settings.dataset, settings.data_dir)
    )
    with download:
        return make_source(settings.dataset, **common, **extra)
