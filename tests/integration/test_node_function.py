"""A Node.js function run by AWS's runtime interface client (aws-lambda-ric,
from npm), unmodified, under `faultline lambda serve`, invoked through boto3
and raw HTTP.

The function is examples/functions/node/app.js, started as
`node_modules/.bin/aws-lambda-ric app.<handler>` in that directory."""

import pytest

from lambda_it import RuntimeContract, node_function, runtime_functions


@pytest.fixture(scope="module")
def emu(module_emulator, node_ric):
    def make(name, handler, **extra):
        return node_function(node_ric, name, handler, **extra)

    return module_emulator(runtime_functions(make, "node"))


class TestNodeFunction(RuntimeContract):
    prefix = "node"
