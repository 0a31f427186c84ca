// A Node.js function's client for the AWS Parameters and Secrets Lambda Extension, as people
// write it: http.request, the token header, and "anything but 200 is null". Prints a JSON
// report of what it got for the test.
const http = require("http");

const port = process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT || "2773";

function get(path) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "localhost", port, path, method: "GET",
        headers: { "X-Aws-Parameters-Secrets-Token": process.env.AWS_SESSION_TOKEN } },
      (res) => {
        let data = "";
        res.on("data", (chunk) => (data += chunk));
        res.on("end", () => resolve({
          status: res.statusCode,
          contentType: res.headers["content-type"],
          hasDate: Boolean(res.headers.date),
          value: res.statusCode === 200 ? JSON.parse(data) : null,
        }));
      });
    req.on("error", reject);
    req.end();
  });
}

(async () => {
  const plain = await get("/systemsmanager/parameters/get?name=" + encodeURIComponent("/compat/plain"));
  const secret = await get("/secretsmanager/get?secretId=" + encodeURIComponent("compat/db"));
  const missing = await get("/systemsmanager/parameters/get?name=" + encodeURIComponent("/compat/missing"));
  console.log(JSON.stringify({
    plain: { ...plain, value: plain.value && plain.value.Parameter.Value,
             date: plain.value && plain.value.Parameter.LastModifiedDate },
    secret: { ...secret, value: secret.value && secret.value.SecretString },
    missing,
  }));
})();
