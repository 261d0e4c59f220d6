// Signs a list of requests with the Azure SDK for JavaScript and prints the headers it would send, so that a
// CallVault test can check that our signer produces the same bytes. Nothing goes on the network: a capturing
// HttpClient answers every request.
//
// Usage: node sign.cjs <folder holding node_modules>   (stdin: JSON, stdout: JSON)
// stdin:  [{"connectionString": "...", "form": "endpoint"|"storage", "method": "GET", "url": "...", "body": "..."}]
//   "endpoint": the request goes to the ACS endpoint itself, signed by communication-common's access-key policy.
//   "storage":  a recording URL on the media storage host, downloaded (GET) or deleted (DELETE) through
//               communication-call-automation's CallRecording, which signs it as if sent to the endpoint.
//   "call-recording": a Call Automation recording operation through communication-call-automation's CallRecording:
//               {"operation": "start"|"pause"|"resume"|"getState"|"stop", "recordingId": "...", "options": {...}}
//               ("options": the SDK's StartRecordingOptions for a start).
// stdout: [{"url": "...", "headers": {"x-ms-date": "...", ...}, "body": "..."}] in the order of the requests.
"use strict";

const path = require("node:path");
const { createRequire } = require("node:module");
const { Readable } = require("node:stream");

const toolsFolder = process.argv[2];
if (!toolsFolder) {
  console.error("usage: node sign.cjs <folder holding node_modules>");
  process.exit(2);
}
const requireTool = createRequire(path.join(path.resolve(toolsFolder), "package.json"));
const { createEmptyPipeline, createPipelineRequest, createHttpHeaders } = requireTool("@azure/core-rest-pipeline");
const { createCommunicationAccessKeyCredentialPolicy, parseConnectionString } = requireTool("@azure/communication-common");
const { CallAutomationClient } = requireTool("@azure/communication-call-automation");

const reportedHeaders = [
  "host", "x-ms-date", "x-ms-content-sha256", "authorization", "x-ms-host",
  "repeatability-request-id", "repeatability-first-sent",
];

// The answer each Call Automation operation expects, so that the SDK accepts it and sends nothing more.
const recordingState = JSON.stringify({ recordingId: "captured", recordingState: "active", recordingKind: "azureCommunicationServices" });
const answers = {
  start: { status: 200, body: recordingState },
  getState: { status: 200, body: recordingState },
  pause: { status: 202, body: "" },
  resume: { status: 202, body: "" },
  stop: { status: 204, body: "" },
};

function capturingClient(captured, answer = { status: 200, body: "" }) {
  return {
    async sendRequest(request) {
      const headers = {};
      for (const name of reportedHeaders) {
        if (request.headers.has(name)) headers[name] = request.headers.get(name);
      }
      captured.push({ url: request.url, headers, body: typeof request.body === "string" ? request.body : undefined });
      const responseHeaders = createHttpHeaders(answer.body ? { "content-type": "application/json" } : {});
      return { request, status: answer.status, headers: responseHeaders, bodyAsText: answer.body, readableStreamBody: Readable.from([]) };
    },
  };
}

async function signAtEndpoint(spec, httpClient) {
  // The connection string's parser yields the AzureKeyCredential the policy signs with.
  const { credential } = parseConnectionString(spec.connectionString);
  const pipeline = createEmptyPipeline();
  pipeline.addPolicy(createCommunicationAccessKeyCredentialPolicy(credential));
  const request = createPipelineRequest({ url: spec.url, method: spec.method, body: spec.body });
  if (spec.body !== undefined) request.headers.set("content-type", "application/json; charset=utf-8");
  await pipeline.sendRequest(httpClient, request);
}

async function signForStorage(spec, httpClient) {
  const recording = new CallAutomationClient(spec.connectionString, { httpClient, retryOptions: { maxRetries: 0 } }).getCallRecording();
  if (spec.method === "GET") {
    await recording.downloadStreaming(spec.url);
  } else if (spec.method === "DELETE") {
    await recording.delete(spec.url);
  } else {
    throw new Error(`the SDK sends only GET and DELETE to a recording URL, not ${spec.method}`);
  }
}

async function callRecording(spec, httpClient) {
  const recording = new CallAutomationClient(spec.connectionString, { httpClient, retryOptions: { maxRetries: 0 } }).getCallRecording();
  switch (spec.operation) {
    case "start": return recording.start(spec.options);
    case "getState": return recording.getState(spec.recordingId);
    case "pause": return recording.pause(spec.recordingId);
    case "resume": return recording.resume(spec.recordingId);
    case "stop": return recording.stop(spec.recordingId);
    default: throw new Error(`unknown operation ${spec.operation}`);
  }
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const requests = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const results = [];
  for (const spec of requests) {
    const captured = [];
    const httpClient = capturingClient(captured, spec.form === "call-recording" ? answers[spec.operation] : undefined);
    if (spec.form === "endpoint") await signAtEndpoint(spec, httpClient);
    else if (spec.form === "storage") await signForStorage(spec, httpClient);
    else if (spec.form === "call-recording") await callRecording(spec, httpClient);
    else throw new Error(`unknown form ${spec.form}`);
    if (captured.length !== 1) throw new Error(`expected one request for ${spec.url}, the SDK sent ${captured.length}`);
    results.push(captured[0]);
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : String(error));
  process.exit(1);
});
