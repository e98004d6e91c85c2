"""Evaluation of a trained model: policy accuracies, result files, the occlusion check, pictures.

- `evaluate.evaluate_model`: every policy for T = 1..max_glimpses, coverage, hit rates and the
  occlusion check, as an `results.EvaluationResult` (`format_table`, `write_results`).
- `policy_comparison.policy_accuracies`: top-1 of each policy at one T (the table after training).
- `batch_sums`: the one pass over the data both share; `checks`, `result_rows`: their arguments
  and rows.
- `stage1_network`: the stage-1 BagNet the baselines and the occlusion check are measured on;
  `occlusion`: blanking cells.
- `pictures`: glimpse boxes on images, accuracy vs. T.
"""
