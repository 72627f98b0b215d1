"""Benchmarks of icl_lab's core against the reference implementation of Garg et al. (2022).

Run ``python -m benchmarks [--quick] [--json PATH]``; see benchmarks/README.md.
Needs ``transformers`` (the reference's GPT-2) and ``scikit-learn`` (the reference's Lasso).
"""
