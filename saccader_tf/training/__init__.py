"""Training: the per-stage trainers (custom `train_step`s) and what they share.

- `stage_trainer.StageTrainer`: the base (loss reduction over the global batch, weight decay,
  loss scaling, XLA per replica); one subclass per stage: `representation_trainer` (stage 1),
  `location_pretrainer` (2), `policy_gradient_trainer` (3), `classnet_trainer` (4, a
  Saccader-ClassNet), `dram_trainer` (DRAM's one stage). See docs/design.md, "Training stages".
- `losses`, `rewards`: the losses as plain functions (docs/design.md, "Losses").
- `fit_checks`: what a trainer's `fit` checks in the Keras callbacks it is given
  (docs/python_training.md).
- `train_stage.train_stage`: runs one stage (optimizer, `schedules`, progress, `nan_guard`,
  `callbacks`); `stage_trainers` says which trainer a stage uses.
- `distribute`, `multi_worker`, `loss_scaling`: strategies, Keras workarounds under them, float16.
- `worker_inputs`: the training input of a stage, each worker of a cluster preparing only its
  share of the TFRecord source's batches.
"""

from saccader_tf.training.classnet_trainer import ClassNetTrainer
from saccader_tf.training.dram_trainer import DRAMTrainer
from saccader_tf.training.location_pretrainer import LocationPretrainer
from saccader_tf.training.policy_gradient_trainer import PolicyGradientTrainer
from saccader_tf.training.representation_trainer import RepresentationTrainer
