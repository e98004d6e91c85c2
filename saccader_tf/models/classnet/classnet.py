"""Saccader-ClassNet: the Saccader chooses where to look, a separate classifier classifies the
glimpses."""

import os

import keras
import tensorflow as tf

from saccader_tf.models.classnet.glimpse_extraction import GlimpseExtraction
from saccader_tf.models.classnet.imagenet_inputs import ImagenetInputs
from saccader_tf.models.saccader.saccader import Saccader
from saccader_tf.utils.validation import check_ints

OUTPUT_KEYS = (
    "logits",
    "glimpse_logits",
    "cells",
    "glimpse_boxes",
    "classifier_boxes",
    "saccader_logits",
)
IMAGENET = "imagenet"
"""`classifier_weights="imagenet"`: keras.applications' ImageNet weights."""
IMAGENET_CLASSIFIERS = ("nasnet_large", "resnet50_v2")
CLASSIFIERS = ("nasnet_large", "resnet50_v2", "small_cnn")
_NATIVE_SIZE_CLASSIFIERS = ("nasnet_large", "resnet50_v2")


@keras.saving.register_keras_serializable(package="saccader_tf")
class SaccaderClassNet(keras.Model):
    """Saccader-ClassNet: T glimpses chosen by a Saccader, each classified by a separate classifier.

    The input is the image at the classifier's size S_cls. The Saccader sees it resized to its own
    size S_sac (`tf.image.resize`, bilinear with antialiasing; or pass `saccader_images`) and,
    always in inference mode (its configured policy, deterministic for `"learned"`), picks T cells
    with receptive-field boxes `b^t` (S_sac pixels). `GlimpseExtraction` cuts
    `g = int(S_cls/S_sac · RF)` px glimpses centred at the same normalised locations from the S_cls
    image (edge replication outside it) and resizes them to the classifier's input side s. The
    classifier maps each glimpse to logits `y^t` `[K]`; the prediction is `ŷ = mean_t y^t`. The
    BagNet's glimpse logits are not used for it (they are returned as `"saccader_logits"`);
    docs/design.md, "Saccader-ClassNet".

    Classifiers (all with `weights=None`: nothing is downloaded; `classifier_weights` may name a
    local weights file, loaded with `load_weights`, or be `"imagenet"` for the two
    keras.applications classifiers: then `ImagenetInputs` (the glimpses as the application's
    ImageNet weights expect their input), `include_top=False, pooling="avg",
    weights="imagenet"` (a hash-checked Keras download, cached under `~/.keras/models`) and a
    fresh Dense K named `"logits"`, on 3-channel glimpses):
    `"nasnet_large"` = `keras.applications.NASNetLarge(include_top=True, classes=K,
    classifier_activation=None)`, `"resnet50_v2"` = `keras.applications.ResNet50V2(...)` likewise
    (both default to s = S_cls, the paper's 331 px input for NASNet), `"small_cnn"` = 3x3 conv
    (SAME, no bias) + BN + ReLU per width of `small_cnn_widths` (strides 1, 2, 2, ...) → spatial
    mean → Dense K (default s = g: no resize, for the built-in 60 px data), or a `keras.Model`
    mapping `[M, s, s, C]` to logits `[M, K]` (s read from its input shape). A passed-in model is
    serialized into `get_config()` with `keras.saving.serialize_keras_object`: functional and
    Sequential models (and registered subclasses) survive `from_config` and a `.keras` round trip;
    an unregistered subclassed model does not deserialize.

    Args:
        saccader: a `Saccader` (or its `serialize_keras_object` dict); its `num_classes`,
            `input_channels`, `image_size` (S_sac) and receptive field are used.
        classifier: one of `CLASSIFIERS` or a `keras.Model` (or its serialized dict).
        classifier_image_size: S_cls, side of the input images.
        glimpse_input_size: s, the classifier's input side (default: see above).
        classifier_weights: optional path of a local weights file for the classifier, or
            `"imagenet"` (see above).
        download_weights: whether `classifier_weights="imagenet"` fetches the ImageNet weights
            (`from_config` passes `False`: it rebuilds the structure, whose weights are loaded
            after; so it is left out of `get_config`).
        input_mean, input_std: the `C` per-channel mean and std the images were normalised with
            (`DataSource.mean`, `DataSource.std`); needed with `classifier_weights="imagenet"`,
            whose classifier turns glimpses back into pixels and prepares them as its weights
            were trained (`ImagenetInputs`: `pixel / 127.5 - 1` for both applications).
        small_cnn_widths: conv widths of `"small_cnn"`.
        interpolation: resize method of the glimpses (`GlimpseExtraction`).
        **kwargs: base-model arguments (`name`, `dtype`, ...).

    Call arguments:
        images: `[N, S_cls, S_cls, C]` float images, normalised as in training.
        training: BN mode of the classifier (the Saccader always runs with `training=False`).
        num_glimpses: optional T for this call (default: the Saccader's).
        saccader_images: optional `[N, S_sac, S_sac, C]` images for the Saccader (no resize then).

    Returns:
        A dict (keys `OUTPUT_KEYS`): `"logits"` float32 `[N, K]`; `"glimpse_logits"` float32
        `[N, T, K]` (the classifier's per glimpse); `"cells"` int32 `[N, T]`; `"glimpse_boxes"`
        int32 `[N, T, 4]` (the Saccader's boxes, S_sac pixels); `"classifier_boxes"` int32
        `[N, T, 4]` (the cut boxes, S_cls pixels, may leave the image); `"saccader_logits"` float32
        `[N, K]`.

    Example:

    >>> sac = Saccader(num_classes=10, image_size=60, variant="bagnet29_small", input_channels=1)
    >>> net = SaccaderClassNet(sac, "small_cnn", classifier_image_size=60)
    >>> net(keras.ops.zeros((2, 60, 60, 1)))["glimpse_logits"].shape
    TensorShape([2, 6, 10])

    Reference:
        Elsayed, Kornblith & Le, "Saccader", NeurIPS 2019 (arXiv 1908.07644), Saccader-ClassNet.
    """

    def __init__(
        self,
        saccader,
        classifier,
        classifier_image_size,
        glimpse_input_size=None,
        classifier_weights=None,
        small_cnn_widths=(16, 32, 64),
        interpolation="bilinear",
        download_weights=True,
        input_mean=None,
        input_std=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        saccader, classifier = _checked_networks(
            saccader, classifier, classifier_weights, input_mean, input_std
        )
        imagenet = classifier_weights == IMAGENET
        small_cnn_widths = check_ints("small_cnn_widths", small_cnn_widths)
        rf = saccader.representation.receptive_field
        side = _input_side(
            classifier, glimpse_input_size, classifier_image_size, saccader.image_size, rf
        )
        self.extraction = GlimpseExtraction(
            image_size=classifier_image_size,
            source_size=saccader.image_size,
            receptive_field=rf,
            output_size=side,
            interpolation=interpolation,
            dtype=self.dtype_policy,
            name="glimpse_extraction",
        )
        self.saccader = saccader
        self.classifier_name = classifier if isinstance(classifier, str) else None
        shape = (side, side, saccader.input_channels)
        normalization = (input_mean, input_std) if imagenet else None
        if isinstance(classifier, str):
            weights = (IMAGENET if download_weights else None) if imagenet else None
            self.classifier = _make_classifier(
                classifier, shape, saccader.num_classes, small_cnn_widths, weights, normalization
            )
        else:
            self.classifier = classifier
        if classifier_weights is not None and not imagenet:
            self.classifier.load_weights(classifier_weights)
        self.classifier_image_size = classifier_image_size
        self.glimpse_input_size = glimpse_input_size
        self.classifier_weights = classifier_weights
        self.small_cnn_widths = small_cnn_widths
        self.interpolation = interpolation
        self.download_weights = download_weights
        self.input_mean = None if input_mean is None else [float(m) for m in input_mean]
        self.input_std = None if input_std is None else [float(v) for v in input_std]
        self.num_classes = saccader.num_classes
        self.input_channels = saccader.input_channels
        self.image_size = classifier_image_size

    def build(self, input_shape=None):
        if not self.saccader.built:  # a deserialized Saccader may already be built (build_config)
            size = self.saccader.image_size
            self.saccader.build((None, size, size, self.saccader.input_channels))
        self.built = True

    def saccader_inputs(self, images):
        """`images` `[N, S_cls, S_cls, C]` as the Saccader sees them: `[N, S_sac, S_sac, C]`
        (unchanged when the sizes agree, else `tf.image.resize`, bilinear with antialiasing)."""
        size = self.saccader.image_size
        if size == self.classifier_image_size:
            return images
        return tf.image.resize(
            tf.cast(images, tf.float32), [size, size], method="bilinear", antialias=True
        )

    def call(self, images, training=None, num_glimpses=None, saccader_images=None):
        if saccader_images is None:
            saccader_images = self.saccader_inputs(images)
        chosen = self.saccader(saccader_images, training=False, num_glimpses=num_glimpses)
        boxes = tf.stop_gradient(chosen["glimpse_boxes"])
        glimpse_logits = self.classify_boxes(images, boxes, training=training)
        return {
            "logits": tf.reduce_mean(glimpse_logits, axis=1),
            "glimpse_logits": glimpse_logits,
            "cells": chosen["cells"],
            "glimpse_boxes": boxes,
            "classifier_boxes": self.extraction.glimpse_boxes(boxes),
            "saccader_logits": tf.cast(chosen["logits"], tf.float32),
        }

    def classify_boxes(self, images, boxes, training=None):
        """The classifier's logits for glimpses cut at given Saccader boxes.

        Args:
            images: `[N, S_cls, S_cls, C]` float images (no gradient flows into them).
            boxes: int `[N, T, 4]` receptive-field boxes in S_sac pixels (`Saccader.boxes`).
            training: BN mode of the classifier.

        Returns:
            float32 `[N, T, K]`.
        """
        boxes = tf.stop_gradient(boxes)
        glimpses = self.extraction(tf.stop_gradient(images), boxes)  # [N, T, s, s, C]
        side, channels = self.extraction.resized_size, glimpses.shape[-1]
        flat = tf.reshape(glimpses, [-1, side, side, channels])
        flat_logits = tf.cast(self.classifier(flat, training=training), tf.float32)
        return tf.reshape(flat_logits, [tf.shape(boxes)[0], tf.shape(boxes)[1], self.num_classes])

    @property
    def classifier_variables(self):
        """Trainable variables of the classifier (what a ClassNet stage trains)."""
        return self.classifier.trainable_variables

    def get_config(self):
        config = super().get_config()
        classifier = self.classifier_name or keras.saving.serialize_keras_object(self.classifier)
        config.update(
            saccader=keras.saving.serialize_keras_object(self.saccader),
            classifier=classifier,
            classifier_image_size=self.classifier_image_size,
            glimpse_input_size=self.glimpse_input_size,
            classifier_weights=self.classifier_weights,
            small_cnn_widths=self.small_cnn_widths,
            interpolation=self.interpolation,
            input_mean=self.input_mean,
            input_std=self.input_std,
        )  # not download_weights: an action of the first construction, not part of the model
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**{**config, "download_weights": False})


def _checked_networks(saccader, classifier, classifier_weights, input_mean, input_std):
    """`(saccader, classifier)` deserialized from their config dicts if need be, after checking
    them, that `classifier_weights` is `None`, an existing file or `"imagenet"` (then with the
    images' normalisation)."""
    if isinstance(saccader, dict):
        saccader = keras.saving.deserialize_keras_object(saccader)
    if not isinstance(saccader, Saccader):
        raise ValueError(f"`saccader` must be a `Saccader`. Received: saccader={saccader!r}")
    if isinstance(classifier, dict):
        classifier = keras.saving.deserialize_keras_object(classifier)
    if not (classifier in CLASSIFIERS or isinstance(classifier, keras.Model)):
        raise ValueError(
            f"`classifier` must be one of {CLASSIFIERS} or a keras.Model. "
            f"Received: classifier={classifier!r}"
        )
    if classifier_weights == IMAGENET and classifier not in IMAGENET_CLASSIFIERS:
        raise ValueError(
            f"`classifier_weights='imagenet'` needs one of {IMAGENET_CLASSIFIERS}. "
            f"Received: classifier={classifier!r}"
        )
    if classifier_weights == IMAGENET and (input_mean is None or input_std is None):
        raise ValueError(
            "`classifier_weights='imagenet'` needs `input_mean` and `input_std`: the "
            "per-channel normalisation of the images (`DataSource.mean`, `DataSource.std`). "
            f"Received: input_mean={input_mean!r}, input_std={input_std!r}"
        )
    if classifier_weights not in (None, IMAGENET) and not os.path.isfile(classifier_weights):
        raise ValueError(
            f"`classifier_weights` must be an existing local file or 'imagenet'. "
            f"Received: classifier_weights={classifier_weights!r}"
        )
    return saccader, classifier


def _input_side(classifier, glimpse_input_size, image_size, source_size, receptive_field):
    """The classifier's input side s (see the class docstring for the defaults)."""
    if isinstance(classifier, keras.Model):
        shape = tuple(classifier.inputs[0].shape) if classifier.inputs else None
        if not shape or len(shape) != 4 or shape[1] is None or shape[1] != shape[2]:
            raise ValueError(
                f"A passed-in classifier needs a static square input `[M, s, s, C]`. "
                f"Received: classifier input shape={shape}"
            )
        if glimpse_input_size not in (None, shape[1]):
            raise ValueError(
                f"`glimpse_input_size` must match the classifier's input side {shape[1]}. "
                f"Received: glimpse_input_size={glimpse_input_size!r}"
            )
        return shape[1]
    if glimpse_input_size is not None:
        return glimpse_input_size
    if classifier in _NATIVE_SIZE_CLASSIFIERS:
        return image_size
    return (image_size * receptive_field) // source_size


def _make_classifier(name, input_shape, num_classes, widths, weights=None, normalization=None):
    """A fresh `keras.applications` model (`weights=None`, logits), its ImageNet-feature form
    (`normalization`, the images' `(mean, std)`, given: `ImagenetInputs`, then the application
    with no top, average pooling and `weights`, then a Dense of logits) or the small CNN."""
    applications = {
        "nasnet_large": keras.applications.NASNetLarge,
        "resnet50_v2": keras.applications.ResNet50V2,
    }
    if normalization is not None:
        if input_shape[-1] != 3:
            raise ValueError(
                "ImageNet classifier weights take 3-channel (RGB) glimpses. "
                f"Received: input channels={input_shape[-1]}"
            )
        inputs = keras.Input(shape=input_shape)
        base = applications[name](
            input_shape=input_shape, include_top=False, weights=weights, pooling="avg"
        )
        pixels = ImagenetInputs(name, *normalization, name="imagenet_inputs")(inputs)
        logits = keras.layers.Dense(num_classes, name="logits")(base(pixels))
        return keras.Model(inputs, logits, name="classifier")
    if name in applications:
        return applications[name](
            input_shape=input_shape,
            include_top=True,
            weights=None,
            classes=num_classes,
            classifier_activation=None,
            name="classifier",
        )
    layers = [keras.Input(shape=input_shape)]
    for index, width in enumerate(widths):
        stride = 1 if index == 0 else 2
        layers += [
            keras.layers.Conv2D(
                width, 3, strides=stride, padding="same", use_bias=False, name=f"conv{index}"
            ),
            keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"bn{index}"),
            keras.layers.ReLU(name=f"relu{index}"),
        ]
    layers += [
        keras.layers.GlobalAveragePooling2D(name="spatial_mean"),
        keras.layers.Dense(num_classes, name="logits"),
    ]
    return keras.Sequential(layers, name="classifier")


__all__ = ["CLASSIFIERS", "OUTPUT_KEYS", "SaccaderClassNet"]
