"""Latency of the exported SavedModel against the Keras model's compiled inference.

Both sides compute the same thing on the same uint8 images, so the comparison measures only
what the export adds or loses:

- **SavedModel**: `export_model` writes the model; `tf.saved_model.load(...)
  .signatures["serving_default"](images=...)` runs it (what TF Serving or a Python server calls).
- **Keras**: a `tf.function` (no XLA) around the same steps on the live Keras model —
  `check_images`, `preprocess_images` (crop, resize, normalise), `saccader(inputs,
  training=False)` and `serving_outputs` (logits, probabilities, top-k, glimpse boxes and cells).

Calls alternate between the two, many times, and the medians are compared (the machine is noisy).
"""

import dataclasses
import tempfile

import numpy as np
import tensorflow as tf

from benchmarks.timing import time_interleaved
from saccader_tf.export.savedmodel import (
    check_images,
    export_model,
    preprocess_images,
    serving_outputs,
)


@dataclasses.dataclass(frozen=True)
class ServingLatency:
    """Median seconds per call at one batch size.

    Attributes:
        batch_size: images per call.
        saved_model: median seconds of the SavedModel's `serving_default` signature.
        keras: median seconds of the compiled Keras inference on the same inputs.
        max_logit_difference: largest |logit difference| between the two sides' outputs.
        same_cells: whether both sides chose the same glimpse cells.
    """

    batch_size: int
    saved_model: float
    keras: float
    max_logit_difference: float
    same_cells: bool

    @property
    def ratio(self):
        """SavedModel time / Keras time (1.0 = the same speed)."""
        return self.saved_model / self.keras


def keras_serving_function(saccader, *, mean, std, crop_fraction=1.0, top_k=5):
    """The Keras side: a `tf.function` uint8 `[N,H,W,C]` → the serving outputs dict."""
    k = min(top_k, saccader.num_classes)

    @tf.function(jit_compile=False, reduce_retracing=True)
    def serve(images):
        images = check_images(images, saccader.input_channels, "keras")
        inputs, window = preprocess_images(
            images, image_size=saccader.image_size, mean=mean, std=std, crop_fraction=crop_fraction
        )
        out = saccader(inputs, training=False)
        return serving_outputs(
            out["logits"], out["cells"], out["glimpse_boxes"], window, saccader.image_size, k
        )

    return serve


def measure_serving_latency(
    saccader, *, mean, std, batch_sizes=(1, 32), repeats=50, crop_fraction=1.0
):
    """Exports `saccader` to a temporary directory and times both sides at each batch size.

    Args:
        saccader: a `Saccader`.
        mean, std: per-channel normalisation (as `DataSource.mean` / `.std`).
        batch_sizes: batch sizes to time.
        repeats: timed calls per side and batch size.
        crop_fraction: the export's central crop.

    Returns:
        A list of `ServingLatency`, one per batch size.
    """
    keras_fn = keras_serving_function(saccader, mean=mean, std=std, crop_fraction=crop_fraction)
    rng = np.random.default_rng(0)
    size, channels = saccader.image_size, saccader.input_channels
    results = []
    with tempfile.TemporaryDirectory() as export_dir:
        export_model(saccader, export_dir, mean=mean, std=std, crop_fraction=crop_fraction)
        signature = tf.saved_model.load(export_dir).signatures["serving_default"]
        for batch in batch_sizes:
            images = tf.constant(
                rng.integers(0, 256, size=(batch, size, size, channels), dtype=np.uint8)
            )
            agreement = _agreement(signature(images=images), keras_fn(images))
            seconds = time_interleaved(
                {
                    "saved_model": lambda: _block(signature(images=images)),
                    "keras": lambda: _block(keras_fn(images)),
                },
                repeats=repeats,
                warmup=3,
            )
            results.append(
                ServingLatency(
                    batch_size=batch,
                    saved_model=float(np.median(seconds["saved_model"])),
                    keras=float(np.median(seconds["keras"])),
                    **agreement,
                )
            )
    return results


def _block(outputs):
    return {key: value.numpy() for key, value in outputs.items()}


def _agreement(served, keras_out):
    """How close the two sides' outputs are (they compute the same function)."""
    if sorted(served) != sorted(keras_out):
        raise AssertionError(
            f"Different outputs: SavedModel {sorted(served)}, Keras {sorted(keras_out)}"
        )
    difference = np.max(np.abs(served["logits"].numpy() - keras_out["logits"].numpy()))
    same_cells = np.array_equal(served["glimpse_cells"].numpy(), keras_out["glimpse_cells"].numpy())
    return {"max_logit_difference": float(difference), "same_cells": bool(same_cells)}
