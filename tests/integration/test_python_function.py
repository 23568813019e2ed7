"""A Python function run by AWS's runtime interface client (awslambdaric),
unmodified, under `faultline lambda serve`, invoked through boto3 and raw HTTP.

The function is examples/functions/python/app.py, started as
`python -m awslambdaric app.<handler>` in that directory."""

import pytest

from lambda_it import RuntimeContract, python_function, runtime_functions


@pytest.fixture(scope="module")
def emu(module_emulator, python_ric):
    def make(name, handler, **extra):
        return python_function(python_ric, name, handler, **extra)

    return module_emulator(runtime_functions(make, "py"))


class TestPythonFunction(RuntimeContract):
    prefix = "py"
