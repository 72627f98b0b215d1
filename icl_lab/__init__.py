"""icl_lab: a laboratory for the theory of in-context learning."""

__version__ = "0.1.0"
