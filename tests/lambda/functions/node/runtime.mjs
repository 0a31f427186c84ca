// A minimal Node.js Runtime API loop (what the Node runtime does): import the handler named by
// _HANDLER ("index.handler" -> /var/task/index.mjs, export `handler`), then next / response.
import http from "node:http";

const api = process.env.AWS_LAMBDA_RUNTIME_API;
const [file, name] = process.env._HANDLER.split(".");

function call(method, path, body) {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: api.split(":")[0], port: api.split(":")[1], method,
      path: `/2018-06-01/runtime${path}` }, (response) => {
      let data = "";
      response.on("data", (chunk) => (data += chunk));
      response.on("end", () => resolve({ headers: response.headers, body: data }));
    });
    request.on("error", reject);
    request.end(body);
  });
}

const handler = (await import(`${process.env.LAMBDA_TASK_ROOT}/${file}.mjs`))[name];
for (;;) {
  const next = await call("GET", "/invocation/next");
  const id = next.headers["lambda-runtime-aws-request-id"];
  try {
    const result = await handler(JSON.parse(next.body || "{}"));
    await call("POST", `/invocation/${id}/response`, JSON.stringify(result));
  } catch (error) {
    await call("POST", `/invocation/${id}/error`, JSON.stringify({ errorMessage: String(error), errorType: "Error" }));
  }
}
