"""`python -m runner` is the `runner` command; :func:`main` is also its console script.

For `runner run`, the HTTP worker process is started before anything else is imported: its
start-up (~0.2 s) then overlaps the runner's own imports on another core, and the worker is
ready by the time the run sends its first request (see :mod:`runner.client.spawn`).
"""

import sys


def main() -> None:
    if sys.argv[1:2] == ["run"]:
        from runner.client.spawn import start_spare

        start_spare()  # taken by the run's transport; cli.main() reaps it if the run never starts
    from runner.cli import run_and_exit

    run_and_exit()


if __name__ == "__main__":
    main()
