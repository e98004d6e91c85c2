"""Using a trained model on images: `saccader_tf.load(model_dir)` and its `predict` (see
docs/predict.md)."""
