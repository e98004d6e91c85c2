"""In-memory `DataSource`s for tests: images and labels already normalised (mean 0, std 1)."""

import tensorflow as tf

from saccader_tf.data.source import DataSource, fixed_epochs


def dataset_source(dataset, num_classes, *, eval_dataset=None, eval_boxes=None, name="test"):
    """A `DataSource` training on `dataset` every epoch and evaluating on `eval_dataset`.

    Args:
        dataset: batches `(images [B, S, S, C] float32, labels [B] int)`.
        num_classes: K.
        eval_dataset: the eval batches (default `dataset`).
        eval_boxes: `None`, or object boxes `[N, 4]` aligned with the eval examples.
        name: the source's name.
    """
    images = dataset.element_spec[0]
    return DataSource(
        train_epoch=fixed_epochs(dataset),
        eval=dataset if eval_dataset is None else eval_dataset,
        num_classes=num_classes,
        image_size=int(images.shape[1]),
        channels=int(images.shape[-1]),
        mean=(0.0,) * int(images.shape[-1]),
        std=(1.0,) * int(images.shape[-1]),
        name=name,
        eval_boxes=eval_boxes,
    )


def array_source(images, labels, num_classes, *, batch=4, eval_boxes=None, name="test"):
    """`dataset_source` of numpy `images` `[N, S, S, C]` and `labels` `[N]`, `batch` at a time."""
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch)
    return dataset_source(dataset, num_classes, eval_boxes=eval_boxes, name=name)
