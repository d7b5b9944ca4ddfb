"""Documents on disk: results, matrix and bisect documents written shareable and all or nothing, and read back."""
