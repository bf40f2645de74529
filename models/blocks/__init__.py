"""One published technique per file, named after the paper's term (see each docstring)."""
