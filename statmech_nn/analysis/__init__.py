"""Built-in analyzers: power-law exponents, phase classification, finite-size scaling."""
