"""Losses and the per-stage trainers (custom `train_step`s) of the 3-stage recipe."""

from saccader_tf.training.dram_trainer import DRAMTrainer
from saccader_tf.training.stage1 import RepresentationTrainer
from saccader_tf.training.stage2 import LocationPretrainer
from saccader_tf.training.stage3 import PolicyGradientTrainer
from saccader_tf.training.stage4 import ClassNetTrainer
