"""Tests of runner.outputs: metadata, failures, report, gallery, atomic writes, progress."""
