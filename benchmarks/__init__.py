"""The benchmarks behind `python -m benchmarks` (see `benchmarks/cli.py`), run from a checkout of
the repository: this folder is not part of the installed package.

Speed table (`python -m benchmarks`):

- `plan`: what a full or a quick run measures; `runner`: runs a plan part by part;
- `flop_count`: analytic FLOPs per image of the forward pass and of each stage's training step;
- `timing`: timing of blocking calls and the peak FLOP/s of a large `tf.matmul`;
- `training_throughput`: seconds per compiled training step of each stage;
- `kernel_tracing`, `kernel_ops`, `kernel_profile`: the stage-1 step under `tf.profiler`, each
  op's category and FLOPs, and the kernel table with its ratios to the peak;
- `input_pipeline`: images/s of a `tf.data` pipeline on its own;
- `jpeg_pipeline`: the JPEG/TFRecord training pipeline against decoding alone, per core;
- `folder_source`: stage-1 steps fed from an image folder against the built-in source;
- `serving_latency`: the exported SavedModel against the compiled Keras inference;
- `gpu_paths`: XLA and mixed precision against the plain step (on a GPU only);
- `rows`: measurements → table rows with their targets; `report`: the table and its JSON;
- `machine`: the machine description printed above the table.

Time-to-accuracy race (`python -m benchmarks --race`):

- `race_command`: its flags and command; `race_contenders`: the models and their training
  phases; `race`: the clock and the training; `race_report`, `race_plot`: table, JSON and PNG;
- `plain_cnn`, `cross_entropy_trainer`: the full-image baseline and its trainer.
"""
