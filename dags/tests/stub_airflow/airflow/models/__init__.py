"""Stand-in of airflow.models: Variable reads a dict the test fills."""

_variables = {}


class Variable:
    @staticmethod
    def get(key, default_var=None):
        return _variables.get(key, default_var)
