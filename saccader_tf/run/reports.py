"""What a run prints and writes about a trained model: the policy comparison after `--stage=all`
(`model_dir/policy_accuracy.json`), the full evaluation of `--stage=eval` (tables, plot and
glimpse pictures under `model_dir/evaluation/`) and, after either, the per-class accuracies
(`model_dir/per_class_accuracy.json`, classes named as `preprocessing.json` records them)."""

import os

from saccader_tf.evaluation import pictures
from saccader_tf.evaluation.evaluate import format_policy_table, format_table, write_results
from saccader_tf.evaluation.per_class import (
    PER_CLASS,
    PER_CLASS_FILE,
    format_per_class_table,
    with_class_names,
)
from saccader_tf.model_dir.errors import CorruptCheckpointError, MissingCheckpointError
from saccader_tf.model_dir.preprocessing_record import load_preprocessing
from saccader_tf.model_dir.records import write_json_record


def recorded_class_names(model_dir, fallback=None):
    """The class names `model_dir/preprocessing.json` records, else `fallback`."""
    try:
        names = load_preprocessing(model_dir).get("class_names")
    except (MissingCheckpointError, CorruptCheckpointError):
        names = None
    return names or fallback


def write_per_class(settings, per_class, class_names=None):
    """Names the classes of `per_class` (`recorded_class_names`), writes it to
    model_dir/per_class_accuracy.json and prints its short table (nothing when `None`)."""
    if per_class is None:
        return
    names = recorded_class_names(settings.model_dir, class_names)
    per_class = with_class_names(per_class, names)
    path = os.path.join(settings.model_dir, PER_CLASS_FILE)
    write_json_record(path, per_class, sort_keys=False)
    print("\n" + format_per_class_table(per_class, path))


def write_policy_comparison(settings, accuracies):
    """Prints the policy table and writes it to model_dir/policy_accuracy.json.

    Args:
        settings: the run's `RunSettings` (`model_dir`, `num_glimpses`).
        accuracies: `policy_accuracies`'s result.
    """
    accuracies = dict(accuracies)
    per_class = accuracies.pop(PER_CLASS, None)
    print("\n" + format_policy_table(accuracies, settings.num_glimpses))
    path = os.path.join(settings.model_dir, "policy_accuracy.json")
    write_json_record(path, {"num_glimpses": settings.num_glimpses, **accuracies}, sort_keys=False)
    write_per_class(settings, per_class)


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
    write_per_class(settings, result.per_class, source.class_names)
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
        class_names=recorded_class_names(settings.model_dir, source.class_names),
    )
    print(f"wrote {paths['json']}, {paths['csv']} and pictures in {out_dir}")
