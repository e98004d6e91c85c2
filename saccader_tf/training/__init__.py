"""Losses and the per-stage trainers (custom `train_step`s) of the 3-stage recipe."""

from saccader_tf.training.classnet_trainer import ClassNetTrainer
from saccader_tf.training.dram_trainer import DRAMTrainer
from saccader_tf.training.location_pretrainer import LocationPretrainer
from saccader_tf.training.policy_gradient_trainer import PolicyGradientTrainer
from saccader_tf.training.representation_trainer import RepresentationTrainer
