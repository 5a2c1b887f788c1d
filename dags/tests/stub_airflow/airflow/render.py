"""Stand-in of Airflow's Jinja rendering of the templates pinpipe_batch.py uses."""

import ast
import re

import airflow.models

_VAR = re.compile(r"\{\{ var\.value\.get\((.*?)\) \}\}")


def render(text, ds):
    """text as Airflow renders it for ds, with the Variables as they are when
    the task runs. A Variable without a default that is not set fails, as in
    Airflow."""
    def var(m):
        args = ast.literal_eval("(" + m.group(1) + ",)")
        if len(args) == 1:
            if args[0] not in airflow.models._variables:
                raise KeyError("Variable %s does not exist" % args[0])
            return airflow.models._variables[args[0]]
        return airflow.models._variables.get(args[0], args[1])
    return _VAR.sub(var, text).replace("{{ ds }}", ds)
