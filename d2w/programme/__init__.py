"""Skills sessions (ProgrammeSession), attendance registers and calendar feeds."""
