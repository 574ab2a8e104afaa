"""compile - bash script -> workflow graph."""
