"""The ``icl-lab`` command line: one command table (:mod:`icl_lab.cli.app`)."""

from icl_lab.cli.app import app, main

__all__ = ["app", "main"]
