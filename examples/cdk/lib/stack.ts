// A Lambda function with the paramsecrets layer attached and its settings in the environment.
// The layer zip comes from `paramsecrets layer build` (docs/lambda.md); the function is the SAM
// example's (examples/sam/function/app.py): it reads a parameter and a secret from
// http://localhost:2773 with the X-Aws-Parameters-Secrets-Token header, as with the AWS layer.
import * as path from "path";
import { CfnOutput, Duration, Stack, StackProps } from "aws-cdk-lib";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as ssm from "aws-cdk-lib/aws-ssm";
import { Construct } from "constructs";

export interface ParamSecretsStackProps extends StackProps {
  /** The zip from `paramsecrets layer build --arch <architecture> -o <zip>`. */
  layerZip: string;
  architecture: "x86_64" | "arm64";
  parameterName: string;
  secretName: string;
}

export class ParamSecretsStack extends Stack {
  constructor(scope: Construct, id: string, props: ParamSecretsStackProps) {
    super(scope, id, props);
    const architecture = props.architecture === "arm64" ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64;

    const layer = new lambda.LayerVersion(this, "ParamSecretsLayer", {
      layerVersionName: "paramsecrets",
      description: "paramsecrets: cache for SSM parameters and Secrets Manager secrets on localhost:2773",
      code: lambda.Code.fromAsset(props.layerZip),
      compatibleArchitectures: [architecture],
      // No compatibleRuntimes: the layer brings its own Python and C library and works with every
      // Lambda runtime (Node.js, Python, Java, .NET, Ruby, provided.al2023/al2). Listing some
      // would make CDK refuse the others (IncompatibleLayerRuntime).
    });

    const fn = new lambda.Function(this, "Reader", {
      runtime: lambda.Runtime.PYTHON_3_12,
      architecture,
      handler: "app.handler",
      code: lambda.Code.fromAsset(path.join(__dirname, "..", "..", "..", "sam", "function")),
      layers: [layer],
      memorySize: 256,
      timeout: Duration.seconds(10),
      environment: {
        PARAMETER_NAME: props.parameterName,
        SECRET_ID: props.secretName,
        // The layer's settings: the same variables as the AWS layer's, plus its own.
        PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL: "info",
        SSM_PARAMETER_STORE_TTL: "300",
        SECRETS_MANAGER_TTL: "300",
        PARAMETERS_SECRETS_EXTENSION_PREFETCH_PARAMETERS: props.parameterName,
        PARAMETERS_SECRETS_EXTENSION_PREFETCH_SECRETS: props.secretName,
        // Values before the handler, no code change (docs/exec.md): the layer's exec wrapper puts
        // the parameter's value in GREETING before the runtime starts (os.environ["GREETING"]).
        AWS_LAMBDA_EXEC_WRAPPER: "/opt/paramsecrets/exec-wrapper",
        PARAMSECRETS_ENV_GREETING: `ssm:${props.parameterName}`,
      },
    });

    // The same layer on a Node.js 20 function (examples/node/index.mjs): one layer, every runtime.
    const nodeFn = new lambda.Function(this, "NodeReader", {
      runtime: lambda.Runtime.NODEJS_20_X,
      architecture,
      handler: "index.handler",
      code: lambda.Code.fromAsset(path.join(__dirname, "..", "..", "..", "node"), { exclude: ["*.md"] }),
      layers: [layer],
      memorySize: 256,
      timeout: Duration.seconds(10),
      environment: {
        CONFIG_PARAMETER: props.parameterName,
        DB_SECRET_ID: props.secretName,
        SSM_PARAMETER_STORE_TTL: "300",
        SECRETS_MANAGER_TTL: "300",
      },
    });

    // What the layer calls on the functions' behalf: GetParameter(s) and GetSecretValue.
    const parameter = ssm.StringParameter.fromStringParameterName(this, "Parameter", props.parameterName);
    const secret = secretsmanager.Secret.fromSecretNameV2(this, "Secret", props.secretName);
    for (const reader of [fn, nodeFn]) {
      parameter.grantRead(reader);
      secret.grantRead(reader);
    }

    new CfnOutput(this, "LayerArn", { value: layer.layerVersionArn });
    new CfnOutput(this, "FunctionName", { value: fn.functionName });
    new CfnOutput(this, "NodeFunctionName", { value: nodeFn.functionName });
  }
}
