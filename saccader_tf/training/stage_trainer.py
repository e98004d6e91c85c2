"""Shared machinery of the per-stage trainers: loss reduction, weight decay, gradient updates."""

import keras
import tensorflow as tf

from saccader_tf.training import multi_worker
from saccader_tf.training.fit_checks import check_callbacks
from saccader_tf.training.loss_scaling import with_loss_scaling
from saccader_tf.training.losses import L2_MODES, weight_decay_penalty


class StageTrainer(keras.Model):
    """Base of the stage trainers: wraps a model and trains a subset of its weights.

    The model is a `Saccader` (stages 1-3), a `SaccaderClassNet` (stage 4) or a `DRAM`; the trainer
    holds it as `trained_model`.

    Subclasses implement `trained_variables()` and `compute_losses(images, labels, training)`, which
    returns `(total_loss, logs)`; `self.total_loss(per_example, logs)` reduces a per-example loss
    for one replica (divides by the GLOBAL batch size) and adds the weight decay divided by the
    replica count, so the gradients that the optimizer sums over replicas equal the single-device
    gradients of the global batch. Logs are local means, for people to read.

    The trainer is a training harness, not a model to serve or save: checkpoints hold the wrapped
    model's weights (`trainer.trained_model.save_weights(...)`). It is built when constructed and
    its optimizer when compiled (slots for `trained_variables()` only), so Keras's
    `ModelCheckpoint(save_weights_only=True)` and `BackupAndRestore` work from the first `fit`
    (their files hold the trainer's weights: the model's and the optimizer's); see
    docs/python_training.md.

    Args:
        model: the model to train (built here when it is not yet).
        weight_decay: L2 coefficient λ of `λ · Σ ||w||² / 2` over kernels (docs/design.md,
            "Losses").
        l2: `"standard"` (default, the formula above) or `"normalized"` (reproduction switch:
            `λ · Σ mean(w²)`, the official TF1 code's form); see `losses.weight_decay_penalty`.
        location_weight_decay: λ of the location network's kernels (`model.location_variables`:
            the Saccader's and DRAM's; a ClassNet's classifier has none); `None` (default) =
            `weight_decay`.
        **kwargs: base-model arguments (`name`, ...).
    """

    def __init__(
        self, model, weight_decay=0.0, l2="standard", location_weight_decay=None, **kwargs
    ):
        super().__init__(**kwargs)
        if weight_decay < 0:
            raise ValueError(f"`weight_decay` must be >= 0. Received: weight_decay={weight_decay}")
        if location_weight_decay is not None and not location_weight_decay >= 0:
            raise ValueError(
                "`location_weight_decay` must be >= 0 or None. "
                f"Received: location_weight_decay={location_weight_decay}"
            )
        if l2 not in L2_MODES:
            raise ValueError(f"`l2` must be one of {L2_MODES}. Received: l2={l2!r}")
        if not model.built:
            model.build()  # every variable group must exist before the first step
        self.trained_model = model
        self.built = (
            True  # its only variables are the model's (and, once compiled, the optimizer's)
        )
        self.weight_decay = weight_decay
        self.l2 = l2
        self.location_weight_decay = location_weight_decay

    def save_own_variables(self, store):
        """Keras saving hook: the trainer's own entry of a weights file holds the wrapped model's
        sampler states (every `keras.random.SeedGenerator` state: variables that are not
        weights, which Keras leaves out of the model's entry), so a run resumed by
        `BackupAndRestore` draws the samples an uninterrupted run would."""
        for i, state in enumerate(self._sampler_states()):
            store[str(i)] = state

    def load_own_variables(self, store):
        """Keras loading hook: restores what `save_own_variables` saved."""
        states = self._sampler_states()
        if len(store.keys()) != len(states):
            raise ValueError(
                f"The weights file holds {len(store.keys())} sampler states for this "
                f"{type(self).__name__}, but its model has {len(states)}: it was saved from "
                "another trainer or model. Load it into the trainer that saved it."
            )
        for i, state in enumerate(states):
            state.assign(store[str(i)])

    def _sampler_states(self):
        weights = {id(w) for w in self.trained_model.weights}
        return [v for v in self.trained_model.variables if id(v) not in weights]

    def trained_variables(self):
        """The variables this stage updates."""
        raise NotImplementedError

    def compute_losses(self, images, labels, training):
        """Returns `(total_loss, logs)` for one replica's batch (see the class docstring)."""
        raise NotImplementedError

    def evaluate_batch(self, images, labels):
        """Returns the metric logs of one evaluation batch (inference mode)."""
        raise NotImplementedError

    def call(self, images, training=False):
        return self.trained_model(images, training=training)

    # Trainers whose loss needs a cross-replica reduction (a global-batch baseline) set this: XLA
    # then compiles only their model's pass per replica (`forward`), not the whole loss.
    reduces_across_replicas = False

    def compile(self, optimizer="rmsprop", **kwargs):
        """Keras `compile`, plus loss scaling for float16 and XLA that works under a strategy.

        The optimizer is wrapped in a `keras.optimizers.LossScaleOptimizer` when the model
        computes in float16 (`mixed_float16`; `loss_scaling.with_loss_scaling`). With
        `jit_compile=True` under a multi-replica strategy on an affected Keras
        (`multi_worker.needs_replica_jit`), Keras's whole-step XLA is replaced by XLA on each
        replica's loss and gradients (or, when `reduces_across_replicas`, on each replica's model
        pass and its gradient); the all-reduce and the update run outside XLA.
        `self.replica_jit` says which applies.

        The optimizer is built here on `trained_variables()` (not on all trainable variables, as
        Keras would at the first `fit`), so a checkpoint restore finds its slots.
        """
        super().compile(optimizer=with_loss_scaling(optimizer, self.trained_model), **kwargs)
        if not self.optimizer.built:
            self.optimizer.build(self.trained_variables())
        self.replica_jit = bool(self.jit_compile) and multi_worker.needs_replica_jit(
            self.distribute_strategy
        )
        self._gradients_fn, self._evaluate_fn = self._gradients, self.evaluate_batch
        self._forward_fn = None  # None: call the model itself (not stored twice: Keras tracks it)
        if self.replica_jit:
            self.jit_compile = False  # Keras's function stays a graph; the parts below use XLA
            self._evaluate_fn = multi_worker.replica_compiled(self.evaluate_batch)
            if self.reduces_across_replicas:
                self._forward_fn = multi_worker.replica_compiled(self.trained_model.__call__)
            else:
                self._gradients_fn = multi_worker.replica_compiled(self._gradients)

    def fit(self, *args, **kwargs):
        """Keras `fit`, after checking that its `callbacks` work with the optimizer
        (`fit_checks.check_callbacks`: no `ReduceLROnPlateau` on a scheduled learning rate)."""
        check_callbacks(kwargs.get("callbacks"), self.optimizer)
        return super().fit(*args, **kwargs)

    def forward(self, images, training):
        """`self.trained_model(images, training=training)`, XLA-compiled per replica when
        needed."""
        forward = getattr(self, "_forward_fn", None) or self.trained_model
        return forward(images, training=training)

    def total_loss(self, per_example, logs):
        """Combines a per-example loss `[B]` with weight decay; fills `logs["loss"]`.

        Returns the loss of this replica's share: the per-example loss averaged over the GLOBAL
        batch plus the decay divided by the replica count. `logs["loss"]` gets the readable value
        (local mean + the whole decay term).
        """
        penalty = self.weight_decay_penalty()
        logs["loss"] = tf.reduce_mean(per_example) + penalty
        return tf.nn.compute_average_loss(per_example) + tf.nn.scale_regularization_loss(penalty)

    def weight_decay_penalty(self):
        """`λ · Σ ||w||² / 2` over the decayed kernels among `trained_variables()` (by default; see
        `l2` and `location_weight_decay`)."""
        location_decay = (
            self.weight_decay if self.location_weight_decay is None else self.location_weight_decay
        )
        if not self.weight_decay and not location_decay:
            return tf.constant(0.0)
        return weight_decay_penalty(
            self.trained_variables(),
            self.weight_decay,
            l2=self.l2,
            location_variables=getattr(self.trained_model, "location_variables", ()),
            location_weight_decay=self.location_weight_decay,
        )

    def train_step(self, data):
        images, labels = data[0], self.checked_labels(data[1])
        gradients, logs = self._gradients_fn(images, labels)
        self.optimizer.apply_gradients(zip(gradients, self.trained_variables()))
        return self._update_metrics(logs, tf.shape(labels)[0])

    def _gradients(self, images, labels):
        """Gradients of the loss (times the optimizer's loss scale) w.r.t. `trained_variables()`."""
        variables = self.trained_variables()
        with tf.GradientTape() as tape:
            loss, logs = self.compute_losses(images, labels, training=True)
            scaled = self.optimizer.scale_loss(loss)
        return tape.gradient(scaled, variables), logs

    def test_step(self, data):
        labels = self.checked_labels(data[1])
        return self._update_metrics(self._evaluate_fn(data[0], labels), tf.shape(labels)[0])

    def checked_labels(self, labels):
        """`labels` after checking that they lie in `[0, num_classes)`.

        Out-of-range labels would give a cryptic kernel error on CPUs and silent NaNs on GPUs; this
        stops with a message saying what is wrong instead (`tf.errors.InvalidArgumentError`).
        """
        num_classes = self.trained_model.num_classes
        message = (
            f"Labels must lie in [0, num_classes={num_classes}); a batch holds a label outside "
            "it. Check the dataset's labels against the model's number of classes."
        )
        checks = [
            tf.debugging.assert_non_negative(labels, message=message),
            tf.debugging.assert_less(labels, tf.cast(num_classes, labels.dtype), message=message),
        ]
        with tf.control_dependencies(checks):
            return tf.identity(labels)

    def _update_metrics(self, logs, batch_size):
        # Batch means weighted by the batch size: epoch values are exact means over examples,
        # also when the last batch is smaller.
        weight = tf.cast(batch_size, tf.float32)
        for name, value in logs.items():
            self._log_means[name].update_state(value, sample_weight=weight)
        return {name: self._log_means[name].result() for name in logs}

    def make_trackers(self, names):
        """Creates one `keras.metrics.Mean` per log name (call in the subclass `__init__`)."""
        self._log_means = {name: keras.metrics.Mean(name=name) for name in names}

    @property
    def metrics(self):
        return list(self._log_means.values())
