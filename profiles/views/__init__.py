"""HTTP views of the profiles app (thin: parse, call one service or selector, shape)."""
