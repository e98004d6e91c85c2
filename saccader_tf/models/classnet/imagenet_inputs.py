"""What a keras.applications classifier with ImageNet weights is fed: the glimpses, which hold
the data's normalised values `(pixel / 255 - mean) / std`, turned back into pixels in [0, 255] and
prepared by the application's own `preprocess_input`, as its weights were trained.

Both ImageNet classifiers of the Saccader-ClassNet use the `"tf"` mode of
keras.applications (`pixel / 127.5 - 1`, RGB, in [-1, 1]): `keras.applications.nasnet` and
`keras.applications.resnet_v2`. Another application brings its own mode (ResNet50's `"caffe"`:
BGR minus the ImageNet pixel means; `"torch"`: `(pixel / 255 - mean) / std`), which its
`preprocess_input` applies; so this layer calls that function rather than one formula.
"""

import keras
import tensorflow as tf

PREPROCESS_INPUT = {
    "nasnet_large": keras.applications.nasnet.preprocess_input,
    "resnet50_v2": keras.applications.resnet_v2.preprocess_input,
}
"""The `preprocess_input` of each ImageNet classifier's keras.applications module."""


@keras.saving.register_keras_serializable(package="saccader_tf")
class ImagenetInputs(keras.layers.Layer):
    """Normalised images back to pixels, then the application's ImageNet preprocessing.

    Args:
        application: a key of `PREPROCESS_INPUT` (`"nasnet_large"`, `"resnet50_v2"`).
        mean: the `C` per-channel means the images were normalised with (in [0, 1] units, as
            `DataSource.mean`).
        std: the `C` positive per-channel standard deviations (`DataSource.std`).
        **kwargs: base-layer arguments (`name`, `dtype`, ...).

    Call arguments:
        images: float `[..., C]`, `(pixel / 255 - mean) / std`.

    Returns:
        float `[..., C]`: `preprocess_input((images * std + mean) * 255)` (for both applications
        here `pixel / 127.5 - 1`).
    """

    def __init__(self, application, mean, std, **kwargs):
        super().__init__(**kwargs)
        if application not in PREPROCESS_INPUT:
            raise ValueError(
                f"`application` must be one of {tuple(PREPROCESS_INPUT)}. "
                f"Received: application={application!r}"
            )
        mean, std = [float(m) for m in mean], [float(s) for s in std]
        if not mean or len(mean) != len(std) or min(std) <= 0:
            raise ValueError(
                "`mean` and `std` must hold one value per channel, std positive. "
                f"Received: mean={mean}, std={std}"
            )
        self.application, self.mean, self.std = application, mean, std

    def call(self, images):
        mean = tf.constant(self.mean, images.dtype)
        std = tf.constant(self.std, images.dtype)
        pixels = (images * std + mean) * 255.0
        return PREPROCESS_INPUT[self.application](pixels)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(application=self.application, mean=self.mean, std=self.std)
        return config
