// A handler written like AWS's documentation for the Parameters and Secrets extension:
// http.request to localhost:PORT with X-Aws-Parameters-Secrets-Token, names URL-encoded.
import http from "node:http";

const PORT = process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT || "2773";

function get(path) {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: "localhost", port: PORT, path, headers: { "X-Aws-Parameters-Secrets-Token": process.env.AWS_SESSION_TOKEN } },
      (response) => {
        let body = "";
        response.on("data", (chunk) => (body += chunk));
        response.on("end", () =>
          response.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`${response.statusCode} ${body}`)));
      },
    );
    request.on("error", reject);
    request.end();
  });
}

async function readAll() {
  const string = await get(`/systemsmanager/parameters/get?name=${encodeURIComponent(process.env.STRING_NAME)}`);
  const secure = await get(
    `/systemsmanager/parameters/get?name=${encodeURIComponent(process.env.SECURE_NAME)}&withDecryption=true`);
  const secret = await get(`/secretsmanager/get?secretId=${encodeURIComponent(process.env.SECRET_ID)}`);
  return { string: string.Parameter.Value, secure: secure.Parameter.Value, secret: secret.SecretString };
}

// INIT phase: module-level code, before the first invoke; no retry loop.
const initValues = await readAll();

export const handler = async () => ({ init: initValues, invoke: await readAll() });
