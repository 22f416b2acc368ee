"""Treatment: procedure and levels, usual care, crossover, adverse events and X-rays."""
