// A Node.js handler that reads its configuration from process.env and a file, as code written for
// plain environment variables does: the exec wrapper filled them before the runtime started.
import fs from "node:fs";

const NAMES = ["DB_HOST", "DB_PASSWORD", "DB_USER"];

function snapshot() {
  return {
    env: Object.fromEntries(NAMES.map((name) => [name, process.env[name] ?? null])),
    file: fs.readFileSync("/tmp/db.json", "utf8"),
    mapping: Object.keys(process.env)
      .filter((k) => k.startsWith("PARAMSECRETS_ENV_") || k.startsWith("_PARAMSECRETS") || k === "PARAMSECRETS_FILES")
      .sort(),
  };
}

const atInit = snapshot(); // module level: the INIT phase

export const handler = async () => ({ init: atInit, invoke: snapshot(), pid: process.pid });
