# A Lambda function with the paramsecrets layer attached and the layer's settings in its
# environment. The function is the SAM example's (examples/sam/function/app.py): it reads a
# parameter and a secret from http://localhost:2773, exactly as with the AWS layer.

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  arn_prefix = "arn:${data.aws_partition.current.partition}"
  account    = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
}

resource "aws_lambda_layer_version" "paramsecrets" {
  layer_name               = "paramsecrets"
  description              = "paramsecrets: cache for SSM parameters and Secrets Manager secrets on localhost:2773"
  filename                 = var.layer_zip
  source_code_hash         = filebase64sha256(var.layer_zip)
  compatible_architectures = [var.architecture]
  # No compatible_runtimes: the layer brings its own Python and C library and works with every
  # Lambda runtime (Node.js, Python, Java, .NET, Ruby, provided.al2023/al2).
}

data "archive_file" "function" {
  type        = "zip"
  source_dir  = "${path.module}/../sam/function"
  output_path = "${path.module}/.terraform/function.zip"
}

resource "aws_iam_role" "reader" {
  name = "paramsecrets-example-reader"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "logs" {
  role       = aws_iam_role.reader.name
  policy_arn = "${local.arn_prefix}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

# What the layer calls on the function's behalf (add kms:Decrypt for customer-managed keys).
resource "aws_iam_role_policy" "read" {
  name = "read-configuration"
  role = aws_iam_role.reader.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"]
        Resource = "${local.arn_prefix}:ssm:${local.region}:${local.account}:parameter${var.parameter_name}"
      },
      {
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue"]
        Resource = "${local.arn_prefix}:secretsmanager:${local.region}:${local.account}:secret:${var.secret_name}-*"
      },
    ]
  })
}

resource "aws_lambda_function" "reader" {
  # `make lint` scans this file with checkov; what it flags and this example leaves to you, and why:
  #checkov:skip=CKV_AWS_116:a dead-letter queue is for asynchronous invocations; this example is invoked synchronously
  #checkov:skip=CKV_AWS_117:no VPC needed; in a VPC, the extension needs an ssm / secretsmanager endpoint or NAT
  #checkov:skip=CKV_AWS_115:reserved concurrency is a per-account capacity decision, not the layer's
  #checkov:skip=CKV_AWS_272:code signing needs a signing profile of your own; the layer zip's sha256 is printed by its build
  #checkov:skip=CKV_AWS_173:the environment holds names and settings only, never a secret; the default key encrypts it
  #checkov:skip=CKV_AWS_50:X-Ray tracing is the function's choice; the layer neither needs nor hinders it
  function_name    = "paramsecrets-example-reader"
  role             = aws_iam_role.reader.arn
  runtime          = "python3.12"
  architectures    = [var.architecture]
  handler          = "app.handler"
  filename         = data.archive_file.function.output_path
  source_code_hash = data.archive_file.function.output_base64sha256
  layers           = [aws_lambda_layer_version.paramsecrets.arn]
  memory_size      = 256
  timeout          = 10

  environment {
    variables = {
      PARAMETER_NAME = var.parameter_name
      SECRET_ID      = var.secret_name
      # The layer's settings: the AWS layer's variables, plus its own.
      PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL           = "info"
      SSM_PARAMETER_STORE_TTL                          = "300"
      SECRETS_MANAGER_TTL                              = "300"
      PARAMETERS_SECRETS_EXTENSION_PREFETCH_PARAMETERS = var.parameter_name
      PARAMETERS_SECRETS_EXTENSION_PREFETCH_SECRETS    = var.secret_name
      # Values before the handler, no code change (docs/exec.md): the layer's exec wrapper puts the
      # parameter's value in GREETING before the runtime starts (os.environ["GREETING"]).
      AWS_LAMBDA_EXEC_WRAPPER   = "/opt/paramsecrets/exec-wrapper"
      PARAMSECRETS_ENV_GREETING = "ssm:${var.parameter_name}"
    }
  }
}
