"""Runs N `MultiWorkerMirroredStrategy` workers on this host (127.0.0.1), for trying and testing.

    python launch/multi_worker_local.py --num_workers=2 -- --stage=all --model_dir=runs/mw \
        --model=bagnet9_tiny --image_size=28 --batch_size=16 --steps=5

starts `python -m saccader_tf.launch --strategy=multi_worker <flags after -->` N times, each with
its own `TF_CONFIG` (`{"cluster": {"worker": [127.0.0.1:<free port>, ...]}, "task": {"type":
"worker", "index": i}}`), waits for all of them (killing every worker when one fails or the
timeout passes), prints each worker's output prefixed with `[worker i]` and exits with the first
non-zero return code (a worker's own failure before the 4 of one that stopped because of it).
Worker 0 is the chief: the only one that writes checkpoints and logs.
`--batch_size` stays the GLOBAL batch. On several hosts, set `TF_CONFIG` on each yourself.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:  # run as a script from a checkout: the package beside it
    sys.path.insert(1, REPO_ROOT)

from saccader_tf.cli.exit_codes import PEER_STOPPED  # noqa: E402 (after the path above)

STOP_CODES = (128 + signal.SIGTERM, 128 + signal.SIGINT)
"""Exit codes of workers that stopped on SIGTERM / SIGINT after saving: every worker stops at the
same step (docs/reliability.md), so the others are left to exit on their own."""


def free_ports(count):
    """`count` distinct free TCP ports on 127.0.0.1 (bound to port 0, then released)."""
    sockets, ports = [], []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in sockets:
            s.close()
    return ports


def tf_configs(num_workers):
    """One `TF_CONFIG` JSON string per worker of a local cluster."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(num_workers)]}
    return [
        json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
        for i in range(num_workers)
    ]


def run_workers(commands, timeout=240, env=None):
    """Runs `commands[i]` as worker i of a local cluster; returns `[(returncode, output), ...]`.

    Every worker runs in this process's working folder (a relative path means what it means
    here) and gets `TF_CONFIG`, `PYTHONPATH` with the repository, `CUDA_VISIBLE_DEVICES=""` and
    `TF_CPP_MIN_LOG_LEVEL=2`. When a worker fails or `timeout` seconds pass, the others are
    killed (a missing peer would block them in a collective); their return code is then negative.
    A worker that stopped after saving (`STOP_CODES`) is not a failure: its peers stop at the same
    step and exit on their own (within `timeout`).
    """
    base = dict(os.environ if env is None else env)
    base.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    base["CUDA_VISIBLE_DEVICES"] = ""
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO_ROOT, base.get("PYTHONPATH")]))
    procs, logs = [], []
    for command, config in zip(commands, tf_configs(len(commands))):
        log = tempfile.TemporaryFile(mode="w+")
        procs.append(
            subprocess.Popen(
                command,
                env=dict(base, TF_CONFIG=config),
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
        logs.append(log)
    deadline = time.monotonic() + timeout
    try:
        while any(p.poll() is None for p in procs):
            failed = any(p.returncode not in (None, 0, *STOP_CODES) for p in procs)
            if failed or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    results = []
    for p, log in zip(procs, logs):
        log.seek(0)
        results.append((p.returncode, log.read()))
        log.close()
    return results


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--num_workers", type=int, default=2)
    parser.add_argument(
        "--timeout", type=float, default=3600, help="seconds before every worker is killed"
    )
    parser.add_argument("flags", nargs="*", help="flags of saccader_tf.launch (after --)")
    args = parser.parse_args()
    command = [sys.executable, "-m", "saccader_tf.launch", "--strategy=multi_worker", *args.flags]
    results = run_workers([command] * args.num_workers, timeout=args.timeout)
    for i, (code, output) in enumerate(results):
        for line in output.splitlines():
            print(f"[worker {i}] {line}")
        print(f"[worker {i}] exit code {code}")
    sys.exit(exit_code([code for code, _ in results]))


def exit_code(codes):
    """The exit code of the run: that of the first worker that failed for a reason of its own,
    not the 4 of a worker that stopped because another one did (docs/reliability.md)."""
    failed = [code for code in codes if code]
    return next((code for code in failed if code != PEER_STOPPED), failed[0] if failed else 0)


if __name__ == "__main__":
    main()
