"""The contenders of the time-to-accuracy race: model, training phases and test-error readout.

Every contender is trained by the trainers the launcher uses (`saccader_tf.training`): the Saccader
by its three stage trainers in turn, DRAM by `DRAMTrainer`, the plain CNN by `CrossEntropyTrainer`
(cross-entropy on the shared `StageTrainer` base). Its test error is that of its hard prediction:
the Saccader's and DRAM's learned policy with `num_glimpses` glimpses (T = 6 by default), the plain
CNN's full-image logits.
"""

import dataclasses
from typing import Callable, Tuple

from benchmarks.cross_entropy_trainer import CrossEntropyTrainer
from benchmarks.plain_cnn import DEFAULT_STRIDES, DEFAULT_WIDTHS, PlainCNN
from saccader_tf.models.dram.dram import DRAM
from saccader_tf.models.saccader.saccader import Saccader
from saccader_tf.training.dram_trainer import DRAMTrainer
from saccader_tf.training.location_pretrainer import LocationPretrainer
from saccader_tf.training.policy_gradient_trainer import PolicyGradientTrainer
from saccader_tf.training.representation_trainer import RepresentationTrainer

SACCADER_STAGE_SECONDS = (258, 58, 151)
"""Stage 1, 2, 3 wall times (s) of the launcher's default job (epochs 3/1/1), measured on an
idle machine (docs/results/race.md): the Saccader's budget is split across its stages in this
proportion."""


@dataclasses.dataclass(frozen=True)
class Sizes:
    """Model sizes of a race: the launcher's defaults (`FULL_SIZES`) or tiny (`QUICK_SIZES`)."""

    image_size: int
    saccader_variant: str
    dram_variant: str
    cnn_widths: Tuple[int, ...]
    cnn_strides: Tuple[int, ...]
    num_glimpses: int
    num_targets: int


FULL_SIZES = Sizes(
    image_size=60,
    saccader_variant="bagnet29_small",
    dram_variant="dram_small",
    cnn_widths=DEFAULT_WIDTHS,
    cnn_strides=DEFAULT_STRIDES,
    num_glimpses=6,
    num_targets=12,
)
QUICK_SIZES = Sizes(
    image_size=28,
    saccader_variant="bagnet9_tiny",
    dram_variant="dram_tiny",
    cnn_widths=(4, 8),
    cnn_strides=(2, 2),
    num_glimpses=2,
    num_targets=4,
)


@dataclasses.dataclass(frozen=True)
class Phase:
    """One training phase: a trainer that gets `share` of the contender's time budget.

    `make_trainer(model, weight_decay)` returns a `StageTrainer` around `model` (not compiled).
    """

    name: str
    share: float
    make_trainer: Callable


@dataclasses.dataclass(frozen=True)
class Contender:
    """A race entry. `build(num_classes, channels, seed)` returns the built model; `logits(model,
    images)` its inference logits `[B, K]` for the test error; `phases` run in order."""

    key: str
    label: str
    build: Callable
    logits: Callable
    phases: Tuple[Phase, ...]


def _saccader_phases(num_targets):
    total = sum(SACCADER_STAGE_SECONDS)
    share = [seconds / total for seconds in SACCADER_STAGE_SECONDS]
    return (
        Phase(
            "stage 1",
            share[0],
            lambda model, decay: RepresentationTrainer(model, weight_decay=decay),
        ),
        Phase(
            "stage 2",
            share[1],
            lambda model, decay: LocationPretrainer(
                model, num_targets=num_targets, weight_decay=decay
            ),
        ),
        Phase(
            "stage 3",
            share[2],
            lambda model, decay: PolicyGradientTrainer(model, weight_decay=decay),
        ),
    )


def _dict_logits(model, images):
    return model(images, training=False)["logits"]


def _plain_logits(model, images):
    return model(images, training=False)


def _saccader_builder(sizes, attention):
    """`build(num_classes, channels, seed)` of a Saccader of `sizes` with `attention` (`None`,
    `"cbam"` or `"adcm"`, in the BagNet blocks and the attention network)."""

    def build(num_classes, channels, seed):
        model = Saccader(
            num_classes=num_classes,
            image_size=sizes.image_size,
            variant=sizes.saccader_variant,
            input_channels=channels,
            num_glimpses=sizes.num_glimpses,
            attention=attention,
            bagnet_attention=attention,
            seed=seed,
        )
        model.build()
        return model

    return build


def _plain_cnn_builder(sizes):
    """`build(num_classes, channels, seed)` of the `PlainCNN` of `sizes` (`seed` unused: Keras'
    global seed sets its weights)."""

    def build(num_classes, channels, seed):
        model = PlainCNN(
            num_classes=num_classes,
            image_size=sizes.image_size,
            input_channels=channels,
            widths=sizes.cnn_widths,
            strides=sizes.cnn_strides,
        )
        model.build()
        return model

    return build


def _dram_builder(sizes):
    """`build(num_classes, channels, seed)` of the DRAM of `sizes`."""

    def build(num_classes, channels, seed):
        model = DRAM(
            num_classes=num_classes,
            image_size=sizes.image_size,
            variant=sizes.dram_variant,
            input_channels=channels,
            num_glimpses=sizes.num_glimpses,
            seed=seed,
        )
        model.build()
        return model

    return build


def _one_phase(make_trainer):
    return (Phase("train", 1.0, make_trainer),)


def make_contenders(sizes):
    """The five contenders, in the table's order, for `sizes` (`FULL_SIZES` or `QUICK_SIZES`)."""
    stages = _saccader_phases(sizes.num_targets)
    variant, glimpses = sizes.saccader_variant, sizes.num_glimpses
    return (
        Contender(
            "saccader",
            f"Saccader ({variant}, 3 stages, learned T={glimpses})",
            _saccader_builder(sizes, None),
            _dict_logits,
            stages,
        ),
        Contender(
            "saccader_cbam",
            f"Saccader + CBAM (BagNet blocks, attention net; T={glimpses})",
            _saccader_builder(sizes, "cbam"),
            _dict_logits,
            stages,
        ),
        Contender(
            "saccader_adcm",
            f"Saccader + ADCM (BagNet blocks, attention net; T={glimpses})",
            _saccader_builder(sizes, "adcm"),
            _dict_logits,
            stages,
        ),
        Contender(
            "plain_cnn",
            "plain full-image CNN (cross-entropy)",
            _plain_cnn_builder(sizes),
            _plain_logits,
            _one_phase(lambda model, decay: CrossEntropyTrainer(model, weight_decay=decay)),
        ),
        Contender(
            "dram",
            f"DRAM ({sizes.dram_variant}, learned T={glimpses})",
            _dram_builder(sizes),
            _dict_logits,
            _one_phase(lambda model, decay: DRAMTrainer(model, weight_decay=decay)),
        ),
    )


CONTENDER_KEYS = ("saccader", "saccader_cbam", "saccader_adcm", "plain_cnn", "dram")
