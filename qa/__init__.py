"""Question answering over news with citations that quote the source's exact words."""
