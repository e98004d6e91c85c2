"""What a run prints and writes about a trained model: the policy comparison after `--stage=all`
(`model_dir/policy_accuracy.json`) and the full evaluation of `--stage=eval` (tables, plot and
glimpse pictures under `model_dir/evaluation/`)."""

import os

from saccader_tf.evaluation import pictures
from saccader_tf.evaluation.evaluate import format_policy_table, format_table, write_results
from saccader_tf.model_dir.records import write_json_record


def write_policy_comparison(settings, accuracies):
    """Prints the policy table and writes it to model_dir/policy_accuracy.json.

    Args:
        settings: the run's `RunSettings` (`model_dir`, `num_glimpses`).
        accuracies: `policy_accuracies`'s result.
    """
    print("\n" + format_policy_table(accuracies, settings.num_glimpses))
    path = os.path.join(settings.model_dir, "policy_accuracy.json")
    write_json_record(path, {"num_glimpses": settings.num_glimpses, **accuracies}, sort_keys=False)


def write_evaluation(settings, model, result, source, classnet=None):
    """Prints the evaluation table; writes its JSON/CSV, the accuracy-vs-T plot and glimpse
    pictures to model_dir/evaluation (of a ClassNet: its Saccader's glimpses, on the images at the
    Saccader's size).

    Args:
        settings: the run's `RunSettings` (`model_dir`, `num_glimpses`).
        model: the model whose glimpses are drawn (a Saccader or DRAM).
        result: `evaluate_model`'s result.
        source: the evaluated `DataSource` (its first evaluation batch is drawn).
        classnet: the evaluated Saccader-ClassNet around `model`, or `None`.
    """
    out_dir = os.path.join(settings.model_dir, "evaluation")
    print("\n" + format_table(result))
    paths = write_results(result, out_dir)
    pictures.plot_accuracy_vs_glimpses(result, os.path.join(out_dir, "accuracy_vs_glimpses.png"))
    images, labels = next(iter(source.eval))[:2]
    if classnet is not None:
        images = classnet.saccader_inputs(images)
    pictures.plot_model_glimpses(
        model,
        images[:8],
        os.path.join(out_dir, "glimpses.png"),
        labels=labels[:8],
        num_glimpses=settings.num_glimpses,
        class_names=source.class_names,
    )
    print(f"wrote {paths['json']}, {paths['csv']} and pictures in {out_dir}")
