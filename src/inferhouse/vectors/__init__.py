"""The vector index: durable rows in SQLite, searched in memory, spoken to through the Pinecone API."""
