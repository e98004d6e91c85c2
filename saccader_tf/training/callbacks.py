"""Training callbacks: glimpse pictures written to TensorBoard while a stage trains."""

import keras
import tensorflow as tf

from saccader_tf.evaluation.pictures import glimpse_summary_image


class GlimpseImagesCallback(keras.callbacks.Callback):
    """Writes a fixed batch's glimpse boxes as `tf.summary.image` at the end of every epoch.

    Args:
        images: `[B, S, S, C]` fixed (normalised) validation images.
        log_dir: TensorBoard directory (a writer is created there).
        model: the model whose glimpses are drawn (a `Saccader`, `DRAM` or `SaccaderClassNet`:
            anything called as `model(images, training=False, num_glimpses=T)` that returns
            `glimpse_boxes`); default the `trained_model` of the trainer being fitted (the model
            a `StageTrainer` wraps). Keras's own `callback.model` stays the trainer.
        num_glimpses: T; default the model's.
        name: summary tag.
        every: write every `every` epochs.
    """

    def __init__(self, images, log_dir, model=None, num_glimpses=None, name="glimpses", every=1):
        super().__init__()
        self.images = tf.convert_to_tensor(images, tf.float32)
        self.log_dir = log_dir
        self.drawn_model = model
        self.num_glimpses = num_glimpses
        self.name = name
        self.every = every
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        model = self.drawn_model or self.model.trained_model
        out = model(self.images, training=False, num_glimpses=self.num_glimpses)
        pictures = glimpse_summary_image(self.images.numpy(), out["glimpse_boxes"].numpy())
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        with self._writer.as_default():
            tf.summary.image(self.name, pictures, step=epoch, max_outputs=len(pictures))
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
