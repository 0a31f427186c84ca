// Node.js: configuration from process.env, filled by the exec wrapper before the runtime started.
const dbHost = process.env.DB_HOST; // read once, at INIT, like any plain setting
const dbPassword = process.env.DB_PASSWORD;

export const handler = async () => ({ dbHost, passwordLength: dbPassword.length }); // never return the value
