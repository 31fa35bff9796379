"""Small primitives every room uses: atomic files, rates, the YAML reader, argument types."""
