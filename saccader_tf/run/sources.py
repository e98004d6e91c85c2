"""The data source of a run's settings (cluttered MNIST, an image folder, TFRecord shards or a TFDS
dataset)."""

import contextlib
import os

from saccader_tf.data import make_source
from saccader_tf.data.service import check_dispatcher, service_source
from saccader_tf.data.tfds_download import explained_download
from saccader_tf.data.tfrecord_scan_cache import CACHE_NAME
from saccader_tf.training.batch_watchdog import BatchWatchdog

SERVICE_STEP_TIMEOUT = 900
"""Seconds a training step may wait for its batch from a tf.data service before the run ends
(`BatchWatchdog`): TensorFlow itself waits without end for a dispatcher or worker that has gone."""


def data_source(settings, chief=True, evaluation_only=False):
    """The `DataSource` of `settings.dataset` (a `RunSettings`), at `settings.image_size`.

    Image folders get the folder options (`cache`, `cache_budget_mb`, `skip_bad_files`); TFRecord
    shards keep their scan in `model_dir/tfrecord_scan.json` (written by the `chief` only); TFDS
    datasets are downloaded with an explanation when there is no network
    (`explained_download`); both get the preprocessing recipe (`augment`, `flip`, `channels`).
    With `data_service` the training epochs are made by that tf.data service
    (`saccader_tf.data.service.service_source`), once its dispatcher is known to answer.
    `evaluation_only` (`--stage=eval`): an image folder or TFRecord source does no training-only
    work (checking the training split against the batch size, decoding it into memory).
    """
    source = _local_source(settings, chief, evaluation_only)
    if not settings.data_service:
        return source
    check_dispatcher(settings.data_service)
    return service_source(source, settings.data_service, settings.data_service_sharding)


def _local_source(settings, chief, evaluation_only):
    """The `DataSource` of `settings`, made in this process (see `data_source`)."""
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
        extra.update(
            label_offset=settings.label_offset,
            skip_bad_files=settings.skip_bad_files,
            scan_cache=os.path.join(settings.model_dir, CACHE_NAME),
            write_scan_cache=chief,
        )
    if (folder or tfrecord) and evaluation_only:
        extra["evaluation_only"] = True
    if settings.background_class:  # TFDS only (the settings refuse it for other data)
        extra["background_class"] = True
    download = (
        contextlib.nullcontext()
        if folder or tfrecord
        else explained_download(settings.dataset, settings.data_dir)
    )
    with download:
        return make_source(settings.dataset, **common, **extra)


def training_callbacks(settings):
    """The run's extra callbacks of every training stage: with `data_service`, a `BatchWatchdog`
    ending the run with one line when no step ends within `SERVICE_STEP_TIMEOUT` seconds."""
    if not settings.data_service:
        return []
    message = (
        f"no training step ended within {SERVICE_STEP_TIMEOUT} s: the tf.data service at "
        f"{settings.data_service} sends no batches (a dispatcher or worker stopped, or none "
        "started). Start it again and run the same command: saved progress continues."
    )
    return [BatchWatchdog(SERVICE_STEP_TIMEOUT, message)]
