"""Command-line flags of `python -m saccader_tf.launch` (the only module besides launch.py that
knows about absl flags). Presets live in `launch/*.cfg` and are used with `--flagfile`."""

from absl import flags

from saccader_tf.run.settings import DEFAULT_EVAL_POLICIES

STAGES = ("1", "2", "3", "4", "all", "eval", "export")

flags.DEFINE_enum(
    "stage",
    "all",
    STAGES,
    "What to run: 1 (representation), 2 (location "
    "pretraining), 3 (policy gradient), 4 (a Saccader-ClassNet's classifier, "
    "trained on the frozen stage-3 Saccader's glimpses; needs --classifier), all "
    "(1→2→3, and 4 with --classifier; then a policy comparison and an export), "
    "eval (the full evaluation table and pictures of a trained --model_dir) or export "
    "(a SavedModel under --model_dir/export).",
)
flags.DEFINE_string(
    "dataset",
    "cluttered_mnist",
    "'cluttered_mnist' (offline default), "
    "'folder:<path>' (an image folder <path>/train/<class>/*), or a TFDS dataset name.",
)
flags.DEFINE_string("data_dir", None, "TFDS data directory.")
flags.DEFINE_integer(
    "num_clutter",
    None,
    "cluttered_mnist: clutter pieces per image (default 4 at 60 px, 8 at 100 px).",
)
flags.DEFINE_integer(
    "train_examples", 20000, "cluttered_mnist: number of training images generated."
)
flags.DEFINE_boolean(
    "skip_bad_files",
    False,
    "Image folders and TFDS datasets: leave out unreadable "
    "image files with a counted warning instead of stopping with an error naming the file.",
)
flags.DEFINE_enum(
    "augment",
    None,
    ["imagenet", "light", "none", "imagenet_tf1"],
    "Preprocessing recipe of image "
    "folders and TFDS datasets: light (default: small random shifts, no scale change, no "
    "flips; evaluation resizes), imagenet (Inception random crops and flips; evaluation "
    "centre-crops 0.875: for natural photos at ImageNet scale), none (resize only) "
    "or imagenet_tf1 (reproduction switch, the official TF1 code's: as imagenet with "
    "bicubic resizing, 100 crop attempts and the centre crop S/(S+S//10), 224/246 at "
    "224). The built-in cluttered_mnist is used as generated.",
)
flags.DEFINE_boolean(
    "flip",
    None,
    "Random horizontal flips in training (default: on for "
    "--augment=imagenet and imagenet_tf1 only; a flip changes the class of digits "
    "and text).",
)
flags.DEFINE_enum(
    "channels",
    "auto",
    ["auto", "1", "3"],
    "Image channels of folder and TFDS data: "
    "auto = for a folder 1 when the sampled training images are all grayscale, else 3; "
    "for TFDS the dataset's own. 1 or 3 converts.",
)
flags.DEFINE_enum(
    "cache",
    "auto",
    ["auto", "memory", "stream"],
    "Image folders: keep the decoded "
    "images in memory (decoded once) or decode them every epoch (stream); auto = "
    "memory when they fit --cache_budget_mb.",
)
flags.DEFINE_integer("cache_budget_mb", 1024, "Memory budget of --cache=auto, in MiB.")
flags.DEFINE_string(
    "model",
    "bagnet29_small",
    "BagNet variant: bagnet9, bagnet17, bagnet33, bagnet77_lowd, bagnet29_small, bagnet9_tiny.",
)
flags.DEFINE_enum(
    "architecture",
    "saccader",
    ["saccader", "dram"],
    "Model: saccader (BagNet + "
    "Saccader cell, 3 stages) or dram (the paper's recurrent baseline, one training stage "
    "stored as stage 3; --epochs and --learning_rate then take their first value).",
)
flags.DEFINE_string(
    "dram_model",
    "dram_small",
    "DRAM variant (--architecture=dram): dram_small (60 px "
    "data, 29 px glimpses), dram_resnet50v2 (the paper's, 224 px, 77 px glimpses), dram_tiny.",
)
flags.DEFINE_integer("image_size", 60, "Side of the square input images, in pixels.")
flags.DEFINE_integer("num_glimpses", 6, "Glimpses T per image (stage 3 and evaluation).")
flags.DEFINE_integer("num_targets", 12, "Stage 2: number of target cells.")
flags.DEFINE_enum(
    "readout",
    "hard",
    ["hard", "soft"],
    "Saccader readout of each glimpse step: hard "
    "(the logits Z at the chosen cell) or soft (the TF1 code's soft-attention ablation: "
    "Σ_cells π·Z with the step's location probabilities π; logits averaged over the "
    "steps). Recorded in --model_dir (training refuses another one there); --stage=export "
    "uses the recorded one, --stage=eval too unless --readout is given.",
)
flags.DEFINE_list(
    "eval_policies",
    list(DEFAULT_EVAL_POLICIES),
    "Saccader glimpse policies of the --stage=eval table (rows for T = 1..12), and of the "
    "policy comparison at the end of --stage=all when given (its default there: learned, "
    "full, ordered_logits, random). random/center are ours (distinct cells), random_tf1/"
    "center_tf1 the TF1 code's (revisits allowed), sobel_mean/sobel_var rank cells by "
    "the mean/variance of the Sobel edge magnitude in their box.",
)
flags.DEFINE_enum(
    "classifier",
    "none",
    ["none", "small_cnn", "resnet50_v2", "nasnet_large"],
    "Saccader-ClassNet (stage 4): the classifier of the Saccader's glimpses. none = "
    "the Saccader alone; small_cnn (3x3 convs 16/32/64 + BN + ReLU, mean, dense; "
    "for small images); resnet50_v2 / nasnet_large (keras.applications, "
    "weights=None: nothing is downloaded; --classifier_weights loads a local file). "
    "Recorded in --model_dir; --stage=eval and --stage=export then use the ClassNet.",
)
flags.DEFINE_integer(
    "classifier_image_size",
    None,
    "Saccader-ClassNet: side S_cls of the images "
    "the glimpses are cut from (default: --image_size; the Saccader sees them "
    "resized to --image_size). The paper: 331 with --image_size=224. Must equal "
    "--image_size for the built-in cluttered_mnist (generated at one size).",
)
flags.DEFINE_string(
    "classifier_weights",
    None,
    "Saccader-ClassNet: a local weights file "
    "(`Model.save_weights`) the classifier starts from (default: random init).",
)
flags.DEFINE_integer("batch_size", 64, "GLOBAL batch size (split across replicas).")
flags.DEFINE_list(
    "epochs",
    ["3", "1", "1"],
    "Epochs per stage: one value for every stage, three "
    "values for stages 1, 2, 3, or four for stages 1-4 (stage 4: --classifier; with "
    "fewer values it takes stage 1's, as it trains a classifier from scratch too).",
)
flags.DEFINE_integer("steps", None, "Steps per epoch (default: one pass over the training data).")
flags.DEFINE_integer(
    "eval_steps", None, "Evaluation batches per epoch (default: the whole eval split)."
)
flags.DEFINE_list(
    "learning_rate",
    ["0.002"],
    "Peak learning rate, cosine-decayed: one value or "
    "one per stage (as --epochs: 1, 3 or 4 values).",
)
flags.DEFINE_float("weight_decay", 8e-5, "L2 weight decay λ of λ·Σ||w||²/2 on kernels.")
flags.DEFINE_float(
    "full_image_loss_weight",
    1.0,
    "Stage 3: weight μ of stage 1's per-location "
    "cross-entropy kept as an extra loss term, so the BagNet stays a full-image "
    "classifier (0 = the paper's stage 3, which trains it only through the glimpses "
    "and lets its full-image accuracy fall; README: 'Keeping the full-image loss').",
)
flags.DEFINE_enum("optimizer", "adam", ["adam", "sgd"], "Optimizer (sgd = Nesterov momentum 0.9).")
flags.DEFINE_enum(
    "l2",
    "standard",
    ["standard", "normalized"],
    "Form of the weight decay: "
    "standard (λ·Σ||w||²/2 over kernels) or normalized (reproduction switch: the "
    "official TF1 code's λ·Σ_w mean(w²), each kernel's mean square).",
)
flags.DEFINE_float(
    "location_weight_decay",
    None,
    "Weight decay λ of the location network "
    "(attention network, mixer, cell; DRAM's location LSTM and emission) "
    "(default: --weight_decay; the TF1 code weighs the two paths separately).",
)
flags.DEFINE_enum(
    "reward",
    "binary",
    ["binary", "punishment"],
    "Stage-3 (and DRAM) reward of a "
    "prediction: binary (1 right, 0 wrong) or punishment (reproduction switch, the "
    "TF1 code's: 1 right, -1 wrong; doubles the REINFORCE term).",
)
flags.DEFINE_boolean(
    "background_class",
    False,
    "TFDS datasets: add a class 0 'background' and "
    "shift every label by one (reproduction switch: imagenet2012 then has the "
    "paper's 1001 classes).",
)
flags.DEFINE_enum(
    "schedule",
    "cosine",
    ["cosine", "constant"],
    "Learning rate of each stage: cosine decay from --learning_rate to 0, or constant.",
)
flags.DEFINE_float(
    "warmup_epochs",
    0.0,
    "Linear warm-up of the learning rate from 0 over this "
    "many epochs at the start of each stage (reproduction switch; 0 = none), then "
    "--schedule over the rest.",
)
flags.DEFINE_boolean(
    "skip_stage2",
    False,
    "The paper's no-pretraining ablation: --stage=all runs "
    "stages 1 and 3, and stage 3 starts from stage 1's weights.",
)
flags.DEFINE_string("model_dir", "runs/saccader", "Directory for checkpoints and TensorBoard logs.")
flags.DEFINE_integer(
    "save_every_steps",
    100,
    "Save the training progress every N steps (and after "
    "every epoch); a killed run re-started with the same command continues from the "
    "last save. 0 = only after every epoch.",
)
flags.DEFINE_boolean(
    "retrain",
    False,
    "Train the requested stages from scratch, even when model_dir "
    "holds them finished or holds saved progress (by default finished stages are "
    "skipped and interrupted ones resumed).",
)
flags.DEFINE_integer(
    "seed", 0, "Seed of data generation, shuffling, initialisation and glimpse sampling."
)
flags.DEFINE_enum(
    "strategy",
    "default",
    ["default", "mirrored", "multi_worker"],
    "tf.distribute strategy: "
    "multi_worker = MultiWorkerMirroredStrategy from TF_CONFIG (see launch/multi_worker_local.py).",
)
flags.DEFINE_list("devices", [], "Devices for --strategy=mirrored (default: all local GPUs).")
flags.DEFINE_boolean(
    "jit_compile",
    False,
    "XLA-compile every stage's train step, also under "
    "--strategy=mirrored/multi_worker (for GPUs; off by default: on a 2-core CPU "
    "it made the BagNet's steps 2-3x slower).",
)
flags.DEFINE_enum(
    "mixed_precision",
    "none",
    ["none", "mixed_float16", "mixed_bfloat16"],
    "Keras mixed precision of the model (float32 weights; logits, losses and location "
    "log-probabilities stay float32; mixed_float16 adds loss scaling). For GPUs and "
    "bfloat16 accelerators; off by default: on a 2-core CPU bfloat16 steps were "
    "9-11x slower. --stage=eval and the export rebuild the model in float32.",
)

FLAGS = flags.FLAGS
