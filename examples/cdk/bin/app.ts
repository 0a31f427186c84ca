#!/usr/bin/env node
// The CDK app: one stack with the paramsecrets layer and a function that reads through it.
import { App } from "aws-cdk-lib";
import { ParamSecretsStack } from "../lib/stack";

const app = new App();
new ParamSecretsStack(app, "ParamSecretsExample", {
  layerZip: app.node.tryGetContext("layerZip") ?? "../../paramsecrets-layer-x86_64.zip",
  architecture: app.node.tryGetContext("architecture") ?? "x86_64",
  parameterName: app.node.tryGetContext("parameterName") ?? "/app/db/host",
  secretName: app.node.tryGetContext("secretName") ?? "app/db",
});
