"""Everything a run keeps in its `model_dir`: stage weights with their SHA-256, the model config,
the preprocessing record, the resumable progress of a running stage, and the launcher lock."""
