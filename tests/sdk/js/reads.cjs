// Reads through the JavaScript SDK v3 as a function would write them: clients with no endpoint in
// code (AWS_ENDPOINT_URL_SSM / AWS_ENDPOINT_URL_SECRETS_MANAGER decide), results printed as JSON.
const {
  SSMClient, GetParameterCommand, GetParametersCommand, paginateGetParametersByPath, PutParameterCommand,
} = require("@aws-sdk/client-ssm");
const {
  SecretsManagerClient, GetSecretValueCommand, BatchGetSecretValueCommand,
} = require("@aws-sdk/client-secrets-manager");

const strip = ({ $metadata, ...rest }) => rest;

async function failure(promise) {
  try {
    await promise;
    return null;
  } catch (error) {
    return { name: error.name, status: error.$metadata && error.$metadata.httpStatusCode };
  }
}

async function main() {
  const ssm = new SSMClient({ maxAttempts: 1 });
  const secrets = new SecretsManagerClient({ maxAttempts: 1 });
  const out = {};
  out.plain = [];
  for (let i = 0; i < 5; i++) {
    out.plain.push(strip(await ssm.send(new GetParameterCommand({ Name: "/app/plain" }))));
  }
  out.secure = strip(await ssm.send(new GetParameterCommand({ Name: "/app/secure", WithDecryption: true })));
  out.label = strip(await ssm.send(new GetParameterCommand({ Name: "/app/versioned:Dev" })));
  const many = strip(await ssm.send(new GetParametersCommand({ Names: ["/app/plain", "/app/list", "/nope"] })));
  many.Parameters.sort((a, b) => a.Name.localeCompare(b.Name));
  out.many = many;
  out.path = [];
  for await (const page of paginateGetParametersByPath({ client: ssm, pageSize: 2 }, { Path: "/app", Recursive: true })) {
    out.path.push(...page.Parameters);
  }
  out.path.sort((a, b) => a.Name.localeCompare(b.Name));
  out.secret = [];
  for (let i = 0; i < 5; i++) {
    out.secret.push(strip(await secrets.send(new GetSecretValueCommand({ SecretId: "prod/db" }))));
  }
  const blob = strip(await secrets.send(new GetSecretValueCommand({ SecretId: "blob" })));
  blob.SecretBinary = Buffer.from(blob.SecretBinary).toString("base64");
  out.blob = blob;
  const batch = strip(await secrets.send(new BatchGetSecretValueCommand({ SecretIdList: ["prod/db", "rotating"] })));
  batch.SecretValues.sort((a, b) => a.Name.localeCompare(b.Name));
  out.batch = batch;
  out.missingParameter = await failure(ssm.send(new GetParameterCommand({ Name: "/nope" })));
  out.missingSecret = await failure(secrets.send(new GetSecretValueCommand({ SecretId: "nope" })));
  if (process.argv[2] === "write") {
    await ssm.send(new PutParameterCommand({ Name: "/app/plain", Value: "from-js", Type: "String", Overwrite: true }));
    out.afterWrite = (await ssm.send(new GetParameterCommand({ Name: "/app/plain" }))).Parameter.Value;
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((error) => {
  process.stderr.write(`${error.name}: ${error.message}\n`);
  process.exit(1);
});
