"""`python -m runner` is the `runner` command."""

from runner.cli import run_and_exit

run_and_exit()
