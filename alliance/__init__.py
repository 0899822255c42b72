"""Alliance: a knowledge graph of cooperation between French territories."""

__version__ = "0.1.0"
