"""Operations: heartbeats, the database-state metrics and the operator's status screen."""
