"""`make bench`: benchmarks that show the runner is never the bottleneck.

Run ``python -m bench [--only B1,B3] [--quick]`` from the repository root. Every benchmark talks
to the simulator over loopback, started as a separate process (``python -m runner sim``), and
runs the runner as a subprocess, exactly as a user would. Every comparison is a ratio of two
figures measured side by side in the same run, never against a number remembered from elsewhere.
"""
