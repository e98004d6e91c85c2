"""DRAM's glimpse network: multi-resolution glimpses with position channels → CNN → a vector."""

import keras
import tensorflow as tf

from saccader_tf.layers.fused_batch_norm import BatchNormalization
from saccader_tf.models.dram.multi_resolution_glimpse import (
    fields_of_view,
    glimpse_corners,
    mask_resolutions,
    multi_resolution_glimpses,
    pad_for_glimpses,
    position_channels,
)
from saccader_tf.utils.validation import check_int, check_ints

BACKBONES = ("small_cnn", "resnet50v2")
_SMALL_CNN_STRIDES = (1, 2, 2, 1)


@keras.saving.register_keras_serializable(package="saccader_tf")
class GlimpseNetwork(keras.layers.Layer):
    """Glimpse network of DRAM: what the model sees at one location, as a feature vector.

    The image gets 2 position channels (normalised y and x of every pixel, `position_channels`);
    at the location, n fields of view from g to S pixels (`fields_of_view`) are cut around the
    g x g high-resolution glimpse and resized to g x g (`multi_resolution_glimpses`); a field that
    is switched off is replaced by its per-channel spatial mean; the n glimpses are concatenated
    on channels (n·(C + 2)) and a CNN backbone with a spatial mean gives the feature vector.
    No gradient reaches the pixels or the location.

    Backbones: `"resnet50v2"` = `keras.applications.ResNet50V2(include_top=False, weights=None)`
    (2048-d, the paper's), `"small_cnn"` = 3x3 conv (SAME, no bias) + BN + ReLU per width in
    `widths`, strides 1, 2, 2, 1, 1, ... (last width = feature size).

    Args:
        image_size: S, side of the square input images.
        glimpse_size: g, side of the high-resolution glimpse (and of every resized glimpse).
        input_channels: C.
        num_resolutions: n, fields of view.
        backbone: one of `BACKBONES`.
        widths: the small CNN's conv widths (ignored by `"resnet50v2"`).
        **kwargs: base-layer arguments.

    Call arguments:
        images: `[B, S, S, C]`, or the output of `prepare` (then pass `prepared=True`).
        locations: `[B, 2]` in `[-1, 1]` (y, x); clipped.
        use_resolution: tuple of n Python bools (default all on).
        training: BN mode of the backbone.
        prepared: `images` already went through `prepare` (saves the padding in a glimpse loop).

    Returns:
        `[B, F]` features (F = 2048 for ResNet50V2, `widths[-1]` for the small CNN).

    Example:
        >>> net = GlimpseNetwork(image_size=60, glimpse_size=29, input_channels=1, widths=(8, 16))
        >>> net(keras.ops.zeros((2, 60, 60, 1)), keras.ops.zeros((2, 2))).shape
        TensorShape([2, 16])

    Reference:
        Ba, Mnih & Kavukcuoglu, "Multiple Object Recognition with Visual Attention", ICLR 2015;
        Elsayed, Kornblith & Le, NeurIPS 2019 (its DRAM baseline).
    """

    def __init__(
        self,
        image_size,
        glimpse_size,
        input_channels=3,
        num_resolutions=3,
        backbone="small_cnn",
        widths=(16, 32, 64, 64),
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_int("image_size", image_size)
        check_int("glimpse_size", glimpse_size)
        check_int("input_channels", input_channels)
        check_int("num_resolutions", num_resolutions)
        if glimpse_size > image_size:
            raise ValueError(
                f"`glimpse_size` must be at most image_size={image_size}. "
                f"Received: glimpse_size={glimpse_size}"
            )
        if backbone not in BACKBONES:
            raise ValueError(
                f"`backbone` must be one of {BACKBONES}. Received: backbone={backbone!r}"
            )
        widths = check_ints("widths", widths)
        self.image_size = image_size
        self.glimpse_size = glimpse_size
        self.input_channels = input_channels
        self.num_resolutions = num_resolutions
        self.backbone_name = backbone
        self.widths = widths
        self.fields = fields_of_view(image_size, glimpse_size, num_resolutions)
        shape = (glimpse_size, glimpse_size, num_resolutions * (input_channels + 2))
        if backbone == "resnet50v2":
            self.backbone = keras.applications.ResNet50V2(
                include_top=False, weights=None, input_shape=shape, pooling="avg", name="backbone"
            )
        else:
            self.backbone = _small_cnn(shape, widths, self.dtype_policy)
        self.output_size = self.backbone.output_shape[-1]

    def build(self, images_shape=None, locations_shape=None):
        self.built = True

    def prepare(self, images):
        """Position channels appended and zero padding: `[B, 3S, 3S, C + 2]`."""
        images = tf.cast(images, tf.float32)
        return pad_for_glimpses(tf.concat([images, position_channels(images)], axis=-1))

    def glimpses(self, prepared, locations):
        """The n resized glimpses `[B, g, g, C + 2]` at `locations` and their corners int32
        `[B, 2]`."""
        corners = glimpse_corners(locations, self.image_size, self.glimpse_size)
        patches = multi_resolution_glimpses(
            prepared, corners, self.fields, self.glimpse_size, self.image_size
        )
        return patches, corners

    def call(self, images, locations, use_resolution=None, training=None, prepared=False):
        prepared_images = images if prepared else self.prepare(images)
        patches, _ = self.glimpses(prepared_images, locations)
        use = (
            tuple(use_resolution) if use_resolution is not None else (True,) * self.num_resolutions
        )
        if len(use) != self.num_resolutions:
            raise ValueError(
                f"`use_resolution` needs {self.num_resolutions} flags. "
                f"Received: use_resolution={use_resolution}"
            )
        stacked = tf.cast(mask_resolutions(patches, use), self.compute_dtype)
        return self.backbone(stacked, training=training)

    def compute_output_shape(self, images_shape, locations_shape=None):
        return (images_shape[0], self.output_size)

    def get_config(self):
        config = super().get_config()
        config.update(
            image_size=self.image_size,
            glimpse_size=self.glimpse_size,
            input_channels=self.input_channels,
            num_resolutions=self.num_resolutions,
            backbone=self.backbone_name,
            widths=self.widths,
        )
        return config


def _small_cnn(input_shape, widths, dtype):
    """3x3 conv + BN + ReLU per width (strides 1, 2, 2, 1, 1, ...), then a spatial mean."""
    layers = [keras.Input(shape=input_shape)]
    for index, width in enumerate(widths):
        stride = _SMALL_CNN_STRIDES[index] if index < len(_SMALL_CNN_STRIDES) else 1
        layers += [
            keras.layers.Conv2D(
                width,
                3,
                strides=stride,
                padding="same",
                use_bias=False,
                dtype=dtype,
                name=f"conv{index}",
            ),
            BatchNormalization(momentum=0.9, epsilon=1e-5, dtype=dtype, name=f"bn{index}"),
            keras.layers.ReLU(dtype=dtype, name=f"relu{index}"),
        ]
    layers.append(keras.layers.GlobalAveragePooling2D(dtype=dtype, name="spatial_mean"))
    return keras.Sequential(layers, name="backbone")
