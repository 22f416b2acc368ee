"""Sealed-envelope randomisation: strata, permuted-block envelope batches and their verification."""
