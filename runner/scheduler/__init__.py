"""Runs a job: bounded concurrency over the store, the provider client and the outputs."""

from runner.scheduler.run import RunEnd, RunOptions, run_job

__all__ = ["RunEnd", "RunOptions", "run_job"]
