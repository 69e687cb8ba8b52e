"""kgraph: turn news reporting into a knowledge graph you can query, check and share."""

__version__ = "0.1.0"
