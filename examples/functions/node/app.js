"use strict";
// Example Node.js Lambda function for faultline's emulator.
//
// Run through AWS's runtime interface client, unmodified, from this directory
// (the client resolves "app.handler" against the current directory):
//
//   AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT npx --no-install aws-lambda-ric app.handler
//
// or, as faultline's tests do, start the client's bin directly, so that a
// SIGTERM reaches the runtime (npx does not pass it on to its child):
//
//   AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT node_modules/.bin/aws-lambda-ric app.handler
//
// Handlers:
//   app.handler  echoes the event with the function name, request id, process
//                id, memory size and the FAULTLINE_EXAMPLE_* variables
//   app.sleep    waits event.ms milliseconds, then answers
//   app.error    throws (an unhandled function error)
//   app.stream   a response-streaming handler (awslambda.streamifyResponse):
//                writes event.chunks (default 3) chunks "chunk N\n", waiting
//                event.ms milliseconds before each after the first; with
//                event.fail it throws after them (an error mid-stream)

function exampleEnv() {
  const out = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith("FAULTLINE_EXAMPLE_")) out[k] = v;
  }
  return out;
}

exports.handler = async (event, context) => {
  console.log(`echo handler invoked, request ${context.awsRequestId}`);
  return {
    echo: event,
    function: context.functionName,
    request_id: context.awsRequestId,
    pid: process.pid,
    memory_limit_in_mb: Number(context.memoryLimitInMB),
    env: exampleEnv(),
  };
};

exports.sleep = async (event, context) => {
  const ms = Number((event && event.ms) || 0);
  console.log(`sleeping ${ms} ms`);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { slept_ms: ms, request_id: context.awsRequestId };
};

class ExampleError extends Error {
  constructor(message) {
    super(message);
    this.name = "ExampleError";
  }
}

exports.error = async (event) => {
  const message = (event && event.message) || "example failure";
  console.log(`about to raise: ${message}`);
  throw new ExampleError(message);
};

// awslambda is the global the runtime interface client defines.
if (typeof awslambda !== "undefined") {
  exports.stream = awslambda.streamifyResponse(async (event, responseStream) => {
    const chunks = Number((event && event.chunks) || 3);
    const ms = Number((event && event.ms) || 0);
    responseStream.setContentType("text/plain");
    for (let i = 1; i <= chunks; i++) {
      if (i > 1 && ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
      responseStream.write(`chunk ${i}\n`);
    }
    if (event && event.fail) throw new ExampleError(`failed after ${chunks} chunks`);
    responseStream.end();
  });
}
