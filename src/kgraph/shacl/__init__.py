"""SHACL validation: shapes compiled to SPARQL and evaluated by Oxigraph (``compiled``), with
pySHACL as the reference and the fallback for what the compiler does not handle."""
