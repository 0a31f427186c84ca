output "layer_arn" {
  description = "The published layer version, to attach to other functions."
  value       = aws_lambda_layer_version.paramsecrets.arn
}

output "function_name" {
  value = aws_lambda_function.reader.function_name
}
