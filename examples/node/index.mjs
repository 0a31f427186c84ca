// Example Lambda handler (Node.js 20+) reading configuration through the paramsecrets layer,
// or the AWS Parameters and Secrets Lambda Extension: same port, header, paths and bodies.
// Plain `fetch`, no SDK. The server caches values, so calling it on every invocation is a
// loopback round trip, not an AWS API call.
//
// Environment (set on the function):
//   CONFIG_PARAMETER  an SSM parameter name (default /app/db/host, in `paramsecrets dev`'s seed)
//   DB_SECRET_ID      a Secrets Manager secret holding {"username": ..., "password": ...}

import { readFileSync } from "node:fs";

const PORT = process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT || "2773";
const BASE = `http://127.0.0.1:${PORT}`;
const TOKEN_ENV = (process.env.PARAMETERS_SECRETS_EXTENSION_TOKEN_ENV ||
  "AWS_TOKEN,AWS_SESSION_TOKEN,AWS_CONTAINER_AUTHORIZATION_TOKEN").split(",").map((s) => s.trim());
// How long connection-refused is retried while the server is not listening yet (a cold
// start's INIT); the same variable as the Python client's, default 3 s.
const RETRY_MS = 1000 * Number(process.env.PARAMSECRETS_CLIENT_RETRY_SECONDS || 3);

// The token: the first set variable of the list; `file:///path` means the file's content.
// Looked up per call: after a SnapStart restore only AWS_CONTAINER_AUTHORIZATION_TOKEN is set.
function token() {
  for (const name of TOKEN_ENV) {
    const value = process.env[name];
    if (!value) continue;
    return value.startsWith("file://") ? readFileSync(value.slice(7), "utf8").trim() : value;
  }
  throw new Error(`no token: set one of ${TOKEN_ENV.join(", ")}`);
}

export class ParamSecretsError extends Error {
  constructor(message, status, code) {
    super(message);
    this.name = "ParamSecretsError";
    this.status = status; // HTTP status, undefined when nothing answered
    this.code = code; // the `__type` of the JSON error body, when there is one
  }
}

async function get(path, what) {
  const deadline = Date.now() + RETRY_MS;
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    let response;
    try {
      response = await fetch(BASE + path, {
        headers: {
          "X-Aws-Parameters-Secrets-Token": token(),
          // paramsecrets: real statuses and {"__type","message"} error bodies instead of the AWS
          // extension's opaque 400 (its default). The AWS extension ignores this header.
          "X-Paramsecrets-Profile": "detailed",
        },
      });
    } catch (error) {
      if (error.cause?.code === "ECONNREFUSED" && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        continue;
      }
      throw new ParamSecretsError(`nothing is listening on 127.0.0.1:${PORT} — is the layer attached?`);
    }
    // Parse whatever the Content-Type: the AWS extension labels its JSON text/plain.
    const text = await response.text();
    if (response.ok) return JSON.parse(text);
    let code;
    let message = text; // error bodies never hold values; the AWS extension sends plain text
    try {
      ({ __type: code, message } = JSON.parse(text));
    } catch {}
    throw new ParamSecretsError(`${what}: ${message} (${response.status}${code ? " " + code : ""})`,
      response.status, code);
  }
}

// Names and ids must be URL-encoded: `/` becomes %2F, `:` %3A, spaces %20.
export async function getParameter(name, { decrypt = false } = {}) {
  const query = `name=${encodeURIComponent(name)}${decrypt ? "&withDecryption=true" : ""}`;
  const data = await get(`/systemsmanager/parameters/get?${query}`, `parameter ${name}`);
  return data.Parameter.Value;
}

// A string, or a Buffer for a binary secret (SecretBinary is base64 text).
export async function getSecret(secretId) {
  const data = await get(`/secretsmanager/get?secretId=${encodeURIComponent(secretId)}`, `secret ${secretId}`);
  return data.SecretString ?? Buffer.from(data.SecretBinary, "base64");
}

export const handler = async (event) => {
  const dbHost = await getParameter(process.env.CONFIG_PARAMETER || "/app/db/host");
  const credentials = JSON.parse(await getSecret(process.env.DB_SECRET_ID || "app/db"));
  // Use credentials.password to connect; never return or log it.
  return { statusCode: 200, body: JSON.stringify({ dbHost, dbUser: credentials.username }) };
};
