"""Loading, chunking, embedding and indexing of the knowledge base."""
