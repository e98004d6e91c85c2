"""`python -m benchmarks`: training, input and serving speed, measured in one run.

Prints a Markdown table (measurement | value | target | met) to stdout, progress to stderr, and
writes the rows as JSON with `--output=path`. Measured (see `benchmarks.rows` for the
targets):

- the peak FLOP/s of a large float32 `tf.matmul` (the reference for the FLOP/s rows);
- images/s of each stage's compiled training step, with its analytic FLOPs per image, for the
  embedded default model (`bagnet29_small`, 60 px, batch 64) and for `bagnet77_lowd` at 224 px
  (small batch); the stage-3 / stage-1 step-time ratio; the stage-1 FLOP/s against the peak;
- a kernel-by-kernel profile of the default model's stage-1 step (`kernel_profile`: time, FLOPs,
  GFLOP/s and fraction of the peak per convolution and per op category; printed below the table),
  with the ceiling and reachable ratios the stage-1 peak-fraction row is judged against;
- the stage-2 / stage-1 and stage-3 / stage-1 step-time ratios at 60 and 100 px, timed
  interleaved, with the parts of the stage-2 and stage-3 steps printed below the table
  (`stage_parts`);
- the embedded dataset's input pipeline against the stage-3 step's consumption;
- the JPEG/TFRecord training pipeline at 224 px (ImageNet-like JPEGs, `imagenet` recipe) against
  decoding alone on the same records, in images/s per core (`jpeg_pipeline`);
- stage-1 steps with their input from an image folder (decode-once cache; streamed) against the
  built-in source, on the same images;
- SavedModel serving latency (batch 1 and 32) against the Keras model's compiled inference;
- on a GPU only, the stage-1 step with XLA and in mixed_float16 against the plain step (a CPU run
  prints these rows as "not measured: no GPU"; the header names the device the run used).

Examples:

    python -m benchmarks                          # full run: minutes
    python -m benchmarks --skip=bagnet77,serving  # leave out slow parts
    python -m benchmarks --quick                  # seconds: checks that it works (CI)
    python -m benchmarks --output=benchmark.json
    python -m benchmarks --race                   # the race: 180 s a contender + warm-ups
    python -m benchmarks --race --quick           # the race in seconds (CI)

Run it on an otherwise idle machine: other jobs on the same cores lower every figure (the load
average at start is printed in the header).
"""

import argparse
import sys


def parse_args(argv):
    from benchmarks.plan import PARTS
    from benchmarks.race_command import add_race_arguments, check_race_arguments

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny models and few repeats: seconds, to check that the benchmark works",
    )
    parser.add_argument(
        "--skip", default="", help=f"comma-separated parts to leave out: {', '.join(PARTS)}"
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="timed training steps per stage of the default model (default 30; quick 2)",
    )
    parser.add_argument(
        "--batch_size",
        type=int,
        default=None,
        help="batch of the default model's steps and pipeline (default 64; quick 4)",
    )
    parser.add_argument(
        "--large_batch_size", type=int, default=8, help="batch of the bagnet77_lowd steps"
    )
    parser.add_argument(
        "--large_steps", type=int, default=4, help="timed steps per stage of bagnet77_lowd"
    )
    parser.add_argument(
        "--attention_widths",
        default="",
        help="four comma-separated widths of the attention network for the stages part's models "
        "(e.g. 32,32,16,16; default: the model's F/2,F/2,F/4,F/4)",
    )
    parser.add_argument("--output", default=None, help="also write the rows as JSON to this path")
    add_race_arguments(parser)
    args = parser.parse_args(argv)
    if args.race:
        check_race_arguments(parser, args)
    for name in ("steps", "batch_size", "large_batch_size", "large_steps"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be >= 1. Received: --{name}={value}")
    return args


def make_plan(args):
    """The `Plan` for parsed command-line `args` (raises `ValueError` on an unknown `--skip`
    part or bad `--attention_widths`)."""
    from benchmarks.plan import check_skip, full_plan, quick_plan, with_attention_widths

    skip = check_skip([name.strip() for name in args.skip.split(",") if name.strip()])
    sizes = {
        key: getattr(args, key) for key in ("steps", "batch_size") if getattr(args, key) is not None
    }
    widths = _widths(args.attention_widths)
    if args.quick:
        return with_attention_widths(quick_plan(skip=skip, **sizes), widths)
    plan = full_plan(
        skip=skip, large_batch_size=args.large_batch_size, large_steps=args.large_steps, **sizes
    )
    return with_attention_widths(plan, widths)


def _widths(text):
    """The four ints of `--attention_widths` (`()` when empty); `ValueError` otherwise."""
    if not text.strip():
        return ()
    try:
        widths = tuple(int(part) for part in text.split(","))
    except ValueError:
        widths = ()
    if len(widths) != 4 or min(widths) < 1:
        raise ValueError(
            f"`--attention_widths` takes four positive widths, e.g. 32,32,16,16. "
            f"Received: --attention_widths={text}"
        )
    return widths


def main(argv=None, stdout=None, stderr=None):
    """Runs the benchmark; returns the rows. `argv` excludes the program name."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.race:  # the time-to-accuracy race instead of the speed table
        from benchmarks.race_command import run_race_command

        return run_race_command(args, argv or sys.argv[1:], stdout, stderr)
    try:
        plan = make_plan(args)
    except ValueError as error:
        print(f"error: {error}", file=stderr)
        raise SystemExit(2)
    from benchmarks.machine import describe_machine, format_machine
    from benchmarks.report import format_table, rows_to_json
    from benchmarks.runner import Progress, run_benchmark

    machine = describe_machine()
    progress = Progress(lambda message: print(message, file=stderr, flush=True))
    progress(format_machine(machine))
    rows = run_benchmark(plan, progress, device=machine["device"])
    command = "python -m benchmarks" + "".join(f" {a}" for a in (argv or sys.argv[1:]))
    print(f"{command}\n{format_machine(machine)}\n\n{format_table(rows)}", file=stdout, flush=True)
    print(_profile_text(rows), file=stdout, end="", flush=True)
    print(_stage_parts_text(rows), file=stdout, end="", flush=True)
    if args.output:
        with open(args.output, "w") as f:
            f.write(rows_to_json(rows, {"command": command, "quick": args.quick, **machine}))
    return rows


def _profile_text(rows):
    """The stage-1 kernel table (and its summary) when the profile part ran, else `""`."""
    from benchmarks.kernel_profile import KernelProfile, format_profile

    for row in rows:
        if row.key == "default/stage1_kernel_profile" and "profile" in row.numbers:
            profile = KernelProfile.from_numbers(row.numbers["profile"])
            return (
                f"\nStage-1 kernel profile ({row.measurement.split(':')[0]}; "
                f"`--skip=profile` leaves it out):\n\n{format_profile(profile)}\n"
            )
    return ""


def _stage_parts_text(rows):
    """The stage-parts tables (`stage_rows.format_stage_parts`) when the stages part ran."""
    from benchmarks.stage_parts import StageParts
    from benchmarks.stage_rows import format_stage_parts

    tables = [
        format_stage_parts(StageParts.from_numbers(row.numbers["parts"]))
        for row in rows
        if row.key.startswith("stages")
        and row.key.endswith("stage2_over_stage1")
        and "parts" in row.numbers
        and row.numbers["parts"]["dilated"]
    ]
    if not tables:
        return ""
    return (
        "\nStage 2 and 3 parts (`--skip=stages` leaves them out):\n\n" + "\n\n".join(tables) + "\n"
    )


if __name__ == "__main__":
    main()
