"""Index-time stages: load and clean documents, split and tag sentences, chunk, embed, index."""
