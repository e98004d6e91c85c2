"""`python -m benchmarks --race`: the race's flags and command (table, PNG, JSON)."""

import sys

DEFAULT_BUDGET_S = 180.0
QUICK_BUDGET_S = 0.2
DEFAULT_TARGETS = "0.5,0.2,0.1"


def add_race_arguments(parser):
    """Adds `--race` and its `--race_*` options to the benchmark's `argparse` parser."""
    from benchmarks.race_contenders import CONTENDER_KEYS

    parser.add_argument(
        "--race",
        action="store_true",
        help="run the time-to-accuracy race (minutes) instead of the speed table: "
        "every contender trains for --race_budget_s seconds on the built-in "
        "cluttered MNIST; test error vs. seconds as a table and one PNG",
    )
    parser.add_argument(
        "--race_budget_s",
        type=float,
        default=None,
        help=f"seconds of training per contender (default {DEFAULT_BUDGET_S:g}; "
        f"with --quick {QUICK_BUDGET_S:g})",
    )
    parser.add_argument(
        "--race_evaluations",
        type=int,
        default=None,
        help="test-error measurements per contender after the start, evenly spaced "
        "in its training time (default 8; with --quick 2)",
    )
    parser.add_argument(
        "--race_targets",
        default=DEFAULT_TARGETS,
        help="error levels of the table's 'time to' columns, comma-separated, each in (0, 1)",
    )
    parser.add_argument(
        "--race_contenders",
        default=",".join(CONTENDER_KEYS),
        help=f"comma-separated contenders, from: {', '.join(CONTENDER_KEYS)}",
    )
    parser.add_argument("--race_plot", default="race.png", help="the PNG the race draws")


def check_race_arguments(parser, args):
    """Fills the quick/full defaults of the race options and refuses values that cannot work."""
    from benchmarks.race_contenders import CONTENDER_KEYS

    if args.race_budget_s is None:
        args.race_budget_s = QUICK_BUDGET_S if args.quick else DEFAULT_BUDGET_S
    if args.race_evaluations is None:
        args.race_evaluations = 2 if args.quick else 8
    if not 0 < args.race_budget_s < float("inf"):
        parser.error(
            f"--race_budget_s must be a positive number of seconds. "
            f"Received: --race_budget_s={args.race_budget_s:g}"
        )
    if args.race_evaluations < 1:
        parser.error(
            f"--race_evaluations must be >= 1. Received: --race_evaluations={args.race_evaluations}"
        )
    try:
        args.race_targets = [float(t) for t in args.race_targets.split(",") if t.strip()]
    except ValueError:
        parser.error(
            f"--race_targets takes numbers in (0, 1), e.g. 0.5,0.1. "
            f"Received: --race_targets={args.race_targets}"
        )
    if not all(0 < t < 1 for t in args.race_targets):
        parser.error(
            "--race_targets takes error levels in (0, 1), e.g. 0.5,0.1. Received: "
            f"--race_targets={','.join(f'{t:g}' for t in args.race_targets)}"
        )
    keys = [key.strip() for key in args.race_contenders.split(",") if key.strip()]
    unknown = [key for key in keys if key not in CONTENDER_KEYS]
    if unknown or not keys:
        parser.error(
            f"--race_contenders takes names from {', '.join(CONTENDER_KEYS)}. "
            f"Received: --race_contenders={args.race_contenders}"
        )
    args.race_contenders = keys


def run_race_command(args, argv, stdout=None, stderr=None):
    """Runs the race for `args` parsed from `argv` (the arguments after the program name); prints
    the command, header and table, writes the PNG (and the JSON with `--output`). Returns the
    results (see `run_race`)."""
    import keras

    from benchmarks.machine import describe_machine, format_machine
    from benchmarks.race import run_race
    from benchmarks.race_contenders import make_contenders
    from benchmarks.race_plot import plot_race
    from benchmarks.race_report import format_race_table, kernel_settings, race_header

    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    command = " ".join(["python -m benchmarks", *argv])

    def progress(message):
        print(message, file=stderr, flush=True)

    sizes, source, batch_size = _race_data(args)
    contenders = [c for c in make_contenders(sizes) if c.key in args.race_contenders]
    machine = describe_machine()
    precision = keras.config.dtype_policy().name
    header = race_header(
        budget_s=args.race_budget_s,
        source=source,
        batch_size=batch_size,
        machine_line=format_machine(machine),
        kernels_line=kernel_settings(False, args.quick, precision),
    )
    progress("\n".join(header))
    results = run_race(
        contenders,
        source,
        budget_s=args.race_budget_s,
        evaluations=args.race_evaluations,
        progress=progress,
        eager=args.quick,
    )
    table = format_race_table(
        results,
        budget_s=args.race_budget_s,
        evaluations=args.race_evaluations,
        targets=args.race_targets,
    )
    path = plot_race(results, args.race_plot, header_lines=header, targets=args.race_targets)
    print("\n".join([command, *header, "", table, "", f"plot: {path}"]), file=stdout, flush=True)
    if args.output:
        _write_json(args, results, command=command, lines=header, machine=machine)
    return results


def _race_data(args):
    """`(sizes, source, batch_size)`: the models' sizes and the built-in cluttered MNIST at their
    image size (quick: tiny models, 64 training and 32 test images, batch 8)."""
    from benchmarks.race_contenders import FULL_SIZES, QUICK_SIZES
    from saccader_tf.data import make_source

    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    batch_size = args.batch_size or (8 if args.quick else 64)
    data = dict(num_train=64, num_eval=32) if args.quick else {}  # else the launcher's defaults
    source = make_source(
        "cluttered_mnist", image_size=sizes.image_size, batch_size=batch_size, seed=0, **data
    )
    return sizes, source, batch_size


def _write_json(args, results, *, command, lines, machine):
    """Writes the results as JSON to `args.output`, under a header: the command, the run's
    settings, the header `lines` and the `machine` description."""
    from benchmarks.race_report import race_to_json

    header = {
        "command": command,
        "quick": args.quick,
        "lines": lines,
        "budget_s": args.race_budget_s,
        "targets": args.race_targets,
        **machine,
    }
    with open(args.output, "w") as f:
        f.write(race_to_json(results, header))
