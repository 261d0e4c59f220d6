// The official JavaScript SDK's downloadToPath, a baseline of bench/run.sh: CallRecording.downloadToPath from
// @azure/communication-call-automation (pinned in eng/hmac-crosscheck/package-lock.json), run as any user would run it.
//
// Usage: node sdk-download.cjs <folder holding node_modules> <connection string> <recording URL> <destination file>
//
// The SDK downloads only from https URLs on the ACS media hosts (*.asm.skype.com, ...) and signs each request as if it
// went to the connection string's endpoint. So the recording URL on the emulator is handed to the SDK under a media
// host's name (https://bench.asm.skype.com/<same path>), and the HTTP client under the SDK, the one it uses by
// default, sends it to the emulator's storage origin over http: the SDK's own signing, streaming and file writing
// are what is measured. Like the SDK, nothing here hashes or fsyncs the file.
"use strict";

const path = require("node:path");
const { createRequire } = require("node:module");

const [toolsFolder, connectionString, recordingUrl, destination] = process.argv.slice(2);
if (!destination) {
  console.error("usage: node sdk-download.cjs <folder holding node_modules> <connection string> <recording URL> <destination file>");
  process.exit(2);
}
const requireTool = createRequire(path.join(path.resolve(toolsFolder), "package.json"));
const { createDefaultHttpClient } = requireTool("@azure/core-rest-pipeline");
const { CallAutomationClient } = requireTool("@azure/communication-call-automation");

const emulatorStorage = new URL(recordingUrl);
const mediaHost = "bench.asm.skype.com";

// The SDK's default HTTP client, told to send the media host's requests to the emulator instead.
function emulatorClient() {
  const inner = createDefaultHttpClient();
  return {
    async sendRequest(request) {
      const url = new URL(request.url);
      if (url.hostname === mediaHost) {
        url.protocol = emulatorStorage.protocol;
        url.host = emulatorStorage.host;
        request.url = url.toString();
        request.allowInsecureConnection = true;
      }
      return inner.sendRequest(request);
    },
  };
}

async function main() {
  const sdkUrl = new URL(recordingUrl);
  sdkUrl.protocol = "https:";
  sdkUrl.host = mediaHost;
  const recording = new CallAutomationClient(connectionString, { httpClient: emulatorClient() }).getCallRecording();
  await recording.downloadToPath(sdkUrl.toString(), destination);
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : JSON.stringify(error));
  process.exit(1);
});
