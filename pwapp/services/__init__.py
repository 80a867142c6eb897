"""Account rules as plain functions: plain inputs and a DB session in, results or typed errors out."""
