"""The library behind `python -m benchmarks` (see `saccader_tf/benchmarks/cli.py`).

- `flop_count`: analytic FLOPs per image of the forward pass and of each stage's training step;
- `timing`: timing of blocking calls and the peak FLOP/s of a large `tf.matmul`;
- `training_throughput`: seconds per compiled training step of each stage;
- `input_pipeline`: images/s of a `tf.data` pipeline on its own;
- `serving_latency`: the exported SavedModel against the compiled Keras inference;
- `plan`: what a full or a quick run measures; `runner`: runs a plan;
- `rows`: measurements → table rows with their targets; `report`: the table and its JSON;
- `machine`: the machine description printed above the table.
"""
