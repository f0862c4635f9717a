"""The pieces of the load test (``loadtest/run.py``): servers, faults, workload, probes, report.

Kept out of the SDK and its tests: the load test is a program that measures,
the pytest test that runs it in CI only reads its verdict and figures.
"""
