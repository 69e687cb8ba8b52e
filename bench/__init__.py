"""kgraph's benchmark: ``python -m bench`` (``make bench``) measures load, queries, validation,
adding a batch, reasoning, export, cold start and the input guards on synthetic graphs of
10k, 100k and 1M triples, against the plain use of pyoxigraph, rdflib, pySHACL, owlrl and
reasonable in the same run, and writes docs/benchmarks.md and docs/benchmarks.svg."""
