"""`RunSettings`: the settings of a training run, declared once, as a frozen dataclass.

`RunSettings` is everything the stage recipe (`saccader_tf.run.orchestrator`) reads, declared once:
each field carries its default, its help text and the kind of its command-line flag (see
`saccader_tf.run.setting_field.setting`). `saccader_tf.cli.flags` generates the flags of
`python -m saccader_tf.launch` from these fields and `saccader_tf.cli.launcher.settings_from_flags`
reads them back; Python code builds a `RunSettings` directly. `RunSettings.validate(stage)` refuses
settings that cannot work, for both (`saccader_tf.run.validate`).

`StageSettings` (`saccader_tf.run.stage_settings`) is what `train_stage` needs of one stage;
`RunSettings.stage_settings(stage)` makes it from a run's settings.
"""

import dataclasses
import sys
from typing import Callable, Optional

from saccader_tf.layers.kernel_choice import KERNEL_MODES
from saccader_tf.models.dtype_policy import MIXED_PRECISION
from saccader_tf.models.saccader.policies.registry import TABLE_ORDER
from saccader_tf.run.data_settings import DataSettings
from saccader_tf.run.setting_field import setting
from saccader_tf.run.stage_settings import SHARED_WITH_RUNS, StageSettings
from saccader_tf.run.validate import validate_settings


def flag_fields():
    """The `RunSettings` fields that are launcher flags, in declaration order."""
    return [field for field in dataclasses.fields(RunSettings) if "flag" in field.metadata]


@dataclasses.dataclass(frozen=True)
class RunSettings(DataSettings):
    """A training run: data (the fields of `DataSettings`), model, the per-stage schedule and
    where it is written.

    Every field declared with `setting` is the launcher flag of the same name, with that help text
    (`python -m saccader_tf.launch --help` lists them). `epochs` and `learning_rate` hold one value
    per stage (stages 1, 2, 3, and optionally 4; without a fourth, stage 4 takes stage 1's).

    Attributes besides the flags:
        readout_given, eval_policies_given: whether `readout` / `eval_policies` were chosen (the
            flag given): an explicit `readout` re-reads a model in `--stage=eval`, an explicit
            `eval_policies` replaces the policy comparison's default rows.
        verbose: Keras `fit` verbosity; `None` = a progress bar on a terminal, else one line per
            epoch.
        flags_given: the flags given on the command line (`given`), or `None`.
        command_for: `stage -> shell command` that creates that stage's checkpoint (quoted when a
            later stage misses it); `None` = a plain launcher command with this `model_dir`.
    """

    model: str = setting(
        "bagnet29_small",
        "string",
        "BagNet variant: bagnet9, bagnet17, bagnet33, bagnet77_lowd, bagnet29_small, bagnet9_tiny.",
    )
    architecture: str = setting(
        "saccader",
        "enum",
        "Model: saccader (BagNet + Saccader cell, 3 stages) or dram (the paper's recurrent "
        "baseline, one training stage stored as stage 3; --epochs and --learning_rate then take "
        "their first value).",
        choices=["saccader", "dram"],
    )
    dram_model: str = setting(
        "dram_small",
        "string",
        "DRAM variant (--architecture=dram): dram_small (60 px data, 29 px glimpses), "
        "dram_resnet50v2 (the paper's, 224 px, 77 px glimpses), dram_tiny.",
    )
    image_size: int = setting(60, "integer", "Side of the square input images, in pixels.")
    num_glimpses: int = setting(6, "integer", "Glimpses T per image (stage 3 and evaluation).")
    num_targets: int = setting(
        StageSettings.num_targets, "integer", "Stage 2: number of target cells."
    )
    attention_widths: tuple = setting(
        (),
        "integers",
        "Output channels of the attention network's four convolutions, e.g. 64,64,32,32 (cheaper "
        "stages 2 and 3: docs/results/stage_profile.md). Empty (default): F/2,F/2,F/4,F/4 of the "
        "BagNet's F feature channels, the paper's proportions. Recorded in --model_dir.",
    )
    readout: str = setting(
        "hard",
        "enum",
        "Saccader readout of each glimpse step: hard (the logits Z at the chosen cell) or soft "
        "(the TF1 code's soft-attention ablation: Σ_cells π·Z with the step's location "
        "probabilities π; logits averaged over the steps). Recorded in --model_dir (training "
        "refuses another one there); --stage=export uses the recorded one, --stage=eval too unless "
        "--readout is given.",
        choices=["hard", "soft"],
    )
    readout_given: bool = dataclasses.field(default=False, metadata={"given": "readout"})
    eval_policies: tuple = setting(
        TABLE_ORDER,
        "list",
        "Saccader glimpse policies of the --stage=eval table (rows for T = 1..12), and of the "
        "policy comparison at the end of --stage=all when given (its default there: learned, full, "
        "ordered_logits, random). random/center are ours (distinct cells), random_tf1/center_tf1 "
        "the TF1 code's (revisits allowed), sobel_mean/sobel_var rank cells by the mean/variance "
        "of the Sobel edge magnitude in their box.",
    )
    eval_policies_given: bool = dataclasses.field(
        default=False, metadata={"given": "eval_policies"}
    )
    batch_size: int = setting(64, "integer", "GLOBAL batch size (split across replicas).")
    epochs: tuple = setting(
        (3, 1, 1),
        "per_stage",
        "Epochs per stage: one value for every stage, three values for stages 1, 2, 3, or four for "
        "stages 1-4 (stage 4: --classifier; with fewer values it takes stage 1's, as it trains a "
        "classifier from scratch too).",
    )
    steps: Optional[int] = setting(
        StageSettings.steps_per_epoch,
        "integer",
        "Steps per epoch (default: one pass over the training data).",
    )
    eval_steps: Optional[int] = setting(
        StageSettings.eval_steps,
        "integer",
        "Evaluation batches per epoch, and of the policy comparison and --stage=eval: evenly "
        "spaced over the eval split, so all its classes are scored (default: the whole split).",
    )
    validation_steps: Optional[int] = setting(
        StageSettings.validation_steps,
        "integer",
        "Validation batches after each training epoch, e.g. 32 on a large eval split, spread as "
        "--eval_steps's (default: as --eval_steps); the policy comparison and --stage=eval "
        "score --eval_steps.",
    )
    learning_rate: tuple = setting(
        (0.002, 0.002, 0.002),
        "per_stage",
        "Peak learning rate, cosine-decayed: one value or one per stage (as --epochs: 1, 3 or 4 "
        "values).",
    )
    weight_decay: float = setting(8e-5, "float", "L2 weight decay λ of λ·Σ||w||²/2 on kernels.")
    full_image_loss_weight: float = setting(
        StageSettings.full_image_loss_weight,
        "float",
        "Stage 3: weight μ of stage 1's per-location cross-entropy kept as an extra loss term, so "
        "the BagNet stays a full-image classifier (0 = the paper's stage 3, which trains it only "
        "through the glimpses and lets its full-image accuracy fall; docs/results/"
        "full_image_loss.md).",
    )
    optimizer: str = setting(
        StageSettings.optimizer,
        "enum",
        "Optimizer (sgd = Nesterov momentum 0.9).",
        choices=["adam", "sgd"],
    )
    model_dir: str = setting(
        "runs/saccader", "string", "Directory for checkpoints and TensorBoard logs."
    )
    save_every_steps: int = setting(
        100,
        "integer",
        "Save the training progress every N steps (and after every epoch); a killed run re-started "
        "with the same command continues from the last save. 0 = only after every epoch.",
    )
    log_every_steps: int = setting(
        StageSettings.log_every_steps,
        "integer",
        "Every N training steps print one plain line (stage, step, the epoch's running loss and "
        "metrics, images/s) and write them as TensorBoard scalars, for long runs logged to a "
        "file; 0 = only a line per epoch (or the progress bar on a terminal).",
    )
    retrain: bool = setting(
        StageSettings.restart,
        "boolean",
        "Train the requested stages from scratch, even when model_dir holds them finished or holds "
        "saved progress (by default finished stages are skipped and interrupted ones resumed).",
    )
    seed: int = setting(
        0, "integer", "Seed of data generation, shuffling, initialisation and glimpse sampling."
    )
    strategy: str = setting(
        "default",
        "enum",
        "tf.distribute strategy: multi_worker = MultiWorkerMirroredStrategy from TF_CONFIG (see "
        "launch/multi_worker_local.py).",
        choices=["default", "mirrored", "multi_worker"],
    )
    cluster_resolver: str = setting(
        "tf_config",
        "enum",
        "Where --strategy=multi_worker finds its workers: tf_config (the TF_CONFIG variable) or "
        "slurm (the SLURM_* variables of an srun step: every task a worker, task 0 the chief; "
        "see launch/slurm/).",
        choices=["tf_config", "slurm"],
    )
    cluster_port: int = setting(
        8888,
        "integer",
        "--cluster_resolver=slurm: the port of each node's first task (the next tasks on a node "
        "take the next ports).",
    )
    devices: tuple = setting(
        (), "list", "Devices for --strategy=mirrored (default: all local GPUs)."
    )
    kernels: str = setting(
        "auto",
        "enum",
        "Kernel of batch norm: auto = the CPU substitute (TensorFlow's fused batch norm) when no "
        "GPU or TPU is visible, else Keras's standard layer (cuDNN/XLA); cpu or standard forces "
        "one. Same maths and weight files either way.",
        choices=KERNEL_MODES,
    )
    jit_compile: bool = setting(
        StageSettings.jit_compile,
        "boolean",
        "XLA-compile every stage's train step, also under --strategy=mirrored/multi_worker (for "
        "GPUs; off by default because it is slower on CPUs, see docs/results/cpu_kernels.md).",
    )
    mixed_precision: str = setting(
        "none",
        "enum",
        "Keras mixed precision of the model (float32 weights; logits, losses and location "
        "log-probabilities stay float32; mixed_float16 adds loss scaling). For GPUs and bfloat16 "
        "accelerators; off by default because it is slower on CPUs (docs/results/cpu_kernels.md). "
        "--stage=eval and the export rebuild the model in float32.",
        choices=MIXED_PRECISION,
    )
    classifier: str = setting(
        "none",
        "enum",
        "Saccader-ClassNet (stage 4): the classifier of the Saccader's glimpses. none = the "
        "Saccader alone; small_cnn (3x3 convs 16/32/64 + BN + ReLU, mean, dense; for small "
        "images); resnet50_v2 / nasnet_large (keras.applications, weights=None: nothing is "
        "downloaded; --classifier_weights loads a local file). Recorded in --model_dir; "
        "--stage=eval and --stage=export then use the ClassNet.",
        choices=["none", "small_cnn", "resnet50_v2", "nasnet_large"],
    )
    classifier_image_size: Optional[int] = setting(
        None,
        "integer",
        "Saccader-ClassNet: side S_cls of the images the glimpses are cut from (default: "
        "--image_size; the Saccader sees them resized to --image_size). The paper: 331 with "
        "--image_size=224. Must equal --image_size for the built-in cluttered_mnist (generated at "
        "one size).",
    )
    classifier_weights: Optional[str] = setting(
        None,
        "string",
        "Saccader-ClassNet: a local weights file (`Model.save_weights`) the classifier starts "
        "from, or imagenet (resnet50_v2 / nasnet_large: keras.applications' ImageNet weights, a "
        "hash-checked download; offline it fails at once) (default: random init).",
    )
    l2: str = setting(
        StageSettings.l2,
        "enum",
        "Form of the weight decay: standard (λ·Σ||w||²/2 over kernels) or normalized (reproduction "
        "switch: the official TF1 code's λ·Σ_w mean(w²), each kernel's mean square).",
        choices=["standard", "normalized"],
    )
    location_weight_decay: Optional[float] = setting(
        StageSettings.location_weight_decay,
        "float",
        "Weight decay λ of the location network (attention network, mixer, cell; DRAM's location "
        "LSTM and emission) (default: --weight_decay; the TF1 code weighs the two paths "
        "separately).",
    )
    reward: str = setting(
        StageSettings.reward,
        "enum",
        "Stage-3 (and DRAM) reward of a prediction: binary (1 right, 0 wrong) or punishment "
        "(reproduction switch, the TF1 code's: 1 right, -1 wrong; doubles the REINFORCE term).",
        choices=["binary", "punishment"],
    )
    background_class: bool = setting(
        False,
        "boolean",
        "TFDS datasets: add a class 0 'background' and shift every label by one (reproduction "
        "switch: imagenet2012 then has the paper's 1001 classes).",
    )
    schedule: str = setting(
        StageSettings.schedule,
        "enum",
        "Learning rate of each stage: cosine decay from --learning_rate to 0, or constant.",
        choices=["cosine", "constant"],
    )
    warmup_epochs: float = setting(
        StageSettings.warmup_epochs,
        "float",
        "Linear warm-up of the learning rate from 0 over this many epochs at the start of each "
        "stage (reproduction switch; 0 = none), then --schedule over the rest.",
    )
    skip_stage2: bool = setting(
        StageSettings.skip_stage2,
        "boolean",
        "The paper's no-pretraining ablation: --stage=all runs stages 1 and 3, and stage 3 starts "
        "from stage 1's weights.",
    )
    # Predict (--stage=predict): the trained model of --model_dir on image files.
    images: Optional[str] = setting(
        None,
        "string",
        "--stage=predict: an image file, a folder (searched recursively) or a quoted glob pattern "
        "of PNG, JPEG, BMP or GIF files.",
    )
    output: Optional[str] = setting(
        None,
        "string",
        "--stage=predict: the results file, one record per image: .jsonl (JSON lines) or .csv.",
    )
    pictures_dir: Optional[str] = setting(
        None,
        "string",
        "--stage=predict: also draw each image's glimpses into this folder (one PNG per image, "
        "titled by the predicted class name).",
    )
    top_k: int = setting(5, "integer", "--stage=predict: classes per image, best first.")
    # Starting from ImageNet-pretrained BagNet weights (docs/pretrained.md).
    bagnet_weights: Optional[str] = setting(
        None,
        "string",
        "Brendel & Bethge's ImageNet BagNet weights (.pth/.pth.tar/.npz/.safetensors, or a "
        ".weights.h5 of python -m saccader_tf.convert) for --model=bagnet9/17/33: --stage=1 and "
        "all fine-tune stage 1 from them (a fresh logits layer for other classes); --stage=2 takes "
        "them as stage 1 when their classes are the data's. Needs RGB data (3 channels); "
        "--augment then defaults to imagenet.",
    )
    verbose: Optional[int] = None
    # Evaluation and export from model_dir: the names of the flags given on the command line
    # (`None` from Python: the settings that differ from their defaults count as given).
    flags_given: Optional[frozenset] = dataclasses.field(default=None, compare=False)
    command_for: Optional[Callable[[int], str]] = dataclasses.field(default=None, compare=False)

    def validate(self, stage="all"):
        """Raises `SettingsError` when these settings cannot work for `stage` (the first problem
        found, named by field and with the fix); returns `self` otherwise.

        Args:
            stage: what will be run, as for `saccader_tf.run.orchestrator.launch`: `"all"`,
                `"eval"`, `"export"` or a stage number (int or str).
        """
        validate_settings(self, str(stage))
        return self

    def given(self, name):
        """Whether the setting `name` was chosen (its flag given; from Python: not its default)."""
        if self.flags_given is not None:
            return name in self.flags_given
        field = next(field for field in dataclasses.fields(self) if field.name == name)
        return getattr(self, name) != field.default

    def command(self, stage):
        """The shell command that creates the checkpoint of `stage` (for missing-file errors)."""
        if self.command_for is not None:
            return self.command_for(stage)
        return f"python -m saccader_tf.launch --stage={stage} --model_dir={self.model_dir}"

    @property
    def stages(self):
        """The stages of `--stage=all`: 1, 2, 3, and 4 when a ClassNet classifier is configured;
        without 2 with `skip_stage2`."""
        stages = [1, 2, 3] if self.classifier == "none" else [1, 2, 3, 4]
        return [stage for stage in stages if not (self.skip_stage2 and stage == 2)]

    def previous_stage(self, stage):
        """The stage whose checkpoint `stage` starts from: `stage - 1`, but stage 1 for stage 3
        with `skip_stage2` (`None` for stage 1)."""
        if stage == 1:
            return None
        return 1 if stage == 3 and self.skip_stage2 else stage - 1

    @property
    def classnet_image_size(self):
        """S_cls, the side of a ClassNet's input images (`classifier_image_size` or
        `image_size`)."""
        return self.classifier_image_size or self.image_size

    @staticmethod
    def of_stage(values, stage):
        """The value of `stage` (1-4) in the per-stage `values` (`epochs`, `learning_rate`):
        a stage without a value of its own (stage 4 of three values; every stage of one) takes
        the first."""
        return values[stage - 1] if len(values) >= stage else values[0]

    def stage_settings(self, stage):
        """The `StageSettings` of `stage` (1-4): its epochs and learning rate, the rest shared
        (the fields of the same name, `steps` as `steps_per_epoch`, `retrain` as `restart`)."""
        names = (*SHARED_WITH_RUNS, "weight_decay", "save_every_steps")
        shared = {name: getattr(self, name) for name in names}
        bar = sys.stdout.isatty() and not self.log_every_steps  # step lines replace the bar
        verbose = self.verbose if self.verbose is not None else 1 if bar else 2
        return StageSettings(
            **shared,
            epochs=self.of_stage(self.epochs, stage),
            learning_rate=self.of_stage(self.learning_rate, stage),
            steps_per_epoch=self.steps,
            restart=self.retrain,
            verbose=verbose,
            skip_stage2=self.skip_stage2 and stage == 3,
        )
